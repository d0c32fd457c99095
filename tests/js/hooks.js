// Every Hook function, with real assertions. The Rust side (llmspell-bridge
// tests/it/js.rs) fires the hooks registered here and checks them.
import { assert, throws } from "./assert.js";

// register with each form of the third argument
const h1 = Hook.register("BeforeToolExecution", (ctx) => undefined);
const h2 = Hook.register("BeforeToolExecution", (ctx) => "continue", "high");
const h3 = Hook.register("AfterToolExecution", (ctx) => "skip", 42);
const h4 = Hook.register(
    "custom:my_point",
    (ctx) => ({ type: "modified", data: { seen: ctx.point, value: (ctx.data.value ?? 0) + 1 } }),
    {
        priority: "low", name: "incrementer", tags: ["demo", "math"], description: "adds one",
        match: "calc*", timeout_ms: 2000, fail_closed: false,
    },
);

// handles
assert(typeof h1.id() === "number" && h1.id() !== h2.id());
assert(h1.hook_point() === "BeforeToolExecution");
assert(h4.hook_point() === "custom:my_point");
assert(String(h1).includes("HookHandle"), String(h1));

// list: all, by point name, by filter object
const all = Hook.list();
assert(all.length >= 4, "listed " + all.length);
const before = Hook.list("BeforeToolExecution");
assert(before.length === 2);
// run order: high (h2) before normal (h1)
assert(before[0].id === h2.id() && before[1].id === h1.id(), "ordered by priority");
assert(before[0].priority === "high" && before[1].priority === "normal");
const tagged = Hook.list({ tag: "math" });
assert(tagged.length === 1 && tagged[0].name === "incrementer" && tagged[0].description === "adds one");
assert(tagged[0].language === "javascript" && tagged[0].own === true && tagged[0].enabled === true);
assert(tagged[0].tags[0] === "demo" && tagged[0].tags[1] === "math");
assert(Hook.list({ hook_point: "AfterToolExecution", priority: 42 }).length === 1);
assert(Hook.list({ language: "javascript", hook_point: "custom:my_point" }).length === 1);
assert(Hook.list({ language: "rust", hook_point: "custom:my_point" }).length === 0);

// who fires each point
const entry = (point) => Hook.list(point)[0];
assert(entry("BeforeToolExecution").fired_by.includes("tool runtime"), entry("BeforeToolExecution").fired_by);
assert(entry("BeforeToolExecution").unfired === false);
assert(entry("custom:my_point").fired_by.includes("Hook.fire"));
assert(entry("custom:my_point").unfired === false);
const idle = Hook.register("MemoryUsageHigh", () => {});
assert(entry("MemoryUsageHigh").unfired === true && entry("MemoryUsageHigh").fired_by === null);
idle.unregister();
const emit = Hook.register("BeforeEventEmit", () => {});
assert(entry("BeforeEventEmit").fired_by.includes("event bridge") && entry("BeforeEventEmit").unfired === false);
emit.unregister();

// unregister: method and function, true once then false
assert(h1.unregister() === true);
assert(h1.unregister() === false);
assert(Hook.unregister(h1) === false);
assert(Hook.unregister(h3) === true);
assert(Hook.list("BeforeToolExecution").length === 1);
assert(Hook.list("AfterToolExecution").length === 0);

// bad arguments are reported clearly
throws(() => Hook.register("BeforeNothing", () => {}), "unknown hook point `BeforeNothing`", "BeforeToolExecution");
throws(() => Hook.register("BeforeToolExecution", "not a function"), "hook function");
throws(() => Hook.register("BeforeToolExecution", () => {}, "urgent"), "not a priority");
throws(() => Hook.register("BeforeToolExecution", () => {}, { match: "bad[" }), "matcher");
throws(() => Hook.list(17), "filter");
throws(() => Hook.unregister("nope"), "expected a handle returned by Hook.register");

// what the Rust side checks afterwards
globalThis.KEEP = { h2: h2.id(), h4: h4.id() };
export default Object.keys(KEEP).length;
