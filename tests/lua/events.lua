-- Every Event function, with real asserts. Run by llmspell-bridge's tests.

-- receiver subscription, publish, receive
local sub = Event.subscribe("demo.*")
assert(type(sub) == "string" and sub:match("^sub%-%d+$"), "subscription id: " .. tostring(sub))

local report = Event.publish("demo.created", {n = 1, tags = {"a", "b"}}, {
    correlation_id = "67e55044-10b1-426f-9247-bb680e5fe0c8",
    tags = {"test"},
    priority = 5,
    ttl_seconds = 60,
    source = "events.lua",
})
assert(report.matched >= 1 and report.queued >= 1, "published to the subscriber")

local ev = Event.receive(sub, 1000)
assert(ev, "an event arrived")
assert(ev.type == "demo.created" and ev.event_type == "demo.created")
assert(ev.data.n == 1 and ev.data.tags[2] == "b")
assert(ev.language == "lua")
assert(ev.metadata.correlation_id == "67e55044-10b1-426f-9247-bb680e5fe0c8")
assert(ev.metadata.tags[1] == "test" and ev.metadata.priority == 5)
assert(ev.metadata.source == "events.lua")
assert(ev.sequence == report.sequence)

-- emit is an alias; non-matching types are not delivered
Event.emit("other.thing", {})
Event.emit("demo.second", {x = true})
local second = Event.receive(sub, 1000)
assert(second and second.type == "demo.second" and second.data.x == true)

-- nothing queued: receive without timeout returns nil at once, with one after it
assert(Event.receive(sub) == nil)
assert(Event.receive(sub, 20) == nil)

-- callback subscriptions run while the script waits in a bridge call
local seen = {}
local cb = Event.subscribe("cb.*", function(e) seen[#seen + 1] = e.data.i end)
for i = 1, 5 do Event.publish("cb.tick", {i = i}) end
local waiter = Event.subscribe("never.happens")
Event.receive(waiter, 200) -- callbacks are pumped during this wait
assert(#seen == 5, "callbacks ran during the wait: " .. #seen)
for i = 1, 5 do assert(seen[i] == i, "callbacks in order") end

-- list_subscriptions shows this script's subscriptions
local list = Event.list_subscriptions()
local by_id = {}
for _, s in ipairs(list) do by_id[s.id] = s end
assert(by_id[sub] and by_id[sub].pattern == "demo.*" and by_id[sub].callback == false)
assert(by_id[cb] and by_id[cb].callback == true)
assert(by_id[waiter])

-- stats
local stats = Event.get_stats()
assert(stats.published >= 8, "published count " .. stats.published)
assert(stats.own_subscriptions == 3)
local before = stats.active_subscriptions

-- unsubscribe frees the bus subscription: true once, then false
assert(Event.unsubscribe(sub) == true)
assert(Event.unsubscribe(sub) == false)
assert(Event.unsubscribe(cb) == true)
assert(Event.unsubscribe(waiter) == true)
local after = Event.get_stats()
assert(after.active_subscriptions == before - 3, "bus subscriptions freed")
assert(after.own_subscriptions == 0)

-- a receive on an unsubscribed id is an error, and so are bad arguments
local ok, err = pcall(Event.receive, sub, 10)
assert(not ok and tostring(err):find("unknown subscription"), tostring(err))
ok, err = pcall(Event.subscribe, "bad[pattern")
assert(not ok and tostring(err):find("invalid event pattern"), tostring(err))
ok, err = pcall(Event.publish, "x", {}, {correlation_id = "nope"})
assert(not ok and tostring(err):find("not a UUID"), tostring(err))
ok, err = pcall(Event.publish, "x", {f = print})
assert(not ok and tostring(err):find("function"), tostring(err))

-- callbacks still queued when the script ends are drained
RESULT_SEEN = {}
Event.subscribe("late.*", function(e) RESULT_SEEN[#RESULT_SEEN + 1] = e.data.k end)
for k = 1, 3 do Event.publish("late.ev", {k = k}) end
return "ok"
