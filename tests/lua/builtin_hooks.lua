-- Hook.use: the eight built-in hooks from a script, each with its real
-- effect on tool calls. Run by llmspell-bridge/tests/it/scripts.rs.

local function calc(expr)
    return Tool.invoke("calculator", {expression = expr})
end

-- Every built-in registers with its defaults and unregisters.
for _, name in ipairs({"logging", "metrics", "debugging", "security", "caching",
                       "rate_limit", "retry", "cost_tracking"}) do
    local h = Hook.use(name)
    assert(h:name() == name)
    assert(#h:points() == 6, name)
    assert(h:unregister() == true and h:unregister() == false, name)
end

-- Options are validated, naming the option.
local ok, err = pcall(Hook.use, "rate_limit", {per_secnd = 2})
assert(not ok and tostring(err):find("per_secnd", 1, true), tostring(err))
ok, err = pcall(Hook.use, "rate_limit", {action = "shout"})
assert(not ok and tostring(err):find("`action` must be", 1, true), tostring(err))
ok, err = pcall(Hook.use, "cachin")
assert(not ok and tostring(err):find("no built-in hook `cachin`", 1, true), tostring(err))
ok, err = pcall(Hook.use, "caching", {points = {"BeforeToolExecutin"}})
assert(not ok and tostring(err):find("BeforeToolExecutin", 1, true), tostring(err))

-- A rate limit that refuses.
local rl = Hook.use("rate_limit", {per_minute = 2, burst = 2, key = "component",
                                    points = {"BeforeToolExecution"}, match = "calculator"})
assert(calc("1 + 1").result == 2)
assert(calc("1 + 2").result == 3)
ok, err = pcall(calc, "1 + 3")
assert(not ok and tostring(err):find("rate limit", 1, true), tostring(err))
Hook.unregister(rl)
assert(calc("1 + 3").result == 4, "unregistered: no limit")

-- A cache that hits: the second identical call is not executed.
local runs = 0
local counter = Hook.register("AfterToolExecution", function() runs = runs + 1 end, "lowest")
local cache = Hook.use("caching", {ttl_ms = 60000, match = "calculator"})
assert(calc("6 * 7").result == 42)
assert(calc("6 * 7").result == 42)
assert(cache:stats().hits == 1, JSON.encode(cache:stats()))
cache:unregister()
counter:unregister()

-- A cost budget that blocks: usage reported by an earlier hook, priced by
-- the script's price table.
local usage = Hook.register("AfterToolExecution", function(ctx)
    return {type = "modified", data = {
        tool_name = ctx.data.tool_name, parameters = ctx.data.parameters, result = ctx.data.result,
        ["gen_ai.request.model"] = "test-model",
        ["gen_ai.usage.input_tokens"] = 1, ["gen_ai.usage.output_tokens"] = 0,
    }}
end, "highest")
local cost = Hook.use("cost_tracking", {
    prices = {["test-model"] = {input_per_million = 1000000, output_per_million = 0}},
    budgets = {{scope = "global", limit = 2}},
    match = "calculator",
})
calc("1 + 1")
calc("1 + 1")
ok, err = pcall(calc, "1 + 1")
assert(not ok and tostring(err):find("budget", 1, true), tostring(err))
assert(cost:stats().total_usd == 2, JSON.encode(cost:stats()))
cost:unregister()
usage:unregister()

-- Security: a denied value blocks the call.
local sec = Hook.use("security", {deny_values = {"rm -rf"}, block_on_violation = true,
                                  points = {"BeforeToolExecution"}})
ok, err = pcall(Tool.invoke, "text_manipulator", {operation = "uppercase", text = "rm -rf"})
assert(not ok, "security blocked the call")
sec:unregister()

-- Listed as Rust hooks in the shared registry while registered.
local m = Hook.use("metrics", {points = {"BeforeToolExecution", "AfterToolExecution"}})
calc("2 + 2")
local listed = 0
for _, h in ipairs(Hook.list("BeforeToolExecution")) do
    if h.own then listed = listed + 1 end
end
assert(listed == 1, "the metrics hook is the engine's own: " .. listed)
m:unregister()
return "ok"
