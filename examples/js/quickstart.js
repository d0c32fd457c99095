// llmspell quick start (JavaScript): hooks around tool calls, a modified
// parameter, a cancelled call, and tool events. The twin of
// examples/lua/quickstart.lua.
//
//   cargo run --release -p llmspell-cli -- run examples/js/quickstart.js

console.log("== llmspell quick start ==");

// 1. Watch the tool lifecycle events (a callback subscription: it runs on
//    this script's thread while the script awaits a bridge call, and at the
//    end of the script).
const events = [];
Event.subscribe("tool.execution.*", (event) => {
    events.push(`${event.type} (${event.data.tool_name})`);
});

// 2. A hook that logs every tool call before it runs.
const logger = Hook.register("BeforeToolExecution", (ctx) => {
    console.log(`  [hook] ${ctx.data.tool_name} called with ${JSON.stringify(ctx.data.parameters)}`);
}, { name: "call-logger", priority: "high" });

// 3. A hook that rewrites a parameter: "the answer" becomes 6 * 7.
const rewriter = Hook.register("BeforeToolExecution", (ctx) => {
    if (ctx.data.parameters.expression === "the answer") {
        return {
            type: "modified",
            data: { tool_name: ctx.data.tool_name, parameters: { expression: "6 * 7" } },
        };
    }
}, { name: "rewriter", match: "calculator" });

// 4. A hook that cancels division by zero before the tool sees it.
const guard = Hook.register("BeforeToolExecution", (ctx) => {
    const expr = ctx.data.parameters.expression ?? "";
    if (/\/\s*0/.test(expr)) {
        return { type: "cancel", reason: "division by zero is not allowed" };
    }
}, { name: "zero-guard", match: "calculator", priority: "low" });

console.log("registered hooks:");
for (const h of Hook.list({ language: "javascript" })) {
    console.log(`  #${h.id} ${h.name.padEnd(12)} ${h.hook_point.padEnd(20)} priority ${h.priority}`);
}

// A normal call, a modified one, and a cancelled one.
let r = await Tool.invoke("calculator", { expression: "2 + 2" });
console.log("2 + 2 = " + r.result);

r = await Tool.invoke("calculator", { expression: "the answer" });
console.log(`the answer = ${r.result} (the hook changed the expression to ${r.expression})`);

let cancelled = false;
try {
    await Tool.invoke("calculator", { expression: "1 / 0" });
} catch (e) {
    cancelled = true;
    console.log("1 / 0 -> " + e.message.split("\n")[0]);
}
if (!cancelled) throw new Error("the guard should have cancelled the call");

// Unregister the hooks: later calls run without them.
logger.unregister();
Hook.unregister(rewriter);
guard.unregister();
if (Hook.list({ language: "javascript" }).length !== 0) throw new Error("hooks left");

// Let the event callbacks run (they also run at script end).
const idle = Event.subscribe("quickstart.never");
for (let i = 0; i < 100 && events.length < 6; i++) {
    await Event.receive(idle, 20);
}
console.log("tool events seen:");
for (const e of events) console.log("  " + e);
if (events.length < 6) throw new Error("started/completed/failed events were published");
console.log("done");
