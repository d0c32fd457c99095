-- Tool.list/get/invoke and the effect of every hook result type on a real
-- tool call (calculator). Hooks fire re-entrantly: Tool.invoke runs the
-- hooked tool path, which calls back into this script's Lua functions.

-- list and get
local all = Tool.list()
assert(#all >= 15, "standard tools listed: " .. #all)
local names = {}
for _, t in ipairs(all) do names[t.name] = t end
assert(names.calculator and names.uuid_generator)
local calc = Tool.get("calculator")
assert(calc.name == "calculator" and calc.category == "utility")
assert(calc.parameters.properties.expression.type == "string")
assert(calc.security_level == "safe")
assert(Tool.get("no_such_tool") == nil)
for _, t in ipairs(Tool.list("utility")) do assert(t.category == "utility") end

-- a plain call
assert(Tool.invoke("calculator", {expression = "2 + 2"}).result == 4)

local function with_hook(point, fn, opts, body)
    local h = Hook.register(point, fn, opts)
    local ok, err = pcall(body)
    h:unregister()
    if not ok then error(err, 0) end
end

-- continue: nothing changes; the hook sees the tool data
local seen
with_hook("BeforeToolExecution", function(ctx)
    seen = ctx
    return "continue"
end, nil, function()
    assert(Tool.invoke("calculator", {expression = "1 + 2"}).result == 3)
end)
assert(seen.point == "BeforeToolExecution")
assert(seen.data.tool_name == "calculator")
assert(seen.data.parameters.expression == "1 + 2")
assert(seen.component_id.type == "tool" and seen.component_id.name == "calculator")
assert(seen.language == "lua")
assert(type(seen.correlation_id) == "string" and #seen.correlation_id == 36)

-- modified: the tool receives the hook's parameters
with_hook("BeforeToolExecution", function(ctx)
    return {type = "modified", data = {tool_name = ctx.data.tool_name,
                                       parameters = {expression = "20 + 22"}}}
end, nil, function()
    local r = Tool.invoke("calculator", {expression = "1 + 1"})
    assert(r.result == 42, "modified parameters: " .. JSON.encode(r))
end)

-- modified after execution: the caller receives the hook's result
with_hook("AfterToolExecution", function(ctx)
    local data = ctx.data
    data.result = {result = data.result.result * 10, note = "scaled"}
    return {type = "modified", data = data}
end, nil, function()
    local r = Tool.invoke("calculator", {expression = "4"})
    assert(r.result == 40 and r.note == "scaled")
end)

-- cancel: the call fails with the hook's reason
with_hook("BeforeToolExecution", function(ctx)
    return {type = "cancel", reason = "division is not allowed today"}
end, {name = "guard"}, function()
    local ok, err = pcall(Tool.invoke, "calculator", {expression = "1 / 1"})
    assert(not ok, "cancelled")
    err = tostring(err)
    assert(err:find("cancelled by hook `guard`") and err:find("division is not allowed today"), err)
end)

-- redirect: an unknown tool name is redirected to the calculator
with_hook("AfterToolDiscovery", function(ctx)
    if ctx.data.error and ctx.data.tool_name == "calc" then
        return {type = "redirect", target = "calculator"}
    end
end, nil, function()
    assert(Tool.invoke("calc", {expression = "3 * 3"}).result == 9)
end)

-- replace: the tool does not run, the caller gets the value
local ran = 0
with_hook("AfterToolExecution", function() ran = ran + 1 end, nil, function()
    with_hook("BeforeToolExecution", function()
        return {type = "replace", value = {result = 99, replaced = true}}
    end, nil, function()
        local r = Tool.invoke("calculator", {expression = "1 + 1"})
        assert(r.result == 99 and r.replaced == true)
    end)
end)
assert(ran == 0, "the tool did not run")

-- retry: after execution, the tool runs again once
local after_calls = 0
with_hook("AfterToolExecution", function()
    after_calls = after_calls + 1
    if after_calls == 1 then return {type = "retry", delay_ms = 1, max_attempts = 1} end
end, nil, function()
    assert(Tool.invoke("calculator", {expression = "5 + 5"}).result == 10)
end)
assert(after_calls == 2, "retried once: " .. after_calls)

-- fork: another tool runs too; later hooks see its result
local forks
with_hook("BeforeToolExecution", function(ctx)
    return {type = "fork", operations = {{target = "uuid_generator", parameters = {}}}}
end, {match = "calculator"}, function()
    with_hook("AfterToolExecution", function(ctx)
        if ctx.component_id.name == "calculator" then forks = ctx.data.forks end
    end, nil, function()
        assert(Tool.invoke("calculator", {expression = "7"}).result == 7)
    end)
end)
assert(forks and #forks == 1, "fork results: " .. JSON.encode(forks or {}))

-- cache: the second call with the same key returns the stored result
with_hook("BeforeToolExecution", function(ctx)
    return {type = "cache", key = "calc-demo", ttl_seconds = 60}
end, nil, function()
    assert(Tool.invoke("calculator", {expression = "1 + 1"}).result == 2)
    assert(Tool.invoke("calculator", {expression = "100 + 100"}).result == 2, "cache hit")
end)

-- skipped: the hook did nothing, the call goes on
with_hook("BeforeToolExecution", function() return "skip" end, nil, function()
    assert(Tool.invoke("calculator", {expression = "8 - 1"}).result == 7)
end)

-- re-entrancy: a hook that itself calls a tool and publishes an event
local sub = Event.subscribe("tool.execution.*")
local inner_id
with_hook("BeforeToolExecution", function(ctx)
    inner_id = Tool.invoke("uuid_generator", {}).uuid or Tool.invoke("uuid_generator", {})
    Event.publish("demo.from_hook", {tool = ctx.data.tool_name})
end, {match = "calculator"}, function()
    assert(Tool.invoke("calculator", {expression = "6 * 7"}).result == 42)
end)
assert(inner_id, "the nested tool call ran inside the hook")
-- lifecycle events of the calls were published
local started, completed = 0, 0
while true do
    local ev = Event.receive(sub, 50)
    if not ev then break end
    if ev.type == "tool.execution.started" then started = started + 1 end
    if ev.type == "tool.execution.completed" then completed = completed + 1 end
end
assert(started >= 2 and completed >= 2, "events: " .. started .. "/" .. completed)
Event.unsubscribe(sub)

-- errors: unknown tool, bad parameters
local ok, err = pcall(Tool.invoke, "no_such_tool", {})
assert(not ok and tostring(err):find("no tool named `no_such_tool`"), tostring(err))
ok, err = pcall(Tool.invoke, "calculator", {nope = 1})
assert(not ok and tostring(err):find("expression"), tostring(err))

assert(#Hook.list() == 0, "every hook was unregistered")
return "ok"
