"""`fenliu check`, `eval` and `facts`: thin, they parse arguments and call the engine."""
from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import click

from .errors import PolicyError, RequestError
from .files import POLICY_SUFFIX, TEST_SUFFIX, copy_examples, default_rules_dir, is_test_file, policy_files, policy_name
from .new_policy import new_policy
from .policy import load_policy
from .profiles import platform_names

POLICY_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,62}$")


@click.command()
@click.argument("paths", nargs=-1)
@click.option("--strict", is_flag=True, help="Fail on warnings too.")
def check(paths: tuple[str, ...], strict: bool) -> None:
    """Check policy files (default: rules/). Exit 1 on any error."""
    failed = 0
    files = policy_files(paths or (default_rules_dir(),))
    for path in files:
        if is_test_file(path.name):
            failed += 1
            click.echo(f"{path}: a test file: use `fenliu test {path}`", err=True)
            continue
        try:
            policy = load_policy(path, served_as=policy_name(path))
        except PolicyError as error:
            failed += 1
            for issue in error.issues:
                click.echo(f"{issue}", err=True)
            for issue in error.warnings:
                click.echo(f"{issue} (warning)", err=True)
            continue
        for issue in policy.warnings:
            click.echo(f"{issue} (warning)", err=True)
        if strict and policy.warnings:
            failed += 1
        else:
            rules = len(policy.document.rules)
            click.echo(f"{path}: ok ({policy.name} {policy.version}, {rules} rules)")
        policy.close()
    if not files:
        click.echo("no policy files found", err=True)
    sys.exit(1 if failed or not files else 0)


@click.command("eval")
@click.argument("policy_path")
@click.argument("request_path")
@click.option("--explain", is_flag=True, help="Include the trace: every rule tried and why it did or did not decide.")
def evaluate(policy_path: str, request_path: str, explain: bool) -> None:
    """Evaluate one request (a JSON file, or - for stdin) under one policy and print the envelope."""
    try:
        policy = load_policy(policy_path)
    except PolicyError as error:
        click.echo(str(error), err=True)
        sys.exit(1)
    try:
        text = sys.stdin.read() if request_path == "-" else Path(request_path).read_text(encoding="utf-8")
        request = json.loads(text)
        envelope = policy.evaluate(request, explain=explain)
    except (OSError, ValueError) as error:
        click.echo(f"{request_path}: {error}", err=True)
        sys.exit(2)
    except RequestError as error:
        for issue in error.issues:
            click.echo(f"{request_path}: {issue}", err=True)
        sys.exit(2)
    finally:
        policy.close()
    click.echo(json.dumps(envelope, ensure_ascii=False, indent=2))


@click.command()
def facts() -> None:
    """Print the fact reference (docs/facts.md)."""
    from .facts_doc import facts_markdown

    click.echo(facts_markdown(), nl=False)




@click.command()
@click.argument("destination", type=click.Path(file_okay=False, path_type=Path), default="rules")
@click.option("--force", is_flag=True, help="Overwrite files of the same names.")
def examples(destination: Path, force: bool) -> None:
    """Copy the shipped policies (Kuaishou, Taobao, Douyin, the enterprise example) and their tests into DESTINATION (default: rules/)."""
    if not force and destination.is_dir() and any(destination.iterdir()):
        click.echo(f"{destination} is not empty: choose another directory, or add --force to overwrite "
                   "files of the same names", err=True)
        sys.exit(1)
    for path in copy_examples(destination):
        click.echo(f"{path}")


@click.command("new")
@click.argument("name")
@click.option("--platform", "platform_name", required=True, type=click.Choice(platform_names()),
              help="Whose behaviour the policy starts from.")
@click.option("--dir", "directory", default=".", show_default=True, type=click.Path(file_okay=False, path_type=Path),
              help="Where to write NAME.yaml and NAME.test.yaml.")
def new(name: str, platform_name: str, directory: Path) -> None:
    """Write a complete policy NAME.yaml for a platform, every event included, and its test file."""
    if not POLICY_NAME.match(name):
        raise click.BadParameter("lower-case letters, digits, - and _, starting with a letter or digit", param_hint="NAME")
    policy_text, test_text = new_policy(name, platform_name)
    targets = {directory / f"{name}{POLICY_SUFFIX}": policy_text, directory / f"{name}{TEST_SUFFIX}": test_text}
    existing = [str(path) for path in targets if path.exists()]
    if existing:
        raise click.UsageError(f"{', '.join(existing)} already exists; choose another name or remove it")
    directory.mkdir(parents=True, exist_ok=True)
    for path, text in targets.items():
        path.write_text(text, encoding="utf-8")
        click.echo(f"wrote {path}")
