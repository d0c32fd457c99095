-- The one JSON form of hook results, from Lua: the `replace` alias and
-- malformed results, each an error naming the hook, the key and what is
-- valid (never silently ignored).

local function with_hook(point, fn, opts, body)
    local h = Hook.register(point, fn, opts)
    local ok, err = pcall(body)
    h:unregister()
    if not ok then error(err, 0) end
end

-- replace: `data` is a synonym of `value` (rs-llmspell scripts write it)
with_hook("BeforeToolExecution", function()
    return {type = "replace", data = {result = 7, via = "data"}}
end, nil, function()
    local r = Tool.invoke("calculator", {expression = "1 + 1"})
    assert(r.result == 7 and r.via == "data", JSON.encode(r))
end)
with_hook("BeforeToolExecution", function()
    return {type = "replace", value = {result = 8}}
end, nil, function()
    assert(Tool.invoke("calculator", {expression = "1 + 1"}).result == 8)
end)
-- an explicit null replaces the result with nil
with_hook("BeforeToolExecution", function()
    return {type = "replace", value = JSON.null}
end, nil, function()
    assert(Tool.invoke("calculator", {expression = "1 + 1"}) == nil)
end)

-- malformed results: a fail-closed hook turns its error into the call's
local cases = {
    {{type = "replace", valeu = 1}, "unknown key `valeu`", "valid keys for \"replace\": type, value, data"},
    {{type = "replace"}, "without `value`", "synonym"},
    {{type = "replace", value = 1, data = 2}, "both `value` and `data`", "give one"},
    {{type = "modified"}, "without `data`", "new context data"},
    {{type = "modified", data = 5}, "`data` = a number", "must be a table"},
    {{type = "modified", data = {}, extra = true}, "unknown key `extra`", "valid keys for \"modified\": type, data"},
    {{type = "cancel", resaon = "typo"}, "unknown key `resaon`", "type, reason"},
    {{type = "redirect"}, "without `target`", "tool, agent or step"},
    {{type = "retry", delay_ms = -5}, "`delay_ms` = a number", "non-negative integer"},
    {{type = "retry", attempts = 2}, "unknown key `attempts`", "type, delay_ms, max_attempts"},
    {{type = "cache"}, "without `key`", "cache key"},
    {{type = "cache", key = "k", ttl = 3}, "unknown key `ttl`", "type, key, ttl_ms, ttl_seconds"},
    {{type = "fork", operations = {{parameters = {}}}}, "operation 1 has no `target`", "{target = "},
    {{type = "explode"}, "unknown type \"explode\"", "valid types:"},
    {{reason = "no type"}, "without a `type` field", "expected nil"},
    {"maybe", "the string \"maybe\"", "\"continue\", \"skip\""},
    {42, "returned a number", "expected nil"},
}
for i, case in ipairs(cases) do
    local returned, want1, want2 = case[1], case[2], case[3]
    with_hook("BeforeToolExecution", function() return returned end,
              {name = "bad_hook_" .. i, fail_closed = true}, function()
        local ok, err = pcall(Tool.invoke, "calculator", {expression = "1 + 1"})
        assert(not ok, "case " .. i .. " must fail")
        err = tostring(err)
        assert(err:find("hook `bad_hook_" .. i .. "` returned", 1, true), err)
        assert(err:find(want1, 1, true), "case " .. i .. ": " .. err)
        assert(err:find(want2, 1, true), "case " .. i .. ": " .. err)
    end)
end

-- a fail-open hook with a malformed result is isolated: the call goes on,
-- and the failure is counted against the hook
local h = Hook.register("BeforeToolExecution", function() return {type = "replace", valeu = 1} end,
                        {name = "sloppy"})
assert(Tool.invoke("calculator", {expression = "2 + 3"}).result == 5)
local listed = Hook.list({hook_point = "BeforeToolExecution"})
assert(#listed == 1 and listed[1].name == "sloppy" and listed[1].failures == 1,
       JSON.encode(listed))
h:unregister()

return "ok"
