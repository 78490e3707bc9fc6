// The Kuaishou route policy on json-rules-engine (Node), timed per decision.
//
// Inside the rules engine: the five rules, in priority order, first hit (the first rule that
// fires stops the run), over facts the engine computes lazily from the raw request (hours since
// the last agent, whether that agent is online, how many agents are eligible, whether anyone is
// logged in). In plain JavaScript around it: those fact functions, and choosing the least busy
// eligible agent once the rules chose to shunt, as Fenliu's actions do after its rules.
//
// usage: node jre_peer.js REQUESTS.json REPEATS OUT.json
"use strict";

const fs = require("fs");
const { Engine } = require("json-rules-engine");

const UNLIMITED_AS = 500;
const WINDOW_HOURS = 72;
const ONLINE = new Set(["online", "invisible"]);

const maximum = (agent) => (agent.max_sessions == null ? UNLIMITED_AS : agent.max_sessions);
const eligible = (agent) =>
  ONLINE.has(agent.status) && !agent.suspended && (agent.active || 0) < maximum(agent);

function leastBusy(agents) {
  let best = null;
  for (const agent of agents) {
    if (!eligible(agent)) continue;
    const key = [(agent.active || 0) / maximum(agent), agent.active || 0, agent.id];
    if (best === null || key[0] < best[0] || (key[0] === best[0] && (key[1] < best[1] ||
        (key[1] === best[1] && key[2] < best[2])))) {
      best = key;
    }
  }
  return best === null ? null : best[2];
}

function policyEngine() {
  const engine = new Engine([], { allowUndefinedFacts: true });
  const request = (almanac) => almanac.factValue("request");
  engine.addFact("internal", async (params, almanac) => (await request(almanac)).conversation.internal === true);
  engine.addFact("hours", async (params, almanac) => {
    const req = await request(almanac);
    const last = req.customer.last_agent;
    return last ? (Date.parse(req.now) - Date.parse(last.at)) / 3.6e6 : undefined;
  });
  engine.addFact("lastOnline", async (params, almanac) => {
    const req = await request(almanac);
    const last = req.customer.last_agent;
    const agent = last ? req.agents.find((a) => a.id === last.id) : undefined;
    return agent !== undefined && ONLINE.has(agent.status);
  });
  engine.addFact("eligibleCount", async (params, almanac) =>
    (await request(almanac)).agents.filter(eligible).length);
  engine.addFact("loggedIn", async (params, almanac) =>
    (await request(almanac)).agents.some((a) => a.status !== "offline"));

  const rule = (name, priority, all, event) => engine.addRule({ name, priority, conditions: { all }, event });
  rule("internal-not-routed", 50, [{ fact: "internal", operator: "equal", value: true }], { type: "none" });
  rule("returning-customer", 40, [
    { fact: "hours", operator: "lessThanInclusive", value: WINDOW_HOURS },
    { fact: "lastOnline", operator: "equal", value: true },
  ], { type: "assign", params: { to: "last_agent" } });
  rule("basic-shunting", 30, [{ fact: "eligibleCount", operator: "greaterThan", value: 0 }],
    { type: "assign", params: { among: "shop" } });
  rule("queue-pool", 20, [{ fact: "loggedIn", operator: "equal", value: true }],
    { type: "queue", params: { queue: "shop" } });
  rule("offline-queue", 10, [], { type: "offline_queue", params: { queue: "offline" } });
  // First hit, as in the policy: the first rule that fires ends the run.
  engine.on("success", () => engine.stop());
  return engine;
}

async function decide(engine, request) {
  const { events } = await engine.run({ request });
  const event = events[0];
  const params = event.params || {};
  if (event.type === "assign") {
    const agentId = params.to === "last_agent" ? request.customer.last_agent.id : leastBusy(request.agents);
    return { action: "assign", agent_id: agentId, queue: null };
  }
  return { action: event.type, agent_id: null, queue: params.queue || null };
}

async function main() {
  const [requestsPath, repeatsText, outPath] = process.argv.slice(2);
  const requests = JSON.parse(fs.readFileSync(requestsPath, "utf8"));
  const engine = policyEngine();
  const decisions = [];
  for (const request of requests) decisions.push(await decide(engine, request));
  for (const request of requests.slice(0, 50)) await decide(engine, request); // warm-up for the JIT
  const repeats = [];
  for (let r = 0; r < Number(repeatsText); r++) {
    const micros = [];
    for (const request of requests) {
      const start = process.hrtime.bigint();
      await decide(engine, request);
      micros.push(Number(process.hrtime.bigint() - start) / 1000);
    }
    repeats.push(micros);
  }
  fs.writeFileSync(outPath, JSON.stringify({ decisions, repeats, node: process.version }));
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
