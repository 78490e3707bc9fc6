"""`fenliu simulate batch`: every shop-day under every policy variant, on Dask distributed or a local
pool, in one report (B19 shop rate per shop, the distribution of its change, the worst shops)."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from conftest import RULES
from fenliu.cli import main
from fenliu.engine import load_policy
from fenliu.engine.simulation import SimulationOptions, run_simulation
from fenliu.engine.simulation.batch import read_shops, run_tasks, tasks_for
from fenliu.engine.simulation.generator import TeamSpec, TrafficSpec, generate_roster, generate_trace

SHOPS = 3


@pytest.fixture(scope="module")
def manifest(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("batch")
    shops = []
    for n in range(SHOPS):
        team = generate_roster(TeamSpec(agents=4, seed=n + 1))
        trace = generate_trace(TrafficSpec(conversations=150, seed=n + 1), tuple(a["id"] for a in team["agents"]))
        (root / f"s{n}.jsonl").write_text("".join(json.dumps(line) + "\n" for line in trace), encoding="utf-8")
        (root / f"s{n}.json").write_text(json.dumps(team), encoding="utf-8")
        shops.append({"name": f"shop-{n}", "trace": f"s{n}.jsonl", "roster": f"s{n}.json"})
    (root / "shops.yaml").write_text(json.dumps({"shops": shops}), encoding="utf-8")
    return root / "shops.yaml"


def direct_rate(shop, policy_file: str) -> float:
    policy = load_policy(policy_file)
    try:
        trace = [json.loads(line) for line in Path(shop.trace).read_text(encoding="utf-8").splitlines()]
        roster = json.loads(Path(shop.roster).read_text(encoding="utf-8"))
        return run_simulation(trace, roster, [policy], SimulationOptions())["runs"][0]["kpis"]["reply_rate"]["shop"]
    finally:
        policy.close()


def test_b19_batch_on_a_dask_local_cluster_reports_every_shop_with_a_progress_bar(manifest, tmp_path):
    from distributed import LocalCluster

    with LocalCluster(n_workers=1, threads_per_worker=1, processes=False, dashboard_address=None) as cluster:
        result = CliRunner().invoke(main, ["simulate", "batch", str(manifest), str(RULES / "kuaishou.yaml"),
                                           str(RULES / "taobao.yaml"), "--scheduler", cluster.scheduler_address,
                                           "--progress", "--json", str(tmp_path / "batch.json")])
    assert result.exit_code == 0, result.output
    assert "runs [########################] 100%" in result.stderr
    report = json.loads((tmp_path / "batch.json").read_text(encoding="utf-8"))
    assert report["runs"] == SHOPS * 2 and report["shop_days_per_minute"] > 0
    assert [shop["shop"] for shop in report["shops"]] == [f"shop-{n}" for n in range(SHOPS)]
    shops = read_shops(manifest)
    for shop, row in zip(shops, report["shops"]):
        assert row["rates"]["kuaishou"] == direct_rate(shop, str(RULES / "kuaishou.yaml"))
        assert row["changes"]["taobao"] == pytest.approx(row["rates"]["taobao"] - row["rates"]["kuaishou"], abs=1e-4)
    variant = report["variants"]["taobao"]
    assert sum(bucket["shops"] for bucket in variant["change"]["histogram"]) == SHOPS
    changes = [variant_row["change"] for variant_row in variant["worst"]]
    assert changes == sorted(changes) and variant["change"]["min"] == changes[0]
    assert "shop-days per minute" in result.output and "worst shops:" in result.output


def test_local_pool_gives_the_rows_dask_gives(manifest):
    tasks = tasks_for(read_shops(manifest)[:1], {"kuaishou": str(RULES / "kuaishou.yaml")}, SimulationOptions())
    seen = []
    rows = run_tasks(tasks, workers=1, progress=lambda done, total: seen.append((done, total)))
    assert seen == [(1, 1)]
    assert rows[0]["shop_rate"] == direct_rate(tasks[0].shop, str(RULES / "kuaishou.yaml"))


def test_manifest_errors_name_the_shop_and_field(tmp_path):
    path = tmp_path / "shops.yaml"
    path.write_text("shops:\n  - {name: a, trace: missing.jsonl, roster: r.json}\n  - {name: a}\n", encoding="utf-8")
    result = CliRunner().invoke(main, ["simulate", "batch", str(path), str(RULES / "kuaishou.yaml")])
    assert result.exit_code == 2
    assert "shops.0.trace: no file missing.jsonl" in result.output
    assert "shops.1: must be {name, trace, roster}" in result.output
