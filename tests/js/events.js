// Every Event function, with real assertions. Run by llmspell-bridge's tests.
import { assert, rejects, throws } from "./assert.js";

// receiver subscription, publish, receive
const sub = Event.subscribe("demo.*");
assert(typeof sub === "string" && /^sub-\d+$/.test(sub), "subscription id: " + sub);

const report = await Event.publish("demo.created", { n: 1, tags: ["a", "b"] }, {
    correlation_id: "67e55044-10b1-426f-9247-bb680e5fe0c8",
    tags: ["test"],
    priority: 5,
    ttl_seconds: 60,
    source: "events.js",
});
assert(report.matched >= 1 && report.queued >= 1, "published to the subscriber");

const ev = await Event.receive(sub, 1000);
assert(ev, "an event arrived");
assert(ev.type === "demo.created" && ev.event_type === "demo.created");
assert(ev.data.n === 1 && ev.data.tags[1] === "b");
assert(ev.language === "javascript");
assert(ev.metadata.correlation_id === "67e55044-10b1-426f-9247-bb680e5fe0c8");
assert(ev.metadata.tags[0] === "test" && ev.metadata.priority === 5);
assert(ev.metadata.source === "events.js");
assert(ev.sequence === report.sequence);

// emit is an alias; non-matching types are not delivered; publishes made
// without awaiting keep their order
Event.emit("other.thing", {});
Event.emit("demo.second", { x: true });
Event.emit("demo.third", { x: false });
const second = await Event.receive(sub, 1000);
assert(second && second.type === "demo.second" && second.data.x === true);
const third = await Event.receive(sub, 1000);
assert(third && third.type === "demo.third" && third.sequence > second.sequence);

// nothing queued: receive without timeout resolves to null at once, with one after it
assert((await Event.receive(sub)) === null);
assert((await Event.receive(sub, 20)) === null);

// callback subscriptions run while the script awaits a bridge call
const seen = [];
const cb = Event.subscribe("cb.*", (e) => { seen.push(e.data.i); });
for (let i = 1; i <= 5; i++) await Event.publish("cb.tick", { i });
const waiter = Event.subscribe("never.happens");
for (let n = 0; n < 100 && seen.length < 5; n++) {
    await Event.receive(waiter, 20); // callbacks are pumped during these waits
}
assert(seen.length === 5, "callbacks ran during the wait: " + seen.length);
for (let i = 0; i < 5; i++) assert(seen[i] === i + 1, "callbacks in order");

// a callback may be async: the next one waits for it
const order = [];
const slow = Event.subscribe("slow.*", {
    callback: async (e) => {
        order.push("start " + e.data.i);
        await Event.receive(waiter, 5);
        order.push("end " + e.data.i);
    },
    capacity: 16,
});
await Event.publish("slow.a", { i: 1 });
await Event.publish("slow.b", { i: 2 });
for (let n = 0; n < 100 && order.length < 4; n++) await Event.receive(waiter, 20);
assert(order.join(",") === "start 1,end 1,start 2,end 2", order.join(","));
Event.unsubscribe(slow);

// list_subscriptions shows this script's subscriptions
const byId = Object.fromEntries(Event.list_subscriptions().map((s) => [s.id, s]));
assert(byId[sub] && byId[sub].pattern === "demo.*" && byId[sub].callback === false);
assert(byId[cb] && byId[cb].callback === true);
assert(byId[waiter]);

// stats
const stats = Event.get_stats();
assert(stats.published >= 10, "published count " + stats.published);
assert(stats.own_subscriptions === 3, "own " + stats.own_subscriptions);
const beforeCount = stats.active_subscriptions;

// unsubscribe frees the bus subscription: true once, then false
assert(Event.unsubscribe(sub) === true);
assert(Event.unsubscribe(sub) === false);
assert(Event.unsubscribe(cb) === true);
assert(Event.unsubscribe(waiter) === true);
const after = Event.get_stats();
assert(after.active_subscriptions === beforeCount - 3, "bus subscriptions freed");
assert(after.own_subscriptions === 0);

// a receive on an unsubscribed id is an error, and so are bad arguments
await rejects(Event.receive(sub, 10), "unknown subscription");
throws(() => Event.subscribe("bad[pattern"), "invalid event pattern");
throws(() => Event.subscribe("x.*", 5), "callback function or an options object");
throws(() => Event.subscribe("x.*", { callback: 5 }), "`callback` must be a function");
await rejects(Event.publish("x", {}, { correlation_id: "nope" }), "not a UUID");
throws(() => Event.publish("x", { f: () => 1 }), "function");
throws(() => Event.publish(42, {}), "Event.publish", "must be a string");

// callbacks still queued when the script ends are drained, also for
// publishes the script did not await
globalThis.RESULT_SEEN = [];
Event.subscribe("late.*", (e) => { RESULT_SEEN.push(e.data.k); });
for (let k = 1; k <= 3; k++) Event.publish("late.ev", { k });
export default "ok";
