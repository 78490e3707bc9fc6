"""B1–B13 on the shipped policies: each test names the behaviour it proves, and a platform's
behaviour the help page it comes from (seeds/000…004, cited by number and a few words)."""
from __future__ import annotations

import pytest

from conftest import agent, decide, hours_before_now, route


# B1 agent status ----------------------------------------------------------------------------

def test_b1_invisible_counts_as_online(shipped):
    """002 注释1「当帐号设置"隐身"时视为在线状态」."""
    decision = decide(shipped["taobao"], route([agent("a1", "invisible")]))
    assert (decision["action"], decision["agent_id"]) == ("assign", "a1")


def test_b1_break_gets_no_new_conversation_and_it_queues(shipped):
    """000「所有客服的接待量均达到最大值时…进入排队池」: a logged-in agent on break takes nothing new."""
    decision = decide(shipped["kuaishou"], route([agent("a1", "break"), agent("a2", "offline")]))
    assert decision["action"] == "queue" and decision["rule"] == "queue-pool"


def test_b1_offline_agent_gets_nothing(shipped):
    decision = decide(shipped["kuaishou"], route([agent("a1", "offline"), agent("a2", "online", active=19)]))
    assert decision["agent_id"] == "a2"


# B2 maximum concurrent conversations ----------------------------------------------------------

def test_b2_unlimited_agent_keeps_receiving_and_counts_against_platform_maximum(shipped):
    """000 (1)「不自动挂起…系统持续向客服分配会话」."""
    # Unlimited counts as 500 on Kuaishou: 100/500 = 0.2 is less busy than 5/20 = 0.25.
    agents = [agent("a1", max=None, active=100), agent("a2", max=20, active=5)]
    assert decide(shipped["kuaishou"], route(agents))["agent_id"] == "a1"


def test_b2_unlimited_is_not_empty_with_many_active(shipped):
    agents = [agent("a1", max=None, active=499), agent("a2", max=20, active=19)]
    assert decide(shipped["kuaishou"], route(agents))["agent_id"] == "a2"


def test_b2_suspended_agent_receives_no_shunted_conversation(shipped):
    """000 (2)「挂起 是指系统停止向客服分配新会话」."""
    agents = [agent("a1", suspended=True), agent("a2", active=10)]
    assert decide(shipped["kuaishou"], route(agents))["agent_id"] == "a2"


# B3 at capacity --------------------------------------------------------------------------------

def test_b3_full_agent_is_not_assigned_automatically(shipped):
    """000「当接待中会话数达到这个上限值时,系统停止向客服分配会话」."""
    agents = [agent("a1", max=5, active=5), agent("a2", max=50, active=40)]
    assert decide(shipped["kuaishou"], route(agents))["agent_id"] == "a2"


def test_b3_everyone_full_queues(shipped):
    agents = [agent("a1", max=5, active=5), agent("a2", max=3, active=7)]
    decision = decide(shipped["kuaishou"], route(agents))
    assert (decision["action"], decision["queue"]) == ("queue", "shop")


# B4 suspended is not offline -------------------------------------------------------------------

def test_b4_suspended_agent_still_gets_its_returning_customer(shipped):
    """001「即使客服已经挂起或者到达接待上限,回头客也可以直接分配给客服」."""
    agents = [agent("a1"), agent("a2", suspended=True)]
    decision = decide(shipped["kuaishou"], route(agents, last=("a2", hours_before_now(10))))
    assert (decision["agent_id"], decision["rule"]) == ("a2", "returning-customer")


def test_b4_suspended_main_account_still_gets_its_private_contacts(shipped):
    """002 场景2「挂起后会收到私密联系人和最近联系人发送的消息」."""
    agents = [agent("m", role="main", suspended=True), agent("s1")]
    decision = decide(shipped["taobao"], route(agents, private=True))
    assert (decision["agent_id"], decision["rule"]) == ("m", "private-contact")


# B5 internal messages --------------------------------------------------------------------------

@pytest.mark.parametrize("name", ["kuaishou", "taobao", "douyin"])
def test_b5_internal_messages_are_never_shunted(shipped, name):
    decision = decide(shipped[name], route([agent("a1")], internal=True, last=("a1", hours_before_now(1))))
    assert (decision["action"], decision["agent_id"], decision["rule"]) == ("none", None, "internal-not-routed")


# B6 private contacts ---------------------------------------------------------------------------

def test_b6_b20_private_contact_of_a_full_main_account_waits_in_its_cache(shipped):
    """002「私密联系人发给主帐号的消息…都不会进行分流的哦」; past the window cap, 「自动排队缓存起来」."""
    agents = [agent("m", role="main", max=5, active=9), agent("s1")]
    decision = decide(shipped["taobao"], route(agents, private=True))
    assert (decision["action"], decision["agent_id"], decision["queue"]) == ("cache", "m", "cache:m")
    assert "cached at m" in decision["reason"]


def test_b6_private_contact_waits_for_offline_main_and_is_never_shunted(shipped):
    """002「即使主帐号不在线,私密客户消息也会作为离线消息,不会分流给其他子帐号」."""
    agents = [agent("m", "offline", role="main"), agent("s1"), agent("s2")]
    decision = decide(shipped["taobao"], route(agents, private=True, last=("s1", hours_before_now(1))))
    assert (decision["action"], decision["agent_id"], decision["rule"]) == ("hold", "m", "private-contact-hold")


# B7 returning customers ------------------------------------------------------------------------

def test_b7_kuaishou_returning_customer_goes_back_ignoring_capacity_and_suspension(shipped):
    """001「回头客不受客服接待上限的影响,即使客服已经挂起或者到达接待上限,回头客也可以直接分配给客服」."""
    agents = [agent("a1"), agent("a2", max=5, active=9, suspended=True)]
    decision = decide(shipped["kuaishou"], route(agents, last=("a2", hours_before_now(47))))
    assert (decision["action"], decision["agent_id"], decision["rule"]) == ("assign", "a2", "returning-customer")
    assert "47 h ago" in decision["reason"]


@pytest.mark.parametrize("hours", [1, 200, 24 * 90])
def test_b7_taobao_recent_contact_has_no_time_window(shipped, hours):
    """002 场景1「收到最近联系人的消息,只要帐号是非离线状态,都是不会参与分流的」: no 72 hours."""
    agents = [agent("a1"), agent("a2", suspended=True, active=3)]
    decision = decide(shipped["taobao"], route(agents, last=("a2", hours_before_now(hours))))
    assert (decision["action"], decision["agent_id"], decision["rule"]) == ("assign", "a2", "recent-contact")


def test_b7_b20_taobao_recent_contact_of_a_full_account_is_cached_there_not_shunted(shipped):
    """002 「不会参与分流的」 and 「超出数量后新的买家咨询消息…自动排队缓存起来」."""
    agents = [agent("a1"), agent("a2", max=5, active=9, suspended=True)]
    decision = decide(shipped["taobao"], route(agents, last=("a2", hours_before_now(47))))
    assert (decision["action"], decision["agent_id"], decision["rule"]) == ("cache", "a2", "recent-contact")


def test_b7_douyin_has_no_returning_customer_priority(shipped):
    """003 describes no returning-customer priority: the 72 hours are Kuaishou's (001)."""
    agents = [agent("a1", groups=("presale",)), agent("a2", active=9, groups=("presale",))]
    decision = decide(shipped["douyin"], route(agents, last=("a2", hours_before_now(1))))
    assert (decision["agent_id"], decision["rule"]) == ("a1", "group-shunting")


def test_b7_window_is_inclusive_at_exactly_72_hours(shipped):
    """001「最近72小时内咨询过本店铺人工客服」."""
    agents = [agent("a1"), agent("a2", active=10)]
    assert decide(shipped["kuaishou"], route(agents, last=("a2", hours_before_now(72))))["agent_id"] == "a2"


def test_b7_one_second_past_72_hours_is_routed_normally(shipped):
    agents = [agent("a1"), agent("a2", active=10)]
    decision = decide(shipped["kuaishou"], route(agents, last=("a2", hours_before_now(72 + 1 / 3600))))
    assert (decision["agent_id"], decision["rule"]) == ("a1", "basic-shunting")


@pytest.mark.parametrize("status", ["offline", "break"])
def test_b7_last_agent_offline_or_on_break_is_routed_normally(shipped, status):
    agents = [agent("a1", active=3), agent("a2", status)]
    decision = decide(shipped["kuaishou"], route(agents, last=("a2", hours_before_now(1))))
    assert (decision["agent_id"], decision["rule"]) == ("a1", "basic-shunting")


def test_b7_last_agent_absent_from_roster_is_routed_normally(shipped):
    decision = decide(shipped["kuaishou"], route([agent("a1")], last=("gone", hours_before_now(1))))
    assert (decision["agent_id"], decision["rule"]) == ("a1", "basic-shunting")


def test_b7_operator_switches_returning_priority_off_in_yaml(edited):
    """001「如果商家选择关闭该功能,"回头客"如普通买家正常分流」: the switch is the rule's one `enabled:`."""
    policy = edited("kuaishou", ("    priority: 30\n    enabled: true\n", "    priority: 30\n    enabled: false\n"))
    agents = [agent("a1"), agent("a2", active=10)]
    decision = decide(policy, route(agents, last=("a2", hours_before_now(1))))
    assert (decision["agent_id"], decision["rule"]) == ("a1", "basic-shunting")


def test_b7_operator_changes_window_from_72_to_24_hours_in_yaml(edited):
    policy = edited("kuaishou", ("returning_window_hours: 72", "returning_window_hours: 24"))
    agents = [agent("a1"), agent("a2", active=10)]
    assert decide(policy, route(agents, last=("a2", hours_before_now(24))))["agent_id"] == "a2"
    assert decide(policy, route(agents, last=("a2", hours_before_now(25))))["agent_id"] == "a1"


# B8 messages to the main account ---------------------------------------------------------------

def test_b8_to_main_goes_to_online_main_account(shipped):
    """002「当所有帐号都处于常规在线状态,指定向主帐号发送的消息将会在主帐号旺旺的聊天窗口中显示」."""
    agents = [agent("m", role="main", active=10), agent("s1")]
    decision = decide(shipped["taobao"], route(agents, to_main=True))
    assert (decision["agent_id"], decision["rule"]) == ("m", "to-main-account")


def test_b8_to_suspended_main_is_shunted_to_sub_accounts(shipped):
    """002 场景2「其他的消息(包括指定发送给主帐号的消息)会参与分流给未挂起的子帐号」."""
    agents = [agent("m", role="main", suspended=True), agent("s1", active=4)]
    decision = decide(shipped["taobao"], route(agents, to_main=True))
    assert (decision["agent_id"], decision["rule"]) == ("s1", "basic-shunting")


def test_b8_b20_to_full_main_is_cached_at_the_main_account_not_lost(shipped):
    """002「指定向主帐号发送的消息将会在主帐号旺旺的聊天窗口中显示」; past its window cap, its cache."""
    agents = [agent("m", role="main", max=5, active=5), agent("s1", active=4)]
    decision = decide(shipped["taobao"], route(agents, to_main=True))
    assert (decision["action"], decision["agent_id"], decision["rule"]) == ("cache", "m", "to-main-account")


def test_b8_to_main_wins_over_a_sub_accounts_recent_contact(shipped):
    """002: a message addressed to the main account shows in the main account's window."""
    agents = [agent("m", role="main"), agent("s1")]
    decision = decide(shipped["taobao"], route(agents, to_main=True, last=("s1", hours_before_now(1))))
    assert (decision["agent_id"], decision["rule"]) == ("m", "to-main-account")


# B9 basic vs group shunting --------------------------------------------------------------------

@pytest.mark.parametrize("entry,group", [("after_sales_page", "aftersale"), ("order_page", "aftersale"),
                                         ("product_page", "presale"), ("direct", "presale"), ("live", "presale")])
def test_b9_douyin_maps_entry_points_to_groups(shipped, entry, group):
    agents = [agent("pre", groups=("presale",), active=1), agent("after", groups=("aftersale",), active=1)]
    decision = decide(shipped["douyin"], route(agents, entry=entry))
    expected = "after" if group == "aftersale" else "pre"
    assert (decision["agent_id"], decision["rule"]) == (expected, "group-shunting")


def test_b9_taobao_basic_shunting_goes_to_sub_accounts_only(shipped):
    """002「点击店铺中的"和我联系",会分流给子帐号」: an idle main account takes no shunted conversation."""
    agents = [agent("m", role="main"), agent("s1", active=12)]
    decision = decide(shipped["taobao"], route(agents))
    assert (decision["action"], decision["agent_id"], decision["rule"]) == ("assign", "s1", "basic-shunting")


def test_b9_basic_shunting_considers_every_agent_of_the_shop(shipped):
    agents = [agent("pre", groups=("presale",), active=5), agent("after", groups=("aftersale",), active=1)]
    assert decide(shipped["kuaishou"], route(agents, entry="product_page"))["agent_id"] == "after"


def test_b9_b12_douyin_full_group_passes_the_buyer_to_the_shop_and_queues_only_when_everyone_is_full(shipped):
    """003「当达人所有在线客服均达到最大接待人数后,系统将暂停用户咨询分配,此时的用户将进入排队流程」:
    a full group is not every online agent, so its buyer goes to the other group's free agent; once
    that one is full too, the buyer waits in the shop's one queue."""
    agents = [agent("pre", groups=("presale",), max=2, active=1), agent("after", groups=("aftersale",), max=2, active=2)]
    decision = decide(shipped["douyin"], route(agents, entry="after_sales_page"))
    assert (decision["action"], decision["agent_id"], decision["rule"]) == ("assign", "pre", "shop-shunting")
    agents[0] = agent("pre", groups=("presale",), max=2, active=2)
    decision = decide(shipped["douyin"], route(agents, entry="after_sales_page"))
    assert (decision["action"], decision["queue"], decision["rule"]) == ("queue", "shop", "queue-pool")


# B10 eligibility --------------------------------------------------------------------------------

def test_b10_only_online_unsuspended_agents_below_maximum_are_eligible(shipped):
    agents = [agent("off", "offline"), agent("brk", "break"), agent("sus", suspended=True),
              agent("full", max=4, active=4), agent("ok", active=19)]
    assert decide(shipped["kuaishou"], route(agents))["agent_id"] == "ok"


# B11 choosing ------------------------------------------------------------------------------------

def test_b11_least_busy_is_lowest_saturation_not_fewest_active(shipped):
    agents = [agent("a1", max=100, active=20), agent("a2", max=10, active=5)]
    assert decide(shipped["kuaishou"], route(agents))["agent_id"] == "a1"


def test_b11_ties_break_by_active_count_then_id(shipped):
    agents = [agent("b", max=10, active=2), agent("a", max=20, active=4), agent("c", max=10, active=2)]
    assert decide(shipped["kuaishou"], route(agents))["agent_id"] == "b"
    agents = [agent("c", active=0), agent("b", active=0)]
    assert decide(shipped["kuaishou"], route(agents))["agent_id"] == "b"


def test_b11_fewest_active_strategy(edited):
    policy = edited("kuaishou", ("assign: {among: shop, strategy: least_busy}", "assign: {among: shop, strategy: fewest_active}"))
    agents = [agent("a1", max=100, active=20), agent("a2", max=10, active=5)]
    assert decide(policy, route(agents))["agent_id"] == "a2"


def test_b11_round_robin_picks_the_agent_assigned_longest_ago(edited):
    policy = edited("kuaishou", ("assign: {among: shop, strategy: least_busy}", "assign: {among: shop, strategy: round_robin}"))
    agents = [agent("a1", last_assigned_at="2026-11-23T09:59:00Z"), agent("a2", last_assigned_at="2026-11-23T09:00:00Z"),
              agent("a3", last_assigned_at="2026-11-23T09:30:00Z")]
    assert decide(policy, route(agents))["agent_id"] == "a2"
    agents.append(agent("a4"))  # never assigned goes first
    assert decide(policy, route(agents))["agent_id"] == "a4"


def test_b11_taobao_shares_evenly_when_every_account_is_suspended(shipped):
    """002 场景2「如果所有帐号全都挂起了,也会平均分配」."""
    agents = [agent("m", role="main", suspended=True, active=3), agent("s1", suspended=True, active=1),
              agent("s2", suspended=True, active=2)]
    decision = decide(shipped["taobao"], route(agents))
    assert (decision["agent_id"], decision["rule"]) == ("s1", "all-suspended-shared")


# B12 queue pool -----------------------------------------------------------------------------------

def test_b12_online_but_none_eligible_waits_in_shop_queue(shipped):
    """000「所有客服的接待量均达到最大值时,发起新会话的买家会进入排队池进行等待」."""
    agents = [agent("a1", max=2, active=2), agent("a2", "break")]
    decision = decide(shipped["kuaishou"], route(agents))
    assert (decision["action"], decision["queue"], decision["rule"]) == ("queue", "shop", "queue-pool")


def test_b12_b20_taobao_has_no_queue_pool_a_full_account_caches(shipped):
    """002「超出数量后新的买家咨询消息将不会自动弹出新聊天窗口,而是自动排队缓存起来」: no shared pool."""
    agents = [agent("a1", max=2, active=2), agent("a2", max=3, active=3)]
    decision = decide(shipped["taobao"], route(agents))
    assert (decision["action"], decision["agent_id"], decision["rule"]) == ("cache", "a1", "basic-shunting")


# B13 nobody online ------------------------------------------------------------------------------

@pytest.mark.parametrize("name,rule", [("kuaishou", "offline-queue"), ("taobao", "offline-queue"),
                                       ("douyin", "offline-message")])
def test_b13_nobody_online_waits_in_offline_queue(shipped, name, rule):
    """000「离线期间所有的新会话会进入离线排队池」; 003「因达人无客服在线,用户主动给达人留言」."""
    decision = decide(shipped[name], route([agent("a1", "offline"), agent("a2", "offline")]))
    assert (decision["action"], decision["rule"]) == ("offline_queue", rule)


def test_b13_douyin_everyone_on_break_leaves_an_offline_message_not_a_queue(shipped):
    """003「因达人无客服在线…这部分会话会进入离线留言」: on break is not online."""
    decision = decide(shipped["douyin"], route([agent("a1", "break", groups=("presale",))]))
    assert (decision["action"], decision["rule"]) == ("offline_queue", "offline-message")


def test_b13_no_agents_at_all_waits_in_offline_queue(shipped):
    assert decide(shipped["kuaishou"], route([]))["action"] == "offline_queue"


def test_b13_offline_diversion_switched_on_diverts(edited):
    """000「若开启了离线分流,所有客服离线时仍然实行离线分流逻辑」: the switch is the rule's one `enabled:`."""
    policy = edited("kuaishou", ("    priority: 80\n    enabled: false\n", "    priority: 80\n"))
    decision = decide(policy, route([agent("a1", "offline")]))
    assert (decision["action"], decision["target"], decision["rule"]) == ("divert", "backup-team", "offline-diversion")
    assert decide(policy, route([agent("a1", "break")]))["action"] == "queue"
