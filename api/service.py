"""What one worker holds: its settings, its policies and the watcher keeping them current."""
from __future__ import annotations

from dataclasses import dataclass

from .registry import PolicyRegistry
from .settings import Settings
from .watcher import Watcher


@dataclass
class Service:
    settings: Settings
    registry: PolicyRegistry
    watcher: Watcher
