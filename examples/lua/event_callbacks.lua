-- Callback subscriptions run on the script's thread, in order, while the
-- script waits in a bridge call and when the script ends.
local total = 0
Event.subscribe("metrics.*", function(ev) total = total + ev.data.value end)
for i = 1, 10 do Event.publish("metrics.sample", {value = i}) end

-- Waiting in Event.receive lets the callbacks run.
Event.receive(Event.subscribe("nothing.here"), 100)
print("sum of samples: " .. total)
assert(total == 55)

-- Callbacks still queued at the end of the script are drained too.
Event.subscribe("late.*", function(ev) print("late event: " .. ev.data.msg) end)
Event.publish("late.note", {msg = "delivered after the last line"})
