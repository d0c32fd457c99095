// Every State and Session function, and every state hook point's effect,
// from JavaScript, with real asserts (the twin of tests/lua/state.lua). The
// Rust side (llmspell-bridge tests/it/js.rs) gives the context a session and
// checks the store.
import { assert, rejects, throws } from "./assert.js";

// get / set / version / delete, default scope global; every call is a promise
assert(State.get("missing") instanceof Promise);
assert((await State.get("missing")) === null);
assert((await State.version("missing")) === 0);
assert((await State.set("counter", 1)) === 1);
assert((await State.set("counter", { n: 2, tags: ["a", "b"] })) === 2);
const c = await State.get("counter");
assert(c.n === 2 && c.tags[1] === "b", JSON.stringify(c));
assert((await State.version("counter")) === 2);
assert((await State.delete("counter")) === true);
assert((await State.delete("counter")) === false);
assert((await State.get("counter")) === null && (await State.version("counter")) === 0);

// scopes: global, session, script, named
await State.set("k", "global");
await State.set("k", "session", "session");
await State.set("k", "script", "script");
await State.set("k", "agent", "agent:writer");
assert((await State.get("k")) === "global" && (await State.get("k", "global")) === "global");
assert((await State.get("k", undefined)) === "global" && (await State.get("k", null)) === "global");
assert((await State.get("k", "session")) === "session");
assert((await State.get("k", "script")) === "script");
assert((await State.get("k", "script:state")) === "script", "this file's scope is script:state");
assert((await State.get("k", "agent:writer")) === "agent");
assert((await State.get("k", "session:" + Session.id())) === "session");

// list by prefix, sorted
for (const key of ["user:2", "user:1", "user:10", "other"]) await State.set(key, key, "agent:writer");
const users = await State.list("user:", "agent:writer");
assert(JSON.stringify(users) === '["user:1","user:10","user:2"]', JSON.stringify(users));
assert((await State.list(null, "agent:writer")).length === 5);
assert((await State.list("nothing")).length === 0);

// compare_and_set: true, or false (the current version from State.version)
assert((await State.compare_and_set("cas", 0, "first")) === true);
assert((await State.compare_and_set("cas", 0, "again")) === false);
assert((await State.version("cas")) === 1);
assert((await State.compare_and_set("cas", 1, "second")) === true);
assert((await State.get("cas")) === "second" && (await State.version("cas")) === 2);

// rs-llmspell's scope-first forms
await State.save("global", "legacy", { x: 1 });
assert((await State.load("global", "legacy")).x === 1);
assert((await State.list_keys("global")).includes("legacy"));

// bad input: functions, cycles, keys, scopes, versions, argument types
await rejects(() => State.set("f", { callback: () => 1 }), "State.set", "not JSON data", "`f`");
const cyclic = {};
cyclic.self = cyclic;
await rejects(() => State.set("cyc", cyclic), "not JSON data");
await rejects(State.set("has space", 1), "a key is 1 to 256 characters from A-Z a-z 0-9 _ - . : /");
await rejects(State.get(""), "a key is 1 to 256 characters");
await rejects(State.get("k", "bad/scope"), "invalid state scope");
await rejects(State.compare_and_set("cas", -1, "x"), "whole number of 0 or more");
await rejects(State.compare_and_set("cas", 1.5, "x"), "whole number of 0 or more");
throws(() => State.get(42), "State.get: the key must be a string, got a number");
throws(() => State.compare_and_set("cas", "1", "x"), "the expected version must be a number");
assert((await State.get("f")) === null && (await State.get("cyc")) === null);

// migration on read through a JavaScript function (sync or async)
await State.set("profile:1", { name: "Ada Lovelace" });
State.migrate("profile:", 1, 2, (v) => {
    const [first, ...rest] = v.name.split(" ");
    return { ...v, first, last: rest.join(" ") };
});
const p = await State.get("profile:1");
assert(p.first === "Ada" && p.last === "Lovelace" && p.name === "Ada Lovelace", JSON.stringify(p));
assert((await State.version("profile:1")) === 1, "a migration keeps the version");
// new writes are stamped with the new schema and not migrated again
await State.set("profile:2", { name: "Grace Hopper", first: "G", last: "H" });
assert((await State.get("profile:2")).first === "G");
await State.set("async:1", 20);
State.migrate("async:", 1, 2, async (v) => {
    await Hook.fire("custom:tick", {});
    return v + 1;
});
assert((await State.get("async:1")) === 21);
// a migration that forgets to return, and one that throws
await State.set("bad:1", 1);
State.migrate("bad:", 1, 2, () => {});
await rejects(State.get("bad:1"), "returned nil");
await State.set("worse:1", 1);
State.migrate("worse:", 1, 2, (v) => { throw new Error("cannot upgrade " + v); });
await rejects(State.get("worse:1"), "cannot upgrade 1");
throws(() => State.migrate("x", 1, 2, "not a function"), "must be the migration function", "got a string");

// hooks on every state point
const seen = {};
const h = [];
h.push(Hook.register("BeforeStateWrite", (ctx) => {
    seen.before_write = ctx.data;
    if (ctx.data.key === "locked") return { type: "cancel", reason: "locked by policy" };
    if (ctx.data.key === "shout") {
        ctx.data.value = ctx.data.value.toUpperCase();
        return { type: "modified", data: ctx.data };
    }
}));
h.push(Hook.register("AfterStateWrite", (ctx) => { seen.after_write = ctx.data; }));
h.push(Hook.register("BeforeStateRead", (ctx) => {
    if (ctx.data.key === "virtual") return { type: "replace", value: { from: "hook" } };
    if (ctx.data.key === "secret") return { type: "cancel", reason: "no peeking" };
}));
h.push(Hook.register("AfterStateRead", async (ctx) => {
    seen.after_read = ctx.data;
    if (ctx.data.key === "doubled") {
        ctx.data.value = ctx.data.value * 2;
        return { type: "modified", data: ctx.data };
    }
}));
h.push(Hook.register("StateConflict", (ctx) => { seen.conflict = ctx.data; }));
h.push(Hook.register("StateMigration", (ctx) => {
    seen.migration = ctx.data;
    ctx.data.value.checked = true;
    return { type: "modified", data: ctx.data };
}));

// Modified changes the value written; After sees the new version
assert((await State.set("shout", "hello", "script")) === 1);
assert(seen.before_write.scope === "script:state" && seen.before_write.key === "shout");
assert(seen.before_write.operation === "set");
assert(seen.after_write.value === "HELLO" && seen.after_write.version === 1);
// Cancel refuses: set, compare_and_set and delete
await rejects(State.set("locked", 1), "cancelled by hook");
await rejects(State.compare_and_set("locked", 0, 1), "locked by policy");
await rejects(State.delete("locked"), "locked by policy");
// Replace answers a read without storage; Cancel refuses a read
assert((await State.get("virtual")).from === "hook");
await rejects(State.get("secret"), "no peeking");
// Modified after a read (from a promise-returning hook) changes what the reader gets
await State.set("doubled", 21);
assert((await State.get("doubled")) === 42);
assert(seen.after_read.version === 1 && seen.after_read.key === "doubled");
// StateConflict on a lost compare-and-set, with both versions
assert((await State.compare_and_set("doubled", 7, 0)) === false);
assert(seen.conflict.expected_version === 7 && seen.conflict.current_version === 1);
// StateMigration: Modified changes the migrated value
await State.set("cfg:1", { v: 1 });
State.migrate("cfg:", 1, 2, (v) => ({ ...v, v: 2 }));
const cfg = await State.get("cfg:1");
assert(cfg.v === 2 && cfg.checked === true, JSON.stringify(cfg));
assert(seen.migration.from === 1 && seen.migration.to === 2 && seen.migration.key === "cfg:1");
for (const handle of h) handle.unregister();

// change events
const sub = Event.subscribe("state.changed");
await State.set("watched", 1);
const e = await Event.receive(sub, 1000);
assert(e && e.data.key === "watched" && e.data.version === 1 && e.data.operation === "set");
assert(e.data.value === undefined || e.data.value === null, "values are not in events by default");
assert(e.data.scope === "global");
assert(e.language === "javascript", "the writer's language: " + e.language);
Event.unsubscribe(sub);

// Session
const id = Session.id();
assert(typeof id === "string" && id.length === 36);
await State.set("step", 1, "session");
const cp = await Session.checkpoint("after step 1");
assert(cp.seq === 1 && cp.name === "after step 1" && cp.keys === 2 && cp.session_id === id, JSON.stringify(cp));
const cp2 = await Session.checkpoint();
assert(cp2.seq === 2 && cp2.name === "checkpoint-2");
await rejects(Session.checkpoint(""), "invalid checkpoint name");
const info = await Session.info();
assert(info.id === id && info.checkpoints === 2 && info.status === "running", JSON.stringify(info));
assert(Session.getCurrent() === id);
assert((await Session.get(id)).id === id && (await Session.get(id)).script === "state.js");
assert((await Session.get("0190f5c4-0000-7000-8000-000000000000")) === null);
await rejects(Session.get("nope"), "invalid session id");
const all = await Session.list();
assert(all.length === 1 && all[0].id === id);

export default "ok";
