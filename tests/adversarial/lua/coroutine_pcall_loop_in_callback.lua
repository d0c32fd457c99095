-- args: --timeout-secs 20
-- stdout: ok
-- within: 20
-- Issue 12 item 1, in an event callback: stopped at the callback limit
-- (5 s), counted, and the script goes on.
Event.subscribe("spin", function()
    local co = coroutine.wrap(function()
        while true do pcall(function() while true do end end) end
    end)
    co()
end)
Event.publish("spin", {})
local id = Event.subscribe("never")
local started = os.time()
while Event.get_stats().callback_errors == 0 and os.time() - started < 12 do
    Event.receive(id, 100)
end
assert(Event.get_stats().callback_errors == 1, JSON.encode(Event.get_stats()))
print("ok")
