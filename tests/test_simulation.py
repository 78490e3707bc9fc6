"""`fenliu simulate`: a discrete-event shop whose every decision is the policy's (B19 and friends).

The first tests are small enough to follow by hand; the later ones check that the known effects
of a change show up in the KPIs, on small synthetic days so the file runs in seconds.
"""
from __future__ import annotations

import json
from dataclasses import replace

import jsonschema
import pytest
from click.testing import CliRunner

from conftest import ROOT, RULES
from fenliu.engine import load_policy
from fenliu.cli import main
from fenliu.engine.simulation import (
    Behaviour, SimulationInputError, SimulationLimitError, SimulationOptions, read_roster, read_trace,
    run_simulation,
)
from fenliu.engine.simulation.generator import TeamSpec, TrafficSpec, generate_roster, generate_trace

EXAMPLES = ROOT / "docs" / "examples" / "simulation"
# No luck, no load effect: every reply takes exactly one minute, nobody closes by hand.
CLOCKWORK = Behaviour(reply_median_seconds=60, reply_load_factor=0, reply_sigma=0, manual_close_share=0,
                      wrap_up_sigma=0)


def at(clock: str, day: int = 23) -> str:
    return f"2026-11-{day:02d}T{clock}+08:00"


def simulate(trace, roster, policies, behaviour: Behaviour = CLOCKWORK, **options) -> dict:
    return run_simulation(trace, roster, policies, SimulationOptions(behaviour=behaviour, **options))


@pytest.fixture(scope="module")
def kuaishou():
    policy = load_policy(RULES / "kuaishou.yaml")
    yield policy
    policy.close()


@pytest.fixture(scope="module")
def taobao():
    policy = load_policy(RULES / "taobao.yaml")
    yield policy
    policy.close()


# ---- by hand ------------------------------------------------------------------------------------

def test_b19_shop_and_agent_rates_queue_wait_and_auto_close_computed_by_hand(kuaishou):
    """Two agents with room for one conversation each; three buyers 10 s apart.

    b1 → a1 (least busy, ties by id), b2 → a2, b3 waits in the queue pool (B12). Replies take
    60 s: b1 at 60 s, b2 at 70 s. b1 writes again 30 s after its answer (90 s) and is answered at
    150 s. b2 is silent: auto-closed 20 min after its answer, at 1270 s (B17); the freed slot
    takes b3 from the queue at once (B14) after 1270 − 20 = 1250 s of waiting. a2 answers b3 at
    1330 s: within 3 minutes for a2 (the clock starts on entering its list), 1310 s late for the
    shop (the clock starts at the buyer's first message, queue included) (B19).
    """
    trace = [{"at": at("09:00:00"), "customer": "b1", "follow_ups": [30]},
             {"at": at("09:00:10"), "customer": "b2"},
             {"at": at("09:00:20"), "customer": "b3"}]
    roster = {"agents": [{"id": "a1", "role": "main", "max_sessions": 1}, {"id": "a2", "max_sessions": 1}]}
    kpis = simulate(trace, roster, [kuaishou])["runs"][0]["kpis"]

    assert kpis["conversations"]["assigned_at_once"] == 2
    assert kpis["conversations"]["queued"] == 1
    assert kpis["conversations"]["queue_free_share"] == round(2 / 3, 4)
    assert kpis["queue_wait_seconds"] == {"count": 1, "p50": 1250.0, "p95": 1250.0, "max": 1250.0, "mean": 1250.0}
    assert kpis["reply_rate"]["shop"] == round(2 / 3, 4)
    assert (kpis["reply_rate"]["on_time"], kpis["reply_rate"]["counted"]) == (2, 3)
    assert not kpis["reply_rate"]["meets_target"]
    agents = {agent["id"]: agent for agent in kpis["agents"]}
    assert (agents["a1"]["on_time"], agents["a1"]["conversations"]) == (1, 1)
    assert (agents["a2"]["on_time"], agents["a2"]["conversations"]) == (2, 2)
    assert kpis["closed"] == {"manual": 0, "auto": 3, "manual_refused": 0, "auto_replies": 0}
    # b1 closes 20 min after its second answer (150 s), b3 20 min after its answer (1330 s).
    assert kpis["ended_at"] == at("09:42:10")
    assert kpis["decisions"]["route"] == 3 and kpis["decisions"]["dequeue"] == 1
    assert kpis["reply_rate"]["by_hour"] == [{"hour": at("09:00:00"), "label": "09:00", "conversations": 3,
                                             "on_time": 2, "reply_rate": round(2 / 3, 4)}]


def test_b17_manual_close_refused_while_the_buyer_waits_then_accepted(kuaishou):
    """The agent presses ESC 10 s after each answer; the buyer wrote back 5 s after the first, so
    the first close is refused ("please reply first"); after the second answer it goes through."""
    behaviour = replace(CLOCKWORK, manual_close_share=1.0, wrap_up_median_seconds=10)
    trace = [{"at": at("10:00:00"), "customer": "b1", "follow_ups": [5]}]
    kpis = simulate(trace, {"agents": [{"id": "a1"}]}, [kuaishou], behaviour)["runs"][0]["kpis"]
    assert kpis["closed"] == {"manual": 1, "auto": 0, "manual_refused": 1, "auto_replies": 0}
    assert kpis["ended_at"] == at("10:02:15")  # answers at 60 s and 125 s, closed at 135 s


def test_b17_a_silent_conversation_is_checked_again_only_while_the_silence_can_close_it(kuaishou, taobao, tmp_path):
    """Taobao's page (002_d72b7da4f9b65ca9.txt, 「建议您在与顾客完成对话后,及时将聊天窗口关闭」) leaves
    closing to the agent: its close rules never test the silence, so the automatic check 20 min
    after the answer keeps the window open, is not asked again (the answer could not change), and
    the agent closes the window by hand instead of leaving it to hold a slot for the rest of the day.
    A policy that closes after 45 min of silence is asked at 20 min, then every 5 min, and closes
    the conversation at the first check past 45 min: 60 s to the answer, then 20 + 5 × 5 min."""
    trace = [{"at": at("10:00:00"), "customer": "b1"}]
    roster = {"agents": [{"id": "a1"}]}
    kept = simulate(trace, roster, [taobao], drain_hours=8)["runs"][0]["kpis"]
    assert kept["decisions"]["close"] == 2  # the automatic check, then the agent's own close
    assert kept["closed"] == {"manual": 1, "auto": 0, "manual_refused": 0, "auto_replies": 0}
    assert kept["ended_at"] == at("10:21:00")

    later = tmp_path / "kuaishou.yaml"
    later.write_text((RULES / "kuaishou.yaml").read_text(encoding="utf-8").replace(
        "{fact: last_message.minutes_ago, ge: {param: auto_close_minutes}}", "{fact: last_message.minutes_ago, ge: 45}"),
        encoding="utf-8")
    patient = load_policy(later)
    try:
        closed = simulate(trace, roster, [patient])["runs"][0]["kpis"]
    finally:
        patient.close()
    assert closed["closed"]["auto"] == 1
    assert closed["decisions"]["close"] == 6
    assert closed["ended_at"] == at("10:46:00")


@pytest.mark.parametrize("name,expired", [("douyin", 1), ("kuaishou", 0)])
def test_b15_offline_messages_expire_after_seven_days_on_douyin_only(name, expired):
    """Nobody online: the buyer leaves an offline message (B13). The agent logs in eight days
    later; Douyin's dequeue expires it (003「超过7天的留言系统将不再自动分配」), Kuaishou's offline
    queue waits for the agent however long (000「直至客服上线后再分配给在线客服」)."""
    trace = [{"at": at("10:00:00", 1), "customer": "b1"}]
    roster = {"agents": [{"id": "a1", "status": "offline", "max_sessions": 10,
                          "schedule": [{"at": at("10:00:00", 9), "status": "online"}]}]}
    policy = load_policy(RULES / f"{name}.yaml")
    try:
        kpis = simulate(trace, roster, [policy], drain_hours=240)["runs"][0]["kpis"]
    finally:
        policy.close()
    assert kpis["conversations"]["offline_queued"] == 1
    assert kpis["offline_messages"]["expired"] == expired
    assert kpis["conversations"]["served"] == 1 - expired
    assert (kpis["reply_rate"]["on_time"], kpis["reply_rate"]["counted"]) == (0, 1)


def test_b6_private_contact_held_for_the_main_account_until_it_logs_in(taobao):
    trace = [{"at": at("08:00:00"), "customer": "vip1", "private_contact": True}]
    roster = {"agents": [{"id": "boss", "role": "main", "schedule": [{"at": at("09:00:00"), "status": "online"}]},
                         {"id": "a2", "max_sessions": 10}]}
    kpis = simulate(trace, roster, [taobao])["runs"][0]["kpis"]
    assert kpis["conversations"]["held"] == 1
    assert kpis["offline_wait_seconds"]["max"] == 3600.0 and kpis["queue_wait_seconds"]["count"] == 0
    assert {agent["id"]: agent["conversations"] for agent in kpis["agents"]} == {"boss": 1, "a2": 0}


def test_b16_logging_out_hands_unanswered_conversations_to_the_transfer_candidate(kuaishou):
    """Answers take 160 s. a1 logs out 30 s after taking b1, before answering: the policy's
    transfer rules name a2, which answers 160 s later, at 190 s. On time for a2 (its clock starts
    at the transfer), late for the shop (its clock started at the buyer's message); a1's planned
    answer at 160 s is void (B16, B19)."""
    trace = [{"at": at("10:00:00"), "customer": "b1"}]
    roster = {"agents": [{"id": "a1", "max_sessions": 5, "status": "online",
                          "schedule": [{"at": at("10:00:30"), "status": "offline"}]},
                         {"id": "a2", "max_sessions": 5, "schedule": [{"at": at("10:00:10"), "status": "online"}],
                          "status": "break"}]}
    kpis = simulate(trace, roster, [kuaishou], replace(CLOCKWORK, reply_median_seconds=160))["runs"][0]["kpis"]
    assert kpis["transfers"] == 1
    agents = {agent["id"]: agent for agent in kpis["agents"]}
    assert agents["a1"]["conversations"] == 0  # left before its clock ran out: counts for neither
    assert (agents["a2"]["on_time"], agents["a2"]["conversations"]) == (1, 1)
    assert (kpis["reply_rate"]["on_time"], kpis["reply_rate"]["counted"]) == (0, 1)


# ---- reproducibility ----------------------------------------------------------------------------

def small_day(conversations: int = 500, agents: int = 6, **traffic) -> tuple[list[dict], dict]:
    roster = generate_roster(TeamSpec(agents=agents, seed=3))
    trace = generate_trace(TrafficSpec(conversations=conversations, seed=3, **traffic),
                           tuple(agent["id"] for agent in roster["agents"]))
    return trace, roster


def test_same_seed_same_result_and_generator_reproducible(kuaishou):
    trace, roster = small_day(300)
    assert (trace, roster) == small_day(300)
    first = run_simulation(trace, roster, [kuaishou], SimulationOptions(seed=5))
    again = run_simulation(trace, roster, [kuaishou], SimulationOptions(seed=5))
    other = run_simulation(trace, roster, [kuaishou], SimulationOptions(seed=6))
    assert json.dumps(first, sort_keys=True) == json.dumps(again, sort_keys=True)
    assert first["runs"][0]["kpis"]["agents"] != other["runs"][0]["kpis"]["agents"]


# ---- known effects ------------------------------------------------------------------------------

def test_b2_b12_maxima_of_three_queue_more_and_longer(kuaishou):
    trace, roster = small_day(500)
    tight = {**roster, "agents": [{**agent, "max_sessions": 3} for agent in roster["agents"]]}
    result = run_simulation(trace, roster, [kuaishou], SimulationOptions())
    squeezed = run_simulation(trace, tight, [kuaishou], SimulationOptions())
    normal, low = result["runs"][0]["kpis"], squeezed["runs"][0]["kpis"]
    assert low["conversations"]["queue_free_share"] < normal["conversations"]["queue_free_share"]
    assert low["queue_wait_seconds"]["count"] > normal["queue_wait_seconds"]["count"]
    assert low["queue_wait_seconds"]["p95"] > (normal["queue_wait_seconds"]["p95"] or 0)
    assert low["queue_wait_seconds"]["max"] > (normal["queue_wait_seconds"]["max"] or 0)
    assert low["queue_length"]["max_pool"] > normal["queue_length"]["max_pool"]
    assert "low_capacity" not in low["settings"]["warnings"]  # B2: the under-5 warning is Douyin's (003), not Kuaishou's


def test_b2_b19_unlimited_agent_back_from_offline_is_flooded_and_its_rate_drops(kuaishou):
    """Buyers write from 07:00 while nobody is online (offline queue, B13). x logs in at 08:00,
    the others at 08:30. Unlimited, x takes the backlog ten at a time on every freed slot and
    every new buyer besides (its saturation counts against 500); with a maximum of 5 it cannot."""
    trace = [{"at": at(f"{7 + minute // 60:02d}:{minute % 60:02d}:00"), "customer": f"b{minute}", "follow_ups": [30]}
             for minute in range(0, 150, 2)]
    def team(x_max):
        return {"agents": [{"id": "x", "max_sessions": x_max, "schedule": [{"at": at("08:00:00"), "status": "online"}]},
                           *({"id": f"a{n}", "max_sessions": 5, "schedule": [{"at": at("08:30:00"), "status": "online"}]}
                             for n in range(3))]}
    behaviour = replace(CLOCKWORK, reply_median_seconds=30, reply_load_factor=0.4, manual_close_share=1.0,
                        wrap_up_median_seconds=30)
    flooded = simulate(trace, team(None), [kuaishou], behaviour)["runs"][0]["kpis"]
    capped = simulate(trace, team(5), [kuaishou], behaviour)["runs"][0]["kpis"]
    x_flooded = next(agent for agent in flooded["agents"] if agent["id"] == "x")
    x_capped = next(agent for agent in capped["agents"] if agent["id"] == "x")
    assert x_flooded["peak_active"] > 10 >= x_capped["peak_active"]
    assert x_flooded["reply_rate"] < 0.7 <= x_capped["reply_rate"]
    assert flooded["settings"]["warnings"].get("unlimited_offline", 0) >= 1  # B2: the policy warned
    assert "unlimited_offline" not in capped["settings"]["warnings"]


def test_b7_switching_off_returning_customer_priority_lowers_the_share_back_to_last_agent(kuaishou, tmp_path):
    trace, roster = small_day(500, returning_share=0.5)
    always_on = {**roster, "agents": [{**{k: v for k, v in agent.items() if k != "schedule"}, "max_sessions": 50}
                                      for agent in roster["agents"]]}
    path = tmp_path / "kuaishou-off.yaml"
    path.write_text((RULES / "kuaishou.yaml").read_text(encoding="utf-8").replace(
        "    priority: 30\n    enabled: true\n", "    priority: 30\n    enabled: false\n"), encoding="utf-8")
    switched_off = load_policy(path)
    try:
        result = run_simulation(trace, always_on, {"on": kuaishou, "off": switched_off}, SimulationOptions())
    finally:
        switched_off.close()
    on, off = (run["kpis"]["returning_customers"] for run in result["runs"])
    assert on["conversations"] == off["conversations"] > 100
    assert off["share"] < on["share"] - 0.3
    row = next(row for row in result["differences"] if row["kpi"] == "returning_customers.share")
    assert row["differs"] and row["deltas"][1] < 0


# ---- inputs -------------------------------------------------------------------------------------

def test_trace_errors_name_file_line_and_field(tmp_path):
    path = tmp_path / "bad.jsonl"
    path.write_text('{"at": "2026-11-23T09:00:00+08:00", "customer": "b1"}\n\n'
                    '{"at": "2026-11-23T09:00:00", "customer": "b2", "entry": "shop_page", "folow_ups": []}\n'
                    '{"at": "2026-11-23T09:01:00+08:00", "customer": "b3", "follow_ups": [-1]}\n', encoding="utf-8")
    with pytest.raises(SimulationInputError) as caught:
        read_trace(path)
    text = str(caught.value)
    assert f"{path}:3: at: needs a time zone" in text
    assert f"{path}:3: entry: must be one of" in text
    assert f"{path}:3: folow_ups: unknown field; did you mean `follow_ups`?" in text
    assert f"{path}:4: follow_ups: must be a list" in text
    broken = tmp_path / "broken.jsonl"
    broken.write_text('{"at": "2026-11-23T09:00:00+08:00", "customer": "b1"}\n{"at": \n', encoding="utf-8")
    with pytest.raises(SimulationInputError, match=r"broken.jsonl:2: not valid JSON"):
        read_trace(broken)


def test_roster_errors_name_file_line_and_path(tmp_path):
    path = tmp_path / "roster.json"
    path.write_text('{"agents": [\n  {"id": "a1", "max_sessions": 0},\n  {"id": "a1", "shedule": []},\n'
                    '  {"id": "a3", "schedule": [{"at": "25:00", "status": "online"}]}\n]}\n', encoding="utf-8")
    with pytest.raises(SimulationInputError) as caught:
        read_roster(path)
    text = str(caught.value)
    assert f"{path}:2: agents[0].max_sessions: 0 is less than the minimum of 1" in text
    assert f"{path}:3: agents[1].shedule: unknown field; did you mean `schedule`?" in text
    path.write_text('{"agents": [{"id": "a1"}, {"id": "a1"},\n {"id": "a3", "schedule": [{"at": "25:00", '
                    '"status": "online"}]}]}', encoding="utf-8")
    with pytest.raises(SimulationInputError) as caught:
        read_roster(path)
    text = str(caught.value)
    assert f"{path}:1: agents[1].id: duplicate agent id `a1`" in text
    assert f"{path}:2: agents[2].schedule[0].at: `25:00` is neither HH:MM" in text


def schema(name: str) -> jsonschema.Draft202012Validator:
    return jsonschema.Draft202012Validator(json.loads((ROOT / "schemas" / name).read_text(encoding="utf-8")))


def test_examples_follow_the_published_schemas_and_the_reader_agrees_with_them():
    trace_schema = schema("simulation-trace.schema.json")
    lines = [json.loads(line) for line in (EXAMPLES / "trace.jsonl").read_text(encoding="utf-8").splitlines()]
    for line in lines:
        trace_schema.validate(line)
    schema("simulation-roster.schema.json").validate(json.loads((EXAMPLES / "roster.json").read_text(encoding="utf-8")))
    assert len(read_trace(EXAMPLES / "trace.jsonl")) == len(lines)
    good = {"at": at("09:00:00"), "customer": "b1"}
    for bad in ({"customer": "b1"}, {**good, "entry": "shop"}, {**good, "tags": "vip"}, {**good, "internal": 1},
                {**good, "follow_ups": [90000]}, {**good, "last_agent": {"id": "a1"}}, {**good, "extra": 1},
                {**good, "conversation": ""}):
        assert not trace_schema.is_valid(bad), bad
        with pytest.raises(SimulationInputError):
            run_simulation([bad], {"agents": [{"id": "a1"}]}, [], SimulationOptions())


def test_limits_bound_a_run_for_the_http_service(kuaishou):
    trace, roster = small_day(50)
    with pytest.raises(SimulationLimitError, match="50 conversations, over the limit of 10"):
        run_simulation(trace, roster, [kuaishou], SimulationOptions(max_conversations=10))
    with pytest.raises(SimulationLimitError, match="agents"):
        run_simulation(trace, roster, [kuaishou], SimulationOptions(max_agents=2))
    with pytest.raises(SimulationLimitError, match="time limit"):
        run_simulation(*small_day(1000), [kuaishou], SimulationOptions(time_limit_seconds=1e-6))
    with pytest.raises(SimulationInputError, match="max_conversations: unknown option"):
        run_simulation(trace, roster, [kuaishou], {"max_conversations": 10 ** 9})
    for trace_like, roster_like in ((None, roster), ({"at": "x"}, roster), (trace, None)):
        with pytest.raises(SimulationInputError):
            run_simulation(trace_like, roster_like, [kuaishou])
    result = run_simulation(trace, roster, [kuaishou], {"seed": 2, "behaviour": {"reply_sigma": 0.1}})
    assert result["parameters"]["behaviour"]["reply_sigma"] == 0.1


# ---- command line and report --------------------------------------------------------------------

def test_cli_runs_two_policies_and_writes_json_and_a_self_contained_html_report(tmp_path):
    out_json, out_html = tmp_path / "result.json", tmp_path / "report.html"
    result = CliRunner().invoke(main, ["simulate", str(EXAMPLES / "trace.jsonl"), str(EXAMPLES / "roster.json"),
                                       str(RULES / "kuaishou.yaml"), str(RULES / "douyin.yaml"), "--workers", "1",
                                       "--json", str(out_json), "--html", str(out_html)], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert "Shop 3-minute reply rate" in result.output and "douyin" in result.output
    data = json.loads(out_json.read_text(encoding="utf-8"))
    assert [run["label"] for run in data["runs"]] == ["kuaishou", "douyin"]
    html = out_html.read_text(encoding="utf-8")
    assert html.count("<svg") >= 4  # reply rate, queue length, one heat map per policy
    assert "70% (Kuaishou minimum)" in html
    assert "<script" not in html and "src=" not in html and "href=" not in html
    assert "class='num better'" in html or "class='num worse'" in html  # differences are highlighted


def test_cli_generate_is_reproducible_and_bad_inputs_exit_2(tmp_path):
    runner = CliRunner()
    for name in ("one", "two"):
        result = runner.invoke(main, ["simulate", "generate", "--trace", str(tmp_path / f"{name}.jsonl"),
                                      "--roster", str(tmp_path / f"{name}.json"), "--conversations", "50",
                                      "--agents", "3", "--seed", "9"])
        assert result.exit_code == 0, result.output
    assert (tmp_path / "one.jsonl").read_bytes() == (tmp_path / "two.jsonl").read_bytes()
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"customer": "b1"}\n', encoding="utf-8")
    result = runner.invoke(main, ["simulate", str(bad), str(tmp_path / "one.json"), str(RULES / "kuaishou.yaml")])
    assert result.exit_code == 2
    assert "bad.jsonl:1: at: is required" in result.output
