"""`fenliu simulate advise`: the fewest agents per hour keeping every hour's shop rate at or above
the target (B19: about 80% is the norm of a healthy shop), cross-checked against Erlang C staffing
on the textbook shop of test_simulation_queueing.

Erlang C is the steady state: the first hour starts with an empty queue and the last one's
backlog is never judged, so both may need fewer agents; the hours between must agree."""
from __future__ import annotations

import json

from click.testing import CliRunner

from conftest import RULES
from fenliu.cli import main
from fenliu.engine.simulation import SimulationOptions, read_roster, read_trace
from fenliu.engine.simulation import erlang
from fenliu.engine.simulation.advise import advise
from fenliu.engine.simulation.generator import poisson_trace
from test_simulation_queueing import REPLY, SERVICE, START, textbook_behaviour, textbook_roster

PER_HOUR, HOURS, ROSTER = 300, 4, 10


def textbook_files(tmp_path, hours: int = HOURS, roster_size: int = ROSTER):
    policy = tmp_path / "kuaishou-mmc.yaml"
    text = (RULES / "kuaishou.yaml").read_text(encoding="utf-8")
    policy.write_text(text.replace("auto_close_minutes: 20\n", "auto_close_minutes: 360\n"), encoding="utf-8")
    trace = tmp_path / "trace.jsonl"
    trace.write_text("".join(json.dumps(line) + "\n" for line in poisson_trace((PER_HOUR,) * hours, START, 5)),
                     encoding="utf-8")
    roster = tmp_path / "roster.json"
    roster.write_text(json.dumps(textbook_roster(roster_size)), encoding="utf-8")
    behaviour = tmp_path / "behaviour.json"
    behaviour.write_text(json.dumps({key: getattr(textbook_behaviour(), key) for key in (
        "reply_median_seconds", "reply_load_factor", "reply_sigma", "manual_close_share", "wrap_up_median_seconds",
        "wrap_up_distribution")}), encoding="utf-8")
    return policy, trace, roster, behaviour


def test_b19_advice_agrees_with_erlang_c_staffing_on_the_textbook_shop(tmp_path):
    policy, trace, roster, _ = textbook_files(tmp_path)
    options = SimulationOptions(behaviour=textbook_behaviour(), drain_hours=2)
    advice = advise(str(trace), read_trace(trace), read_roster(roster), str(policy), options, workers=2)
    needed = erlang.staffing(PER_HOUR / 3600, SERVICE, 0.8, 180 - REPLY)
    assert 3 <= needed < ROSTER
    assert len(advice.agents) == HOURS and not advice.unreachable
    first, *steady, last = advice.agents
    assert first <= needed and last <= needed and all(abs(agents - needed) <= 1 for agents in steady), (advice.agents, needed)
    assert all(rate >= 0.8 for rate in advice.rates)
    assert advice.given_shop_rate is not None and sum(advice.agents) < HOURS * ROSTER


def test_cli_advise_prints_the_recommendation_and_its_effect(tmp_path):
    policy, trace, roster, behaviour = textbook_files(tmp_path, hours=1, roster_size=7)
    result = CliRunner().invoke(main, ["simulate", "advise", str(trace), str(roster), str(policy), "--target", "0.7",
                                       "--behaviour", str(behaviour), "--workers", "2", "--json", str(tmp_path / "a.json")])
    assert result.exit_code == 0, result.output
    report = json.loads((tmp_path / "a.json").read_text(encoding="utf-8"))
    assert report["target"] == 0.7 and len(report["hours"]) == 1
    assert all(hour["reply_rate"] >= 0.7 for hour in report["hours"])
    assert f"{report['agent_hours']} agent-hours (of a roster of 7)" in result.output
