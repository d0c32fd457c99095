// The Workflow global from JavaScript: the four patterns, references,
// conditions, nesting, failures as results, malformed definitions as
// errors, the builder, hooks at workflow points, runs and resume. The
// twin of tests/lua/workflows.lua (tests/js/workflow_builder.js is the
// builder's twin; JavaScript function steps and conditions are in both).
import { assert, rejects, throws } from "./assert.js";

// sequential: tool steps, references of every form, typed substitution
const seq = Workflow.sequential({
    name: "js_seq",
    description: "adds, doubles, shouts",
    steps: [
        { name: "sum", tool: "calculator", input: { expression: "{{input:a}} + 2" } },
        { name: "double", type: "tool", tool: "calculator",
          input: { expression: "{{step:sum:output.result}} * 2" } },
        { name: "shout", tool: "text_manipulator",
          input: { operation: "uppercase", text: "total {{step:double:output.result}}" } },
    ],
});
assert(seq.name === "js_seq" && seq.id === "js_seq" && seq.type === "sequential");
assert(seq.description === "adds, doubles, shouts");
assert(seq.pattern() === "sequential");
assert(seq.steps().length === 3 && seq.steps()[0] === "sum");
assert(String(seq) === "Workflow(js_seq, sequential)");
assert(seq.getInfo().type === "sequential" && seq.get_info().id === "js_seq");
assert(typeof seq.fingerprint() === "string" && seq.fingerprint().length === 64);

const pending = seq.execute({ a: 40 });
assert(pending instanceof Promise, "execute returns a Promise");
const r = await pending;
assert(r.success, r.error);
assert(r.error === undefined);
assert(r.data.sum.result === 42 && r.data.double.result === 84);
assert(r.data.shout.result === "TOTAL 84");
assert(r.steps.length === 3 && r.steps[2].name === "shout" && typeof r.steps[0].duration_ms === "number");
assert(typeof r.run_id === "string" && r.run_id.length === 36);
assert(r.workflow_name === "js_seq" && r.pattern === "sequential");

// a failing step is a result; an unknown reference names step and reference
const failing = Workflow.sequential({
    name: "js_failing",
    steps: [
        { name: "ok", tool: "calculator", input: { expression: "1" } },
        { name: "bad", tool: "calculator", input: { expression: "1 +" } },
        { name: "never", tool: "calculator", input: { expression: "2" } },
    ],
});
const f = await failing.execute();
assert(f.success === false);
assert(f.error.includes("step `bad` failed"), f.error);
assert(f.steps.length === 2 && f.data.ok && f.data.never === undefined);
const dangling = Workflow.sequential({ name: "js_dangling",
    steps: [{ name: "up", tool: "text_manipulator", input: { operation: "uppercase", text: "{{step:nope:output}}" } }] });
const d = await dangling.execute();
assert(!d.success && d.error.includes("{{step:nope:output}}") && d.error.includes("step `nope`"), d.error);

// malformed definitions throw, naming the field
throws(() => Workflow.sequential({ name: "x", steps: [] }), "`steps`: is empty");
throws(() => Workflow.sequential({ name: "x", steps: [{ name: "a", tool: "no_such_tool" }] }),
    "`steps[1].tool`: no tool named `no_such_tool`");
throws(() => Workflow.sequential({ name: "x", steps: [{ name: "a", type: "agent", tool: "calculator" }] }),
    "says `agent` but the step has `tool`");
throws(() => Workflow.conditional({ name: "x", branches: [] }), "`branches`: is empty");
throws(() => Workflow.loop({ name: "x", body: [{ name: "a", tool: "calculator" }] }), "`iterator`: is missing");
throws(() => Workflow.sequential("nope"), "expected a definition object");
// JavaScript function steps and conditions run on this engine, sync or async;
// the state object they change is written back
const fns = Workflow.sequential({ name: "js_fns", steps: [
    { name: "twice", fn: (input) => input.n * 2 },
    { name: "later", fn: async (input, state, ctx) => {
        const r = await Tool.invoke("calculator", { expression: ctx.steps.twice.output + " + 1" });
        state.js_seen = r.result;
        return r.result;
    } },
] });
const fr = await fns.execute({ n: 20 });
assert(fr.success, fr.error);
assert(fr.data.twice === 40 && fr.data.later === 41, JSON.stringify(fr.data));
assert((await State.get("js_seen")) === 41, "the state change was written back");
const picked = Workflow.conditional({ name: "js_fn_cond", branches: [
    { name: "yes", condition: (input) => input.go === true, steps: [{ name: "a", fn: () => "went" }] },
    { name: "no", default: true, steps: [{ name: "b", fn: () => "stayed" }] },
] });
assert((await picked.execute({ go: true })).data.a === "went");
assert((await picked.execute({ go: false })).data.b === "stayed");
const thrower = await Workflow.sequential({ name: "js_fn_throws",
    steps: [{ name: "boom", fn: () => { throw new Error("it broke"); } }] }).execute();
assert(!thrower.success && thrower.error.includes("`boom`") && thrower.error.includes("it broke"), thrower.error);

// conditional: expression, tool and state conditions, default branch
await State.set("js_ready", true);
const route = Workflow.conditional({
    name: "js_route",
    branches: [
        { name: "big", condition: { type: "expression", expression: "input.n > 10 && state.js_ready" },
          steps: [{ name: "big", tool: "calculator", input: { expression: "{{input:n}} * 10" } }] },
        { name: "five", condition: { tool: "calculator", input: { expression: "{{input:n}} == 5" } },
          steps: [{ name: "five", tool: "calculator", input: { expression: "5 * 5" } }] },
        { name: "other", default: true,
          steps: [{ name: "fallback", tool: "calculator", input: { expression: "{{input:n}} + 0" } }] },
    ],
});
assert(route.type === "conditional");
assert((await route.execute({ n: 11 })).data.big.result === 110);
assert((await route.execute({ n: 5 })).data.five.result === 25);
const other = await route.execute({ n: 3 });
assert(other.data.fallback.result === 3 && other.steps[0].branch === "other");

// loop: range (end exclusive), collection with break, max_iterations
const squares = Workflow.loop({
    name: "js_range",
    iterator: { range: { start: 1, end: 5, step: 1 } },
    body: [{ name: "sq", tool: "calculator", input: { expression: "{{loop:current_value}} * {{loop:current_value}}" } }],
});
const sq = await squares.execute();
assert(sq.data.sq.length === 4 && sq.data.sq[3].result === 16, "end is exclusive");
const capped = Workflow.loop({
    name: "js_capped",
    iterator: { collection: ["a", "b", "c", "d"] },
    max_iterations: 2,
    body: [{ name: "up", tool: "text_manipulator", input: { operation: "uppercase", text: "{{loop:current_value}}" } }],
});
const cr = await capped.execute();
assert(cr.data.up.length === 2 && cr.data.up[1].result === "B");

// parallel: branches, join, a nested workflow object and a name
const par = Workflow.parallel({
    name: "js_par",
    max_concurrency: 2,
    branches: [
        { name: "left", steps: [{ name: "nested", workflow: seq, input: { a: 1 } }] },
        { name: "right", steps: [{ name: "by_name", workflow: "js_range" }] },
    ],
});
const p = await par.execute();
assert(p.success, p.error);
assert(p.data.left.nested.double.result === 6);
assert(p.data.right.by_name.sq.length === 4);

// Workflow.get / list
assert(Workflow.get("js_seq").pattern() === "sequential");
assert(Workflow.get("nobody") === null);
assert(Workflow.list().includes("js_par"));

// the builder, as rs-llmspell scripts chain it (camelCase aliases too)
const built = Workflow.builder()
    .name("js_built")
    .description("hash then shout")
    .sequential()
    .add_step({ name: "hash", type: "tool", tool: "hash_calculator",
        input: { operation: "hash", algorithm: "md5", input: "{{input:text}}" } })
    .addStep({ name: "shout", type: "tool", tool: "text_manipulator",
        input: { operation: "uppercase", text: "{{step:hash:output.hash}}" } })
    .build();
assert(built.type === "sequential" && built.name === "js_built");
const b = await built.execute({ text: "hello" });
assert(b.success, b.error);
assert(b.data.shout.result === "5D41402ABC4B2A76B9719D911017C592");
assert(String(Workflow.builder()) === "WorkflowBuilder");

const router = Workflow.builder()
    .name("js_router")
    .conditional()
    .condition({ type: "shared_data_equals", key: "js_kind", value: "blog" })
    .add_then_step({ name: "as_blog", type: "workflow", workflow: built, input: { text: "x" } })
    .add_else_step({ name: "as_other", type: "tool", tool: "calculator", input: { expression: "7" } })
    .build();
await State.set("js_kind", "blog");
const rb = await router.execute();
assert(rb.data.as_blog.hash.hash === "9dd4e461268c8034f5c8564e155c67a6", JSON.stringify(rb.data));
await State.set("js_kind", "mail");
assert((await router.execute()).data.as_other.result === 7);

const loopBuilt = Workflow.builder().name("js_loop_built").loop_workflow()
    .withRange({ start: 2, end: 6, step: 1 }).maxIterations(3)
    .addStep({ name: "v", tool: "calculator", input: { expression: "{{loop:current_value}} + 0" } })
    .build();
const lb = await loopBuilt.execute();
assert(lb.data.v.length === 3 && lb.data.v[2].result === 4);

const parBuilt = Workflow.builder().name("js_par_built").parallel().max_concurrency(1)
    .add_step({ name: "one", tool: "calculator", input: { expression: "1" } })
    .add_step({ name: "two", tool: "calculator", input: { expression: "2" } })
    .build();
const pb = await parBuilt.execute();
assert(pb.data.one.one.result === 1 && pb.data.two.two.result === 2);

throws(() => Workflow.builder().name("x").add_step({ name: "a", tool: "calculator" }).build(), "no pattern chosen");
throws(() => Workflow.builder().name("x").sequential().build(), "has no steps");
assert((await Workflow.builder().name("js_fn_built").sequential().add_step({ name: "a", fn: () => 1 }).build()
    .execute()).data.a === 1);
throws(() => Workflow.builder().name("x").sequential().max_concurrency(2)
    .add_step({ name: "a", tool: "calculator", input: { expression: "1" } }).build(), "belongs to parallel workflows");

// hooks from JavaScript fire at the workflow points of a JavaScript run
const seen = [];
const h1 = Hook.register("BeforeWorkflowStage", (ctx) => {
    seen.push(ctx.data.step_name);
    if (ctx.data.step_name === "double") {
        return { type: "modified", data: { ...ctx.data, input: { expression: "1000" } } };
    }
});
const h2 = Hook.register("BeforeWorkflowStart", (ctx) =>
    ctx.data.workflow_name === "js_failing" ? { type: "cancel", reason: "not today" } : "continue");
const hooked = await seq.execute({ a: 1 });
assert(seen.join(",") === "sum,double,shout", seen.join(","));
assert(hooked.data.double.result === 1000, JSON.stringify(hooked.data.double));
const refused = await failing.execute();
assert(!refused.success && refused.error.includes("not today"), refused.error);
h1.unregister();
h2.unregister();

// runs and resume
const runs = await Workflow.runs();
assert(Array.isArray(runs) && runs.some((run) => run.run_id === r.run_id));
await rejects(Workflow.resume("not-a-uuid"), "is not a run id");

assert(Hook.list().length === 0);
export default "ok";
