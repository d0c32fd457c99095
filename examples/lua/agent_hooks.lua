-- Hooks on agents: a guard that refuses some requests, a rewrite of what
-- the model receives, a post-processing step on what the caller gets, and
-- a token tally — all plain Lua functions at the agent hook points.
--
-- Runs offline through the recorded transcript (see agent_basics.lua for
-- how to run it live or refresh the recording).
local support = Agent.create({
    name = "support",
    model = "replay/gpt-4o-mini",
    transcript = "transcripts/agent_hooks.json",
    system_prompt = "You answer customer questions briefly.",
})

-- Before the model is called: refuse, or rewrite the input.
local guard = Hook.register("BeforeAgentExecution", function(ctx)
    local text = ctx.data.input.text
    if text:lower():find("password", 1, true) then
        return {type = "cancel", reason = "support never handles passwords"}
    end
    local data = ctx.data
    data.input.text = "[customer tier: gold] " .. text
    return {type = "modified", data = data}
end)

-- After: what the caller gets can be changed; usage is in the output.
local tokens = 0
local signer = Hook.register("AfterAgentExecution", function(ctx)
    tokens = tokens + ctx.data.output.usage.total_tokens
    local data = ctx.data
    data.output.text = data.output.text .. "\n-- the support team"
    return {type = "modified", data = data}
end)

local answer = support:invoke({text = "How do I reset my router?"})
print(answer.text)

local ok, err = pcall(function() return support:invoke({text = "What is my password?"}) end)
assert(not ok and tostring(err):find("support never handles passwords", 1, true))
print("refused: " .. tostring(err):match("[^\n]*"))
assert(support:state() == "ready", "a cancelled execution leaves the agent ready")

print("tokens used: " .. tokens)
assert(tokens == answer.usage.total_tokens)
guard:unregister()
signer:unregister()
support:terminate()
