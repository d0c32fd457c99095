-- Streaming: the callback gets each fragment of the answer as the model
-- sends it; the call returns the same table as invoke. The agent's
-- lifecycle events arrive on the event bus meanwhile.
--
-- Runs offline through the recorded transcript (see agent_basics.lua for
-- how to run it live or refresh the recording).
local events = Event.subscribe("agent.*")

local poet = Agent.create({
    name = "poet",
    model = "replay/gpt-4o-mini",
    transcript = "transcripts/agent_streaming.json",
    system_prompt = "You write short poems.",
})

local fragments = {}
local result = poet:stream({text = "A haiku about event buses."}, function(chunk)
    table.insert(fragments, chunk)
end)
print(result.text)
print(string.format("%d fragments, %d tokens", #fragments, result.usage.total_tokens))
assert(table.concat(fragments) == result.text)
assert(#fragments > 1)

-- What happened, as events: state changes and the execution's start and
-- end, all with the execution's correlation id.
while true do
    local e = Event.receive(events, 50)
    if not e then break end
    if e.event_type == "agent.state.changed" then
        print(string.format("  %s: %s -> %s", e.event_type, e.data.from, e.data.to))
    elseif e.event_type == "agent.execution.completed" then
        print(string.format("  %s in %d ms (%d tokens)", e.event_type, e.data.duration_ms, e.data.usage.total_tokens))
    else
        print("  " .. e.event_type)
    end
end
Event.unsubscribe(events)
poet:terminate()
