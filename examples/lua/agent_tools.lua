-- Tools: an agent created with tools = {...} offers their JSON Schemas to
-- the model and runs each call it asks for through the hooked tool path,
-- so tool hooks fire for the agent's calls too.
--
-- Runs offline through the recorded transcript (see agent_basics.lua for
-- how to run it live or refresh the recording).
local audit = {}
local hook = Hook.register("BeforeToolExecution", function(ctx)
    -- `caller` names the agent that made the call.
    table.insert(audit, string.format("%s called %s(%s)", ctx.metadata.caller,
        ctx.data.tool_name, JSON.encode(ctx.data.parameters)))
end)

local analyst = Agent.create({
    name = "analyst",
    model = "replay/gpt-4o-mini",
    transcript = "transcripts/agent_tools.json",
    system_prompt = "Use the calculator for arithmetic.",
    tools = {"calculator"},
    max_turns = 4,
})

local answer = analyst:invoke({text = "What is 17.5% of 2480?"})
print(answer.text)
for _, call in ipairs(answer.tool_calls) do
    print(string.format("tool %s(%s) -> %s", call.name, JSON.encode(call.arguments), JSON.encode(call.result)))
end
assert(#answer.tool_calls == 1 and answer.tool_calls[1].result.result == 434)
print("usage over both turns: " .. answer.usage.total_tokens .. " tokens")

-- One tool call made directly, as the agent.
local direct = analyst:invokeTool("calculator", {expression = "2480 * 17.5 / 100"})
print("direct: " .. direct.result)

for _, line in ipairs(audit) do print("audit: " .. line) end
assert(#audit == 2)
hook:unregister()
analyst:terminate()
