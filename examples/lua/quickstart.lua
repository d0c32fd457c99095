-- llmspell quick start: hooks around tool calls, a modified parameter, a
-- cancelled call, and tool events.
--
--   cargo run --release -p llmspell-cli -- run examples/lua/quickstart.lua

print("== llmspell quick start ==")

-- 1. Watch the tool lifecycle events (a callback subscription: it runs on
--    this script's thread while the script waits in a bridge call, and at
--    the end of the script).
local events = {}
Event.subscribe("tool.execution.*", function(event)
    events[#events + 1] = event.type .. " (" .. event.data.tool_name .. ")"
end)

-- 2. A hook that logs every tool call before it runs.
local logger = Hook.register("BeforeToolExecution", function(ctx)
    print(string.format("  [hook] %s called with %s",
        ctx.data.tool_name, JSON.encode(ctx.data.parameters)))
end, {name = "call-logger", priority = "high"})

-- 3. A hook that rewrites a parameter: "the answer" becomes 6 * 7.
local rewriter = Hook.register("BeforeToolExecution", function(ctx)
    if ctx.data.parameters.expression == "the answer" then
        return {type = "modified", data = {
            tool_name = ctx.data.tool_name,
            parameters = {expression = "6 * 7"},
        }}
    end
end, {name = "rewriter", match = "calculator"})

-- 4. A hook that cancels division by zero before the tool sees it.
local guard = Hook.register("BeforeToolExecution", function(ctx)
    local expr = ctx.data.parameters.expression or ""
    if expr:find("/%s*0") then
        return {type = "cancel", reason = "division by zero is not allowed"}
    end
end, {name = "zero-guard", match = "calculator", priority = "low"})

print("registered hooks:")
for _, h in ipairs(Hook.list({language = "lua"})) do
    print(string.format("  #%d %-12s %-20s priority %s", h.id, h.name, h.hook_point, h.priority))
end

-- A normal call, a modified one, and a cancelled one.
local r = Tool.invoke("calculator", {expression = "2 + 2"})
print("2 + 2 = " .. r.result)

r = Tool.invoke("calculator", {expression = "the answer"})
print("the answer = " .. r.result .. " (the hook changed the expression to " .. r.expression .. ")")

local ok, err = pcall(Tool.invoke, "calculator", {expression = "1 / 0"})
print("1 / 0 -> " .. (ok and "ran?!" or ("cancelled: " .. tostring(err))))
assert(not ok, "the guard cancelled the call")

-- Unregister the hooks: later calls run without them.
logger:unregister()
Hook.unregister(rewriter)
guard:unregister()
assert(#Hook.list({language = "lua"}) == 0)

-- Let the event callbacks run (they also run at script end).
Event.receive(Event.subscribe("quickstart.never"), 100)
print("tool events seen:")
for _, e in ipairs(events) do print("  " .. e) end
assert(#events >= 4, "started/completed/failed events were published")
print("done")
