-- Every Hook function, with real asserts. The Rust side (llmspell-bridge
-- tests/it/scripts.rs) fires the hooks registered here and checks them.

local function count(t) local n = 0 for _ in pairs(t) do n = n + 1 end return n end

-- register with each form of the third argument
local h1 = Hook.register("BeforeToolExecution", function(ctx) return nil end)
local h2 = Hook.register("BeforeToolExecution", function(ctx) return "continue" end, "high")
local h3 = Hook.register("AfterToolExecution", function(ctx) return "skip" end, 42)
local h4 = Hook.register("custom:my_point", function(ctx)
    return {type = "modified", data = {seen = ctx.point, value = (ctx.data.value or 0) + 1}}
end, {priority = "low", name = "incrementer", tags = {"demo", "math"},
      description = "adds one", match = "calc*", timeout_ms = 2000, fail_closed = false})

-- handles
assert(type(h1:id()) == "number" and h1:id() ~= h2:id())
assert(h1:hook_point() == "BeforeToolExecution")
assert(h4:hook_point() == "custom:my_point")
assert(tostring(h1):find("HookHandle"))

-- list: all, by point name, by table filter
local all = Hook.list()
assert(#all >= 4, "listed " .. #all)
local before = Hook.list("BeforeToolExecution")
assert(#before == 2)
-- run order: high (h2) before normal (h1)
assert(before[1].id == h2:id() and before[2].id == h1:id(), "ordered by priority")
assert(before[1].priority == "high" and before[2].priority == "normal")
local tagged = Hook.list({tag = "math"})
assert(#tagged == 1 and tagged[1].name == "incrementer" and tagged[1].description == "adds one")
assert(tagged[1].language == "lua" and tagged[1].own == true and tagged[1].enabled == true)
assert(tagged[1].tags[1] == "demo" and tagged[1].tags[2] == "math")
assert(#Hook.list({hook_point = "AfterToolExecution", priority = 42}) == 1)
assert(#Hook.list({language = "lua", hook_point = "custom:my_point"}) == 1)
assert(#Hook.list({language = "rust", hook_point = "custom:my_point"}) == 0)

-- who fires each point: fired_by names it; unfired marks points nothing
-- in this process fires (they are accepted, with one warning in the log)
local function entry(point)
    for _, e in ipairs(Hook.list(point)) do return e end
end
assert(entry("BeforeToolExecution").fired_by:find("tool runtime", 1, true), entry("BeforeToolExecution").fired_by)
assert(entry("BeforeToolExecution").unfired == false)
assert(entry("custom:my_point").fired_by:find("Hook.fire", 1, true))
assert(entry("custom:my_point").unfired == false)
-- agent points are fired by agents, which scripts create later
local before_init = Hook.register("BeforeAgentInit", function() end)
assert(entry("BeforeAgentInit").fired_by:find("agents", 1, true) and entry("BeforeAgentInit").unfired == false)
before_init:unregister()
local idle = Hook.register("MemoryUsageHigh", function() end)
assert(entry("MemoryUsageHigh").unfired == true and entry("MemoryUsageHigh").fired_by == nil)
idle:unregister()
local emit = Hook.register("BeforeEventEmit", function() end)
assert(entry("BeforeEventEmit").fired_by:find("event bridge", 1, true) and entry("BeforeEventEmit").unfired == false)
emit:unregister()

-- unregister: method and function, true once then false
assert(h1:unregister() == true)
assert(h1:unregister() == false)
assert(Hook.unregister(h1) == false)
assert(Hook.unregister(h3) == true)
assert(#Hook.list("BeforeToolExecution") == 1)
assert(#Hook.list("AfterToolExecution") == 0)

-- bad arguments are reported clearly
local ok, err = pcall(Hook.register, "BeforeNothing", function() end)
assert(not ok and tostring(err):find("unknown hook point `BeforeNothing`")
       and tostring(err):find("BeforeToolExecution"), tostring(err))
ok, err = pcall(Hook.register, "BeforeToolExecution", "not a function")
assert(not ok and tostring(err):find("hook function"), tostring(err))
ok, err = pcall(Hook.register, "BeforeToolExecution", function() end, "urgent")
assert(not ok and tostring(err):find("not a priority"), tostring(err))
ok, err = pcall(Hook.register, "BeforeToolExecution", function() end, {match = "bad["})
assert(not ok and tostring(err):find("matcher"), tostring(err))
ok, err = pcall(Hook.list, 17)
assert(not ok and tostring(err):find("filter"), tostring(err))

-- what the Rust side checks afterwards
KEEP = {h2 = h2:id(), h4 = h4:id()}
return count(KEEP)
