-- Every options table of every global refuses unknown keys and
-- out-of-range values with an error naming the key and what is valid
-- (issue 12, items 16 and 19).

local function refuses(needles, f, ...)
    local ok, err = pcall(f, ...)
    assert(not ok, "expected an error containing " .. needles[1])
    err = tostring(err)
    for _, needle in ipairs(needles) do
        assert(err:find(needle, 1, true), "missing `" .. needle .. "` in: " .. err)
    end
end

local fn = function() end

-- Hook.register: a misspelt `match` must not make the hook apply to every tool.
refuses({"Hook.register", "unknown option `matchh`", "did you mean `match`?", "valid options: priority, match"},
        Hook.register, "BeforeToolExecution", fn, {matchh = "calc*"})
refuses({"`timeout_ms` must be a number of milliseconds greater than 0", "365 days", "got 1e+300"},
        Hook.register, "BeforeToolExecution", fn, {timeout_ms = 1e300})
refuses({"`timeout_ms`", "got 0"}, Hook.register, "BeforeToolExecution", fn, {timeout_ms = 0})
refuses({"timeout_ms", "NaN"}, Hook.register, "BeforeToolExecution", fn, {timeout_ms = 0/0})
assert(#Hook.list() == 0, "nothing was registered by the refused calls")

-- Hook.list filters.
refuses({"Hook.list", "unknown option `point`", "did you mean `hook_point`?"}, Hook.list, {point = "x"})

-- Event.publish.
refuses({"Event.publish", "unknown option `bogus`", "valid options: language, correlation_id, ttl_seconds"},
        Event.publish, "x.y", {}, {bogus = 1})
refuses({"`ttl_seconds` must be a number of seconds from 0 to 31536000 (365 days), got 1e+300"},
        Event.publish, "x.y", {}, {ttl_seconds = 1e300})
refuses({"`ttl_seconds`", "got -1"}, Event.publish, "x.y", {}, {ttl_seconds = -1})
refuses({"`priority` must be an integer from"}, Event.publish, "x.y", {}, {priority = 2^40})

-- Event.subscribe: capacity 0 is refused, not silently made 1.
refuses({"Event.subscribe", "`capacity` must be an integer from 1 to"}, Event.subscribe, "x.*", {capacity = 0})
refuses({"unknown option `capcity`", "did you mean `capacity`?"}, Event.subscribe, "x.*", {capcity = 4})
refuses({"unknown option `capcity`"}, Event.subscribe, "x.*", {capcity = 4, callback = fn})
refuses({"`block_timeout_ms` applies only with overflow = \"block\""},
        Event.subscribe, "x.*", {block_timeout_ms = 5})
refuses({"`block_timeout_ms`", "got 1e+300"}, Event.subscribe, "x.*",
        {overflow = "block", block_timeout_ms = 1e300})
assert(#Event.list_subscriptions() == 0, "nothing was subscribed by the refused calls")

-- Event.receive's timeout.
local id = Event.subscribe("x.*")
refuses({"Event.receive", "`timeout_ms` must be a number of milliseconds from 0", "got 1e+300"},
        Event.receive, id, 1e300)
refuses({"`timeout_ms`", "got -5"}, Event.receive, id, -5)
assert(Event.receive(id, 0) == nil)

-- Tool.invoke.
refuses({"Tool.invoke", "unknown option `timeout`", "did you mean `timeout_ms`?"},
        Tool.invoke, "calculator", {expression = "1"}, {timeout = 5})
refuses({"`timeout_ms` must be a number of milliseconds greater than 0", "got 1e+300"},
        Tool.invoke, "calculator", {expression = "1"}, {timeout_ms = 1e300})

-- JSON.encode.
refuses({"JSON.encode", "unknown option `prety`", "did you mean `pretty`?"}, JSON.encode, {}, {prety = true})

-- Valid options still work.
local h = Hook.register("BeforeToolExecution", fn, {match = "calc*", timeout_ms = 250, priority = "high"})
assert(Tool.invoke("calculator", {expression = "2 + 2"}, {timeout_ms = 5000}).result == 4)
h:unregister()
assert(Event.publish("x.y", {}, {ttl_seconds = 0.5, priority = 3}).sequence >= 0)
return "ok"
