-- Agent steps of workflows, against the scripted OpenAI-compatible server
-- the Rust test starts (it answers "Otters are great.", then "Hi.", then
-- fails with a 503 "overloaded").

local writer = Agent.create({name = "wf_writer", model = "openai/gpt-test"})
assert(writer:name() == "wf_writer")

-- agent hooks fire for agent steps, as children of the step's stage
local seen = {}
local spy = Hook.register("BeforeAgentExecution", function(ctx)
    seen[#seen + 1] = {
        agent = ctx.data.agent_name,
        text = ctx.data.input.text,
        parent = ctx.parent and ctx.parent.point,
    }
end)

local wf = Workflow.sequential({name = "lua_agents", steps = {
    {name = "topic", fn = function(input) return input.topic end},
    {name = "draft", agent = "wf_writer", input = {text = "Write about {{step:topic:output}}"}},
    {name = "shout", tool = "text_manipulator",
     input = {operation = "uppercase", text = "{{step:draft:output.text}}"}},
}})
local r = wf:execute({topic = "otters"})
assert(r.success, r.error)
assert(r.data.draft.text == "Otters are great.", r.data.draft.text)
assert(r.data.draft.usage.total_tokens == 7)
assert(r.data.shout.result == "OTTERS ARE GREAT.", JSON.encode(r.data))
assert(#seen == 1, "agent hook calls: " .. #seen)
assert(seen[1].agent == "wf_writer" and seen[1].text == "Write about otters", seen[1].text)
assert(seen[1].parent == "BeforeWorkflowStage", tostring(seen[1].parent))
spy:unregister()

-- rs-llmspell's forms: the agent object instead of its name, `prompt`
-- instead of `text`
local compat = Workflow.sequential({name = "lua_agents_compat", steps = {
    {name = "ask", type = "agent", agent = writer, input = {prompt = "Say hi"}}}}):execute()
assert(compat.success and compat.data.ask.text == "Hi.", compat.error)

-- an unknown agent is refused when the workflow is created
local ok, err = pcall(Workflow.sequential, {name = "lua_agents_bad", steps = {{name = "a", agent = "nobody"}}})
assert(not ok and tostring(err):find("no agent named `nobody`", 1, true), tostring(err))

-- a provider failure is a result naming the step, not an error
local failed = Workflow.sequential({name = "lua_agents_fail", steps = {
    {name = "ask", agent = "wf_writer", input = {text = "hi"}}}}):execute()
assert(not failed.success, "expected a failure")
assert(failed.error:find("`ask`", 1, true) and failed.error:find("overloaded", 1, true), failed.error)

return "ok"
