"""The simulator against queueing theory (docs/simulation.md, "Validation"), and buyers who give up.

A shop reduced to the textbook M/M/c queue must show the waits Erlang C predicts: maximum 1 per
agent and everyone online (B2), Poisson arrivals of new buyers only (no returning customers, B7),
a fixed reply time plus an exponential wrap-up before the manual close (B17), and the automatic
close moved out of reach (360 minutes, the longest Kuaishou allows: kuaishou seed
000_542c9a2c417400de.txt, "距离最后一条消息20分钟内买家没有再发新消息,系统会将会话自动关闭").
"""
from __future__ import annotations

import math
import re
import statistics

import pytest

from conftest import RULES
from fenliu.engine import load_policy
from fenliu.engine.simulation import Behaviour, SimulationOptions, run_simulation
from fenliu.engine.simulation import erlang
from fenliu.engine.simulation.generator import poisson_trace

AGENTS, UTILISATION, SERVICE, REPLY = 2, 0.6, 60.0, 1.0
RATE = UTILISATION * AGENTS / SERVICE  # buyers per second
REPLICATIONS, HOURS = 8, 14
START = "2026-11-23T00:00:00+08:00"


def textbook_behaviour(**more) -> Behaviour:
    """A fixed reply time, then an exponential wrap-up: service time REPLY + Exp, mean SERVICE."""
    return Behaviour(reply_median_seconds=REPLY, reply_load_factor=0, reply_sigma=0, manual_close_share=1,
                     wrap_up_median_seconds=(SERVICE - REPLY) * math.log(2), wrap_up_distribution="exponential",
                     **more)


@pytest.fixture(scope="module")
def textbook_policy(tmp_path_factory):
    text = (RULES / "kuaishou.yaml").read_text(encoding="utf-8")
    # The automatic close out of reach: the longest the platform allows.
    text, replaced = re.subn(r"(?m)^(\s*auto_close_minutes:) 20\b", r"\1 360", text, count=1)
    assert replaced == 1
    path = tmp_path_factory.mktemp("mmc") / "kuaishou.yaml"
    path.write_text(text, encoding="utf-8")
    policy = load_policy(path)
    yield policy
    policy.close()


def textbook_roster(agents: int = AGENTS) -> dict:
    return {"agents": [{"id": f"a{n}", "max_sessions": 1, "status": "online"} for n in range(agents)]}


def replicate(policy, behaviour: Behaviour, hours: int = HOURS) -> list[dict]:
    """Independent replications (own arrivals, own luck): their spread gives the standard error."""
    runs = []
    for seed in range(1, REPLICATIONS + 1):
        trace = poisson_trace((RATE * 3600,) * hours, START, seed)
        options = SimulationOptions(seed=seed, behaviour=behaviour, drain_hours=2)
        runs.append(run_simulation(trace, textbook_roster(), [policy], options)["runs"][0]["kpis"])
    return runs


def estimate(values: list[float]) -> tuple[float, float]:
    return statistics.mean(values), statistics.stdev(values) / math.sqrt(len(values))


def test_erlang_c_textbook_values():
    """Two agents, one erlang of load: a third of the buyers wait (the classic worked example)."""
    assert erlang.probability_of_waiting(2, 1 / 60, 60) == pytest.approx(1 / 3)
    assert erlang.mean_wait(2, 1 / 60, 60) == pytest.approx((1 / 3) / (2 / 60 - 1 / 60))
    assert erlang.service_level(2, 1 / 60, 60, 0) == pytest.approx(2 / 3)
    assert erlang.probability_of_waiting(3, 1 / 20, 60) == 1.0  # load 3 on 3 agents: the queue never empties
    assert erlang.staffing(1 / 30, 120, 0.8, 178) == 5
    assert erlang.service_level(4, 1 / 30, 120, 178) < 0.8 <= erlang.service_level(5, 1 / 30, 120, 178)


def test_b12_b19_textbook_shop_waits_as_erlang_c_predicts(textbook_policy):
    """Share of buyers who wait, mean wait (all buyers) and the 3-minute rate, against Erlang C.

    Tolerance: four standard errors of the mean over the replications, which are themselves
    required to be small enough for the check to mean something.
    """
    runs = replicate(textbook_policy, textbook_behaviour())
    routed = [kpis["conversations"]["routed_to_agents"] for kpis in runs]
    assert all(kpis["closed"]["auto"] == 0 and kpis["conversations"]["waiting_at_end"] == 0 for kpis in runs)
    assert all(agent["peak_active"] == 1 for kpis in runs for agent in kpis["agents"])

    waited, waited_se = estimate([kpis["conversations"]["queued"] / n for kpis, n in zip(runs, routed)])
    expected = erlang.probability_of_waiting(AGENTS, RATE, SERVICE)
    assert waited_se < 0.03
    assert abs(waited - expected) <= 4 * waited_se, (waited, expected, waited_se)

    wait, wait_se = estimate([kpis["queue_wait_seconds"]["mean"] * kpis["queue_wait_seconds"]["count"] / n
                              for kpis, n in zip(runs, routed)])
    expected_wait = erlang.mean_wait(AGENTS, RATE, SERVICE)
    assert wait_se < 0.15 * expected_wait
    assert abs(wait - expected_wait) <= 4 * wait_se, (wait, expected_wait, wait_se)

    # The shop's clock runs from the buyer's message: on time when the wait is within 180 s − the reply.
    rate, rate_se = estimate([kpis["reply_rate"]["shop"] for kpis in runs])
    expected_rate = erlang.service_level(AGENTS, RATE, SERVICE, 180 - REPLY)
    assert abs(rate - expected_rate) <= 4 * rate_se + 0.005, (rate, expected_rate, rate_se)


def test_exponential_wrap_up_has_the_median_given(textbook_policy):
    """The exponential option keeps `wrap_up_median_seconds` a median: half the closes come sooner."""
    from fenliu.engine.simulation.agents import draw_luck
    from fenliu.engine.simulation.trace import trace_from_dicts

    trace = trace_from_dicts(poisson_trace((600,), START, 1))
    luck = draw_luck(trace, textbook_behaviour(), 1)
    factors = sorted(item.wrap_up[0] for item in luck)
    assert statistics.median(factors) == pytest.approx(1, abs=0.12)
    assert statistics.mean(factors) == pytest.approx(1 / math.log(2), rel=0.12)


def test_patience_buyers_give_up_in_the_queue_and_the_rate_falls(textbook_policy):
    """B12, B19: with impatient buyers some leave the queue pool unanswered; they count as late for
    the shop, the waits of those left are shorter, and `shop_rate_without` shows what leaving cost."""
    trace = poisson_trace((RATE * 3600 * 1.5,) * 4, START, 7)  # overloaded: the queue grows
    patient = run_simulation(trace, textbook_roster(), [textbook_policy],
                             SimulationOptions(behaviour=textbook_behaviour(), drain_hours=12))["runs"][0]["kpis"]
    impatient_behaviour = textbook_behaviour(patience_median_seconds=120)
    impatient = run_simulation(trace, textbook_roster(), [textbook_policy],
                               SimulationOptions(behaviour=impatient_behaviour, drain_hours=12))["runs"][0]["kpis"]
    assert patient["abandoned"] == {"count": 0, "share": 0.0, "shop_rate_without": patient["reply_rate"]["shop"]}
    gave_up = impatient["abandoned"]
    assert gave_up["count"] > 0.1 * len(trace)
    assert gave_up["share"] == pytest.approx(gave_up["count"] / len(trace), abs=1e-4)
    assert impatient["queue_wait_seconds"]["mean"] < patient["queue_wait_seconds"]["mean"]
    assert impatient["conversations"]["served"] == len(trace) - gave_up["count"]
    assert gave_up["shop_rate_without"] > impatient["reply_rate"]["shop"]
    on_time = impatient["reply_rate"]["on_time"]
    assert gave_up["shop_rate_without"] == pytest.approx(on_time / (impatient["reply_rate"]["counted"] - gave_up["count"]),
                                                         abs=1e-4)


def test_bad_distribution_and_patience_are_named():
    from fenliu.engine.simulation import SimulationInputError, options_from_dict

    with pytest.raises(SimulationInputError) as caught:
        options_from_dict({"behaviour": {"wrap_up_distribution": "uniform", "patience_median_seconds": -1}})
    paths = {issue["path"] for issue in caught.value.errors}
    assert paths == {"wrap_up_distribution", "patience_median_seconds"}
