"""Service configuration: flags of `fenliu serve`, else `FENLIU_*` environment variables, else defaults."""
from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from fenliu.engine.yaml_source import YamlLimits


BUYER_MODES = ("hash", "mask", "omit", "plain")


@dataclass(frozen=True)
class Settings:
    rules_dir: Path = Path("rules")
    admin_token: str | None = None
    max_body_bytes: int = 1 << 20
    max_batch: int = 1000
    poll_seconds: float = 1.0
    # Filesystem events (inotify); off leaves the poll alone, for file systems that do not send them.
    watch_events: bool = True
    runtime_dir: Path | None = None
    debug_log: bool = False
    # Buyer identifiers in decision log lines: hash (a keyed SHA-256 prefix), mask, omit or plain.
    decision_log_buyer: str = "hash"
    decision_log_buyer_key: str = ""
    decision_log_sample: float = 1.0
    decision_log_buffer: int = 10000
    # Lets `fenliu serve` listen beyond loopback with no admin token (admin calls stay loopback-only).
    allow_open_admin: bool = False
    max_policy_bytes: int = YamlLimits.max_bytes
    max_yaml_depth: int = YamlLimits.max_depth
    max_yaml_nodes: int = YamlLimits.max_nodes
    # POST /v1/simulate holds a request thread: tiny runs only. Larger ones are jobs (/v1/simulations).
    simulate_max_conversations: int = 500
    simulate_max_agents: int = 50
    simulate_max_policies: int = 2
    simulate_time_limit_seconds: float = 2.0
    simulation_workers: int = 1
    simulation_queue: int = 4
    simulation_max_conversations: int = 200_000
    simulation_time_limit_seconds: float = 600.0
    simulation_nice: int = 19

    def __post_init__(self) -> None:
        if self.decision_log_buyer not in BUYER_MODES:
            raise ValueError(f"FENLIU_DECISION_LOG_BUYER={self.decision_log_buyer!r}: use one of {', '.join(BUYER_MODES)}")
        if not 0.0 <= self.decision_log_sample <= 1.0:
            raise ValueError(f"FENLIU_DECISION_LOG_SAMPLE={self.decision_log_sample}: a fraction from 0 to 1")
        if self.decision_log_buffer < 1:
            raise ValueError(f"FENLIU_DECISION_LOG_BUFFER={self.decision_log_buffer}: at least 1 line")

    @property
    def yaml_limits(self) -> YamlLimits:
        return YamlLimits(self.max_policy_bytes, self.max_yaml_depth, self.max_yaml_nodes)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides: Any) -> "Settings":
        """Settings from `FENLIU_<FIELD>` variables (e.g. FENLIU_RULES_DIR), then explicit overrides."""
        variables = os.environ if environ is None else environ
        # Each value is parsed to its field's type by _parse, which the dataclass's types cannot show.
        values: dict[str, Any] = {}
        for item in fields(cls):
            raw = variables.get(f"FENLIU_{item.name.upper()}")
            if raw is not None and raw != "":
                values[item.name] = _parse(item.name, raw, item.type)
        values.update({name: value for name, value in overrides.items() if value is not None})
        return cls(**values)


def _parse(name: str, raw: str, kind: object) -> object:
    kind = str(kind)
    try:
        if "Path" in kind:
            return Path(raw)
        if kind == "bool":
            if raw.lower() not in ("1", "true", "yes", "0", "false", "no"):
                raise ValueError(raw)
            return raw.lower() in ("1", "true", "yes")
        if kind == "int":
            return int(raw)
        if kind == "float":
            return float(raw)
    except ValueError:
        raise ValueError(f"FENLIU_{name.upper()}={raw!r} is not a valid {kind}") from None
    return raw
