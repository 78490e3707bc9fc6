"""The `fenliu` command: every subcommand assembled in one place. Each lives beside what it drives."""
from __future__ import annotations

import click

from fenliu import __version__
from fenliu.api.server import serve
from fenliu.engine.cli import check, evaluate, examples, facts, new
from fenliu.engine.policytests.cli import diff_command, fmt_command, test_command
from fenliu.engine.simulation.cli import simulate


@click.group()
@click.version_option(__version__, prog_name="fenliu")
def main() -> None:
    """Fenliu (分流): routing policies for e-commerce customer service."""


for command in (check, evaluate, facts, examples, new, test_command, fmt_command, diff_command, simulate, serve):
    main.add_command(command)
