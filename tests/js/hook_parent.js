// ctx.parent: null, or the parent context's {point, component_id,
// correlation_id}. The Rust side (llmspell-bridge tests/it/js.rs) runs this
// script, makes calls that have a parent, then calls check().
import { assert } from "./assert.js";

const SEEN = [];
let CHILD;
Hook.register("BeforeToolExecution", (ctx) => {
    SEEN.push({ parent: ctx.parent, correlation_id: ctx.correlation_id });
});
Hook.register("custom:child", (ctx) => {
    CHILD = ctx; // kept past the call: read in check()
});

// A call made by the script at top level has no parent.
assert((await Tool.invoke("calculator", { expression: "1 + 1" })).result === 2);
assert(SEEN.length === 1 && SEEN[0].parent == null, "no parent at top level");
assert((await Hook.fire("custom:nobody", {})).type === "continue");

// A point fired from inside a hook is a child of the running operation,
// also after an await inside the hook.
let inner;
const fireInHook = Hook.register("AfterToolExecution", async (ctx) => {
    await Hook.fire("custom:warmup", {});
    await Hook.fire("custom:inside", { from: ctx.data.tool_name });
});
const onInside = Hook.register("custom:inside", (ctx) => { inner = ctx; });
assert((await Tool.invoke("calculator", { expression: "2 + 2" })).result === 4);
fireInHook.unregister(); onInside.unregister();
const toolCall = SEEN[SEEN.length - 1];
assert(inner.data.from === "calculator");
assert(inner.parent, "the fire has the tool call as parent");
assert(inner.parent.point === "AfterToolExecution", inner.parent.point);
assert(inner.parent.component_id.type === "tool" && inner.parent.component_id.name === "calculator");
assert(inner.correlation_id === toolCall.correlation_id, "one correlation id for the run");
assert(inner.parent.correlation_id === toolCall.correlation_id);

// A tool called by a hook of a fired point is a child of the fire.
const onJob = Hook.register("custom:job", async () => {
    await Tool.invoke("calculator", { expression: "5" });
});
const job = await Hook.fire("custom:job", {});
onJob.unregister();
const nested = SEEN[SEEN.length - 1];
assert(job.type === "continue");
assert(nested.parent && nested.parent.point === "custom:job", "the tool call's parent is the fire");
assert(nested.parent.component_id.type === "custom:script");
assert(nested.correlation_id === nested.parent.correlation_id);

globalThis.check = (expected) => {
    // the tool call Rust made under a parent operation
    const last = SEEN[SEEN.length - 1];
    const p = last.parent;
    assert(typeof p === "object" && p !== null, "the tool hook sees its parent");
    assert(p.point === expected.point, p.point);
    assert(p.component_id.type === expected.component_type, p.component_id.type);
    assert(p.component_id.name === expected.component_name, p.component_id.name);
    assert(p.component_id.id === expected.component_id, p.component_id.id);
    assert(p.correlation_id === expected.correlation_id, p.correlation_id);
    assert(last.correlation_id === expected.correlation_id, "the child inherits the correlation id");
    // only the parent's identity is exposed
    assert(Object.keys(p).sort().join(",") === "component_id,correlation_id,point", Object.keys(p).join(","));
    // a custom point fired from Rust with a parent, read after the hook returned
    assert(CHILD.parent.point === expected.point);
    assert(CHILD.parent.correlation_id === expected.correlation_id);
    assert(JSON.parse(JSON.stringify(CHILD)).parent.component_id.name === expected.component_name);
    return "ok";
};

export default "registered";
