// Hook.use: the eight built-in hooks from a script, each with its real
// effect on tool calls. The twin of tests/lua/builtin_hooks.lua; run by
// llmspell-bridge/tests/it/js.rs.
import { assert, rejects, throws } from "./assert.js";

const calc = (expression) => Tool.invoke("calculator", { expression });

// Every built-in registers with its defaults and unregisters.
for (const name of ["logging", "metrics", "debugging", "security", "caching",
    "rate_limit", "retry", "cost_tracking"]) {
    const h = Hook.use(name);
    assert(h.name() === name, name);
    assert(h.points().length === 6, name);
    assert(String(h) === `BuiltinHookHandle(${name})`, String(h));
    assert(h.unregister() === true && h.unregister() === false, name);
}

// Options are validated, naming the option.
throws(() => Hook.use("rate_limit", { per_secnd: 2 }), "per_secnd");
throws(() => Hook.use("rate_limit", { action: "shout" }), "`action` must be");
throws(() => Hook.use("cachin"), "no built-in hook `cachin`");
throws(() => Hook.use("caching", { points: ["BeforeToolExecutin"] }), "BeforeToolExecutin");

// A rate limit that refuses.
const rl = Hook.use("rate_limit", { per_minute: 2, burst: 2, key: "component",
    points: ["BeforeToolExecution"], match: "calculator" });
assert((await calc("1 + 1")).result === 2);
assert((await calc("1 + 2")).result === 3);
await rejects(calc("1 + 3"), "rate limit");
assert(Hook.unregister(rl) === true, "Hook.unregister takes a built-in handle");
assert((await calc("1 + 3")).result === 4, "unregistered: no limit");

// A cache that hits: the second identical call is not executed.
let runs = 0;
const counter = Hook.register("AfterToolExecution", () => { runs += 1; }, "lowest");
const cache = Hook.use("caching", { ttl_ms: 60000, match: "calculator" });
assert((await calc("6 * 7")).result === 42);
assert((await calc("6 * 7")).result === 42);
assert(cache.stats().hits === 1, JSON.stringify(cache.stats()));
assert(runs === 1, "the cached call did not run the tool: " + runs);
cache.unregister();
counter.unregister();

// A cost budget that blocks: usage reported by an earlier hook, priced by
// the script's price table.
const usage = Hook.register("AfterToolExecution", (ctx) => ({
    type: "modified", data: {
        tool_name: ctx.data.tool_name, parameters: ctx.data.parameters, result: ctx.data.result,
        "gen_ai.request.model": "test-model",
        "gen_ai.usage.input_tokens": 1, "gen_ai.usage.output_tokens": 0,
    },
}), "highest");
const cost = Hook.use("cost_tracking", {
    prices: { "test-model": { input_per_million: 1000000, output_per_million: 0 } },
    budgets: [{ scope: "global", limit: 2 }],
    match: "calculator",
});
await calc("1 + 1");
await calc("1 + 1");
await rejects(calc("1 + 1"), "budget");
assert(cost.stats().total_usd === 2, JSON.stringify(cost.stats()));
cost.unregister();
usage.unregister();

// Security: a denied value blocks the call.
const sec = Hook.use("security", { deny_values: ["rm -rf"], block_on_violation: true,
    points: ["BeforeToolExecution"] });
await rejects(Tool.invoke("text_manipulator", { operation: "uppercase", text: "rm -rf" }));
sec.unregister();

// Listed as Rust hooks in the shared registry while registered.
const m = Hook.use("metrics", { points: ["BeforeToolExecution", "AfterToolExecution"] });
await calc("2 + 2");
const listed = Hook.list("BeforeToolExecution").filter((h) => h.own).length;
assert(listed === 1, "the metrics hook is the engine's own: " + listed);
assert(m.points().join(",") === "BeforeToolExecution,AfterToolExecution", JSON.stringify(m.points()));
m.unregister();
assert(Hook.list().length === 0, "every hook was unregistered");
export default "ok";
