-- Agents: create one, ask it something, read the answer and its token
-- usage, then walk it through its lifecycle.
--
-- Runs offline: `replay/...` answers from the recorded transcript next to
-- this script. To use a live model, write e.g. model = "openai/gpt-4o-mini"
-- (with OPENAI_API_KEY set) or "ollama/llama3.2"; to refresh the
-- transcript from a live model:
--   LLMSPELL_RECORD_REPLAYS=openai/gpt-4o-mini llmspell run examples/lua/agent_basics.lua
local writer = Agent.create({
    name = "writer",
    model = "replay/gpt-4o-mini",
    transcript = "transcripts/agent_basics.json",
    system_prompt = "You are a concise technical writer.",
    temperature = 0.3,
})
print("state: " .. writer:state())

local answer = writer:invoke({text = "Explain what a hook is in one sentence."})
print(answer.text)
print(string.format("tokens: %d prompt + %d completion = %d (model %s, finish %s)",
    answer.usage.prompt_tokens, answer.usage.completion_tokens,
    answer.usage.total_tokens, answer.model, answer.finish_reason))
assert(answer.usage.total_tokens > 0)

-- A second question: the agent keeps no conversation memory between calls.
local again = writer:invoke({text = "And an event?"})
print(again.text)

-- Agents are registered by name.
for _, name in ipairs(Agent.list()) do print("registered agent: " .. name) end
assert(Agent.get("writer"):name() == "writer")

-- Lifecycle: a paused agent refuses work until resumed; a terminated one
-- for good.
writer:pause()
assert(writer:state() == "paused")
local ok, err = pcall(function() return writer:invoke({text = "Are you there?"}) end)
assert(not ok)
print("while paused: " .. tostring(err))
writer:resume()
writer:terminate()
assert(writer:state() == "terminated")
ok, err = pcall(function() return writer:invoke({text = "More?"}) end)
assert(not ok and tostring(err):find("terminated"))
print("after terminate: " .. tostring(err))
