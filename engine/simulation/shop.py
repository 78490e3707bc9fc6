"""The discrete-event loop: one shop, one policy, one trace. Every decision is the policy's own
answer to an evaluate request (route, dequeue, transfer, close, agent_settings); the loop only
keeps the state the platform would keep and moves the clock from event to event.

What the platform does between decisions, following the domain:
- a new conversation is routed (B5–B13): assigned, queued in a pool, put in the offline queue,
  cached at an agent whose windows are all open (B20), held for the main account, diverted, or
  not routed (internal);
- whenever a slot frees (a close, a raised maximum, a lifted suspension) or an agent logs in,
  the queues are offered to the policy's `dequeue` rules (B14, B15), which serve each agent's own
  cache first (B20), give an unlimited agent the whole backlog, and expire offline messages past
  the TTL when the policy sets one;
- conversations held for an agent are routed again when that agent logs in (B6);
- an offline agent's change to a logged-in status is a login: when the policy answers `login`
  (B1), the agent starts in the status its rules give, from the status it last had while logged
  in (Douyin: online at a first login, the last status at a re-login), whatever the roster names;
- the automatic close is checked the policy's `auto_close_minutes` after the agent's last
  message, and again every few minutes while the policy keeps it open, if its close rules test
  how long the last message is ago; if they do not, nothing would ever close the conversation,
  and its agent closes it by hand at that first check (Taobao, B17);
- with `auto_reply_seconds` set, the shop's auto-reply answers a buyer message no agent has
  answered by then: it is the last message (`from: system`) for the close rules, so an
  unanswered conversation can close automatically (Kuaishou, B17), yet the buyer still waits
  for a human answer, which alone counts for the reply rate;
- a buyer in the queue pool gives up when its patience runs out before an agent takes it;
- a queued conversation carries the `priority` its route decision gave it; when the policy's
  dequeue rules overflow or its skill requirements relax (issue 17), the queues are offered again
  as each step's wait passes, since a wait, not a freed slot, is what widens who may take it.
  Under `order: priority`, overflow or a skill requirement every queued conversation is offered
  (up to the request's limit), because the rules may then pass older ones over; agents bring the
  roster's `skills`.

Requests list the agents who are logged in, plus the main account and the buyer's last agent
whatever their status: offline sub-accounts can never be chosen, and leaving them out keeps a
100-agent shop's requests small. Facts that count listed agents (`shop.agents`) count only these.
"""
from __future__ import annotations

import heapq
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta, tzinfo
from itertools import chain, islice
from typing import Any, Literal

from ..events import typed_kind
from ..events.agent_settings import AgentSettingsRequest, AskedSettings
from ..events.close import ClosedConversation, CloseRequest
from ..eligibility import Capacity
from ..events.dequeue import (
    MAX_QUEUE, DequeueRequest, Queued, QueuedConversation, Takers, first_groups, free_slots, has_expired, may_take, offline_ttl,
    hands_out_in_turn, in_turn, oldest, returning_agent, returning_window, skill_requirements, widening_waits,
)
from ..events.login import LoggingIn, LoginRequest
from ..events.route import RouteRequest
from ..events.transfer import TransferRequest
from ..policy import Policy
from ..request import Agent, BaseConversation, Conversation, Customer, LastContact, LastMessage
from ..skills import SkillRequirement, qualifies
from .agents import Behaviour, Luck
from .errors import SimulationTimeout
from .roster import Change, Roster, Setting, timeline
from .trace import Arrival

# Event kinds. Events at the same instant run in the order they were planned, before any arrival.
CHANGE, REPLY, BUYER, CLOSE, AUTO_CLOSE, SAMPLE = range(6)
GIVE_UP, AUTO_REPLY, OVERFLOW = 6, 7, 8
OFFLINE = "offline"
CACHE = "cache:"  # an agent's own message cache (B20) is the queue `cache:<agent id>`
AUTO_CLOSE_RECHECK = 300.0
AUTO_CLOSE_GIVE_UP = 6 * 3600.0  # the longest automatic close any platform allows (Kuaishou 360 min)
DEQUEUE_MARGIN = 5  # queued conversations offered beyond the free slots, for rules that skip some


@dataclass(slots=True, eq=False)
class AgentState:
    id: str
    role: str
    groups: tuple[str, ...]
    speed: float
    status: str
    max_sessions: int | None
    suspended: bool
    conversations: dict[int, None] = field(default_factory=dict)
    last_assigned: datetime | None = None
    entered: int = 0
    on_time: int = 0
    peak_active: int = 0
    deferred: list[int] = field(default_factory=list)
    cached: Agent | None = None
    last_status: str | None = None  # while last logged in: what a re-login may restore (B1)
    skills: dict[str, int] = field(default_factory=dict)

    @property
    def online(self) -> bool:
        return self.status in ("online", "invisible")

    @property
    def logged_in(self) -> bool:
        return self.status != "offline"

    def request(self, with_last_assigned: bool, with_groups: bool) -> Agent:
        """This agent as an evaluate request lists it, rebuilt only after it changed."""
        if self.cached is None:
            self.cached = Agent(id=self.id, status=self.status, role=self.role, suspended=self.suspended,
                                max_sessions=self.max_sessions, active=len(self.conversations),
                                groups=self.groups if with_groups else (), skills=self.skills,
                                last_assigned_at=self.last_assigned if with_last_assigned else None)
        return self.cached


@dataclass(slots=True, eq=False)
class ConversationState:
    arrival: Arrival
    t0: float
    luck: Luck
    state: str = "new"
    routed: str = ""
    agent: AgentState | None = None
    first_agent: str | None = None
    skilled: bool | None = None  # first agent met its group's unrelaxed skill requirement; None: none asked (issue 17)
    returning_to: str | None = None
    entered_at: float = 0.0
    answered_here: bool = False
    first_reply_at: float | None = None
    replies: int = 0
    messages: int = 1
    reply_token: int = 0
    last_from: str = "customer"
    last_at: float = 0.0
    queue: str | None = None
    enqueued_at: float = 0.0
    waited: float | None = None
    closed_by: str | None = None
    requested: Conversation | None = None
    priority: float = 0
    awaits: str | None = None  # while it waits: the agent its buyer last dealt with, as the shop indexes it


@dataclass
class DayRecord:
    """Everything the KPIs are computed from; kpis.py turns it into the result."""

    start: datetime
    end: float
    zone: tzinfo
    sla: float
    conversations: list[ConversationState]
    agents: list[AgentState]
    samples: list[tuple[float, int, int, int, tuple[float | None, ...]]]
    decisions: dict[str, int]
    warnings: dict[str, int]
    rejected_settings: list[dict[str, Any]]
    expired: int
    refused_closes: int
    transfers: int
    after_close: int
    abandoned: int = 0
    auto_replies: int = 0


class Shop:
    def __init__(self, trace: list[Arrival], luck: list[Luck], roster: Roster, policy: Policy,
                 behaviour: Behaviour, *, sample_seconds: float, drain_seconds: float,
                 deadline: float | None = None, progress: Callable[[float], None] | None = None) -> None:
        self.policy = policy
        params = policy.document.params
        self.sla = float(params.reply_sla_seconds)
        self.auto_close = float(params.auto_close_minutes) * 60
        self.window = returning_window(policy.document)
        self.ttl = offline_ttl(policy.document)
        self.capacity = Capacity(params.capacity.max)
        # Fields no rule of this policy can look at are left out of requests: they cost time to read.
        self.round_robin = any(rule.then.strategy == "round_robin" for rule in policy.document.rules)
        self.grouped = bool(policy.document.groups)
        self.logins = bool(policy.document.rules_for("login"))
        # An automatic-close check kept open is asked again later only when a close rule tests the
        # silence: with the same last message every other close fact stays the same, and so would the
        # answer. Otherwise the policy never closes a silent conversation: its agent closes it by hand.
        self.silence_counts = policy.document.tests("close", ("last_message.minutes_ago",))
        self.dequeue_options = dequeue_options = [rule.then.options for rule in policy.document.answering("dequeue")]
        # issue 17: the waits at which an overflow step widens a queue or a relax step lowers the skills it
        # needs, and whether rules may pass older ones over (by priority, or for want of a skill)
        document = policy.document
        self.widen_after = sorted(set().union(*(widening_waits(options, document) for options in dequeue_options)))
        self.whole_queue = any(options.get("order") == "priority" or options.get("overflow")
                               or skill_requirements(options, document) for options in dequeue_options)
        # A long queue need not be offered whole when the rules hand out in turn and test no fact of its length.
        self.hands_out_in_turn = all(hands_out_in_turn(options) for options in dequeue_options) and not document.tests(
            "dequeue", ("queue.", "shop.free_slots"))
        self.behaviour = behaviour
        self.deadline, self.progress = deadline, progress

        self.zone = roster.timezone or trace[0].at.tzinfo
        self.start = trace[0].at.astimezone(self.zone)
        self.horizon = (trace[-1].at - trace[0].at).total_seconds() + drain_seconds
        self.sample_seconds = sample_seconds
        self.moment_at, self.moment = 0.0, self.start
        self.conversations = [ConversationState(a, (a.at - self.start).total_seconds(), lk) for a, lk in zip(trace, luck)]
        self.by_id = {c.arrival.conversation: index for index, c in enumerate(self.conversations)}
        self.customers: dict[str, tuple[str, float]] = {}

        self.heap: list[tuple[float, int, int, int, int]] = []
        self.seq = 0
        self.now = 0.0
        initial, changes = timeline(roster, self.start, self.start + timedelta(seconds=self.horizon), self.zone)
        self.agents = [AgentState(a.id, a.role, a.groups, a.reply_speed, "offline", None, False, skills=a.skills)
                       for a in roster.agents]
        self.by_agent = {agent.id: agent for agent in self.agents}
        self.main = next((agent for agent in self.agents if agent.role == "main"), None)
        self.changes: list[tuple[str, Change]] = []
        self.initial = initial
        for moment, agent_id, change in changes:
            self._push((moment - self.start).total_seconds(), CHANGE, len(self.changes))
            self.changes.append((agent_id, change))
        self.logged: list[AgentState] = []
        self.listing: list[Agent] | None = None  # self.logged as requests list them
        self.position: dict[str, int] = {}       # each logged-in agent's place in it
        self.stale: list[AgentState] = []         # agents changed since the listing was last brought up to date
        # Each queue's waiting conversations as dequeue requests list them, in order of entry: built once,
        # and again only when the buyer's last contact changes, since every dequeue lists them.
        self.queues: dict[str, dict[int, Queued]] = {}
        # Waiting conversations by their buyer's last agent, and by buyer: a freed slot asks whether a
        # returning buyer waits for its agent without a pass over every queue.
        self.awaiting: dict[str, dict[int, None]] = {}
        self.waiting: dict[str, dict[int, None]] = {}
        self.held: dict[str, list[int]] = {}
        self.live = 0

        self.decisions = {"route": 0, "dequeue": 0, "transfer": 0, "close": 0, "agent_settings": 0, "login": 0}
        self.warnings: dict[str, int] = {}
        self.rejected: list[dict[str, Any]] = []
        self.samples: list[tuple[float, int, int, int, tuple[float | None, ...]]] = []
        self.expired = self.refused = self.transfers = self.after_close = self.abandoned = 0
        self.auto_replies = 0

    # ---- the loop ------------------------------------------------------------------------

    def run(self) -> DayRecord:
        for agent in self.agents:
            setting = self.initial[agent.id]
            self._settings(agent, setting, initial=True)
        self._relist()
        self._push(0.0, SAMPLE, 0)
        handlers = {CHANGE: self._on_change, REPLY: self._on_reply, BUYER: self._on_buyer,
                    CLOSE: self._on_close_attempt, AUTO_CLOSE: self._on_auto_close, SAMPLE: self._on_sample,
                    GIVE_UP: self._on_give_up, AUTO_REPLY: self._on_auto_reply, OVERFLOW: self._on_overflow}
        conversations, heap = self.conversations, self.heap
        arrived, total = 0, len(conversations)
        steps = 0
        while True:
            next_arrival = conversations[arrived].t0 if arrived < total else float("inf")
            next_event = heap[0][0] if heap else float("inf")
            if arrived == total and self.live == 0:
                break
            if min(next_arrival, next_event) > self.horizon:
                self.now = self.horizon
                break
            if next_event <= next_arrival:
                self.now, _, kind, a, b = heapq.heappop(heap)
                handlers[kind](a, b)
            else:
                self.now = next_arrival
                self._route(arrived)
                arrived += 1
            steps += 1
            if steps % 256 == 0:
                if self.deadline is not None and time.monotonic() > self.deadline:
                    raise SimulationTimeout("the simulation ran past its time limit")
                if self.progress is not None:
                    self.progress(arrived / total)
        if self.progress is not None:
            self.progress(1.0)
        return DayRecord(self.start, self.now, self.zone, self.sla, conversations, self.agents, self.samples,
                       self.decisions, self.warnings, self.rejected, self.expired, self.refused, self.transfers,
                       self.after_close, self.abandoned, self.auto_replies)

    def _push(self, at: float, kind: int, a: int, b: int = 0) -> None:
        self.seq += 1
        heapq.heappush(self.heap, (at, self.seq, kind, a, b))

    def _iso(self, at: float) -> str:
        return self._moment(at).isoformat()

    def _moment(self, at: float) -> datetime:
        # Most calls ask for `now`, several times per instant (a close, then its dequeue): `now`'s is
        # kept, and not displaced by another instant's (a last message, a last contact).
        if at == self.moment_at:
            return self.moment
        moment = self.start + timedelta(seconds=at)
        if at == self.now:
            self.moment_at, self.moment = at, moment
        return moment

    def _decide(self, request: Any) -> dict[str, Any]:
        """The policy's decision on a typed request the shop built from its own state: nothing to read or check."""
        self.decisions[typed_kind(request).name] += 1
        decision, warnings = self.policy.decide(request)
        for warning in warnings:
            self.warnings[warning["code"]] = self.warnings.get(warning["code"], 0) + 1
        return decision

    def _listed(self, *extra: AgentState | None) -> tuple[Agent, ...]:
        """The logged-in agents as requests list them: only those changed since the last request are
        rebuilt, since every decision lists every agent."""
        if self.listing is None:
            self.listing = [agent.request(self.round_robin, self.grouped) for agent in self.logged]
            self.position = {agent.id: place for place, agent in enumerate(self.logged)}
        else:
            for agent in self.stale:
                place = self.position.get(agent.id)
                if place is not None:
                    self.listing[place] = agent.request(self.round_robin, self.grouped)
        self.stale.clear()
        absent = [agent.request(self.round_robin, self.grouped)
                  for agent in dict.fromkeys(a for a in extra if a is not None and not a.logged_in)]
        return (*self.listing, *absent) if absent else tuple(self.listing)

    def _changed(self, agent: AgentState) -> None:
        agent.cached = None
        self.stale.append(agent)

    def _relist(self) -> None:
        self.logged = [agent for agent in self.agents if agent.logged_in]
        self.listing = None

    # ---- routing (B5–B13) ----------------------------------------------------------------

    def _route(self, index: int, *, again: bool = False) -> None:
        conversation = self.conversations[index]
        arrival = conversation.arrival
        last = self._last_contact(arrival)
        last_agent = None
        if last is not None:
            last_agent = self.by_agent.get(last[0])
            if not again and 0 <= self.now - last[1] <= self.window.total_seconds():
                conversation.returning_to = last[0]
        decision = self._decide(RouteRequest(
            now=self._moment(self.now), agents=self._listed(self.main, last_agent),
            conversation=self._conversation_request(conversation), customer=self._customer(arrival, last)))
        action = decision["action"]
        if not again:
            conversation.routed = action
            self.live += 1
        if action == "assign":
            self._enter(index, self.by_agent[decision["agent_id"]])
        elif action == "queue":
            conversation.priority = decision.get("priority") or 0
            self._enqueue(index, decision["queue"])
        elif action == "offline_queue":
            self._enqueue(index, OFFLINE)
        elif action == "cache":
            self._enqueue(index, decision["queue"])
        elif action == "hold":
            self._start_wait(conversation)
            conversation.state = "held"
            self.held.setdefault(decision["agent_id"], []).append(index)
        else:
            conversation.state = "diverted" if action == "divert" else "not_routed"
            self.live -= 1

    def _last_contact(self, arrival: Arrival) -> tuple[str, float] | None:
        seen = self.customers.get(arrival.customer)
        if seen is not None:
            return seen
        if arrival.last_agent is not None:
            return arrival.last_agent[0], (arrival.last_agent[1] - self.start).total_seconds()
        return None

    def _customer(self, arrival: Arrival, last: tuple[str, float] | None) -> Customer:
        return Customer(id=arrival.customer, private_contact=arrival.private_contact, tags=arrival.tags,
                        last_agent=None if last is None else LastContact(last[0], self._moment(last[1])))

    def _conversation_request(self, conversation: ConversationState) -> Conversation:
        if conversation.requested is None:
            arrival = conversation.arrival
            conversation.requested = Conversation(id=arrival.conversation, entry=arrival.entry, category=arrival.category,
                                                  to_main=arrival.to_main, internal=arrival.internal)
        return conversation.requested

    def _start_wait(self, conversation: ConversationState) -> None:
        if conversation.state == "new":
            conversation.enqueued_at = self.now

    def _enqueue(self, index: int, queue: str) -> None:
        conversation = self.conversations[index]
        if conversation.state == "new" and queue != OFFLINE and conversation.luck.patience != float("inf"):
            self._push(self.now + conversation.luck.patience, GIVE_UP, index)
        if conversation.state == "new" and queue != OFFLINE and not queue.startswith(CACHE):
            for after in self.widen_after:
                self._push(self.now + after, OVERFLOW, index)
        self._start_wait(conversation)
        conversation.state = "offline" if queue == OFFLINE else "cached" if queue.startswith(CACHE) else "queued"
        conversation.queue = queue
        self.queues.setdefault(queue, {})[index] = self._queued(conversation)
        self.waiting.setdefault(conversation.arrival.customer, {})[index] = None
        self._await(index)

    def _await(self, index: int) -> None:
        """Index a waiting conversation under its buyer's last agent, as it now stands."""
        conversation = self.conversations[index]
        if conversation.awaits is not None:
            del self.awaiting[conversation.awaits][index]
        last = self._last_contact(conversation.arrival)
        conversation.awaits = None if last is None else last[0]
        if last is not None:
            self.awaiting.setdefault(last[0], {})[index] = None

    def _leave_queue(self, index: int) -> ConversationState:
        conversation = self.conversations[index]
        del self.queues[conversation.queue][index]
        del self.waiting[conversation.arrival.customer][index]
        if conversation.awaits is not None:
            del self.awaiting[conversation.awaits][index]
            conversation.awaits = None
        return conversation

    def _requirement(self, arrival: Arrival) -> SkillRequirement | None:
        group = self.policy.document.group_serving(arrival.entry, arrival.category, arrival.tags)
        return group.require if group is not None else None

    def _enter(self, index: int, agent: AgentState) -> None:
        """The conversation enters the agent's list: the agent's own 3-minute clock starts (B19)."""
        conversation = self.conversations[index]
        if conversation.state in ("queued", "offline", "held", "cached") and conversation.waited is None:
            conversation.waited = self.now - conversation.enqueued_at
        conversation.state = "open"
        conversation.agent = agent
        if conversation.first_agent is None:
            conversation.first_agent = agent.id
            requirement = self._requirement(conversation.arrival)
            if requirement is not None:
                conversation.skilled = qualifies(agent.skills, dict(requirement.require))
        conversation.entered_at = self.now
        conversation.answered_here = False
        agent.conversations[index] = None
        agent.entered += 1
        agent.peak_active = max(agent.peak_active, len(agent.conversations))
        agent.last_assigned = self._moment(self.now) if self.round_robin else None
        self._changed(agent)
        if conversation.last_from != "agent":
            self._schedule_reply(index, agent)

    def _schedule_reply(self, index: int, agent: AgentState) -> None:
        if not agent.logged_in:
            agent.deferred.append(index)
            return
        conversation = self.conversations[index]
        luck = conversation.luck.reply[min(conversation.replies, len(conversation.luck.reply) - 1)]
        delay = self.behaviour.reply_delay(len(agent.conversations), agent.speed, luck)
        conversation.reply_token += 1
        self._push(self.now + delay, REPLY, index, conversation.reply_token)
        auto_reply = self.behaviour.auto_reply_seconds
        if auto_reply is not None and conversation.last_from == "customer" and auto_reply < delay:
            self._push(self.now + auto_reply, AUTO_REPLY, index, conversation.messages)

    # ---- the conversation ----------------------------------------------------------------

    def _on_reply(self, index: int, token: int) -> None:
        conversation = self.conversations[index]
        agent = conversation.agent
        # A reply planned before a transfer or a log-out is void: the token moved on when it was replanned.
        if conversation.state != "open" or token != conversation.reply_token or conversation.last_from == "agent":
            return
        if agent is None or not agent.logged_in:
            if agent is not None:
                agent.deferred.append(index)
            return
        if conversation.first_reply_at is None:
            conversation.first_reply_at = self.now
        if not conversation.answered_here:
            conversation.answered_here = True
            agent.on_time += self.now - conversation.entered_at <= self.sla
        conversation.last_from, conversation.last_at = "agent", self.now
        self.customers[conversation.arrival.customer] = (agent.id, self.now)
        for waiting in self.waiting.get(conversation.arrival.customer, ()):
            self.queues[self.conversations[waiting].queue][waiting] = self._queued(self.conversations[waiting])
            self._await(waiting)
        reply = conversation.replies
        conversation.replies += 1
        follow_ups = conversation.arrival.follow_ups
        if reply < len(follow_ups):
            self._push(self.now + follow_ups[reply], BUYER, index, 0)
        self._push(self.now + self.auto_close, AUTO_CLOSE, index, conversation.messages)
        if conversation.luck.manual:
            wrap = conversation.luck.wrap_up[min(reply, len(conversation.luck.wrap_up) - 1)]
            self._push(self.now + self.behaviour.wrap_up(wrap), CLOSE, index, conversation.replies)

    def _on_buyer(self, index: int, _: int) -> None:
        conversation = self.conversations[index]
        if conversation.state != "open":
            self.after_close += 1
            return
        conversation.messages += 1
        conversation.last_from, conversation.last_at = "customer", self.now
        self._schedule_reply(index, conversation.agent)

    def _on_auto_reply(self, index: int, messages: int) -> None:
        """The shop's auto-reply: the last message for the close rules, not an answer for the rate."""
        conversation = self.conversations[index]
        if conversation.state != "open" or messages != conversation.messages or conversation.last_from != "customer":
            return
        self.auto_replies += 1
        conversation.last_from, conversation.last_at = "system", self.now
        self._push(self.now + self.auto_close, AUTO_CLOSE, index, messages)

    def _close_request(self, conversation: ConversationState, manual: bool) -> CloseRequest:
        last = LastMessage(sender=conversation.last_from, at=self._moment(conversation.last_at))
        return CloseRequest(now=self._moment(self.now), manual=manual,
                            conversation=ClosedConversation(id=conversation.arrival.conversation, last_message=last))

    def _try_close(self, index: int, manual: bool) -> str:
        """Ask the policy to close the conversation, and close it if it says so; the action it took."""
        action: str = self._decide(self._close_request(self.conversations[index], manual))["action"]
        if action == "close":
            self._close(index, "manual" if manual else "auto")
        return action

    def _on_close_attempt(self, index: int, replies: int) -> None:
        """ESC a wrap-up time after a reply; refused when the buyer has written since (B17)."""
        conversation = self.conversations[index]
        if conversation.state == "open" and replies == conversation.replies and self._try_close(index, True) == "refuse":
            self.refused += 1

    def _on_auto_close(self, index: int, messages: int) -> None:
        conversation = self.conversations[index]
        if conversation.state != "open" or messages != conversation.messages:
            return
        if self._try_close(index, False) == "close":
            return
        if self.silence_counts:
            if self.now - conversation.last_at < AUTO_CLOSE_GIVE_UP:
                self._push(self.now + AUTO_CLOSE_RECHECK, AUTO_CLOSE, index, messages)
        else:
            # Nothing will ever close it by itself, so its agent does, by hand, as Taobao's page asks (B17).
            self._on_close_attempt(index, conversation.replies)

    def _on_give_up(self, index: int, _: int) -> None:
        conversation = self.conversations[index]
        if conversation.state != "queued":
            return
        self._leave_queue(index)
        conversation.state = "abandoned"
        self.live -= 1
        self.abandoned += 1

    def _on_overflow(self, index: int, _: int) -> None:
        """An overflow or relax step's wait has passed for this conversation: more agents may now take it."""
        if self.conversations[index].state == "queued":
            self._dequeue()

    def _close(self, index: int, how: str) -> None:
        conversation = self.conversations[index]
        agent = conversation.agent
        conversation.state, conversation.closed_by = "closed", how
        self.live -= 1
        if agent is not None:
            del agent.conversations[index]
            self._changed(agent)
        self._dequeue()

    # ---- after arrival (B14, B15) --------------------------------------------------------

    def _dequeue(self) -> None:
        """Offer the queues to the dequeue rules when some waiting conversation could be taken.

        Per queue, the oldest conversations that the free slots of the agents serving it could
        take, plus a margin, and every expired offline message; the rules hand out oldest first,
        so older ones are never skipped for newer. A queue nobody serving it has room for is
        offered only when one of its first conversations has a returning buyer whose last agent
        has room (the rules may send it there, B7, B14). Rules that may pass older ones over (by
        score, for want of a skill, issue 17) are offered every queue whole, and asked only when a
        free agent may take some queue's oldest conversation, an offline message expired or a
        returning buyer's agent is free.
        """
        if not any(self.queues.values()):
            return
        agents = self._listed()
        slots = {agent.id: free for agent in agents if (free := free_slots(agent, self.capacity, MAX_QUEUE)) > 0}
        if not slots:
            return
        now = self._moment(self.now)
        by_id = {agent.id: agent for agent in agents}
        offered = self._whole_queues(by_id, slots, now) if self.whole_queue else self._queue_heads(by_id, slots, now)
        if offered is None:
            return
        decision = self._decide(DequeueRequest(now=now, agents=agents, queue=tuple(offered)))
        for conversation_id in decision.get("expired", []):
            conversation = self._leave_queue(self.by_id[conversation_id])
            conversation.state = "expired"
            self.live -= 1
            self.expired += 1
        for assignment in decision.get("assignments", []):
            index = self.by_id[assignment["conversation_id"]]
            self._leave_queue(index)
            self._enter(index, self.by_agent[assignment["agent_id"]])

    def _queue_heads(self, by_id: dict[str, Agent], slots: dict[str, int], now: datetime) -> list[Queued] | None:
        """What a dequeue handing out oldest first is offered: per queue, as many of its first
        conversations as the agents who may take them have room for, its expired offline messages
        and a margin; None when none of them can be taken or expire."""
        free_agents = [(by_id[agent_id], free) for agent_id, free in slots.items()]
        offered: list[Queued] = []
        useful = False
        for queue in self.queues.values():
            if not queue:
                continue
            head = next(iter(queue.values()))
            expired = 0
            if head.offline:
                for item in queue.values():
                    if not has_expired(item, now, self.ttl):
                        break
                    expired += 1
            groups = first_groups(head)
            if head.cached_at is not None:  # a cache opens only in its own agent's windows (B20)
                own = slots.get(head.cached_at, 0)
                room = own if own and may_take(by_id[head.cached_at], head, groups) else 0
            else:
                room = sum(free for agent, free in free_agents if may_take(agent, head, groups))
            window = list(islice(queue.values(), min(expired + room + DEQUEUE_MARGIN, MAX_QUEUE - len(offered))))
            offered.extend(window)
            useful = useful or room > 0 or expired > 0 or any(
                (last := returning_agent(item, by_id, now, self.window)) is not None and last.id in slots for item in window)
        return offered if useful else None

    def _whole_queues(self, by_id: dict[str, Agent], slots: dict[str, int], now: datetime) -> list[Queued] | None:
        """Every queue, whole (up to a request's limit), for rules that may pass older ones over, or
        as far as the free slots reach when they hand out in turn (`in_turn`); None when no free
        agent may act on any of them. Each queue is judged by its oldest
        conversation, found in C, and returning buyers by the index of waiting ones, so a freed
        slot that changes nothing builds nothing per waiting conversation."""
        takers = [Takers(options, self.policy.document, {agent_id: by_id[agent_id] for agent_id in slots}, slots)
                  for options in self.dequeue_options]
        waiting = [queue.values() for queue in self.queues.values() if queue]
        if not (any(self._acts_on(oldest(queue), slots, takers, now) for queue in waiting)
                or self._returning_buyer_waits(by_id, slots, now)):
            return None
        if not self.hands_out_in_turn:
            return list(islice(chain.from_iterable(waiting), MAX_QUEUE))
        returning = (self.queues[self.conversations[index].queue][index]
                     for agent_id in slots for index in self.awaiting.get(agent_id, ()))
        return in_turn(waiting, sum(slots.values()), returning, now, self.ttl)[:MAX_QUEUE]

    def _acts_on(self, longest_waiting: Queued, slots: dict[str, int], takers: list[Takers], now: datetime) -> bool:
        """Whether a dequeue offering a whole queue may give one of its conversations to a free agent
        or list one as expired, returning buyers aside: a cache only to its own agent (B20), any other
        queue when some free agent may take its oldest conversation under one of the dequeue rules
        (issue 17: nobody may take the younger ones then either), or when its oldest offline message
        expired (B15: a younger one expires later)."""
        if longest_waiting.cached_at is not None:
            return slots.get(longest_waiting.cached_at, 0) > 0
        return any(found.room((longest_waiting,), now) > 0 for found in takers) or has_expired(longest_waiting, now, self.ttl)

    def _returning_buyer_waits(self, by_id: dict[str, Agent], slots: dict[str, int], now: datetime) -> bool:
        """Whether a waiting buyer's last agent, within the returning window, has a free slot (B7)."""
        return any((last := returning_agent(self.queues[self.conversations[index].queue][index], by_id, now, self.window))
                   is not None and last.id in slots for agent_id in slots for index in self.awaiting.get(agent_id, ()))

    def _queued(self, conversation: ConversationState) -> Queued:
        """A waiting conversation as the dequeue request lists it."""
        last = self._last_contact(conversation.arrival)
        wanted = self._conversation_request(conversation)
        queue = conversation.queue or ""
        cached_at = queue[len(CACHE):] if queue.startswith(CACHE) else None
        return Queued(
            conversation=QueuedConversation(id=conversation.arrival.conversation, entry=wanted.entry,
                                            category=wanted.category, to_main=wanted.to_main, internal=wanted.internal),
            enqueued_at=self._moment(conversation.enqueued_at),
            customer=self._customer(conversation.arrival, last),
            offline=queue == OFFLINE, queue=queue if queue != OFFLINE and cached_at is None else "shop",
            cached_at=cached_at, priority=conversation.priority)

    # ---- the roster (B1, B2, B15, B16) ---------------------------------------------------

    def _on_change(self, position: int, _: int) -> None:
        agent_id, change = self.changes[position]
        agent = self.by_agent[agent_id]
        current = Setting(agent.status, agent.max_sessions, agent.suspended)
        self._settings(agent, current.changed_by(change))

    def _settings(self, agent: AgentState, wanted: Setting, *, initial: bool = False) -> None:
        """Ask the policy's agent_settings rules; a rejected maximum is not applied (B2)."""
        if self.logins and not initial and not agent.logged_in and wanted.status != "offline":
            wanted = Setting(self._login(agent, wanted.status), wanted.max_sessions, wanted.suspended)
        maximum: int | Literal["suspended"] | None = "suspended" if wanted.suspended else wanted.max_sessions
        decision = self._decide(AgentSettingsRequest(
            now=self._moment(self.now), agent=AskedSettings(id=agent.id, status=wanted.status, max_sessions=maximum)))
        was_online, old_max, old_suspended = agent.online, agent.max_sessions, agent.suspended
        if decision["action"] != "accept":
            self.rejected.append({"agent_id": agent.id, "at": self._iso(self.now), "max_sessions": wanted.max_sessions,
                                  "reason": decision.get("reason", "")})
            wanted = Setting(wanted.status, agent.max_sessions, wanted.suspended)
        if wanted.status == "offline" and agent.logged_in and not initial:
            self._hand_over(agent)
        logged_before = agent.logged_in
        agent.status, agent.max_sessions, agent.suspended = wanted.status, wanted.max_sessions, wanted.suspended
        if agent.logged_in:
            agent.last_status = agent.status
        self._changed(agent)
        if initial:
            return
        if agent.logged_in != logged_before:
            self._relist()
        if agent.logged_in and agent.deferred:
            deferred, agent.deferred = agent.deferred, []
            for index in deferred:
                if self.conversations[index].agent is agent and self.conversations[index].state == "open":
                    self._schedule_reply(index, agent)
        came_online = agent.online and not was_online
        if came_online:
            for index in self.held.pop(agent.id, []):
                self._route(index, again=True)
        raised = (old_max is not None and (agent.max_sessions is None or agent.max_sessions > old_max)) \
            or (old_suspended and not agent.suspended)
        if came_online or (agent.online and raised):
            self._dequeue()

    def _login(self, agent: AgentState, asked: str) -> str:
        """The status the policy's `login` rules start the agent in (B1); the roster's when they give none."""
        decision = self._decide(LoginRequest(now=self._moment(self.now),
                                             agent=LoggingIn(id=agent.id, last_status=agent.last_status)))
        return decision.get("status") or asked

    def _hand_over(self, agent: AgentState) -> None:
        """Logging out: each unanswered conversation goes to the policy's first transfer candidate (B16)."""
        if not self.behaviour.transfer_on_logout:
            return
        for index in [i for i in agent.conversations if self.conversations[i].last_from == "customer"]:
            conversation = self.conversations[index]
            decision = self._decide(TransferRequest(
                now=self._moment(self.now), from_agent=agent.id, agents=self._listed(agent),
                conversation=BaseConversation(id=conversation.arrival.conversation)))
            candidates = decision.get("candidates", [])
            if not candidates:
                continue
            if not conversation.answered_here and self.now - conversation.entered_at < self.sla:
                agent.entered -= 1  # left the list before its clock ran out: counts for neither side
            del agent.conversations[index]
            self._changed(agent)
            self.transfers += 1
            self._enter(index, self.by_agent[candidates[0]])

    def _on_sample(self, _: int, __: int) -> None:
        queued = sum(len(q) for name, q in self.queues.items() if name != OFFLINE)
        offline = len(self.queues.get(OFFLINE, {}))
        held = sum(len(items) for items in self.held.values())
        saturation = tuple(self.capacity.saturation(agent.request(self.round_robin, self.grouped))
                           if agent.logged_in else None for agent in self.agents)
        self.samples.append((self.now, queued, offline, held, saturation))
        if self.now + self.sample_seconds <= self.horizon:
            self._push(self.now + self.sample_seconds, SAMPLE, 0)
