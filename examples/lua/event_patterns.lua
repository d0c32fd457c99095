-- Glob patterns: * any run of characters, ? one character, [..] a class.
local patterns = {"agent.*", "*.error", "agent.*.failed", "job.?", "level.[0-9]"}
local subs = {}
for _, p in ipairs(patterns) do subs[p] = Event.subscribe(p) end

for _, t in ipairs({"agent.started", "tool.error", "agent.run.failed", "job.1", "job.12",
                    "level.7", "level.x"}) do
    Event.publish(t, {})
end

local function drain(id)
    local got = {}
    while true do
        local ev = Event.receive(id, 20)
        if not ev then return got end
        got[#got + 1] = ev.type
    end
end
for _, p in ipairs(patterns) do
    print(string.format("%-16s -> %s", p, table.concat(drain(subs[p]), ", ")))
end
for _, id in pairs(subs) do Event.unsubscribe(id) end
assert(#Event.list_subscriptions() == 0)
