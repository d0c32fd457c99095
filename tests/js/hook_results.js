// The one JSON form of hook results, from JavaScript: the `replace` alias,
// promise-returning hooks, and malformed results, each an error naming the
// hook, the key and what is valid (never silently ignored).
import { assert, rejects, withHook } from "./assert.js";

const calc = (expression) => Tool.invoke("calculator", { expression });

// replace: `data` is a synonym of `value` (rs-llmspell scripts write it)
await withHook("BeforeToolExecution", () => ({ type: "replace", data: { result: 7, via: "data" } }), undefined, async () => {
    const r = await calc("1 + 1");
    assert(r.result === 7 && r.via === "data", JSON.stringify(r));
});
await withHook("BeforeToolExecution", () => ({ type: "replace", value: { result: 8 } }), undefined, async () => {
    assert((await calc("1 + 1")).result === 8);
});
// an explicit null replaces the result with null
await withHook("BeforeToolExecution", () => ({ type: "replace", value: null }), undefined, async () => {
    assert((await calc("1 + 1")) === null);
});
// a hook may return a promise of its result (an async function)
await withHook("BeforeToolExecution", async () => {
    await Hook.fire("custom:tick", {});
    return { type: "replace", value: { result: 9, async: true } };
}, undefined, async () => {
    const r = await calc("1 + 1");
    assert(r.result === 9 && r.async === true, JSON.stringify(r));
});

// malformed results: a fail-closed hook turns its error into the call's
const cases = [
    [{ type: "replace", valeu: 1 }, "unknown key `valeu`", "valid keys for \"replace\": type, value, data"],
    [{ type: "replace" }, "without `value`", "synonym"],
    [{ type: "replace", value: 1, data: 2 }, "both `value` and `data`", "give one"],
    [{ type: "modified" }, "without `data`", "new context data"],
    [{ type: "modified", data: 5 }, "`data` = a number", "must be a table"],
    [{ type: "modified", data: {}, extra: true }, "unknown key `extra`", "valid keys for \"modified\": type, data"],
    [{ type: "cancel", resaon: "typo" }, "unknown key `resaon`", "type, reason"],
    [{ type: "redirect" }, "without `target`", "tool, agent or step"],
    [{ type: "retry", delay_ms: -5 }, "`delay_ms` = a number", "non-negative integer"],
    [{ type: "retry", attempts: 2 }, "unknown key `attempts`", "type, delay_ms, max_attempts"],
    [{ type: "cache" }, "without `key`", "cache key"],
    [{ type: "cache", key: "k", ttl: 3 }, "unknown key `ttl`", "type, key, ttl_ms, ttl_seconds"],
    [{ type: "fork", operations: [{ parameters: {} }] }, "operation 1 has no `target`", "{target = "],
    [{ type: "explode" }, "unknown type \"explode\"", "valid types:"],
    [{ reason: "no type" }, "without a `type` field", "expected nil"],
    ["maybe", "the string \"maybe\"", "\"continue\", \"skip\""],
    [42, "returned a number", "expected nil"],
];
for (const [i, [returned, want1, want2]] of cases.entries()) {
    const name = "bad_hook_" + (i + 1);
    // every other case returns its value through a promise
    const fn = i % 2 === 0 ? () => returned : async () => returned;
    await withHook("BeforeToolExecution", fn, { name, fail_closed: true }, async () => {
        await rejects(calc("1 + 1"), "hook `" + name + "` failed: returned", want1, want2);
    });
}

// a value with no JSON form is refused naming the hook
await withHook("BeforeToolExecution", () => ({ type: "modified", data: { f: () => 1 } }),
    { name: "fn_in_data", fail_closed: true }, async () => {
        await rejects(calc("1"), "fn_in_data", "function");
    });

// a fail-open hook with a malformed result is isolated: the call goes on,
// and the failure is counted against the hook
const h = Hook.register("BeforeToolExecution", () => ({ type: "replace", valeu: 1 }), { name: "sloppy" });
assert((await calc("2 + 3")).result === 5);
const listed = Hook.list({ hook_point: "BeforeToolExecution" });
assert(listed.length === 1 && listed[0].name === "sloppy" && listed[0].failures === 1, JSON.stringify(listed));
h.unregister();

// a hook that throws or rejects is reported with its message
await withHook("BeforeToolExecution", async () => { throw new Error("async boom"); },
    { name: "rejecter", fail_closed: true }, async () => {
        await rejects(calc("1"), "async boom");
    });

export default "ok";
