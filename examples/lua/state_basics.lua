-- Persistent state: scopes, versions, compare-and-set, migrations, hooks.
-- Run it twice with `llmspell run`: the visit counter survives between runs
-- (kept in .llmspell/state).

-- A counter in the global scope, shared by every script and run.
local visits = (State.get("visits") or 0) + 1
State.set("visits", visits)
print("visit number " .. visits .. " (version " .. State.version("visits") .. ")")

-- This script's own scope ("script" is script:state_basics here).
State.delete("notes", "script")
State.set("notes", {"first"}, "script")
assert(State.get("notes", "script")[1] == "first")
assert(State.get("notes") == nil, "the global scope has no `notes`")

-- Optimistic concurrency: read the version, write only if nobody else did.
local function add_to_stock(n)
    while true do
        local version = State.version("stock", "script")
        local stock = State.get("stock", "script") or 0
        local ok, current = State.compare_and_set("stock", version, stock + n, "script")
        if ok then return stock + n end
        print("lost a race at version " .. version .. ", now " .. current .. "; retrying")
    end
end
State.delete("stock", "script")
add_to_stock(40)
print("stock: " .. add_to_stock(2))
assert(State.get("stock", "script") == 42)
-- A stale version loses.
local ok, current = State.compare_and_set("stock", 1, 0, "script")
assert(ok == false and current >= 2)

-- Migrations: values stored in an old shape are converted when read.
State.delete("user:ada", "script")
State.set("user:ada", {name = "Ada Lovelace"}, "script")
State.migrate("user:", 1, 2, function(v)
    if v.first == nil then
        v.first, v.last = v.name:match("^(%S+)%s*(.*)$")
    end
    return v
end)
local ada = State.get("user:ada", "script")
print("migrated: " .. ada.first .. " / " .. ada.last)
assert(ada.last == "Lovelace")

-- Hooks see every read and write: refuse writes to `config:*`.
local guard = Hook.register("BeforeStateWrite", function(ctx)
    if ctx.data.key:find("^config:") then
        return {type = "cancel", reason = "config is read-only"}
    end
end)
local wrote, err = pcall(State.set, "config:mode", "fast")
assert(not wrote and tostring(err):find("config is read-only", 1, true))
print("refused: " .. tostring(err):match("cancelled by hook[^\n]*"))
guard:unregister()

-- Every change is an event (without the value).
local sub = Event.subscribe("state.changed")
State.set("last_run", os.time())
local change = Event.receive(sub, 1000)
print("event: " .. change.data.operation .. " " .. change.data.scope .. "/" .. change.data.key
    .. " v" .. change.data.version)
Event.unsubscribe(sub)

print("keys in this script's scope: " .. table.concat(State.list("", "script"), ", "))
