"""The `fenliu` command: the engine's commands plus `serve`, which needs the HTTP layer."""
from engine.cli import main

from .server import serve

main.add_command(serve)

__all__ = ["main"]
