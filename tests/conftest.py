"""Shared helpers: shipped policies loaded once, and compact builders for requests."""
from __future__ import annotations

from pathlib import Path
from typing import Any, Iterator

import pytest

from fenliu.api import decision_log
from fenliu.engine import Policy, load_policy

ROOT = Path(__file__).resolve().parent.parent
RULES = ROOT / "rules"
NOW = "2026-11-23T10:00:00Z"


def agent(id: str, status: str = "online", *, role: str = "sub", max: int | None = 20, active: int = 0,
          suspended: bool = False, groups: tuple[str, ...] = (), last_assigned_at: str | None = None,
          skills: dict[str, int] | None = None) -> dict:
    built = {"id": id, "role": role, "status": status, "suspended": suspended, "max_sessions": max,
             "active": active, "groups": list(groups), "last_assigned_at": last_assigned_at}
    if skills is not None:
        built["skills"] = skills
    return built


def route(agents: list[dict], *, entry: str = "product_page", internal: bool = False, to_main: bool = False,
          private: bool = False, last: tuple[str, str] | None = None, tags: tuple[str, ...] = (),
          now: str = NOW, category: str | None = None) -> dict:
    customer: dict[str, Any] = {"id": "b1", "private_contact": private, "tags": list(tags)}
    if last:
        customer["last_agent"] = {"id": last[0], "at": last[1]}
    return {"event": "route", "now": now,
            "conversation": {"id": "c1", "entry": entry, "internal": internal, "to_main": to_main,
                             "category": category},
            "customer": customer, "agents": agents}


def hours_before_now(hours: float) -> str:
    from datetime import datetime, timedelta

    moment = datetime.fromisoformat(NOW) - timedelta(hours=hours)
    return moment.isoformat()


@pytest.fixture(autouse=True)
def decision_lines_written_within_the_test() -> Iterator[None]:
    """A test's decision log lines land in its own captured output, not on the terminal later."""
    yield
    decision_log.wait_written()


@pytest.fixture(scope="session")
def shipped() -> Iterator[dict[str, Policy]]:
    policies = {name: load_policy(RULES / f"{name}.yaml") for name in ("kuaishou", "taobao", "douyin")}
    yield policies
    for policy in policies.values():
        policy.close()


@pytest.fixture
def edited(tmp_path: Path):
    """Load a shipped policy after textual edits, as an operator would make them."""
    loaded: list[Policy] = []

    def load(name: str, *replacements: tuple[str, str]) -> Policy:
        text = (RULES / f"{name}.yaml").read_text(encoding="utf-8")
        for old, new in replacements:
            assert old in text, f"{old!r} not in {name}.yaml"
            text = text.replace(old, new)
        path = tmp_path / f"{name}.yaml"
        path.write_text(text, encoding="utf-8")
        policy = load_policy(path)
        loaded.append(policy)
        return policy

    yield load
    for policy in loaded:
        policy.close()


def decide(policy: Policy, request: dict) -> dict:
    return policy.evaluate(request, explain=True)["decision"]
