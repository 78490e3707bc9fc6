"""Decisions after arrival on the shipped policies: dequeue (B14, B15), transfer (B16), close (B17),
agent settings (B2) and conversation order (B18). A platform's behaviour cites its help page
(seeds/000…004, by number and a few words of the sentence)."""
from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from conftest import NOW, agent, hours_before_now
from fenliu.engine import Policy, RequestError
from fenliu.engine.loader import parse_policy

MINUTE = timedelta(minutes=1)


def at(delta: timedelta) -> str:
    return (datetime.fromisoformat(NOW) - delta).isoformat()


def queued(id: str, waited: timedelta, *, offline: bool = False, queue: str = "shop",
           last: tuple[str, str] | None = None) -> dict:
    customer = {"id": f"b-{id}"}
    if last:
        customer["last_agent"] = {"id": last[0], "at": last[1]}
    return {"conversation": {"id": id}, "customer": customer, "enqueued_at": at(waited),
            "offline": offline, "queue": queue}


def dequeue(policy, agents, queue) -> dict:
    return policy.evaluate({"event": "dequeue", "now": NOW, "agents": agents, "queue": queue})


def pairs(envelope: dict) -> list[tuple[str, str]]:
    return [(a["conversation_id"], a["agent_id"]) for a in envelope["decision"]["assignments"]]


# B14 capacity frees up ---------------------------------------------------------------------------

def test_b14_oldest_queued_first_one_per_free_slot(shipped):
    agents = [agent("a1", max=5, active=3)]
    queue = [queued("new", 1 * MINUTE), queued("old", 9 * MINUTE), queued("mid", 5 * MINUTE)]
    envelope = dequeue(shipped["kuaishou"], agents, queue)
    assert pairs(envelope) == [("old", "a1"), ("mid", "a1")]
    assert envelope["decision"]["rule"] == "dequeue-oldest-first"


def test_b14_group_queue_only_goes_to_that_groups_members(shipped):
    agents = [agent("pre", groups=("presale",)), agent("after", max=1, active=1, groups=("aftersale",))]
    envelope = dequeue(shipped["douyin"], agents, [queued("q", 5 * MINUTE, queue="aftersale")])
    assert pairs(envelope) == []
    agents[1] = agent("after", max=2, active=1, groups=("aftersale",))
    assert pairs(dequeue(shipped["douyin"], agents, [queued("q", 5 * MINUTE, queue="aftersale")])) == [("q", "after")]


def test_b14_spreads_by_least_busy_as_it_assigns(shipped):
    agents = [agent("a1", max=10, active=0), agent("a2", max=10, active=1)]
    queue = [queued(f"q{i}", (10 - i) * MINUTE) for i in range(4)]
    assert pairs(dequeue(shipped["kuaishou"], agents, queue)) == [("q0", "a1"), ("q1", "a1"), ("q2", "a2"), ("q3", "a1")]


def test_b14_break_suspended_and_offline_agents_take_nothing(shipped):
    agents = [agent("brk", "break"), agent("sus", suspended=True), agent("off", "offline")]
    assert pairs(dequeue(shipped["kuaishou"], agents, [queued("q", MINUTE)])) == []


def test_b14_returning_customer_goes_to_last_agent_with_room(shipped):
    agents = [agent("a1", active=0), agent("a2", active=5, suspended=True)]
    queue = [queued("q", MINUTE, last=("a2", hours_before_now(3)))]
    assert pairs(dequeue(shipped["kuaishou"], agents, queue)) == [("q", "a2")]


def test_b14_returning_customer_goes_to_whoever_is_free_unless_the_policy_says_wait(shipped, edited):
    agents = [agent("a1", active=0), agent("a2", max=5, active=5)]
    queue = [queued("q", MINUTE, last=("a2", hours_before_now(3)))]
    assert pairs(dequeue(shipped["kuaishou"], agents, queue)) == [("q", "a1")]
    waiting = edited("kuaishou", ("wait: false", "wait: true"))
    assert pairs(dequeue(waiting, agents, queue)) == []


# B15 an agent comes online -------------------------------------------------------------------------

def test_b15_offline_messages_go_to_any_idle_agent_whatever_the_groups(shipped):
    agents = [agent("pre", groups=("presale",))]
    envelope = dequeue(shipped["douyin"], agents, [queued("q", timedelta(hours=3), offline=True, queue="aftersale")])
    assert pairs(envelope) == [("q", "pre")]


def test_b15_douyin_offline_message_exactly_7_days_old_is_still_assigned(shipped):
    """003「待处理留言分配有效期为7天」."""
    envelope = dequeue(shipped["douyin"], [agent("a1")], [queued("q", timedelta(days=7), offline=True)])
    assert pairs(envelope) == [("q", "a1")] and envelope["decision"]["expired"] == []


def test_b15_douyin_offline_message_older_than_7_days_expires_and_is_never_assigned(shipped):
    """003「超过7天的留言系统将不再自动分配」."""
    envelope = dequeue(shipped["douyin"], [agent("a1")], [queued("q", timedelta(days=7, seconds=1), offline=True)])
    assert pairs(envelope) == [] and envelope["decision"]["expired"] == ["q"]


def test_b15_an_expired_message_behind_better_scores_is_listed_even_with_no_slot_free():
    """A dequeue stops early once no slot is free, but not before every expired offline message is
    listed: with score order and no ageing, a priority-5 buyer comes before a message eight days
    old, and the only agent is full (003「超过7天的留言系统将不再自动分配」, the TTL as a policy sets it)."""
    document, _ = parse_policy("""
name: scored
platform: custom
params: {offline_message_ttl_days: 7}
rules:
  - id: deq
    event: dequeue
    then:
      assign_many: {order: priority, ageing_per_minute: 0}
""", "scored.yaml")
    policy = Policy(document)
    try:
        vip = {**queued("vip", timedelta(minutes=1)), "priority": 5}
        envelope = dequeue(policy, [agent("a1", max=1, active=1)], [vip, queued("old", timedelta(days=8), offline=True)])
    finally:
        policy.close()
    assert pairs(envelope) == [] and envelope["decision"]["expired"] == ["old"]


def test_b15_kuaishou_offline_queue_never_expires(shipped):
    """000「离线期间所有的新会话会进入离线排队池,直至客服上线后再分配给在线客服」: no 7 days."""
    envelope = dequeue(shipped["kuaishou"], [agent("a1")], [queued("q", timedelta(days=40), offline=True)])
    assert pairs(envelope) == [("q", "a1")] and envelope["decision"]["expired"] == []


def test_b15_ttl_is_a_parameter(edited):
    policy = edited("douyin", ("offline_message_ttl_days: 7", "offline_message_ttl_days: 1"))
    envelope = dequeue(policy, [agent("a1")], [queued("q", timedelta(days=2), offline=True)])
    assert envelope["decision"]["expired"] == ["q"]


def test_b15_unlimited_agent_takes_the_whole_backlog_and_the_policy_warns_of_the_flood(shipped):
    """000「离线积压的会话在客服上线后全部进入其接待中会话,致使其不能及时回复会话」: no per-dequeue cap."""
    queue = [queued(f"q{i:02}", timedelta(hours=20 - i / 10), offline=True) for i in range(25)]
    envelope = dequeue(shipped["kuaishou"], [agent("a1", max=None, active=0)], queue)
    assert pairs(envelope) == [(f"q{i:02}", "a1") for i in range(25)]
    assert [w["code"] for w in envelope["warnings"]] == ["unlimited_backlog"]
    assert envelope["warnings"][0]["agent_id"] == "a1" and "took 25" in envelope["warnings"][0]["message"]


def test_b15_an_unlimited_agent_given_a_single_conversation_is_no_flood(shipped):
    envelope = dequeue(shipped["kuaishou"], [agent("a1", max=None)], [queued("q", MINUTE)])
    assert pairs(envelope) == [("q", "a1")] and envelope["warnings"] == []


# B16 transfer ---------------------------------------------------------------------------------------

def transfer(policy, sender, agents):
    return policy.evaluate({"event": "transfer", "now": NOW, "conversation": {"id": "c1"},
                            "from_agent": sender, "agents": agents})["decision"]


def test_b16_never_offline_never_sender_online_before_break_then_least_saturated(shipped):
    """003「转接会话只能转给当前在线或者小休状态的客服…列表优先展示在线客服,按照当前客服的饱和程度排序」."""
    agents = [agent("me", active=1), agent("brk", "break", active=0), agent("busy", active=15),
              agent("calm", "invisible", active=2), agent("off", "offline")]
    decision = transfer(shipped["kuaishou"], "me", agents)
    assert decision["candidates"] == ["calm", "busy", "brk"]
    assert decision["action"] == "candidates" and decision["rule"] == "transfer-candidates"


def test_b16_b3_full_and_suspended_agents_remain_candidates(shipped):
    """000「主账号、客服管理员或其他客服还可以向客服分配或转移会话」, at the maximum too."""
    agents = [agent("me"), agent("full", max=5, active=5), agent("sus", suspended=True)]
    assert transfer(shipped["kuaishou"], "me", agents)["candidates"] == ["sus", "full"]


def test_b16_ties_are_deterministic(shipped):
    agents = [agent("c", active=2), agent("a", active=2), agent("b", active=2)]
    assert transfer(shipped["douyin"], "x", agents)["candidates"] == ["a", "b", "c"]


# B17 closing ------------------------------------------------------------------------------------------

def close(policy, *, manual: bool, sender: str, silent: timedelta) -> dict:
    return policy.evaluate({"event": "close", "now": NOW, "manual": manual,
                            "conversation": {"id": "c1", "last_message": {"from": sender, "at": at(silent)}}})["decision"]


@pytest.mark.parametrize("sender", ["customer", "system"])
def test_b17_manual_close_refused_while_the_buyer_waits_for_an_answer(shipped, sender):
    """001「ESC按键对"请在3分钟内回复"和"已超时"两个分组内的会话不生效…请先回复该会话」."""
    decision = close(shipped["kuaishou"], manual=True, sender=sender, silent=MINUTE)
    assert (decision["action"], decision["reason"]) == ("refuse", "please reply first")


def test_b17_manual_close_after_the_agent_answered_closes_at_once(shipped):
    assert close(shipped["kuaishou"], manual=True, sender="agent", silent=MINUTE)["action"] == "close"


@pytest.mark.parametrize("sender", ["agent", "system"])
def test_b17_auto_close_at_exactly_20_minutes_of_buyer_silence(shipped, sender):
    """000「若最后一条消息是客服回复或系统自动回复的,且距离最后一条消息20分钟内买家没有再发新消息」."""
    assert close(shipped["kuaishou"], manual=False, sender=sender, silent=20 * MINUTE)["action"] == "close"
    assert close(shipped["kuaishou"], manual=False, sender=sender, silent=20 * MINUTE - timedelta(seconds=1))["action"] == "keep"


def test_b17_close_decisions_explain_who_spoke_last_and_when(shipped):
    auto = close(shipped["kuaishou"], manual=False, sender="agent", silent=25 * MINUTE)
    kept = close(shipped["kuaishou"], manual=False, sender="customer", silent=3 * MINUTE)
    assert auto["reason"] == "closed after buyer silence: last message from the agent 25 min ago"
    assert kept["reason"] == "kept open: last message from the buyer 3 min ago"


def test_b17_a_buyer_waiting_for_an_answer_is_never_auto_closed(shipped):
    assert close(shipped["kuaishou"], manual=False, sender="customer", silent=timedelta(days=3))["action"] == "keep"


def test_b17_auto_close_minutes_is_a_parameter_within_kuaishou_range(edited):
    policy = edited("kuaishou", ("auto_close_minutes: 20", "auto_close_minutes: 5"))
    assert close(policy, manual=False, sender="agent", silent=5 * MINUTE)["action"] == "close"


# B2 agent settings -----------------------------------------------------------------------------------

def settings(policy, maximum, status="online") -> dict:
    return policy.evaluate({"event": "agent_settings", "now": NOW,
                            "agent": {"id": "a1", "status": status, "max_sessions": maximum}})


@pytest.mark.parametrize("name,top", [("kuaishou", 500), ("douyin", 200)])
def test_b2_platform_range_edges(shipped, name, top):
    """000「数值可以为1到500之间的任意整数」; 003「目前最多可设置200」."""
    assert settings(shipped[name], top)["decision"]["action"] == "accept"
    rejected = settings(shipped[name], top + 1)["decision"]
    assert (rejected["action"], rejected["rule"]) == ("reject", "capacity-above-maximum")


@pytest.mark.parametrize("maximum", [0, -1, -500])
def test_b2_zero_and_negative_are_always_rejected(shipped, maximum):
    for policy in shipped.values():
        assert settings(policy, maximum)["decision"]["action"] == "reject"


def test_b2_zero_is_rejected_even_when_the_policy_forgets_to(edited):
    policy = edited("kuaishou", ("    when: {fact: settings.max_sessions, lt: {param: capacity.min}}\n",
                                 "    enabled: false\n    when: {fact: settings.max_sessions, lt: {param: capacity.min}}\n"))
    assert settings(policy, 0)["decision"]["action"] == "reject"


def test_b2_capacity_4_warns_low_capacity_and_5_does_not(shipped):
    """003「当最大接待人数设置小于5时,系统会提示"客服接待人数过低,可能会导致用户无法进入"」."""
    low = settings(shipped["douyin"], 4)
    assert low["decision"]["action"] == "accept"
    assert [(w["code"], w["agent_id"]) for w in low["warnings"]] == [("low_capacity", "a1")]
    assert "customers may be unable to get in" in low["warnings"][0]["message"]
    assert settings(shipped["douyin"], 5)["warnings"] == []


def test_b2_going_offline_while_unlimited_warns_of_the_backlog_flood(shipped):
    """000「建议客服离线前不要选择「不自动挂起选项」」."""
    envelope = settings(shipped["kuaishou"], None, status="offline")
    assert envelope["decision"]["action"] == "accept"
    assert [w["code"] for w in envelope["warnings"]] == ["unlimited_offline"]
    assert settings(shipped["kuaishou"], None, status="online")["warnings"] == []
    assert settings(shipped["kuaishou"], 50, status="offline")["warnings"] == []


def test_b2_suspended_is_a_setting_not_a_number(shipped):
    assert settings(shipped["kuaishou"], "suspended")["decision"]["action"] == "accept"


def test_b2_settings_decisions_name_the_agent_and_the_maximum(shipped):
    assert settings(shipped["kuaishou"], 20)["decision"]["reason"] == "a1 online with maximum 20 accepted"
    assert settings(shipped["kuaishou"], None)["decision"]["reason"] == "a1 online with maximum unlimited accepted"


# B18 conversation order ------------------------------------------------------------------------------

def test_b18_unanswered_first_longest_waiting_on_top_then_answered_most_recent_first(shipped):
    """000「已回复会话在切换至其他会话时,会自动排在未回复的会话下方」."""
    conversations = [
        {"id": "answered-old", "last_message": {"from": "agent", "at": at(50 * MINUTE)}},
        {"id": "waiting-short", "last_message": {"from": "customer", "at": at(2 * MINUTE)}},
        {"id": "answered-new", "last_message": {"from": "agent", "at": at(5 * MINUTE)}},
        {"id": "waiting-long", "last_message": {"from": "customer", "at": at(20 * MINUTE)}},
    ]
    decision = shipped["kuaishou"].evaluate({"event": "order", "now": NOW, "conversations": conversations})["decision"]
    assert decision["order"] == ["waiting-long", "waiting-short", "answered-new", "answered-old"]


# Clock skew between services: past moments a little after `now` count as `now` ------------------------

def test_b14_a_conversation_queued_a_few_minutes_after_now_is_taken_as_queued_now(shipped):
    envelope = dequeue(shipped["kuaishou"], [agent("a1", max=5)], [queued("q1", -4 * MINUTE)])
    assert pairs(envelope) == [("q1", "a1")]


def test_b14_a_conversation_queued_far_after_now_is_refused_naming_the_field(shipped):
    with pytest.raises(RequestError) as raised:
        dequeue(shipped["kuaishou"], [agent("a1", max=5)], [queued("q1", -10 * MINUTE)])
    assert [error["path"] for error in raised.value.errors] == ["queue[0].enqueued_at"]


def test_b17_an_agent_message_a_few_minutes_after_now_is_not_silence(shipped):
    assert close(shipped["kuaishou"], manual=False, sender="agent", silent=-4 * MINUTE)["action"] == "keep"
    with pytest.raises(RequestError) as raised:
        close(shipped["kuaishou"], manual=False, sender="agent", silent=-10 * MINUTE)
    assert [error["path"] for error in raised.value.errors] == ["conversation.last_message.at"]


def test_b18_a_last_message_far_after_now_is_refused_naming_the_conversation(shipped):
    conversations = [{"id": "c1", "last_message": {"from": "customer", "at": at(-10 * MINUTE)}}]
    with pytest.raises(RequestError) as raised:
        shipped["kuaishou"].evaluate({"event": "order", "now": NOW, "conversations": conversations})
    assert [error["path"] for error in raised.value.errors] == ["conversations[0].last_message.at"]
