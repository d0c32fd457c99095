// Tool.list/get/invoke and the effect of every hook result type on a real
// tool call (calculator). Hooks fire re-entrantly: Tool.invoke runs the
// hooked tool path, which calls back into this script's functions on the
// engine's own thread while the call waits.
import { assert, rejects, withHook } from "./assert.js";

const calc = (expression) => Tool.invoke("calculator", { expression });

// list and get
const all = Tool.list();
assert(all.length >= 15, "standard tools listed: " + all.length);
const names = Object.fromEntries(all.map((t) => [t.name, t]));
assert(names.calculator && names.uuid_generator);
const info = Tool.get("calculator");
assert(info.name === "calculator" && info.category === "utility");
assert(info.parameters.properties.expression.type === "string");
assert(info.security_level === "safe");
assert(Tool.get("no_such_tool") === null);
for (const t of Tool.list("utility")) assert(t.category === "utility");

// a plain call
assert((await calc("2 + 2")).result === 4);

// continue: nothing changes; the hook sees the tool data
let seen;
await withHook("BeforeToolExecution", (ctx) => { seen = ctx; return "continue"; }, undefined, async () => {
    assert((await calc("1 + 2")).result === 3);
});
assert(seen.point === "BeforeToolExecution");
assert(seen.data.tool_name === "calculator");
assert(seen.data.parameters.expression === "1 + 2");
assert(seen.component_id.type === "tool" && seen.component_id.name === "calculator");
assert(seen.language === "javascript");
assert(typeof seen.correlation_id === "string" && seen.correlation_id.length === 36);

// Each result type is checked from a plain function and from an async one.
for (const wrap of [(f) => f, (f) => async (ctx) => f(ctx)]) {
    // modified: the tool receives the hook's parameters
    await withHook("BeforeToolExecution", wrap((ctx) => ({
        type: "modified", data: { tool_name: ctx.data.tool_name, parameters: { expression: "20 + 22" } },
    })), undefined, async () => {
        const r = await calc("1 + 1");
        assert(r.result === 42, "modified parameters: " + JSON.stringify(r));
    });

    // modified after execution: the caller receives the hook's result
    await withHook("AfterToolExecution", wrap((ctx) => {
        const data = ctx.data;
        data.result = { result: data.result.result * 10, note: "scaled" };
        return { type: "modified", data };
    }), undefined, async () => {
        const r = await calc("4");
        assert(r.result === 40 && r.note === "scaled");
    });

    // cancel: the call fails with the hook's reason
    await withHook("BeforeToolExecution", wrap(() => ({ type: "cancel", reason: "division is not allowed today" })),
        { name: "guard" }, async () => {
            await rejects(calc("1 / 1"), "cancelled by hook `guard`", "division is not allowed today");
        });

    // redirect: an unknown tool name is redirected to the calculator
    await withHook("AfterToolDiscovery", wrap((ctx) => {
        if (ctx.data.error && ctx.data.tool_name === "calc") return { type: "redirect", target: "calculator" };
    }), undefined, async () => {
        assert((await Tool.invoke("calc", { expression: "3 * 3" })).result === 9);
    });

    // replace: the tool does not run, the caller gets the value
    let ran = 0;
    await withHook("AfterToolExecution", () => { ran += 1; }, undefined, async () => {
        await withHook("BeforeToolExecution", wrap(() => ({ type: "replace", value: { result: 99, replaced: true } })),
            undefined, async () => {
                const r = await calc("1 + 1");
                assert(r.result === 99 && r.replaced === true);
            });
    });
    assert(ran === 0, "the tool did not run");

    // retry: after execution, the tool runs again once
    let afterCalls = 0;
    await withHook("AfterToolExecution", wrap(() => {
        afterCalls += 1;
        if (afterCalls === 1) return { type: "retry", delay_ms: 1, max_attempts: 1 };
    }), undefined, async () => {
        assert((await calc("5 + 5")).result === 10);
    });
    assert(afterCalls === 2, "retried once: " + afterCalls);

    // fork: another tool runs too; later hooks see its result
    let forks;
    await withHook("BeforeToolExecution", wrap(() => ({
        type: "fork", operations: [{ target: "uuid_generator", parameters: {} }],
    })), { match: "calculator" }, async () => {
        await withHook("AfterToolExecution", (ctx) => {
            if (ctx.component_id.name === "calculator") forks = ctx.data.forks;
        }, undefined, async () => {
            assert((await calc("7")).result === 7);
        });
    });
    assert(forks && forks.length === 1, "fork results: " + JSON.stringify(forks));

    // cache: the second call with the same key returns the stored result
    const key = "calc-demo-" + Math.random();
    await withHook("BeforeToolExecution", wrap(() => ({ type: "cache", key, ttl_seconds: 60 })), undefined, async () => {
        assert((await calc("1 + 1")).result === 2);
        assert((await calc("100 + 100")).result === 2, "cache hit");
    });

    // skipped: the hook did nothing, the call goes on
    await withHook("BeforeToolExecution", wrap(() => "skip"), undefined, async () => {
        assert((await calc("8 - 1")).result === 7);
    });
}

// re-entrancy: a hook that itself calls a tool and publishes an event
const sub = Event.subscribe("tool.execution.*");
let innerId;
await withHook("BeforeToolExecution", async (ctx) => {
    innerId = await Tool.invoke("uuid_generator", {});
    await Event.publish("demo.from_hook", { tool: ctx.data.tool_name });
}, { match: "calculator" }, async () => {
    assert((await calc("6 * 7")).result === 42);
});
assert(innerId, "the nested tool call ran inside the hook");
// calls made together run concurrently and all complete
const many = await Promise.all([1, 2, 3, 4].map((n) => calc(n + " * 2")));
assert(many.map((r) => r.result).join(",") === "2,4,6,8");
// lifecycle events of the calls were published
let started = 0;
let completed = 0;
for (;;) {
    const ev = await Event.receive(sub, 50);
    if (!ev) break;
    if (ev.type === "tool.execution.started") started += 1;
    if (ev.type === "tool.execution.completed") completed += 1;
}
assert(started >= 2 && completed >= 2, "events: " + started + "/" + completed);
Event.unsubscribe(sub);

// errors: unknown tool, bad parameters, bad options
await rejects(Tool.invoke("no_such_tool", {}), "no tool named `no_such_tool`");
await rejects(Tool.invoke("calculator", { nope: 1 }), "expression");
await rejects(Tool.invoke("calculator", { expression: "1" }, { timeout_ms: -1 }), "timeout_ms");

// rs-llmspell's Tool functions and parameter names
assert(Tool.exists("calculator") === true && Tool.exists("text-manipulator") === true);
assert(Tool.exists("no_such_tool") === false);
assert(Tool.categories().includes("utility") && Tool.categories().includes("data"));
const tool = Tool.get("calculator");
assert(tool.schema["x-synonyms"].input === "expression");
assert((await tool.execute({ input: "6 * 7" })).result === 42);
const tried = await Tool.try("calculator", { input: "2 + 2" });
assert(tried.success === true && tried.result.result === 4);
const failed = await Tool.try("calculator", { input: "1", expression: "2" });
assert(failed.success === false && failed.error.includes("input") && failed.error.includes("expression"));
const jq = await Tool.invoke("json_processor", { operation: "query", input: '{"value": 75}', query: ".value > 50" });
assert(jq.result === true);

assert(Hook.list().length === 0, "every hook was unregistered");
export default "ok";
