-- Limits seen from a script: a runaway hook is stopped within its
-- time limit, the tool call goes on (the hook is fail-open), and the hook's
-- monitor and breaker count the failure. Memory errors are catchable.

local spinner = Hook.register("BeforeToolExecution", function(ctx)
    while true do pcall(function() while true do end end) end
end, {name = "spinner", timeout_ms = 100})

local started = os.time()
local r = Tool.invoke("calculator", {expression = "2 * 21"})
assert(r.result == 42, "the call went on without the runaway hook")
assert(os.time() - started <= 2, "stopped within the limit")

local info = Hook.list({tag = nil, hook_point = "BeforeToolExecution"})[1]
assert(info.name == "spinner")
assert(info.calls == 1 and info.timeouts == 1 and info.failures == 1,
       "counted: " .. JSON.encode(info))
assert(info.breaker == "closed" or info.breaker == "open")
spinner:unregister()

-- A hook that raises an error is reported and counted too.
local thrower = Hook.register("BeforeToolExecution", function() error("boom") end,
                              {name = "thrower"})
assert(Tool.invoke("calculator", {expression = "1"}).result == 1)
assert(Hook.list("BeforeToolExecution")[1].failures == 1)
thrower:unregister()

-- A fail-closed hook that errors cancels the call with its error.
local strict = Hook.register("BeforeToolExecution", function() error("strict failure") end,
                             {name = "strict", fail_closed = true})
local ok, err = pcall(Tool.invoke, "calculator", {expression = "1"})
assert(not ok and tostring(err):find("strict failure"), tostring(err))
strict:unregister()

-- Memory: an allocation past the state's limit fails and can be caught.
ok, err = pcall(string.rep, "x", 1024 * 1024 * 1024)
assert(not ok, "a 1 GiB string is refused")
collectgarbage()
assert(#string.rep("y", 1000) == 1000, "the state still works")
return "ok"
