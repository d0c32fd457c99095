-- An audit trail: every tool call's outcome is published as an audit event
-- with the call's correlation id; a subscriber collects them.
local audit = {}
Event.subscribe("audit.*", function(ev) audit[#audit + 1] = ev end)

Hook.register("AfterToolExecution", function(ctx)
    Event.publish("audit.tool", {tool = ctx.data.tool_name, ok = true},
                  {correlation_id = ctx.correlation_id, source = "audit_trail.lua"})
end)
Hook.register("ToolError", function(ctx)
    Event.publish("audit.tool", {tool = ctx.data.tool_name, ok = false, error = ctx.data.error},
                  {correlation_id = ctx.correlation_id})
end)

Tool.invoke("calculator", {expression = "1 + 1"})
Tool.invoke("uuid_generator", {})
pcall(Tool.invoke, "calculator", {expression = "oops("})

Event.receive(Event.subscribe("audit.never"), 100)
for _, ev in ipairs(audit) do
    print(string.format("%s %-15s ok=%s corr=%s", ev.type, ev.data.tool, tostring(ev.data.ok),
                        ev.metadata.correlation_id))
end
assert(#audit == 3)
