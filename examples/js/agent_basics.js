// Agents: create one, ask it something, read the answer and its token
// usage, then walk it through its lifecycle. The twin of
// examples/lua/agent_basics.lua.
//
// Runs offline: `replay/...` answers from the recorded transcript (the Lua
// example's, resolved from this script's directory). For a live model
// write e.g. model: "openai/gpt-4o-mini" (with OPENAI_API_KEY set).
const writer = await Agent.create({
    name: "writer",
    model: "replay/gpt-4o-mini",
    transcript: "../lua/transcripts/agent_basics.json",
    system_prompt: "You are a concise technical writer.",
    temperature: 0.3,
});
console.log("state: " + writer.state());

const answer = await writer.invoke({ text: "Explain what a hook is in one sentence." });
console.log(answer.text);
const u = answer.usage;
console.log(`tokens: ${u.prompt_tokens} prompt + ${u.completion_tokens} completion = ${u.total_tokens}` +
    ` (model ${answer.model}, finish ${answer.finish_reason})`);
if (!(u.total_tokens > 0)) throw new Error("usage");

// A second question: the agent keeps no conversation memory between calls.
console.log((await writer.invoke({ text: "And an event?" })).text);

// Agents are registered by name.
for (const name of Agent.list()) console.log("registered agent: " + name);
if (Agent.get("writer").name() !== "writer") throw new Error("Agent.get");

// Lifecycle: a paused agent refuses work until resumed; a terminated one
// for good.
await writer.pause();
if (writer.state() !== "paused") throw new Error(writer.state());
await writer.invoke({ text: "Are you there?" }).then(
    () => { throw new Error("a paused agent answered"); },
    (e) => console.log("while paused: " + e.message),
);
await writer.resume();
await writer.terminate();
if (writer.state() !== "terminated") throw new Error(writer.state());
await writer.invoke({ text: "More?" }).then(
    () => { throw new Error("a terminated agent answered"); },
    (e) => {
        if (!e.message.includes("terminated")) throw e;
        console.log("after terminate: " + e.message);
    },
);
