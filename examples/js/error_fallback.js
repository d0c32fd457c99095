// Turn a failing call into a fallback value at ToolError, and watch the
// lifecycle events of the call.
const lifecycle = Event.subscribe("tool.execution.*");
let errorsSeen = 0;
Hook.register("ToolError", (ctx) => {
    errorsSeen += 1;
    console.log("tool error: " + ctx.data.error);
    return { type: "replace", value: { result: 0, fallback: true } };
}, { match: "calculator" });

const r = await Tool.invoke("calculator", { expression: "1 +" });
console.log("result with fallback: " + JSON.stringify(r));
if (r.fallback !== true || errorsSeen !== 1) throw new Error("no fallback");
for (;;) {
    const ev = await Event.receive(lifecycle, 100);
    if (!ev) break;
    console.log("event: " + ev.type);
}
