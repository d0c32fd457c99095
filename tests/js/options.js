// Every options object of every global refuses unknown keys and
// out-of-range values with an error naming the key and what is valid
// (issue 12, items 16 and 19). The twin of tests/lua/options.lua.
//
// Lua's `JSON.encode(value, {pretty = ...})` has no JavaScript twin: `JSON`
// is JavaScript's own, whose `stringify` takes no options object, so that
// one refusal is Lua-only.
import { assert, rejects } from "./assert.js";

// A refusal may be a thrown error or a rejected promise: `rejects` takes both.
const refuses = (needles, f) => rejects(f, ...needles);
const fn = () => {};

// Hook.register: a misspelt `match` must not make the hook apply to every tool.
await refuses(["Hook.register", "unknown option `matchh`", "did you mean `match`?", "valid options: priority, match"],
    () => Hook.register("BeforeToolExecution", fn, { matchh: "calc*" }));
await refuses(["`timeout_ms` must be a number of milliseconds greater than 0", "365 days", "got 1e+300"],
    () => Hook.register("BeforeToolExecution", fn, { timeout_ms: 1e300 }));
await refuses(["`timeout_ms`", "got 0"], () => Hook.register("BeforeToolExecution", fn, { timeout_ms: 0 }));
await refuses(["timeout_ms", "NaN"], () => Hook.register("BeforeToolExecution", fn, { timeout_ms: NaN }));
assert(Hook.list().length === 0, "nothing was registered by the refused calls");

// Hook.list filters.
await refuses(["Hook.list", "unknown option `point`", "did you mean `hook_point`?"], () => Hook.list({ point: "x" }));

// Event.publish.
await refuses(["Event.publish", "unknown option `bogus`", "valid options: language, correlation_id, ttl_seconds"],
    () => Event.publish("x.y", {}, { bogus: 1 }));
await refuses(["`ttl_seconds` must be a number of seconds from 0 to 31536000 (365 days), got 1e+300"],
    () => Event.publish("x.y", {}, { ttl_seconds: 1e300 }));
await refuses(["`ttl_seconds`", "got -1"], () => Event.publish("x.y", {}, { ttl_seconds: -1 }));
await refuses(["`priority` must be an integer from"], () => Event.publish("x.y", {}, { priority: 2 ** 40 }));

// Event.subscribe: capacity 0 is refused, not silently made 1.
await refuses(["Event.subscribe", "`capacity` must be an integer from 1 to"],
    () => Event.subscribe("x.*", { capacity: 0 }));
await refuses(["unknown option `capcity`", "did you mean `capacity`?"], () => Event.subscribe("x.*", { capcity: 4 }));
await refuses(["unknown option `capcity`"], () => Event.subscribe("x.*", { capcity: 4, callback: fn }));
await refuses(["`block_timeout_ms` applies only with overflow = \"block\""],
    () => Event.subscribe("x.*", { block_timeout_ms: 5 }));
await refuses(["`block_timeout_ms`", "got 1e+300"],
    () => Event.subscribe("x.*", { overflow: "block", block_timeout_ms: 1e300 }));
assert(Event.list_subscriptions().length === 0, "nothing was subscribed by the refused calls");

// Event.receive's timeout.
const id = Event.subscribe("x.*");
await refuses(["Event.receive", "`timeout_ms` must be a number of milliseconds from 0", "got 1e+300"],
    () => Event.receive(id, 1e300));
await refuses(["`timeout_ms`", "got -5"], () => Event.receive(id, -5));
assert((await Event.receive(id, 0)) === null);

// Tool.invoke.
await refuses(["Tool.invoke", "unknown option `timeout`", "did you mean `timeout_ms`?"],
    () => Tool.invoke("calculator", { expression: "1" }, { timeout: 5 }));
await refuses(["`timeout_ms` must be a number of milliseconds greater than 0", "got 1e+300"],
    () => Tool.invoke("calculator", { expression: "1" }, { timeout_ms: 1e300 }));

// Valid options still work.
const h = Hook.register("BeforeToolExecution", fn, { match: "calc*", timeout_ms: 250, priority: "high" });
assert((await Tool.invoke("calculator", { expression: "2 + 2" }, { timeout_ms: 5000 })).result === 4);
assert(h.unregister() === true);
assert((await Event.publish("x.y", {}, { ttl_seconds: 0.5, priority: 3 })).sequence >= 0);
export default "ok";
