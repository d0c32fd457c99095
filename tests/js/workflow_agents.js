// Agent steps of workflows, against the scripted OpenAI-compatible server
// the Rust test starts (it answers "Otters are great.", then "Hi.", then
// fails with a 503 "overloaded"). The twin of tests/lua/workflow_agents.lua.
import { assert, throws } from "./assert.js";

const writer = await Agent.create({ name: "wf_writer", model: "openai/gpt-test" });
assert(writer.name() === "wf_writer");

// agent hooks fire for agent steps, as children of the step's stage
const seen = [];
const spy = Hook.register("BeforeAgentExecution", (ctx) => {
    seen.push({
        agent: ctx.data.agent_name,
        text: ctx.data.input.text,
        parent: ctx.parent && ctx.parent.point,
    });
});

const wf = Workflow.sequential({ name: "js_agents", steps: [
    { name: "topic", fn: (input) => input.topic },
    { name: "draft", agent: "wf_writer", input: { text: "Write about {{step:topic:output}}" } },
    { name: "shout", tool: "text_manipulator",
      input: { operation: "uppercase", text: "{{step:draft:output.text}}" } },
] });
const r = await wf.execute({ topic: "otters" });
assert(r.success, r.error);
assert(r.data.draft.text === "Otters are great.", r.data.draft.text);
assert(r.data.draft.usage.total_tokens === 7);
assert(r.data.shout.result === "OTTERS ARE GREAT.", JSON.stringify(r.data));
assert(seen.length === 1, "agent hook calls: " + seen.length);
assert(seen[0].agent === "wf_writer" && seen[0].text === "Write about otters", seen[0].text);
assert(seen[0].parent === "BeforeWorkflowStage", String(seen[0].parent));
spy.unregister();

// rs-llmspell's forms: the agent object instead of its name, `prompt`
// instead of `text`
const compat = await Workflow.sequential({ name: "js_agents_compat", steps: [
    { name: "ask", type: "agent", agent: writer, input: { prompt: "Say hi" } }] }).execute();
assert(compat.success && compat.data.ask.text === "Hi.", compat.error);

// an unknown agent is refused when the workflow is created
throws(() => Workflow.sequential({ name: "js_agents_bad", steps: [{ name: "a", agent: "nobody" }] }),
    "no agent named `nobody`");

// a provider failure is a result naming the step, not an error
const failed = await Workflow.sequential({ name: "js_agents_fail", steps: [
    { name: "ask", agent: "wf_writer", input: { text: "hi" } }] }).execute();
assert(!failed.success, "expected a failure");
assert(failed.error.includes("`ask`") && failed.error.includes("overloaded"), failed.error);

export default "ok";
