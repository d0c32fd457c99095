-- The event hook points fire for script publishes: BeforeEventEmit can
-- change or refuse an event, AfterEventEmit sees its sequence, and a
-- failing callback fires EventHandlerError.
local sub = Event.subscribe("note.*")

local before = Hook.register("BeforeEventEmit", function(ctx)
    if ctx.data.event_type == "note.secret" then
        return {type = "cancel", reason = "secrets stay private"}
    end
    if ctx.data.event_type == "note.plain" then
        local data = ctx.data.data
        data.stamped = true
        -- A publish made inside an emit hook does not fire the hooks again.
        Event.publish("note.inner", {from = "hook"})
        return {type = "modified", data = {event_type = "note.stamped", data = data}}
    end
end, {name = "note-filter"})

local after_seen = {}
local after = Hook.register("AfterEventEmit", function(ctx)
    after_seen[#after_seen + 1] = ctx.data.event_type .. "#" .. ctx.data.sequence
end)

Event.publish("note.plain", {text = "hi"})
local ok, err = pcall(Event.publish, "note.secret", {text = "pin 1234"})
assert(not ok and tostring(err):find("cancelled by hook `note-filter`: secrets stay private", 1, true),
       tostring(err))

local first = Event.receive(sub, 1000)
assert(first.type == "note.inner" and first.data.from == "hook", "the hook's own publish")
local second = Event.receive(sub, 1000)
assert(second.type == "note.stamped" and second.data.stamped == true and second.data.text == "hi")
assert(Event.receive(sub, 50) == nil, "the secret was not published")
assert(#after_seen == 1 and after_seen[1] == "note.stamped#" .. second.sequence,
       JSON.encode(after_seen))
before:unregister()
after:unregister()

-- A callback that fails fires EventHandlerError with the error.
local handler_errors = {}
local on_error = Hook.register("EventHandlerError", function(ctx)
    handler_errors[#handler_errors + 1] = ctx.data
end)
Event.subscribe("fragile.*", function(ev) error("cannot handle " .. ev.type) end)
Event.publish("fragile.thing", {})
Event.receive(Event.subscribe("nothing.here"), 100)
assert(#handler_errors == 1, "EventHandlerError fired: " .. #handler_errors)
assert(handler_errors[1].event_type == "fragile.thing")
assert(tostring(handler_errors[1].error):find("cannot handle fragile.thing"))
assert(Event.get_stats().callback_errors == 1)
on_error:unregister()
return "ok"
