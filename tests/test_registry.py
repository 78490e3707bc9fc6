"""The registry keeps each worker's policies in step with the rules directory without ever
serving half a reload or a broken file, and frees replaced versions once no request uses them."""
from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from fenliu.api.registry import PolicyRegistry
from fenliu.engine.durable import EngineError

from conftest import RULES, agent, route


@pytest.fixture
def rules_dir(tmp_path: Path) -> Path:
    directory = tmp_path / "rules"
    directory.mkdir()
    shutil.copy(RULES / "kuaishou.yaml", directory)
    return directory


@pytest.fixture
def registry(rules_dir: Path):
    built = PolicyRegistry(rules_dir)
    built.refresh()
    yield built
    built.close()


def _bump(path: Path, version: str) -> None:
    text = path.read_text(encoding="utf-8")
    head, _, rest = text.partition('version: "')
    path.write_text(f'{head}version: "{version}{rest[rest.index(chr(34)):]}', encoding="utf-8")


def _version(registry: PolicyRegistry, name: str = "kuaishou") -> str | None:
    entry = registry.entry(name)
    return entry.loaded.policy.version if entry and entry.loaded else None


def test_an_unchanged_file_is_not_recompiled(registry):
    before = registry.entry("kuaishou").loaded
    report = registry.refresh()
    assert report.unchanged == ["kuaishou"] and registry.entry("kuaishou").loaded is before


def test_an_invalid_edit_keeps_the_last_good_version_serving_and_marks_it_stale(registry, rules_dir):
    (rules_dir / "kuaishou.yaml").write_text("name: kuaishou\nplatform: kuaishou\nrules: [\n", encoding="utf-8")
    report = registry.refresh()
    entry = registry.entry("kuaishou")
    assert report.rejected and entry.status == "stale" and entry.errors[0]["line"]
    assert _version(registry) == "2026.11.1"
    with registry.lease("kuaishou") as loaded:
        assert loaded.policy.evaluate(route([agent("a1")]))["decision"]["agent_id"] == "a1"


def test_fixing_the_file_clears_stale(registry, rules_dir):
    good = (rules_dir / "kuaishou.yaml").read_bytes()
    (rules_dir / "kuaishou.yaml").write_text("oops: [", encoding="utf-8")
    registry.refresh()
    (rules_dir / "kuaishou.yaml").write_bytes(good)
    registry.refresh()
    assert registry.entry("kuaishou").status == "active"


def test_a_deleted_file_unloads_its_policy(registry, rules_dir):
    (rules_dir / "kuaishou.yaml").unlink()
    assert registry.refresh().unloaded == ["kuaishou"]
    assert registry.entry("kuaishou") is None


def test_an_unreadable_directory_unloads_nothing(registry, rules_dir, tmp_path):
    rules_dir.rename(tmp_path / "moved")
    report = registry.refresh()
    assert report.rejected and registry.directory_error
    assert _version(registry) == "2026.11.1"


def test_a_request_in_flight_keeps_its_version_until_it_ends(registry, rules_dir):
    with registry.lease("kuaishou") as old:
        _bump(rules_dir / "kuaishou.yaml", "2")
        registry.refresh()
        assert _version(registry) == "2"
        assert old.policy.version == "2026.11.1"
        assert old.policy.evaluate(route([agent("a1")]))["policy"]["version"] == "2026.11.1"
    with pytest.raises(EngineError):
        old.policy.evaluate(route([agent("a1")]))


def test_a_replaced_version_nobody_uses_is_freed_at_once(registry, rules_dir):
    old = registry.entry("kuaishou").loaded
    _bump(rules_dir / "kuaishou.yaml", "3")
    registry.refresh()
    with pytest.raises(EngineError):
        old.policy.evaluate(route([agent("a1")]))


def test_a_policy_must_be_named_like_its_file(registry, rules_dir):
    shutil.copy(RULES / "taobao.yaml", rules_dir / "shop.yaml")
    registry.refresh()
    assert "differs from the file name" in registry.entry("shop").errors[0]["message"]


def test_a_symlink_leaving_the_directory_is_refused(registry, rules_dir, tmp_path):
    outside = tmp_path / "taobao.yaml"
    shutil.copy(RULES / "taobao.yaml", outside)
    (rules_dir / "taobao.yaml").symlink_to(outside)
    registry.refresh()
    assert "outside the rules directory" in registry.entry("taobao").errors[0]["message"]


def test_a_configmap_style_symlink_swap_is_followed(tmp_path):
    """Kubernetes mounts ConfigMaps as `name.yaml -> ..data/name.yaml` and swaps `..data` atomically."""
    rules = tmp_path / "rules"
    first = rules / "..2026_11_23_1"
    first.mkdir(parents=True)
    shutil.copy(RULES / "kuaishou.yaml", first)
    (rules / "..data").symlink_to(first.name)
    (rules / "kuaishou.yaml").symlink_to("..data/kuaishou.yaml")
    registry = PolicyRegistry(rules)
    registry.refresh()
    assert _version(registry) == "2026.11.1"
    second = rules / "..2026_11_23_2"
    second.mkdir()
    shutil.copy(RULES / "kuaishou.yaml", second)
    _bump(second / "kuaishou.yaml", "4")
    (rules / "..data_tmp").symlink_to(second.name)
    os.replace(rules / "..data_tmp", rules / "..data")
    registry.refresh()
    assert _version(registry) == "4"
    registry.close()


@pytest.mark.parametrize("content", [b"\x00\x01\x02binary", b"\xff\xfe\xfd", b""])
def test_binary_and_empty_files_are_rejected_with_a_message(registry, rules_dir, content):
    (rules_dir / "other.yaml").write_bytes(content)
    registry.refresh()
    assert registry.entry("other").status == "failed" and registry.entry("other").errors[0]["message"]


def test_test_files_and_hidden_files_are_not_policies(registry, rules_dir):
    (rules_dir / "kuaishou.test.yaml").write_text("cases: []\n", encoding="utf-8")
    (rules_dir / ".kuaishou.yaml.swp").write_text("junk", encoding="utf-8")
    registry.refresh()
    assert [entry.name for entry in registry.entries()] == ["kuaishou"]


def test_a_fault_of_the_loader_costs_that_file_only(registry, rules_dir, monkeypatch):
    from fenliu.api import registry as registry_module

    shutil.copy(RULES / "taobao.yaml", rules_dir)

    def explode(data, file, limits):
        raise RuntimeError("loader bug")

    monkeypatch.setattr(registry_module, "parse_policy", explode)
    _bump(rules_dir / "kuaishou.yaml", "5")
    report = registry.refresh()
    assert registry.entry("kuaishou").status == "stale" and _version(registry) == "2026.11.1"
    assert registry.entry("taobao").status == "failed"
    assert {item["file"] for item in report.rejected} == {str(rules_dir / "kuaishou.yaml"), str(rules_dir / "taobao.yaml")}


def test_a_file_gone_between_listing_and_reading_is_not_a_rejection(registry, rules_dir, monkeypatch):
    """The directory moved away mid-refresh (a deploy swapping it) must not mark policies stale."""
    listed = registry._policy_files()
    monkeypatch.setattr(registry, "_policy_files", lambda: listed)
    (rules_dir / "kuaishou.yaml").unlink()
    report = registry.refresh()
    assert report.rejected == [] and registry.entry("kuaishou").status == "active"


def test_a_lease_holds_the_version_serving_when_its_block_starts(registry, rules_dir):
    lease = registry.lease("kuaishou")
    _bump(rules_dir / "kuaishou.yaml", "4")
    registry.refresh()
    with lease as loaded:
        assert loaded.policy.version == "4"
    assert _version(registry) == "4"

