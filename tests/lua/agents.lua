-- The whole Agent API against a scripted OpenAI-compatible server on
-- loopback (started by the Rust test, which queues the model's answers in
-- the order this script asks).

-- Agent.create and its option errors
local function fails(fn, needle)
    local ok, err = pcall(fn)
    assert(not ok, "expected a failure mentioning " .. needle)
    assert(tostring(err):find(needle, 1, true), "error `" .. tostring(err) .. "` does not mention " .. needle)
end
fails(function() Agent.create({name = "x"}) end, "`model` is required")
fails(function() Agent.create({name = "x", model = "nope/m"}) end, "unknown provider `nope`")
fails(function() Agent.create({name = "x", model = "openai/m", colour = "red"}) end, "unknown option `colour`")
fails(function() Agent.create({name = "x", model = "openai/m", tools = {"no_such_tool"}}) end, "tool `no_such_tool` is not registered")
fails(function() Agent.create("writer") end, "expected a table of options")

local events = Event.subscribe("agent.*")

local a = Agent.create({
    name = "writer",
    model = "openai/gpt-test",
    system_prompt = "Be brief.",
    temperature = 0.2,
    max_tokens = 50,
})
assert(a:name() == "writer")
assert(a:state() == "ready")
fails(function() Agent.create({name = "writer", model = "openai/gpt-test"}) end, "already registered")

-- Agent.list / Agent.get
local names = Agent.list()
assert(#names == 1 and names[1] == "writer", "list: " .. table.concat(names, ","))
assert(Agent.get("writer"):name() == "writer")
assert(Agent.get("nobody") == nil)

-- invoke: the documented result shape
local r = a:invoke({text = "Say hello"})
assert(r.text == "Hello from the model", r.text)
assert(r.usage.prompt_tokens == 12 and r.usage.completion_tokens == 4 and r.usage.total_tokens == 16)
assert(r.model == "gpt-test")
assert(r.finish_reason == "stop")
assert(type(r.tool_calls) == "table" and #r.tool_calls == 0)
assert(a:state() == "ready")

-- the lifecycle events, with one correlation id per execution
local kinds, corr = {}, nil
while true do
    local e = Event.receive(events, 100)
    if not e then break end
    if e.event_type == "agent.state.changed" then
        table.insert(kinds, e.data.from .. "->" .. e.data.to)
    else
        table.insert(kinds, e.event_type)
    end
    if e.event_type == "agent.execution.completed" then
        assert(e.data.usage.total_tokens == 16)
        assert(type(e.data.duration_ms) == "number")
        assert(e.metadata.correlation_id == corr, "one correlation id")
    elseif e.event_type == "agent.execution.started" then
        corr = e.metadata.correlation_id
        assert(e.data.input.text == "Say hello")
        assert(e.language == "lua")
    end
end
assert(table.concat(kinds, " ") == "uninitialized->initializing initializing->ready ready->running agent.execution.started running->ready agent.execution.completed",
    table.concat(kinds, " "))

-- execute is an alias of invoke; a bare string is the text
assert(a:execute("Again").text == "Hello again")

-- stream: the callback gets each fragment, the result is invoke's shape
local chunks = {}
local s = a:stream({text = "Count to three"}, function(chunk) table.insert(chunks, chunk) end)
assert(#chunks == 3, "chunks: " .. #chunks)
assert(table.concat(chunks) == s.text and s.text == "One, two, three")
assert(s.usage.total_tokens == 9)

-- a failing stream callback stops the execution and raises its error
fails(function() a:stream({text = "Count to three"}, function() error("callback broke") end) end, "callback broke")
assert(a:state() == "ready")

-- provider errors carry the status and the provider's message
fails(function() a:invoke({text = "x"}) end, "HTTP 401: Incorrect API key provided")
assert(a:state() == "ready", "a failed execution recovers")
fails(function() a:invoke({nope = 1}) end, "needs a string field `text`")

-- tools: offered to the model, run through the hooked tool path
local calls = {}
local h = Hook.register("BeforeToolExecution", function(ctx)
    table.insert(calls, ctx.metadata.caller .. ":" .. ctx.data.tool_name)
    if ctx.data.tool_name == "uuid_generator" then
        return {type = "cancel", reason = "no ids here"}
    end
end)
local calc = Agent.create({name = "calc", model = "openai/gpt-test", tools = {"calculator", "uuid_generator"}, max_turns = 3})
local t = calc:invoke({text = "What is 6*7?"})
assert(t.text == "It is 42.")
assert(#t.tool_calls == 2)
assert(t.tool_calls[1].name == "calculator" and t.tool_calls[1].arguments.expression == "6*7")
assert(t.tool_calls[1].result.result == 42)
assert(t.tool_calls[2].result.error:find("no ids here", 1, true), t.tool_calls[2].result.error)
assert(t.usage.total_tokens == 30, "usage over two turns: " .. t.usage.total_tokens)

-- invokeTool runs one tool as the agent
assert(calc:invokeTool("calculator", {expression = "2 + 3"}).result == 5)
assert(calc:invoke_tool("calculator", {expression = "2 * 3"}).result == 6)
fails(function() calc:invokeTool("uuid_generator", {}) end, "no ids here")
h:unregister()
assert(table.concat(calls, " ") == "calc:calculator calc:uuid_generator calc:calculator calc:calculator calc:uuid_generator", table.concat(calls, " "))

-- max_turns
fails(function() calc:invoke({text = "loop forever"}) end, "max_turns = 3")

-- agent hook points: the data keys and what each result does
local seen = {}
local function record(ctx) table.insert(seen, ctx.point .. ":" .. ctx.data.agent_name) end
local hooks = {
    Hook.register("BeforeAgentExecution", function(ctx)
        record(ctx)
        assert(ctx.component_id.type == "agent")
        local text = ctx.data.input.text
        if text == "rewrite me" then
            local data = ctx.data
            data.input = {text = "rewritten"}
            return {type = "modified", data = data}
        elseif text == "forbidden" then
            return {type = "cancel", reason = "topic not allowed"}
        elseif text == "canned" then
            return {type = "replace", value = {text = "from the hook"}}
        end
    end),
    Hook.register("AfterAgentExecution", function(ctx)
        record(ctx)
        assert(ctx.data.output.usage.total_tokens >= 0)
        if ctx.data.input.text == "rewritten" then
            local data = ctx.data
            data.output.text = data.output.text .. " (checked)"
            return {type = "modified", data = data}
        end
    end),
    Hook.register("AgentError", function(ctx)
        record(ctx)
        assert(ctx.data.error:find("HTTP 503", 1, true), ctx.data.error)
        return {type = "replace", value = {text = "fallback answer"}}
    end),
    Hook.register("custom:agent_paused", function(ctx) record(ctx); assert(ctx.data.to_state == "paused") end),
    Hook.register("custom:agent_resumed", function(ctx) record(ctx); assert(ctx.data.from_state == "paused") end),
}
local m = a:invoke({text = "rewrite me"})
assert(m.text == "model saw the rewrite (checked)", m.text)
fails(function() a:invoke({text = "forbidden"}) end, "topic not allowed")
assert(a:state() == "ready")
assert(a:invoke({text = "canned"}).text == "from the hook")
assert(a:invoke({text = "provider fails"}).text == "fallback answer")

-- pause / resume / terminate
a:pause()
assert(a:state() == "paused")
fails(function() a:invoke({text = "x"}) end, "cannot invoke while paused")
fails(function() a:pause() end, "illegal state transition from paused to paused")
a:resume()
assert(a:state() == "ready")
for _, h in ipairs(hooks) do h:unregister() end
assert(table.concat(seen, " ") == "BeforeAgentExecution:writer AfterAgentExecution:writer BeforeAgentExecution:writer BeforeAgentExecution:writer BeforeAgentExecution:writer AgentError:writer custom:agent_paused:writer custom:agent_resumed:writer",
    table.concat(seen, " "))
assert(a:cancel() == false, "nothing to cancel")
a:terminate()
assert(a:state() == "terminated")
a:terminate() -- once
fails(function() a:invoke({text = "x"}) end, "is terminated")
fails(function() a:resume() end, "illegal state transition from terminated to ready")

-- a terminated agent's name can be taken again
local b = Agent.create({name = "writer", model = "openai/gpt-test"})
assert(Agent.get("writer"):state() == "ready")
b:terminate()
calc:terminate()
return "ok"
