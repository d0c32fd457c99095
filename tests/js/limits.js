// Limits seen from a script: a runaway hook is stopped (loop, recursion,
// wall clock), the tool call goes on (the hook is fail-open), the hook's
// monitor and breaker count the failure, ResourceLimitExceeded fires, and
// the engine stays usable.
import { assert, rejects } from "./assert.js";

const limits = [];
Hook.register("ResourceLimitExceeded", (ctx) => { limits.push(ctx.data); }, { name: "limit-log" });
const calc = (expression) => Tool.invoke("calculator", { expression });
const idle = Event.subscribe("nothing.here");
const settle = async (n) => {
    for (let i = 0; i < 100 && limits.length < n; i++) await Event.receive(idle, 10);
};
const info = (name) => Hook.list({ hook_point: "BeforeToolExecution" }).find((h) => h.name === name);

// a loop JavaScript cannot catch its way out of
const spinner = Hook.register("BeforeToolExecution", () => {
    for (;;) {
        try {
            for (;;) {}
        } catch (e) {
            // the loop limit cannot be caught
        }
    }
}, { name: "spinner" });
let started = Date.now();
assert((await calc("2 * 21")).result === 42, "the call went on without the runaway hook");
assert(Date.now() - started < 4000, "stopped quickly: " + (Date.now() - started) + " ms");
let h = info("spinner");
assert(h.calls === 1 && h.failures === 1, "counted: " + JSON.stringify(h));
assert(h.breaker === "closed" || h.breaker === "open");
spinner.unregister();
await settle(1);
assert(limits[0].resource === "loop_iterations" && limits[0].what.includes("spinner"), JSON.stringify(limits));
assert(limits[0].limit.includes("iterations") && limits[0].language === "javascript");

// unbounded recursion
const recurser = Hook.register("BeforeToolExecution", () => {
    const down = (n) => down(n + 1) + 1;
    return down(0);
}, { name: "recurser" });
assert((await calc("1 + 1")).result === 2);
assert(info("recurser").failures === 1);
recurser.unregister();
await settle(2);
assert(limits[1].resource === "recursion_depth", JSON.stringify(limits[1]));

// a promise that never settles: stopped at the wall-clock limit
const waiter = Hook.register("BeforeToolExecution", () => new Promise(() => {}), { name: "waiter", timeout_ms: 100 });
started = Date.now();
assert((await calc("3")).result === 3);
assert(Date.now() - started < 3000, "stopped at its time limit");
h = info("waiter");
assert(h.calls === 1 && h.timeouts === 1 && h.failures === 1, "counted: " + JSON.stringify(h));
waiter.unregister();
await settle(3);
assert(limits[2].resource === "hook_time" && limits[2].what.includes("waiter"), JSON.stringify(limits[2]));

// A hook that throws is reported and counted too.
const thrower = Hook.register("BeforeToolExecution", () => { throw new Error("boom"); }, { name: "thrower" });
assert((await calc("1")).result === 1);
assert(info("thrower").failures === 1);
thrower.unregister();

// A fail-closed hook that throws cancels the call with its error.
const strict = Hook.register("BeforeToolExecution", () => { throw new Error("strict failure"); },
    { name: "strict", fail_closed: true });
await rejects(calc("1"), "strict failure");
strict.unregister();

// the engine still works, and so does a long but bounded loop in the script
let sum = 0;
for (let i = 0; i < 100000; i++) sum += i;
assert(sum === 4999950000);
export default "ok";
