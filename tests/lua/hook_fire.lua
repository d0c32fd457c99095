-- Hook.fire: a script fires its own custom points; the outcome comes back
-- as a table in the one JSON form of results plus the final data.

-- no hook at the point: continue with the data as given
local out = Hook.fire("custom:nobody", {n = 1})
assert(out.type == "continue" and out.data.n == 1 and out.hook == nil, JSON.encode(out))
out = Hook.fire("custom:nobody")
assert(out.type == "continue" and next(out.data) == nil, JSON.encode(out))

-- modified data flows through the chain and back to the caller
local seen
local h1 = Hook.register("custom:greet", function(ctx)
    seen = ctx
    return {type = "modified", data = {name = ctx.data.name, greeting = "hello " .. ctx.data.name}}
end, {priority = "high", name = "greeter"})
local h2 = Hook.register("custom:greet", function(ctx)
    local d = ctx.data
    d.shout = string.upper(d.greeting)
    return {type = "modified", data = d}
end, {name = "shouter"})
out = Hook.fire("custom:greet", {name = "ada"})
assert(out.type == "continue", JSON.encode(out))
assert(out.data.greeting == "hello ada" and out.data.shout == "HELLO ADA", JSON.encode(out))
-- what the hook saw
assert(seen.point == "custom:greet")
assert(seen.component_id.type == "custom:script", seen.component_id.type)
assert(seen.component_id.name:find("hook_fire.lua", 1, true), seen.component_id.name)
assert(seen.language == "lua" and #seen.correlation_id == 36)
assert(seen.parent == nil, "a fire from the script's top level has no parent")
h1:unregister(); h2:unregister()

-- every stopping result comes back with the hook that decided
local function outcome_of(result)
    local h = Hook.register("custom:decide", function() return result end, {name = "decider"})
    local o = Hook.fire("custom:decide", {x = 1})
    h:unregister()
    return o
end
out = outcome_of({type = "cancel", reason = "not today"})
assert(out.type == "cancel" and out.reason == "not today" and out.hook == "decider", JSON.encode(out))
assert(out.data.x == 1)
out = outcome_of("cancel")
assert(out.type == "cancel" and out.reason == "no reason given", JSON.encode(out))
out = outcome_of({type = "replace", data = {v = 2}})            -- the rs-llmspell alias
assert(out.type == "replace" and out.value.v == 2 and out.hook == "decider", JSON.encode(out))
out = outcome_of({type = "redirect", target = "elsewhere"})
assert(out.type == "redirect" and out.target == "elsewhere", JSON.encode(out))
out = outcome_of({type = "retry", delay_ms = 5, max_attempts = 2})
assert(out.type == "retry" and out.delay_ms == 5 and out.max_attempts == 2, JSON.encode(out))
out = outcome_of({type = "fork", operations = {{target = "a", parameters = {p = 1}}}})
assert(out.type == "fork" and out.operations[1].target == "a" and out.operations[1].parameters.p == 1,
       JSON.encode(out))
out = outcome_of({type = "cache", key = "k", ttl_seconds = 2})
assert(out.type == "cache" and out.key == "k" and out.ttl_ms == 2000, JSON.encode(out))
out = outcome_of("skip")
assert(out.type == "continue", JSON.encode(out))

-- a hook that fails is isolated (fail-open); fail-closed turns into a cancel
local bad = Hook.register("custom:bad", function() return {type = "modified"} end, {name = "half"})
out = Hook.fire("custom:bad", {})
assert(out.type == "continue", JSON.encode(out))
bad:unregister()
bad = Hook.register("custom:bad", function() return {type = "modified"} end,
                    {name = "half", fail_closed = true})
out = Hook.fire("custom:bad", {})
assert(out.type == "cancel" and out.hook == "half", JSON.encode(out))
assert(out.reason:find("hook `half` returned {type=\"modified\"} without `data`", 1, true), out.reason)
bad:unregister()

-- a hook may fire another point; a hook firing its own point is stopped
local inner = Hook.register("custom:inner", function(ctx)
    return {type = "modified", data = {depth = (ctx.data.depth or 0) + 1}}
end)
local outer = Hook.register("custom:outer", function(ctx)
    local r = Hook.fire("custom:inner", {depth = 10})
    return {type = "modified", data = {inner = r.data.depth}}
end)
out = Hook.fire("custom:outer", {})
assert(out.data.inner == 11, JSON.encode(out))
inner:unregister(); outer:unregister()
local loops = 0
local loop = Hook.register("custom:loop", function(ctx)
    loops = loops + 1
    local ok, err = pcall(Hook.fire, "custom:loop", {})
    if not ok then LOOP_ERROR = tostring(err) end
end)
Hook.fire("custom:loop", {})
loop:unregister()
assert(loops == 8, "stopped at the nesting limit: " .. loops)
assert(LOOP_ERROR:find("8 fires are already running", 1, true), LOOP_ERROR)

-- named points are refused, and bad arguments are reported
local ok, err = pcall(Hook.fire, "BeforeToolExecution", {})
assert(not ok and tostring(err):find("`BeforeToolExecution` is a named point", 1, true)
       and tostring(err):find("custom:<name>", 1, true), tostring(err))
ok, err = pcall(Hook.fire, "NoSuchPoint", {})
assert(not ok and tostring(err):find("unknown hook point `NoSuchPoint`", 1, true), tostring(err))
ok, err = pcall(Hook.fire, "custom:x", 5)
assert(not ok and tostring(err):find("the data must be a table", 1, true), tostring(err))

return "ok"
