-- Turn a failing call into a fallback value at ToolError, and watch the
-- lifecycle events of the call.
local lifecycle = Event.subscribe("tool.execution.*")
local errors_seen = 0
Hook.register("ToolError", function(ctx)
    errors_seen = errors_seen + 1
    print("tool error: " .. tostring(ctx.data.error))
    return {type = "replace", value = {result = 0, fallback = true}}
end, {match = "calculator"})

local r = Tool.invoke("calculator", {expression = "1 +"})
print("result with fallback: " .. JSON.encode(r))
assert(r.fallback == true and errors_seen == 1)
while true do
    local ev = Event.receive(lifecycle, 100)
    if not ev then break end
    print("event: " .. ev.type)
end
