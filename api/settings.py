"""Service configuration: flags of `fenliu serve`, else `FENLIU_*` environment variables, else defaults."""
from __future__ import annotations

import os
from dataclasses import dataclass, fields
from pathlib import Path

from fenliu.engine.yaml_source import YamlLimits


@dataclass(frozen=True)
class Settings:
    rules_dir: Path = Path("rules")
    admin_token: str | None = None
    max_body_bytes: int = 1 << 20
    max_batch: int = 1000
    poll_seconds: float = 1.0
    runtime_dir: Path | None = None
    debug_log: bool = False
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

    @property
    def yaml_limits(self) -> YamlLimits:
        return YamlLimits(self.max_policy_bytes, self.max_yaml_depth, self.max_yaml_nodes)

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None, **overrides: object) -> "Settings":
        """Settings from `FENLIU_<FIELD>` variables (e.g. FENLIU_RULES_DIR), then explicit overrides."""
        environ = os.environ if environ is None else environ
        values: dict[str, object] = {}
        for item in fields(cls):
            raw = environ.get(f"FENLIU_{item.name.upper()}")
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
