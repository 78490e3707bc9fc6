"""`fenliu simulate` under each platform's own policy: Taobao's message caches (B20), Kuaishou's
unlimited backlog (B2, B15) and Douyin's logins (B1). Small days, followed by hand; pages cited by
seed number (seeds/000…004) and a few words of the sentence."""
from __future__ import annotations

from dataclasses import replace

import pytest

from conftest import RULES
from fenliu.engine import load_policy
from fenliu.engine.simulation import Behaviour, SimulationOptions, run_simulation

# Every reply takes one minute; every conversation is closed by hand 10 s after each answer.
CLOCKWORK = Behaviour(reply_median_seconds=60, reply_load_factor=0, reply_sigma=0, manual_close_share=1.0,
                      wrap_up_median_seconds=10, wrap_up_sigma=0)


def at(clock: str, day: int = 23) -> str:
    return f"2026-11-{day:02d}T{clock}+08:00"


@pytest.fixture(scope="module")
def policies():
    loaded = {name: load_policy(RULES / f"{name}.yaml") for name in ("kuaishou", "taobao", "douyin")}
    yield loaded
    for policy in loaded.values():
        policy.close()


def kpis_of(trace: list[dict], roster: dict, policy, behaviour: Behaviour = CLOCKWORK, **options) -> dict:
    return run_simulation(trace, roster, [policy], SimulationOptions(behaviour=behaviour, **options))["runs"][0]["kpis"]


def by_agent(kpis: dict) -> dict[str, int]:
    return {agent["id"]: agent["conversations"] for agent in kpis["agents"]}


def test_b20_taobao_caches_at_the_full_account_and_opens_them_in_order_never_re_shunted(policies):
    """002「超出数量后…自动排队缓存起来」, 「等到聊天窗口数量少于上限后,队列里的顾客消息自动弹出」 and
    「缓存消息…是不会自动分配给其他客服的」.

    a1 has one window; b1 takes it, b2 and b3 are cached at a1. a2 logs in at 10:00:30 with room
    for twenty, yet the cache stays a1's: b2 opens when b1 closes (answered 60 s, closed 70 s),
    b3 when b2 closes (answered 130 s, closed 140 s), b3 answered at 200 s."""
    trace = [{"at": at(f"10:00:{second:02d}"), "customer": f"b{n}"} for n, second in ((1, 0), (2, 10), (3, 20))]
    roster = {"agents": [{"id": "boss", "role": "main", "status": "offline"},
                         {"id": "a1", "max_sessions": 1},
                         {"id": "a2", "max_sessions": 20, "status": "offline",
                          "schedule": [{"at": at("10:00:30"), "status": "online"}]}]}
    kpis = kpis_of(trace, roster, policies["taobao"])
    assert kpis["conversations"]["cached"] == 2 and kpis["conversations"]["queued"] == 0
    assert by_agent(kpis) == {"boss": 0, "a1": 3, "a2": 0}
    assert kpis["closed"]["manual"] == 3
    assert kpis["ended_at"] == at("10:03:30")


def test_b2_b15_an_unlimited_kuaishou_agent_logging_in_takes_the_whole_offline_backlog(policies):
    """000「建议客服离线前不要选择「不自动挂起选项」,这样可能会导致离线积压的会话在客服上线后全部进入其接待中
    会话,致使其不能及时回复会话,严重影响三分钟回复率」: all 30 night messages land in its list at once."""
    trace = [{"at": at(f"0{hour}:{minute:02d}:00"), "customer": f"n{hour}{minute}"}
             for hour in range(3, 9) for minute in range(0, 50, 10)]
    roster = {"agents": [{"id": "a1", "max_sessions": None, "status": "offline",
                          "schedule": [{"at": at("09:00:00"), "status": "online"}]}]}
    loaded = replace(CLOCKWORK, manual_close_share=0.0, reply_load_factor=0.08)
    kpis = kpis_of(trace, roster, policies["kuaishou"], loaded)
    assert kpis["conversations"]["offline_queued"] == 30
    assert kpis["agents"][0]["peak_active"] == 30
    assert kpis["settings"]["warnings"]["unlimited_backlog"] == 1
    assert kpis["offline_messages"]["expired"] == 0


def test_b1_a_douyin_agent_logging_in_again_comes_back_in_its_last_status(policies):
    """003「客服重新登录时自动同步上次登录时的状态」: a1 logged out while on break and logs in at 11:00
    as the roster says "online"; the platform restores break, so the 11:05 buyer gets no agent and
    leaves an offline message until a1 goes online at 11:30 (B13, B15)."""
    trace = [{"at": at("09:30:00"), "customer": "b0"}, {"at": at("11:05:00"), "customer": "b1"}]
    roster = {"agents": [{"id": "a1", "max_sessions": 20, "status": "online",
                          "schedule": [{"at": at("10:00:00"), "status": "break"},
                                       {"at": at("10:30:00"), "status": "offline"},
                                       {"at": at("11:00:00"), "status": "online"},
                                       {"at": at("11:30:00"), "status": "online"}]}]}
    kpis = kpis_of(trace, roster, policies["douyin"], drain_hours=2)
    assert kpis["decisions"]["login"] == 1
    assert kpis["conversations"]["offline_queued"] == 1
    assert kpis["offline_wait_seconds"]["max"] == 25 * 60


def test_b1_without_login_rules_the_roster_status_applies_at_login(policies):
    """Kuaishou's pages describe no login: the same day under Kuaishou assigns the 11:05 buyer at once."""
    trace = [{"at": at("09:30:00"), "customer": "b0"}, {"at": at("11:05:00"), "customer": "b1"}]
    roster = {"agents": [{"id": "a1", "max_sessions": 20, "status": "online",
                          "schedule": [{"at": at("10:00:00"), "status": "break"},
                                       {"at": at("10:30:00"), "status": "offline"},
                                       {"at": at("11:00:00"), "status": "online"}]}]}
    kpis = kpis_of(trace, roster, policies["kuaishou"], drain_hours=2)
    assert kpis["decisions"]["login"] == 0
    assert kpis["conversations"]["assigned_at_once"] == 2


def test_b17_kuaishou_auto_reply_counts_as_the_last_message_and_closes_an_unanswered_conversation(policies):
    """000「若最后一条消息是客服回复或系统自动回复的,且距离最后一条消息20分钟内买家没有再发新消息,系统会将会话
    自动关闭」: the shop's auto-reply at 10:00:05 is the last message; with the agent's answer 30 minutes away,
    the conversation closes automatically at 10:20:05, never answered. Without the auto-reply the agent
    answers at 10:30 and the automatic close comes 20 minutes after that answer."""
    trace = [{"at": at("10:00:00"), "customer": "b1"}]
    roster = {"agents": [{"id": "a1", "max_sessions": 5}]}
    slow = replace(CLOCKWORK, reply_median_seconds=1800, manual_close_share=0.0)
    with_auto_reply = kpis_of(trace, roster, policies["kuaishou"], replace(slow, auto_reply_seconds=5))
    assert with_auto_reply["closed"]["auto"] == 1 and with_auto_reply["closed"]["auto_replies"] == 1
    assert with_auto_reply["ended_at"] == at("10:20:05")
    assert with_auto_reply["reply_rate"]["on_time"] == 0

    without = kpis_of(trace, roster, policies["kuaishou"], slow)
    assert without["closed"]["auto"] == 1 and without["closed"]["auto_replies"] == 0
    assert without["ended_at"] == at("10:50:00")


def test_b17_an_auto_reply_does_not_stop_the_agents_answer_or_count_for_the_rate(policies):
    """000「…系统自动回复的…」: the auto-reply at 10:00:05 is not a human answer; the agent's answer at 10:01:00
    still comes and is the one the 3-minute rate counts (B19)."""
    trace = [{"at": at("10:00:00"), "customer": "b1"}]
    roster = {"agents": [{"id": "a1", "max_sessions": 5}]}
    kpis = kpis_of(trace, roster, policies["kuaishou"], replace(CLOCKWORK, auto_reply_seconds=5))
    assert kpis["closed"]["auto_replies"] == 1
    assert kpis["reply_rate"]["on_time"] == 1 and kpis["closed"]["manual"] == 1
    assert kpis["ended_at"] == at("10:01:10")
