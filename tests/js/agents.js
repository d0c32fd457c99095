// The whole Agent API from JavaScript against a scripted OpenAI-compatible
// server on loopback (started by the Rust test, which queues the model's
// answers in the order this script asks). The twin of tests/lua/agents.lua.
import { assert, rejects, throws } from "./assert.js";

// Agent.create and its option errors
await rejects(Agent.create({ name: "x" }), "`model` is required");
await rejects(Agent.create({ name: "x", model: "nope/m" }), "unknown provider `nope`");
await rejects(Agent.create({ name: "x", model: "openai/m", colour: "red" }), "unknown option `colour`");
await rejects(Agent.create({ name: "x", model: "openai/m", tools: ["no_such_tool"] }), "tool `no_such_tool` is not registered");
throws(() => Agent.create("writer"), "expected an options object");

const events = Event.subscribe("agent.*");

const a = await Agent.create({
    name: "writer",
    model: "openai/gpt-test",
    system_prompt: "Be brief.",
    temperature: 0.2,
    max_tokens: 50,
});
assert(a.name() === "writer");
assert(a.state() === "ready");
await rejects(Agent.create({ name: "writer", model: "openai/gpt-test" }), "already registered");

// Agent.list / Agent.get
const names = Agent.list();
assert(names.length === 1 && names[0] === "writer", "list: " + names);
assert(Agent.get("writer").name() === "writer");
assert(Agent.get("nobody") === null);

// invoke: the documented result shape
const r = await a.invoke({ text: "Say hello" });
assert(r.text === "Hello from the model", r.text);
assert(r.usage.prompt_tokens === 12 && r.usage.completion_tokens === 4 && r.usage.total_tokens === 16);
assert(r.model === "gpt-test");
assert(r.finish_reason === "stop");
assert(Array.isArray(r.tool_calls) && r.tool_calls.length === 0);
assert(a.state() === "ready");

// the lifecycle events, with one correlation id per execution
const kinds = [];
let corr = null;
for (;;) {
    const e = await Event.receive(events, 100);
    if (!e) break;
    kinds.push(e.event_type === "agent.state.changed" ? `${e.data.from}->${e.data.to}` : e.event_type);
    if (e.event_type === "agent.execution.completed") {
        assert(e.data.usage.total_tokens === 16);
        assert(typeof e.data.duration_ms === "number");
        assert(e.metadata.correlation_id === corr, "one correlation id");
    } else if (e.event_type === "agent.execution.started") {
        corr = e.metadata.correlation_id;
        assert(e.data.input.text === "Say hello");
        assert(e.language === "javascript", e.language);
    }
}
assert(kinds.join(" ") === "uninitialized->initializing initializing->ready ready->running agent.execution.started running->ready agent.execution.completed",
    kinds.join(" "));

// execute is an alias of invoke; a bare string is the text
assert((await a.execute("Again")).text === "Hello again");

// stream: the callback gets each fragment, the result is invoke's shape
const chunks = [];
const s = await a.stream({ text: "Count to three" }, (chunk) => { chunks.push(chunk); });
assert(chunks.length === 3, "chunks: " + chunks.length);
assert(chunks.join("") === s.text && s.text === "One, two, three");
assert(s.usage.total_tokens === 9);

// a failing stream callback stops the execution and rejects with its error
await rejects(a.stream({ text: "Count to three" }, () => { throw new Error("callback broke"); }), "callback broke");
assert(a.state() === "ready");

// provider errors carry the status and the provider's message
await rejects(a.invoke({ text: "x" }), "HTTP 401: Incorrect API key provided");
assert(a.state() === "ready", "a failed execution recovers");
await rejects(a.invoke({ nope: 1 }), "needs a string field `text`");

// tools: offered to the model, run through the hooked tool path
const calls = [];
const h = Hook.register("BeforeToolExecution", (ctx) => {
    calls.push(ctx.metadata.caller + ":" + ctx.data.tool_name);
    if (ctx.data.tool_name === "uuid_generator") return { type: "cancel", reason: "no ids here" };
});
const calc = await Agent.create({ name: "calc", model: "openai/gpt-test", tools: ["calculator", "uuid_generator"], max_turns: 3 });
const t = await calc.invoke({ text: "What is 6*7?" });
assert(t.text === "It is 42.");
assert(t.tool_calls.length === 2);
assert(t.tool_calls[0].name === "calculator" && t.tool_calls[0].arguments.expression === "6*7");
assert(t.tool_calls[0].result.result === 42);
assert(t.tool_calls[1].result.error.includes("no ids here"), t.tool_calls[1].result.error);
assert(t.usage.total_tokens === 30, "usage over two turns: " + t.usage.total_tokens);

// invokeTool runs one tool as the agent
assert((await calc.invokeTool("calculator", { expression: "2 + 3" })).result === 5);
assert((await calc.invoke_tool("calculator", { expression: "2 * 3" })).result === 6);
await rejects(calc.invokeTool("uuid_generator", {}), "no ids here");
h.unregister();
assert(calls.join(" ") === "calc:calculator calc:uuid_generator calc:calculator calc:calculator calc:uuid_generator", calls.join(" "));

// max_turns
await rejects(calc.invoke({ text: "loop forever" }), "max_turns = 3");

// agent hook points: the data keys and what each result does (sync and async hooks)
const seen = [];
const record = (ctx) => seen.push(ctx.point + ":" + ctx.data.agent_name);
const hooks = [
    Hook.register("BeforeAgentExecution", (ctx) => {
        record(ctx);
        assert(ctx.component_id.type === "agent");
        const text = ctx.data.input.text;
        if (text === "rewrite me") return { type: "modified", data: { ...ctx.data, input: { text: "rewritten" } } };
        if (text === "forbidden") return { type: "cancel", reason: "topic not allowed" };
        if (text === "canned") return { type: "replace", value: { text: "from the hook" } };
    }),
    Hook.register("AfterAgentExecution", async (ctx) => {
        record(ctx);
        assert(ctx.data.output.usage.total_tokens >= 0);
        if (ctx.data.input.text === "rewritten") {
            const data = ctx.data;
            data.output.text += " (checked)";
            return { type: "modified", data };
        }
    }),
    Hook.register("AgentError", (ctx) => {
        record(ctx);
        assert(ctx.data.error.includes("HTTP 503"), ctx.data.error);
        return { type: "replace", value: { text: "fallback answer" } };
    }),
    Hook.register("custom:agent_paused", (ctx) => { record(ctx); assert(ctx.data.to_state === "paused"); }),
    Hook.register("custom:agent_resumed", (ctx) => { record(ctx); assert(ctx.data.from_state === "paused"); }),
];
const m = await a.invoke({ text: "rewrite me" });
assert(m.text === "model saw the rewrite (checked)", m.text);
await rejects(a.invoke({ text: "forbidden" }), "topic not allowed");
assert(a.state() === "ready");
assert((await a.invoke({ text: "canned" })).text === "from the hook");
assert((await a.invoke({ text: "provider fails" })).text === "fallback answer");

// pause / resume / terminate
await a.pause();
assert(a.state() === "paused");
await rejects(a.invoke({ text: "x" }), "cannot invoke while paused");
await rejects(a.pause(), "illegal state transition from paused to paused");
await a.resume();
assert(a.state() === "ready");
for (const hook of hooks) hook.unregister();
assert(seen.join(" ") === "BeforeAgentExecution:writer AfterAgentExecution:writer BeforeAgentExecution:writer BeforeAgentExecution:writer BeforeAgentExecution:writer AgentError:writer custom:agent_paused:writer custom:agent_resumed:writer",
    seen.join(" "));
assert(a.cancel() === false, "nothing to cancel");
await a.terminate();
assert(a.state() === "terminated");
await a.terminate(); // once
await rejects(a.invoke({ text: "x" }), "is terminated");
await rejects(a.resume(), "illegal state transition from terminated to ready");

// a terminated agent's name can be taken again
const b = await Agent.create({ name: "writer", model: "openai/gpt-test" });
assert(Agent.get("writer").state() === "ready");
await b.terminate();
await calc.terminate();
export default "ok";
