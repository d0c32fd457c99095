-- args: --timeout-secs 60
-- stdout: drained 10000
-- within: 60
-- Issue 12 item 5: many subscriptions, publishes, `Logger.warn` between the
-- phases, then every subscription drained with `Event.receive`. Each
-- receive takes a tokio lock, so past the task's budget one of them is
-- pending with a wake-up of its own; a fairness yield of the watchdog that
-- landed inside mlua's poll loop right then lost that wake-up and the run
-- hung at 0 % CPU (deterministically at 1,750 and 2,000 subscriptions of
-- 1,000 events in a release build; the exact count depends on the
-- instruction alignment). The unit test
-- `a_fairness_yield_never_loses_a_self_wake_of_an_async_function` hits
-- the window on every call.
local subs = {}
for i = 1, 2000 do subs[i] = Event.subscribe("drain.*") end
Logger.warn("subscribed")
for i = 1, 5 do Event.publish("drain.tick", {i = i}) end
Logger.warn("published")
local got = 0
for i = 1, #subs do
  while Event.receive(subs[i]) do got = got + 1 end
end
Logger.warn("drained")
print("drained " .. got)
