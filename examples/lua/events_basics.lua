-- Publish and receive events on the shared bus.
local sub = Event.subscribe("order.*")
Event.publish("order.created", {id = 17, items = {"book", "pen"}}, {tags = {"shop"}})
Event.emit("order.paid", {id = 17, amount = 12.5})
Event.publish("user.login", {id = 3}) -- does not match order.*

for _ = 1, 2 do
    local ev = Event.receive(sub, 1000)
    print(ev.type, JSON.encode(ev.data), "seq " .. ev.sequence)
end
assert(Event.receive(sub, 50) == nil, "user.login was not delivered")

local stats = Event.get_stats()
print("published: " .. stats.published .. ", subscriptions: " .. stats.active_subscriptions)
assert(Event.unsubscribe(sub))
