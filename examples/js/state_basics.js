// Persistent state: scopes, versions, compare-and-set, migrations, hooks.
// Run it twice with `llmspell run`: the visit counter survives between runs
// (kept in .llmspell/state). The twin of examples/lua/state_basics.lua.

// A counter in the global scope, shared by every script and run.
const visits = ((await State.get("visits")) ?? 0) + 1;
await State.set("visits", visits);
console.log(`visit number ${visits} (version ${await State.version("visits")})`);

// This script's own scope ("script" is script:state_basics here).
await State.delete("notes", "script");
await State.set("notes", ["first"], "script");
if ((await State.get("notes", "script"))[0] !== "first") throw new Error("notes");
if ((await State.get("notes")) !== null) throw new Error("the global scope has no `notes`");

// Optimistic concurrency: read the version, write only if nobody else did.
async function addToStock(n) {
    for (;;) {
        const version = await State.version("stock", "script");
        const stock = (await State.get("stock", "script")) ?? 0;
        if (await State.compare_and_set("stock", version, stock + n, "script")) return stock + n;
        console.log(`lost a race at version ${version}; retrying`);
    }
}
await State.delete("stock", "script");
await addToStock(40);
console.log("stock: " + (await addToStock(2)));
if ((await State.get("stock", "script")) !== 42) throw new Error("stock");
// A stale version loses.
if ((await State.compare_and_set("stock", 1, 0, "script")) !== false) throw new Error("stale");

// Migrations: values stored in an old shape are converted when read.
await State.delete("user:ada", "script");
await State.set("user:ada", { name: "Ada Lovelace" }, "script");
State.migrate("user:", 1, 2, (v) => {
    if (v.first === undefined) {
        const [first, ...rest] = v.name.split(" ");
        return { ...v, first, last: rest.join(" ") };
    }
    return v;
});
const ada = await State.get("user:ada", "script");
console.log(`migrated: ${ada.first} / ${ada.last}`);
if (ada.last !== "Lovelace") throw new Error("migration");

// Hooks see every read and write: refuse writes to `config:*`.
const guard = Hook.register("BeforeStateWrite", (ctx) => {
    if (ctx.data.key.startsWith("config:")) return { type: "cancel", reason: "config is read-only" };
});
try {
    await State.set("config:mode", "fast");
    throw new Error("the write should have been refused");
} catch (e) {
    if (!e.message.includes("config is read-only")) throw e;
    console.log("refused: " + e.message.match(/cancelled by hook[^\n]*/)[0]);
}
guard.unregister();

// Every change is an event (without the value).
const sub = Event.subscribe("state.changed");
await State.set("last_run", new Date());
const change = await Event.receive(sub, 1000);
const d = change.data;
console.log(`event: ${d.operation} ${d.scope}/${d.key} v${d.version}`);
Event.unsubscribe(sub);

console.log("keys in this script's scope: " + (await State.list("", "script")).join(", "));
