// Hook.fire: a script fires its own custom points; the outcome comes back
// as an object in the one JSON form of results plus the final data.
import { assert, rejects } from "./assert.js";

// no hook at the point: continue with the data as given
let out = await Hook.fire("custom:nobody", { n: 1 });
assert(out.type === "continue" && out.data.n === 1 && out.hook === undefined, JSON.stringify(out));
out = await Hook.fire("custom:nobody");
assert(out.type === "continue" && Object.keys(out.data).length === 0, JSON.stringify(out));

// modified data flows through the chain and back to the caller
let seen;
const h1 = Hook.register("custom:greet", (ctx) => {
    seen = ctx;
    return { type: "modified", data: { name: ctx.data.name, greeting: "hello " + ctx.data.name } };
}, { priority: "high", name: "greeter" });
const h2 = Hook.register("custom:greet", async (ctx) => {
    const d = ctx.data;
    d.shout = d.greeting.toUpperCase();
    return { type: "modified", data: d };
}, { name: "shouter" });
out = await Hook.fire("custom:greet", { name: "ada" });
assert(out.type === "continue", JSON.stringify(out));
assert(out.data.greeting === "hello ada" && out.data.shout === "HELLO ADA", JSON.stringify(out));
// what the hook saw
assert(seen.point === "custom:greet");
assert(seen.component_id.type === "custom:script", seen.component_id.type);
assert(seen.component_id.name.includes("hook_fire.js"), seen.component_id.name);
assert(seen.language === "javascript" && seen.correlation_id.length === 36);
assert(seen.parent == null, "a fire from the script's top level has no parent");
h1.unregister(); h2.unregister();

// every stopping result comes back with the hook that decided
async function outcomeOf(result) {
    const h = Hook.register("custom:decide", () => result, { name: "decider" });
    try {
        return await Hook.fire("custom:decide", { x: 1 });
    } finally {
        h.unregister();
    }
}
out = await outcomeOf({ type: "cancel", reason: "not today" });
assert(out.type === "cancel" && out.reason === "not today" && out.hook === "decider", JSON.stringify(out));
assert(out.data.x === 1);
out = await outcomeOf("cancel");
assert(out.type === "cancel" && out.reason === "no reason given", JSON.stringify(out));
out = await outcomeOf({ type: "replace", data: { v: 2 } }); // the rs-llmspell alias
assert(out.type === "replace" && out.value.v === 2 && out.hook === "decider", JSON.stringify(out));
out = await outcomeOf({ type: "redirect", target: "elsewhere" });
assert(out.type === "redirect" && out.target === "elsewhere", JSON.stringify(out));
out = await outcomeOf({ type: "retry", delay_ms: 5, max_attempts: 2 });
assert(out.type === "retry" && out.delay_ms === 5 && out.max_attempts === 2, JSON.stringify(out));
out = await outcomeOf({ type: "fork", operations: [{ target: "a", parameters: { p: 1 } }] });
assert(out.type === "fork" && out.operations[0].target === "a" && out.operations[0].parameters.p === 1, JSON.stringify(out));
out = await outcomeOf({ type: "cache", key: "k", ttl_seconds: 2 });
assert(out.type === "cache" && out.key === "k" && out.ttl_ms === 2000, JSON.stringify(out));
out = await outcomeOf("skip");
assert(out.type === "continue", JSON.stringify(out));

// a hook that fails is isolated (fail-open); fail-closed turns into a cancel
let bad = Hook.register("custom:bad", () => ({ type: "modified" }), { name: "half" });
out = await Hook.fire("custom:bad", {});
assert(out.type === "continue", JSON.stringify(out));
bad.unregister();
bad = Hook.register("custom:bad", () => ({ type: "modified" }), { name: "half", fail_closed: true });
out = await Hook.fire("custom:bad", {});
assert(out.type === "cancel" && out.hook === "half", JSON.stringify(out));
assert(out.reason.includes("hook `half` failed: returned {type=\"modified\"} without `data`"), out.reason);
bad.unregister();

// a hook may fire another point; a hook firing its own point is stopped
const inner = Hook.register("custom:inner", (ctx) => ({ type: "modified", data: { depth: (ctx.data.depth ?? 0) + 1 } }));
const outer = Hook.register("custom:outer", async () => {
    const r = await Hook.fire("custom:inner", { depth: 10 });
    return { type: "modified", data: { inner: r.data.depth } };
});
out = await Hook.fire("custom:outer", {});
assert(out.data.inner === 11, JSON.stringify(out));
inner.unregister(); outer.unregister();
let loops = 0;
let loopError;
const loop = Hook.register("custom:loop", async () => {
    loops += 1;
    try {
        await Hook.fire("custom:loop", {});
    } catch (e) {
        loopError = String(e.message);
    }
});
await Hook.fire("custom:loop", {});
loop.unregister();
assert(loops === 8, "stopped at the nesting limit: " + loops);
assert(loopError.includes("8 fires are already running"), loopError);

// named points are refused, and bad arguments are reported
await rejects(Hook.fire("BeforeToolExecution", {}), "`BeforeToolExecution` is a named point", "custom:<name>");
await rejects(Hook.fire("NoSuchPoint", {}), "unknown hook point `NoSuchPoint`");
await rejects(Hook.fire("custom:x", 5), "the data must be a table");

export default "ok";
