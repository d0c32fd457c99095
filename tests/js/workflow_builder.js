// Workflow.builder(): the chainable builder of rs-llmspell scripts, over
// the same definitions as Workflow.sequential({...}) and friends, with
// JavaScript function steps and conditions. The twin of
// tests/lua/workflow_builder.lua.
//
// Lua-only: `wf:name()` / `wf:description()` next to the `wf.name` field
// (Lua lets a string field be called through a metamethod; in JavaScript
// `name` and `description` are data properties only), and the check that
// calling any other string still fails.
import { assert, throws } from "./assert.js";

// sequential, steps written with `type` as rs-llmspell scripts write them
const b = Workflow.builder();
assert(String(b) === "WorkflowBuilder");
const seq = b
    .name("b_seq")
    .description("hash then encode")
    .sequential()
    .add_step({
        name: "hash",
        type: "tool",
        tool: "hash_calculator",
        input: { operation: "hash", algorithm: "md5", input: "{{input:text}}" },
    })
    .add_step({
        name: "shout",
        type: "tool",
        tool: "text_manipulator",
        input: { operation: "uppercase", text: "{{step:hash:output.hash}}" },
    })
    .build();

// the fields rs-llmspell scripts read, and the methods of every workflow
assert(seq.name === "b_seq", String(seq.name));
assert(seq.id === "b_seq");
assert(seq.type === "sequential");
assert(seq.pattern() === "sequential");
assert(seq.description === "hash then encode");
const info = seq.get_info();
assert(info.id === "b_seq" && info.name === "b_seq" && info.type === "sequential");
assert(info.description === "hash then encode");
assert(seq.steps().length === 2 && seq.steps()[0] === "hash");
assert(String(seq) === "Workflow(b_seq, sequential)");

const r = await seq.execute({ text: "hello" });
assert(r.success, r.error);
assert(r.data.hash.hash === "5d41402abc4b2a76b9719d911017c592");
assert(r.data.shout.result === "5D41402ABC4B2A76B9719D911017C592");
assert(r.steps.length === 2 && r.steps[1].name === "shout");

// the built object is the same kind as a definition-made one: found by
// name, nestable, and of the same fingerprint as the equivalent definition
assert(Workflow.get("b_seq").pattern() === "sequential");
const same = Workflow.sequential({
    type: "sequential",
    name: "b_seq",
    description: "hash then encode",
    steps: [
        { name: "hash", type: "tool", tool: "hash_calculator",
          input: { operation: "hash", algorithm: "md5", input: "{{input:text}}" } },
        { name: "shout", type: "tool", tool: "text_manipulator",
          input: { operation: "uppercase", text: "{{step:hash:output.hash}}" } },
    ],
});
assert(same.fingerprint() === seq.fingerprint(), "the builder makes the same definition");

// the `type` key is checked against the step's other keys
throws(() => Workflow.builder().name("b_bad").sequential()
    .add_step({ name: "x", type: "agent", tool: "calculator" }).build(),
"`steps[1].type`: says `agent` but the step has `tool`");
throws(() => Workflow.builder().name("b_bad").sequential()
    .add_step({ name: "x", type: "tool" }).build(),
"`steps[1].tool`: is missing");
throws(() => Workflow.builder().name("b_bad").sequential()
    .add_step({ name: "x", type: "custom", tool: "calculator" }).build(),
"unknown step kind `custom`");
throws(() => Workflow.builder().name("b_bad").sequential().add_step({ name: "x", tool: "no_such_tool" }).build(),
    "no tool named `no_such_tool`");
throws(() => Workflow.builder().name("b_bad").add_step({ name: "x", tool: "calculator" }).build(),
    "no pattern chosen");
throws(() => Workflow.builder().name("b_bad").sequential().build(), "has no steps");
// a bad call fails where it is made, as in Lua (not only at build())
const early = Workflow.builder().sequential();
throws(() => early.add_step("calculator"), "expects a step table");
throws(() => Workflow.builder().name("b_bad").sequential().max_concurrency(2)
    .add_step({ name: "x", tool: "calculator", input: { expression: "1" } }).build(),
"belongs to parallel workflows");
throws(() => Workflow.builder().name("b_bad").sequential().with_range({ start: 0, end: 2 })
    .add_step({ name: "x", tool: "calculator", input: { expression: "1" } }).build(),
"belongs to loop workflows");
const strategy = Workflow.builder().name("b_bad").sequential();
throws(() => strategy.error_strategy("retry"), "unknown strategy `retry`");

// parallel: each added step is a branch of its own
const par = Workflow.builder()
    .name("b_par")
    .parallel()
    .max_concurrency(2)
    .add_step({ name: "md5", type: "tool", tool: "hash_calculator",
        input: { operation: "hash", algorithm: "md5", input: "x" } })
    .add_step({ name: "sha", type: "tool", tool: "hash_calculator",
        input: { operation: "hash", algorithm: "sha256", input: "x" } })
    .add_step({ name: "calc", type: "tool", tool: "calculator", input: { expression: "6 * 7" } })
    .build();
assert(par.type === "parallel");
const p = await par.execute();
assert(p.success, p.error);
assert(p.data.md5.md5.algorithm === "md5");
assert(p.data.sha.sha.algorithm === "sha256");
assert(p.data.calc.calc.result === 42);
assert(p.steps.length === 3);
for (const s of p.steps) assert(s.branch === s.name, JSON.stringify(s));

// parallel with error_strategy("continue"): every branch's error is reported
const collect = Workflow.builder()
    .name("b_par_collect")
    .parallel()
    .error_strategy("continue")
    .add_step({ name: "bad1", fn: () => { throw new Error("first broke"); } })
    .add_step({ name: "bad2", fn: async () => { throw new Error("second broke"); } })
    .build();
const c = await collect.execute();
assert(!c.success);
assert(c.error.includes("first broke") && c.error.includes("second broke"), c.error);

// conditional: condition object, then/else steps, a nested workflow step
const blog = Workflow.builder().name("b_blog").sequential()
    .add_step({ name: "fmt", type: "tool", tool: "text_manipulator",
        input: { operation: "uppercase", text: "blog: {{input:content}}" } })
    .build();
await State.set("content_type", "blog");
const router = Workflow.builder()
    .name("b_router")
    .description("routes by the shared content type")
    .conditional()
    .condition({ type: "shared_data_equals", key: "content_type", value: "blog" })
    .add_then_step({ name: "as_blog", type: "workflow", workflow: blog, input: { content: "{{input:content}}" } })
    .add_else_step({ name: "as_email", type: "tool", tool: "text_manipulator",
        input: { operation: "lowercase", text: "EMAIL: {{input:content}}" } })
    .build();
assert(router.type === "conditional");
const rb = await router.execute({ content: "news" });
assert(rb.success, rb.error);
assert(rb.data.as_blog.fmt.result === "BLOG: NEWS");
assert(rb.steps[0].branch === "then");
await State.set("content_type", "email");
const re = await router.execute({ content: "News" });
assert(re.success, re.error);
assert(re.data.as_email.result === "email: news");
assert(re.steps[0].branch === "else");

// conditional with a function condition and steps added before it: they
// run first, and the condition sees their output
const classify = Workflow.builder()
    .name("b_classify")
    .conditional()
    .add_step({ name: "count", type: "tool", tool: "calculator", input: { expression: "{{input:n}} * 10" } })
    .condition((input, state, ctx) => ctx.steps.count.output.result > 50)
    .add_then_step({ name: "big", fn: () => "big" })
    .add_else_step({ name: "small", fn: () => "small" })
    .build();
const big = await classify.execute({ n: 9 });
assert(big.success, big.error);
assert(big.data.count.result === 90);
assert(big.data.branches.big === "big", JSON.stringify(big.data));
assert((await classify.execute({ n: 2 })).data.branches.small === "small");

// add_branch: N-way routing before then/else
const nway = Workflow.builder()
    .name("b_nway")
    .conditional()
    .add_branch({ type: "expression", expression: "input.n == 1" }, [{ name: "one", fn: () => 1 }])
    .add_branch("input.n == 2", [{ name: "two", fn: () => 2 }])
    .add_else_step({ name: "many", fn: () => "many" })
    .build();
assert((await nway.execute({ n: 1 })).data.one === 1);
const two = await nway.execute({ n: 2 });
assert(two.data.two === 2 && two.steps[0].branch === "branch_2");
assert((await nway.execute({ n: 7 })).data.many === "many");
throws(() => Workflow.builder().name("b_bad").conditional().add_then_step({ name: "x", fn: () => {} }).build(),
    "`branches[1].condition`: is missing");

// loop: with_range (end exclusive), max_iterations caps it
const range = Workflow.builder()
    .name("b_range")
    .loop()
    .with_range({ start: 2, end: 6, step: 1 })
    .add_step({ name: "sq", type: "tool", tool: "calculator",
        input: { expression: "{{loop:current_value}} * {{loop:current_value}}" } })
    .build();
assert(range.type === "loop");
const rr = await range.execute();
assert(rr.success, rr.error);
assert(rr.data.sq.length === 4 && rr.data.sq[0].result === 4 && rr.data.sq[3].result === 25);

const capped = Workflow.builder().name("b_capped").loop_workflow()
    .with_range({ start: 1, end: 10, step: 1 })
    .max_iterations(3)
    .add_step({ name: "v", fn: (input, state, ctx) => ctx.loop.current_value })
    .build();
const cr = await capped.execute();
assert(cr.data.v.length === 3 && cr.data.v[2] === 3, JSON.stringify(cr.data));

// loop_workflow + max_iterations alone runs the body n times
const times = Workflow.builder().name("b_times").loopWorkflow().maxIterations(3)
    .addStep({ name: "i", fn: (input, state, ctx) => ctx.loop.index })
    .build();
const tr = await times.execute();
assert(tr.data.i.length === 3 && tr.data.i[0] === 0 && tr.data.i[2] === 2, JSON.stringify(tr.data));

// with_collection, break_condition and aggregation
const coll = Workflow.builder().name("b_coll").loop()
    .with_collection(["apple", "banana", "cherry", "date"])
    .break_condition("loop.current_value == \"cherry\"")
    .aggregation_strategy("last")
    .add_step({ name: "up", type: "tool", tool: "text_manipulator",
        input: { operation: "uppercase", text: "{{loop:current_value}}" } })
    .build();
const co = await coll.execute();
assert(co.success, co.error);
assert(co.data.up.result === "CHERRY", "the loop broke after cherry and kept the last output");
assert(co.steps.length === 3);

// with_while: checked before each iteration, on the state a step writes
await State.set("b_count", 0);
const counting = Workflow.builder().name("b_while").loop()
    .with_while("state.b_count < 3")
    .add_step({ name: "inc", fn: (input, state) => { state.b_count = state.b_count + 1; return state.b_count; } })
    .build();
const wr = await counting.execute();
assert(wr.success, wr.error);
assert(wr.data.inc.length === 3 && (await State.get("b_count")) === 3, JSON.stringify(wr.data));
throws(() => Workflow.builder().name("b_bad").loop().add_step({ name: "x", fn: () => {} }).build(),
    "a loop needs an iterator");

// a builder can be reused after a failed build: the chain mutates it in place
const partial = Workflow.builder().name("b_late").add_step({ name: "x", tool: "calculator", input: { expression: "1 + 1" } });
throws(() => partial.build(), "no pattern chosen");
assert((await partial.sequential().build().execute()).data.x.result === 2);

export default "ok";
