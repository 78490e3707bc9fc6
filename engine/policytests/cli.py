"""`fenliu test`, `fenliu fmt` and `fenliu diff`: the commands for people who change policies."""
from __future__ import annotations

import difflib
import sys
from pathlib import Path

import click

from ..errors import PolicyError
from .cases import load_suite
from .coverage import rule_coverage
from .diff import changes
from .formatting import format_file
from ..files import TEST_SUFFIX, default_rules_dir, policy_files, test_files
from .runner import Policies, failure_report, run_files


@click.command("test")
@click.argument("paths", nargs=-1)
@click.option("--coverage", "show_coverage", is_flag=True,
              help="Report, per policy, the enabled rules that no case saw decide.")
@click.option("--fail-under", type=click.FloatRange(0, 100), default=None, metavar="PCT",
              help="Fail when any policy's rule coverage is below PCT percent.")
def test_command(paths: tuple[str, ...], show_coverage: bool, fail_under: float | None) -> None:
    """Run policy test cases (`*.test.yaml`; default: rules/). Exit 1 on any failure."""
    files = test_files(paths or (default_rules_dir(),))
    if not files:
        click.echo("no test files (*.test.yaml) found", err=True)
        sys.exit(1)
    with Policies() as policies:
        report = run_files(files, policies)
        for errors in report.broken.values():
            click.echo("\n".join(errors))
        for outcome in report.outcomes:
            if not outcome.passed:
                click.echo(failure_report(outcome))
        under = False
        if show_coverage or fail_under is not None:
            coverage = rule_coverage(report.outcomes, policies.items())
            click.echo("rule coverage:")
            for policy in coverage:
                click.echo(f"  {policy.describe()}")
            below = [p for p in coverage if fail_under is not None and p.percent < fail_under]
            under = bool(below)
            if below:
                click.echo(f"rule coverage is below {fail_under:g}% for " + ", ".join(str(p.policy) for p in below))
    click.echo(report.summary)
    sys.exit(1 if report.failed or under else 0)


@click.command("fmt")
@click.argument("paths", nargs=-1)
@click.option("--check", is_flag=True, help="Change nothing; list the files not in canonical form and exit 1 if any.")
def fmt_command(paths: tuple[str, ...], check: bool) -> None:
    """Rewrite policies (default: rules/) in canonical form, comments kept: keys in a fixed order, rules by priority."""

    unformatted, failed = [], False
    for path in policy_files(paths or (default_rules_dir(),)):
        try:
            text, formatted = format_file(path)
        except PolicyError as error:
            click.echo(str(error), err=True)
            failed = True
            continue
        if text == formatted:
            continue
        unformatted.append(path)
        if check:
            click.echo(f"{path}: not formatted (run fenliu fmt {path})")
            click.echo("".join(difflib.unified_diff(text.splitlines(keepends=True), formatted.splitlines(keepends=True),
                                                    f"{path}", f"{path} (formatted)")), nl=False)
        else:
            path.write_text(formatted, encoding="utf-8")
            click.echo(f"{path}: formatted")
    sys.exit(1 if failed or (check and unformatted) else 0)


@click.command("diff")
@click.argument("old", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.argument("new", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--cases", "case_files", multiple=True, type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Test file whose cases to evaluate (repeatable; default: <name>.test.yaml beside NEW, "
                   "<name> being NEW's policy name).")
@click.option("--exit-code", is_flag=True, help="Exit 1 when some decision changes.")
def diff_command(old: Path, new: Path, case_files: tuple[Path, ...], exit_code: bool) -> None:
    """List every case whose decision differs between policy OLD and policy NEW (action, agent, queue, rule…)."""
    with Policies() as policies:
        try:
            before, after = policies.get(old), policies.get(new)
        except PolicyError as error:
            click.echo(str(error), err=True)
            sys.exit(2)
        # The cases are the policy's, found by its name: NEW may be a draft saved under another file name.
        files = case_files or (new.with_name(after.name + TEST_SUFFIX),)
        if not case_files and not files[0].exists():
            raise click.UsageError(f"no --cases given and {files[0]} (the cases of policy `{after.name}`) does not exist")
        try:
            cases = [case for file in files for case in load_suite(file).cases]
        except PolicyError as error:
            click.echo(str(error), err=True)
            sys.exit(2)
        found = changes(before, after, cases)
    for change in found:
        click.echo(change.describe())
    click.echo(f"{len(found)} of {len(cases)} cases change")
    sys.exit(1 if exit_code and found else 0)
