"""The benchmark's hand-written floor must keep deciding like the shipped policies, and its staged
copy of `Policy.evaluate` must keep reaching the same decisions, or the benchmark compares nothing."""
from __future__ import annotations

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench import floor  # noqa: E402
from bench.agreement import assert_agree  # noqa: E402
from bench.floor import FloorDecision  # noqa: E402
from bench.requests_gen import generate  # noqa: E402
from bench.stages import staged_route  # noqa: E402


@pytest.mark.parametrize("floor_policy", [floor.KUAISHOU, floor.DOUYIN], ids=lambda policy: policy.name)
def test_floor_agrees_with_the_shipped_policy(shipped, floor_policy):
    requests = generate(12, 50, seed=3).requests + generate(40, 10, seed=4).requests
    assert assert_agree(shipped[floor_policy.name], floor_policy, requests) == 60


def test_staged_evaluation_reaches_the_same_decision(shipped):
    policy = shipped["kuaishou"]
    for request in generate(12, 30, seed=5).requests:
        outcome, times = staged_route(policy, request)
        assert outcome == FloorDecision.of_envelope(policy.evaluate(request))
        assert times.total > 0


def test_one_nearest_rank_percentile_for_benchmarks_and_simulation():
    from bench import loadgen
    from fenliu.engine.simulation import kpis

    assert loadgen.percentile is kpis.percentile
    assert kpis.percentile(list(range(1, 21)), 95) == 19
    assert kpis.percentile(list(range(1, 21)), 100) == 20


def test_every_function_a_benchmark_profile_follows_still_exists():
    """The report names profiled functions by the functions themselves: renamed code fails here,
    not at the end of `make bench`."""
    from bench import report

    for name in report.FOLLOWED:
        assert report._followed(name), name
