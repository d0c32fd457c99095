// An audit trail: every tool call's outcome is published as an audit event
// with the call's correlation id; a subscriber collects them.
const audit = [];
Event.subscribe("audit.*", (ev) => { audit.push(ev); });

Hook.register("AfterToolExecution", async (ctx) => {
    await Event.publish("audit.tool", { tool: ctx.data.tool_name, ok: true },
        { correlation_id: ctx.correlation_id, source: "audit_trail.js" });
});
Hook.register("ToolError", async (ctx) => {
    await Event.publish("audit.tool", { tool: ctx.data.tool_name, ok: false, error: ctx.data.error },
        { correlation_id: ctx.correlation_id });
});

await Tool.invoke("calculator", { expression: "1 + 1" });
await Tool.invoke("uuid_generator", {});
await Tool.invoke("calculator", { expression: "oops(" }).catch(() => null);

// Wait (running callbacks meanwhile) until the three audit events arrived.
const idle = Event.subscribe("audit.never");
for (let i = 0; i < 100 && audit.length < 3; i++) await Event.receive(idle, 20);
for (const ev of audit) {
    console.log(`${ev.type} ${ev.data.tool.padEnd(15)} ok=${ev.data.ok} corr=${ev.metadata.correlation_id}`);
}
if (audit.length !== 3) throw new Error("audit events: " + audit.length);
