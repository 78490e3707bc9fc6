"""Hostile policy files: each is rejected with a clear error, in bounded time and memory, and the
last good version of the policy keeps serving. The limits are in SECURITY.md."""
from __future__ import annotations

import resource
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from fenliu.api.registry import PolicyRegistry

from conftest import RULES, agent, route

FENLIU = Path(sys.executable).parent / "fenliu"
MEMORY_CAP_BYTES = 1 << 30
TIME_CAP_SECONDS = 60


def _billion_laughs() -> bytes:
    lines = ['a0: &a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for level in range(1, 10):
        previous = f"*a{level - 1}"
        lines.append(f"a{level}: &a{level} [{', '.join([previous] * 10)}]")
    return ("\n".join(lines) + "\nname: *a9\n").encode()


def _good() -> bytes:
    return (RULES / "kuaishou.yaml").read_bytes()


HOSTILE: dict[str, tuple[bytes, str]] = {
    "alias_bomb": (_billion_laughs(), "alias"),
    "fifty_megabytes": (b"# padding\n" * 5_000_000, "over the limit"),
    "ten_thousand_deep_flow": (b"name: " + b"[" * 10_000 + b"]" * 10_000 + b"\n", "nested deeper than 64"),
    "ten_thousand_deep_block": (b"name:\n" + b"".join(b" " * i + b"- \n" for i in range(1, 400)), "nested deeper than 64"),
    "invalid_utf8": (b"name: kuaishou\nplatform: \xff\xfe\n", "UTF-8"),
    "python_object": (b"name: !!python/object/apply:os.system ['echo owned']\n", "tag"),
    "duplicate_keys": (_good().replace(b"platform: kuaishou", b"platform: kuaishou\nplatform: douyin", 1), "duplicate key"),
    "binary": (bytes(range(256)) * 64, ""),
    "truncated_mid_write": (_good()[: len(_good()) // 2] + b"\n  - {id: [", ""),
}


def _limited() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_CAP_BYTES, MEMORY_CAP_BYTES))


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_fenliu_check_rejects_it_clearly_within_bounded_time_and_memory(tmp_path, name):
    content, expected = HOSTILE[name]
    path = tmp_path / "kuaishou.yaml"
    path.write_bytes(content)
    result = subprocess.run([str(FENLIU), "check", str(path)], capture_output=True, text=True,
                            timeout=TIME_CAP_SECONDS, preexec_fn=_limited)
    assert result.returncode == 1, result.stdout + result.stderr
    first = result.stderr.splitlines()[0]
    assert first.startswith(f"{path}:"), first
    assert expected.lower() in result.stderr.lower()
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_the_last_good_version_keeps_serving(tmp_path, name):
    rules = tmp_path / "rules"
    rules.mkdir()
    shutil.copy(RULES / "kuaishou.yaml", rules)
    registry = PolicyRegistry(rules)
    registry.refresh()
    (rules / "kuaishou.yaml").write_bytes(HOSTILE[name][0])
    registry.refresh()
    entry = registry.entry("kuaishou")
    assert entry.status == "stale" and entry.errors[0]["message"]
    with registry.lease("kuaishou") as loaded:
        assert loaded.policy.evaluate(route([agent("a1")]))["decision"]["agent_id"] == "a1"
    registry.close()
