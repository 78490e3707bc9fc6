"""What the platforms' help pages describe and the language once could not say: Taobao's per-agent
message cache (B20), Douyin's order by time unanswered (B18), closing (B17) and logins (B1),
transfers marked as such (B16), manual assignment (B3), and each page's switches in both positions.
Pages are cited by seed number (seeds/000…004) and a few words of the sentence."""
from __future__ import annotations

import re
from datetime import datetime, timedelta

import pytest
import yaml

from conftest import NOW, RULES, agent, decide, hours_before_now, route
from fenliu.engine import PolicyError, RequestError
from fenliu.engine.loader import parse_policy

MINUTE = timedelta(minutes=1)


def at(delta: timedelta) -> str:
    return (datetime.fromisoformat(NOW) - delta).isoformat()


def dequeue(policy, agents: list[dict], queue: list[dict]) -> dict:
    return policy.evaluate({"event": "dequeue", "now": NOW, "agents": agents, "queue": queue})


def pairs(envelope: dict) -> list[tuple[str, str]]:
    return [(a["conversation_id"], a["agent_id"]) for a in envelope["decision"]["assignments"]]


def item(id: str, waited: timedelta, **fields) -> dict:
    return {"conversation": {"id": id}, "enqueued_at": at(waited), **fields}


# B20 Taobao's per-agent message cache ---------------------------------------------------------------

def test_b20_every_window_open_the_route_answer_is_cached_at_that_agent(shipped):
    """002「超出数量后新的买家咨询消息将不会自动弹出新聊天窗口,而是自动排队缓存起来」."""
    decision = decide(shipped["taobao"], route([agent("a1", max=3, active=3)]))
    assert (decision["action"], decision["agent_id"], decision["queue"]) == ("cache", "a1", "cache:a1")
    assert decision["reason"].startswith("cached at a1: 3 of 3 windows open")


def test_b20_a_cached_conversation_is_never_re_shunted_to_an_idle_agent(shipped):
    """002「缓存消息已经在帐号的缓存区中了,是不会自动分配给其他客服的」."""
    agents = [agent("a1", max=3, active=3), agent("idle", max=20)]
    envelope = dequeue(shipped["taobao"], agents, [item("k1", 5 * MINUTE, cached_at="a1")])
    assert pairs(envelope) == [] and envelope["decision"]["expired"] == []


def test_b20_an_agents_own_cache_opens_before_older_shared_conversations(shipped):
    """002「等到聊天窗口数量少于上限后,队列里的顾客消息自动弹出」: the cache pops in order, first."""
    agents = [agent("a1", max=3, active=1)]
    queue = [item("old-offline", timedelta(hours=5), offline=True), item("k2", 2 * MINUTE, cached_at="a1"),
             item("k1", 9 * MINUTE, cached_at="a1")]
    assert pairs(dequeue(shipped["taobao"], agents, queue)) == [("k1", "a1"), ("k2", "a1")]


def test_b20_the_cache_of_an_offline_agent_waits_for_it(shipped):
    agents = [agent("a1", "offline", max=3), agent("a2")]
    assert pairs(dequeue(shipped["taobao"], agents, [item("k1", MINUTE, cached_at="a1")])) == []


def test_b20_cached_conversations_are_counted_and_never_expire(shipped):
    """A cached offline message belongs to its agent: no TTL applies to it, even on Douyin's 7 days."""
    queue = [item("k1", timedelta(days=9), offline=True, cached_at="a1")]
    envelope = dequeue(shipped["douyin"], [agent("a1", max=2)], queue)
    assert pairs(envelope) == [("k1", "a1")] and envelope["decision"]["expired"] == []


def test_b20_without_when_full_cache_a_full_agent_is_skipped_as_before(shipped):
    decision = decide(shipped["kuaishou"], route([agent("a1", max=3, active=3)]))
    assert decision["action"] == "queue"


def test_b20_when_full_is_checked_by_the_schema_with_its_choices():
    text = (RULES / "taobao.yaml").read_text(encoding="utf-8").replace("when_full: cache}\n\n  # B6:",
                                                                       "when_full: queue}\n\n  # B6:", 1)
    with pytest.raises(PolicyError) as raised:
        parse_policy(text, "taobao.yaml")
    assert "when_full" in str(raised.value) or "queue" in str(raised.value)


# B18 Douyin's order ---------------------------------------------------------------------------------

def order(policy, conversations: list[dict]) -> dict:
    return policy.evaluate({"event": "order", "now": NOW, "conversations": conversations})["decision"]


def test_b18_douyin_orders_by_how_long_each_has_been_unanswered(shipped):
    """003「未回复用户优先展示,按照未回复时间由远到近展示」: not by the buyer's latest message."""
    conversations = [
        {"id": "wrote-again", "last_message": {"from": "customer", "at": at(MINUTE)}, "unanswered_since": at(30 * MINUTE)},
        {"id": "once", "last_message": {"from": "customer", "at": at(10 * MINUTE)}},
    ]
    assert order(shipped["douyin"], conversations)["order"] == ["wrote-again", "once"]
    assert order(shipped["kuaishou"], conversations)["order"] == ["once", "wrote-again"]


def test_b18_unanswered_since_after_the_last_message_is_refused_naming_the_field(shipped):
    conversations = [{"id": "c1", "last_message": {"from": "customer", "at": at(5 * MINUTE)},
                      "unanswered_since": at(MINUTE)}]
    with pytest.raises(RequestError) as raised:
        order(shipped["douyin"], conversations)
    assert [error["path"] for error in raised.value.errors] == ["conversations[0].unanswered_since"]


# B17 Douyin's closing ---------------------------------------------------------------------------------

def close(policy, *, manual: bool, sender: str, silent: timedelta) -> dict:
    return policy.evaluate({"event": "close", "now": NOW, "manual": manual,
                            "conversation": {"id": "c1", "last_message": {"from": sender, "at": at(silent)}}})["decision"]


@pytest.mark.parametrize("sender", ["customer", "system", "agent"])
def test_b17_douyin_agent_closes_by_hand_whenever_it_judges_the_service_done(shipped, sender):
    """003「当客服认为服务完毕,可手动关闭会话」: never refused, unlike Kuaishou's ESC (001)."""
    assert close(shipped["douyin"], manual=True, sender=sender, silent=MINUTE)["action"] == "close"


def test_b17_douyin_timeouts_are_the_shops_own_settings(edited):
    """003「可根据用户会话超时时间及客服会话超时时间来自定义会话关闭时间」."""
    policy = edited("douyin", ("auto_close_minutes: 20", "auto_close_minutes: 45"),
                    ("agent_timeout_minutes: 60", "agent_timeout_minutes: 10"))
    assert close(policy, manual=False, sender="agent", silent=44 * MINUTE)["action"] == "keep"
    assert close(policy, manual=False, sender="agent", silent=45 * MINUTE)["rule"] == "buyer-timeout"
    assert close(policy, manual=False, sender="customer", silent=10 * MINUTE)["rule"] == "agent-timeout"


def test_b17_taobao_never_closes_by_itself(shipped):
    """002 describes closing windows by hand (「及时将聊天窗口关闭」) and no automatic close."""
    for sender in ("agent", "system", "customer"):
        assert close(shipped["taobao"], manual=False, sender=sender, silent=timedelta(days=2))["action"] == "keep"


# B2 Douyin has no unlimited maximum -------------------------------------------------------------------

def test_b2_douyin_refuses_an_unlimited_maximum(shipped):
    """003「目前最多可设置200」: there is no unlimited option."""
    decision = shipped["douyin"].evaluate({"event": "agent_settings", "now": NOW,
                                           "agent": {"id": "a1", "status": "online", "max_sessions": None}})["decision"]
    assert (decision["action"], decision["rule"]) == ("reject", "no-unlimited")


# B16 a transfer marked as transferred -----------------------------------------------------------------

def test_b16_douyin_transfer_answer_says_it_arrives_marked_transferred(shipped):
    """003「由其他人转接而来的会话,会有系统提示此会话为转接而来」."""
    request = {"event": "transfer", "now": NOW, "conversation": {"id": "c1"}, "from_agent": "a1",
               "agents": [agent("a1"), agent("a2")]}
    douyin = shipped["douyin"].evaluate(request)["decision"]
    assert (douyin["candidates"], douyin["transferred"]) == (["a2"], True)
    assert "marked as transferred" in douyin["reason"]
    assert shipped["kuaishou"].evaluate(request)["decision"]["transferred"] is False


# B1 logins --------------------------------------------------------------------------------------------

def login(policy, **agent_fields) -> dict:
    return policy.evaluate({"event": "login", "now": NOW, "agent": {"id": "p1", **agent_fields}})["decision"]


def test_b1_a_new_agents_first_login_is_online(shipped):
    """003「新客服首次登录默认状态是在线」."""
    decision = login(shipped["douyin"])
    assert (decision["action"], decision["agent_id"], decision["status"]) == ("set_status", "p1", "online")
    assert decision["rule"] == "first-login-online"


@pytest.mark.parametrize("last", ["online", "invisible", "break"])
def test_b1_a_re_login_restores_the_last_status_the_caller_supplies(shipped, last):
    """003「客服重新登录时自动同步上次登录时的状态」."""
    decision = login(shipped["douyin"], last_status=last)
    assert (decision["status"], decision["rule"]) == (last, "login-restores-last-status")


def test_b1_a_last_status_of_offline_is_refused_naming_the_field(shipped):
    with pytest.raises(RequestError) as raised:
        login(shipped["douyin"], last_status="offline")
    assert [error["path"] for error in raised.value.errors] == ["agent.last_status"]


# B3 manual assignment ---------------------------------------------------------------------------------

def manual(policy, role: str, to: str, agents: list[dict]) -> dict:
    return policy.evaluate({"event": "manual_assign", "now": NOW, "by": {"id": "boss", "role": role},
                            "conversation": {"id": "c9"}, "to_agent": to, "agents": agents})["decision"]


def test_b3_main_account_assigns_by_hand_past_the_maximum_and_suspension(shipped):
    """000「系统停止向客服分配会话(主账号、客服管理员或其他客服还可以向客服分配或转移会话)」."""
    decision = manual(shipped["kuaishou"], "main", "a1", [agent("a1", max=5, active=5, suspended=True)])
    assert (decision["action"], decision["agent_id"], decision["conversation_id"]) == ("allow", "a1", "c9")
    assert "past its maximum" in decision["reason"]


def test_b3_an_agent_not_listed_cannot_be_assigned(shipped):
    decision = manual(shipped["kuaishou"], "admin", "ghost", [agent("a1")])
    assert decision["action"] == "deny"


def test_b3_a_policy_may_reserve_manual_assignment_to_the_main_account_and_admins(tmp_path):
    text = (RULES / "kuaishou.yaml").read_text(encoding="utf-8").replace(
        "  - id: manual-assign-offline\n",
        "  - id: only-main-or-admin\n    on: manual_assign\n    when: {fact: by.role, eq: agent}\n    then: deny\n\n"
        "  - id: manual-assign-offline\n")
    path = tmp_path / "kuaishou.yaml"
    path.write_text(text, encoding="utf-8")
    from fenliu.engine import load_policy

    policy = load_policy(path)
    try:
        assert manual(policy, "agent", "a1", [agent("a1")])["rule"] == "only-main-or-admin"
        assert manual(policy, "admin", "a1", [agent("a1")])["action"] == "allow"
    finally:
        policy.close()


# The pages' switches, each one `enabled:` or one option, in both positions ------------------------------

def test_switch_returning_customer_priority_on_as_shipped(shipped):
    """001「该设置开关默认开启」: on, a returning buyer goes back to its full agent."""
    agents = [agent("a1"), agent("a2", max=5, active=5)]
    assert decide(shipped["kuaishou"], route(agents, last=("a2", hours_before_now(2))))["agent_id"] == "a2"


def test_switch_returning_customer_priority_off(edited):
    """001「如果商家选择关闭该功能,"回头客"如普通买家正常分流」."""
    policy = edited("kuaishou", ("    priority: 30\n    enabled: true\n", "    priority: 30\n    enabled: false\n"))
    agents = [agent("a1"), agent("a2", max=5, active=5)]
    assert decide(policy, route(agents, last=("a2", hours_before_now(2))))["agent_id"] == "a1"


def test_switch_offline_diversion_off_as_shipped(shipped):
    """000「若未开启离线分流,则离线期间所有的新会话会进入离线排队池」."""
    assert decide(shipped["kuaishou"], route([agent("a1", "offline")]))["action"] == "offline_queue"


def test_switch_offline_diversion_on(edited):
    """000「若开启了离线分流,所有客服离线时仍然实行离线分流逻辑」."""
    policy = edited("kuaishou", ("    priority: 80\n    enabled: false\n", "    priority: 80\n    enabled: true\n"))
    assert decide(policy, route([agent("a1", "offline")]))["action"] == "divert"


def test_switch_offline_auto_assignment_on_as_shipped(shipped):
    """004「选择"启用"自动接入未处理留言…第一时间将离线留言能自动分配给客服」."""
    envelope = dequeue(shipped["kuaishou"], [agent("a1")], [item("m1", timedelta(hours=3), offline=True)])
    assert pairs(envelope) == [("m1", "a1")]


def test_switch_offline_auto_assignment_off_leaves_offline_messages_waiting(edited):
    """004: not enabled, offline messages wait to be opened by hand; queue-pool conversations still go out."""
    policy = edited("kuaishou", ("offline_messages: true", "offline_messages: false"))
    queue = [item("m1", timedelta(hours=3), offline=True), item("q1", MINUTE)]
    envelope = dequeue(policy, [agent("a1")], queue)
    assert pairs(envelope) == [("q1", "a1")] and envelope["decision"]["expired"] == []


# The language: new events are checked like the others -----------------------------------------------

def test_an_unknown_event_is_reported_with_a_suggestion():
    shipped = (RULES / "kuaishou.yaml").read_text(encoding="utf-8")
    text = shipped.replace("event: manual_assign\n    then: allow", "event: manual_asign\n    then: allow")
    assert text != shipped
    with pytest.raises(PolicyError) as raised:
        parse_policy(text, "kuaishou.yaml")
    assert "manual_assign" in str(raised.value)


def test_an_action_of_another_event_is_refused_naming_the_right_ones():
    text = (RULES / "douyin.yaml").read_text(encoding="utf-8").replace("set_status: {status: online}", "allow")
    with pytest.raises(PolicyError) as raised:
        parse_policy(text, "douyin.yaml")
    assert "action `allow` does not answer `login` events; use one of set_status" in str(raised.value)


def test_login_facts_are_checked_with_a_suggestion():
    shipped = (RULES / "douyin.yaml").read_text(encoding="utf-8")
    text = shipped.replace(
        "    event: login\n    then:\n      set_status: {status: last}",
        "    event: login\n    when: {fact: login.last_statu, eq: break}\n    then:\n      set_status: {status: last}")
    assert text != shipped
    with pytest.raises(PolicyError) as raised:
        parse_policy(text, "douyin.yaml")
    assert "did you mean `login.last_status`" in str(raised.value)


# Every shipped test case cites the page its behaviour comes from ----------------------------------------

CITES = re.compile(r"\b00[0-4]\b|this product's")


@pytest.mark.parametrize("suite", sorted(RULES.glob("*.test.yaml")), ids=lambda p: p.stem)
def test_every_shipped_case_cites_its_page_or_says_it_is_the_products_choice(suite):
    cases = yaml.safe_load(suite.read_text(encoding="utf-8"))["cases"]
    uncited = [case["name"] for case in cases if not CITES.search(case.get("description", ""))]
    assert uncited == []
