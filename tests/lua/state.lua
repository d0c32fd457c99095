-- Every State and Session function, and every state hook point's effect,
-- from Lua, with real asserts. The Rust side (llmspell-bridge
-- tests/it/scripts.rs) gives the context a session and checks the store.

-- get / set / version / delete, default scope global
assert(State.get("missing") == nil)
assert(State.version("missing") == 0)
assert(State.set("counter", 1) == 1)
assert(State.set("counter", {n = 2, tags = {"a", "b"}}) == 2)
local c = State.get("counter")
assert(c.n == 2 and c.tags[2] == "b")
assert(State.version("counter") == 2)
assert(State.delete("counter") == true)
assert(State.delete("counter") == false)
assert(State.get("counter") == nil and State.version("counter") == 0)

-- scopes: global, session, script, named
State.set("k", "global")
State.set("k", "session", "session")
State.set("k", "script", "script")
State.set("k", "agent", "agent:writer")
assert(State.get("k") == "global" and State.get("k", "global") == "global")
assert(State.get("k", "session") == "session")
assert(State.get("k", "script") == "script")
assert(State.get("k", "script:state") == "script", "this file's scope is script:state")
assert(State.get("k", "agent:writer") == "agent")
assert(State.get("k", "session:" .. Session.id()) == "session")

-- list by prefix, sorted
for _, key in ipairs({"user:2", "user:1", "user:10", "other"}) do State.set(key, key, "agent:writer") end
local users = State.list("user:", "agent:writer")
assert(#users == 3 and users[1] == "user:1" and users[2] == "user:10" and users[3] == "user:2")
assert(#State.list(nil, "agent:writer") == 5)
assert(#State.list("nothing") == 0)

-- compare_and_set: true, or false and the current version
assert(State.compare_and_set("cas", 0, "first") == true)
local ok, current = State.compare_and_set("cas", 0, "again")
assert(ok == false and current == 1)
assert(State.compare_and_set("cas", 1, "second") == true)
assert(State.get("cas") == "second" and State.version("cas") == 2)

-- rs-llmspell's scope-first forms
State.save("global", "legacy", {x = 1})
assert(State.load("global", "legacy").x == 1)
local keys = State.list_keys("global")
local found = false
for _, k in ipairs(keys) do if k == "legacy" then found = true end end
assert(found)

-- bad input: functions, cycles, keys, scopes, versions
local function fails(pattern, f, ...)
    local good, err = pcall(f, ...)
    assert(not good, "expected an error matching " .. pattern)
    assert(tostring(err):find(pattern, 1, true), tostring(err))
end
fails("not JSON data", State.set, "f", {callback = print})
local cyclic = {}
cyclic.self = cyclic
fails("not JSON data", State.set, "cyc", cyclic)
fails("a key is 1 to 256 characters from A-Z a-z 0-9 _ - . : /", State.set, "has space", 1)
fails("a key is 1 to 256 characters", State.get, "")
fails("invalid state scope", State.get, "k", "bad/scope")
fails("whole number of 0 or more", State.compare_and_set, "cas", -1, "x")
fails("whole number of 0 or more", State.compare_and_set, "cas", 1.5, "x")
assert(State.get("f") == nil and State.get("cyc") == nil)

-- migration on read through a Lua function
State.set("profile:1", {name = "Ada Lovelace"})
State.migrate("profile:", 1, 2, function(v)
    local first, last = v.name:match("^(%S+)%s*(.*)$")
    v.first, v.last = first, last
    return v
end)
local p = State.get("profile:1")
assert(p.first == "Ada" and p.last == "Lovelace" and p.name == "Ada Lovelace")
assert(State.version("profile:1") == 1, "a migration keeps the version")
-- new writes are stamped with the new schema and not migrated again
State.set("profile:2", {name = "Grace Hopper", first = "G", last = "H"})
assert(State.get("profile:2").first == "G")
-- a migration that forgets to return, and one that fails
State.set("bad:1", 1)
State.migrate("bad:", 1, 2, function(v) end)
fails("returned nil", State.get, "bad:1")
State.set("worse:1", 1)
State.migrate("worse:", 1, 2, function(v) error("cannot upgrade " .. v) end)
fails("cannot upgrade 1", State.get, "worse:1")
fails("must be the migration function", State.migrate, "x", 1, 2, "not a function")

-- hooks on every state point
local seen = {}
local h = {}
h[#h + 1] = Hook.register("BeforeStateWrite", function(ctx)
    seen.before_write = ctx.data
    if ctx.data.key == "locked" then
        return {type = "cancel", reason = "locked by policy"}
    end
    if ctx.data.key == "shout" then
        ctx.data.value = string.upper(ctx.data.value)
        return {type = "modified", data = ctx.data}
    end
end)
h[#h + 1] = Hook.register("AfterStateWrite", function(ctx) seen.after_write = ctx.data end)
h[#h + 1] = Hook.register("BeforeStateRead", function(ctx)
    if ctx.data.key == "virtual" then return {type = "replace", value = {from = "hook"}} end
    if ctx.data.key == "secret" then return {type = "cancel", reason = "no peeking"} end
end)
h[#h + 1] = Hook.register("AfterStateRead", function(ctx)
    seen.after_read = ctx.data
    if ctx.data.key == "doubled" then
        ctx.data.value = ctx.data.value * 2
        return {type = "modified", data = ctx.data}
    end
end)
h[#h + 1] = Hook.register("StateConflict", function(ctx) seen.conflict = ctx.data end)
h[#h + 1] = Hook.register("StateMigration", function(ctx)
    seen.migration = ctx.data
    ctx.data.value.checked = true
    return {type = "modified", data = ctx.data}
end)

-- Modified changes the value written; After sees the new version
assert(State.set("shout", "hello", "script") == 1)
assert(seen.before_write.scope == "script:state" and seen.before_write.key == "shout")
assert(seen.before_write.operation == "set")
assert(seen.after_write.value == "HELLO" and seen.after_write.version == 1)
-- Cancel refuses: set, compare_and_set and delete
fails("cancelled by hook", State.set, "locked", 1)
fails("locked by policy", State.compare_and_set, "locked", 0, 1)
fails("locked by policy", State.delete, "locked")
-- Replace answers a read without storage; Cancel refuses a read
assert(State.get("virtual").from == "hook")
fails("no peeking", State.get, "secret")
-- Modified after a read changes what the reader gets, with the version in the data
State.set("doubled", 21)
assert(State.get("doubled") == 42)
assert(seen.after_read.version == 1 and seen.after_read.key == "doubled")
-- StateConflict on a lost compare-and-set, with both versions
assert(select(1, State.compare_and_set("doubled", 7, 0)) == false)
assert(seen.conflict.expected_version == 7 and seen.conflict.current_version == 1)
-- StateMigration: Modified changes the migrated value
State.set("cfg:1", {v = 1})
State.migrate("cfg:", 1, 2, function(v) v.v = 2 return v end)
local cfg = State.get("cfg:1")
assert(cfg.v == 2 and cfg.checked == true)
assert(seen.migration.from == 1 and seen.migration.to == 2 and seen.migration.key == "cfg:1")
for _, handle in ipairs(h) do handle:unregister() end

-- change events
local changes = {}
local sub = Event.subscribe("state.changed")
State.set("watched", 1)
local e = Event.receive(sub, 1000)
assert(e and e.data.key == "watched" and e.data.version == 1 and e.data.operation == "set")
assert(e.data.value == nil, "values are not in events by default")
assert(e.data.scope == "global")
Event.unsubscribe(sub)

-- Session
local id = Session.id()
assert(type(id) == "string" and #id == 36)
State.set("step", 1, "session")
local cp = Session.checkpoint("after step 1")
assert(cp.seq == 1 and cp.name == "after step 1" and cp.keys == 2 and cp.session_id == id)
local cp2 = Session.checkpoint()
assert(cp2.seq == 2 and cp2.name == "checkpoint-2")
fails("invalid checkpoint name", Session.checkpoint, "")
local info = Session.info()
assert(info.id == id and info.checkpoints == 2 and info.status == "running")
assert(Session.getCurrent() == id)
assert(Session.get(id).id == id and Session.get(id).script == "state.lua")
assert(Session.get("0190f5c4-0000-7000-8000-000000000000") == nil)
fails("invalid session id", Session.get, "nope")
local all = Session.list()
assert(#all == 1 and all[1].id == id)

return "ok"
