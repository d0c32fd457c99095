// How JavaScript values become JSON (and back) when they cross to Rust and
// other languages: here through an event round trip.
import { assert, throws } from "./assert.js";

const sub = Event.subscribe("convert.*");
await Event.publish("convert.values", {
    int: 3, float: 2.5, whole: 4.0, negative: -7, big: 12n, str: "hé", yes: true, nothing: null,
    skipped: undefined, nested: { list: [1, "two", null, undefined, { three: 3 }] },
    when: new Date(Date.UTC(2026, 10, 25, 10, 0, 0)),
});
const ev = await Event.receive(sub, 1000);
const d = ev.data;
assert(d.int === 3 && d.float === 2.5 && d.whole === 4 && d.negative === -7 && d.big === 12);
assert(d.str === "hé" && d.yes === true && d.nothing === null);
assert(!("skipped" in d), "undefined properties are left out");
assert(d.nested.list.length === 5 && d.nested.list[3] === null && d.nested.list[4].three === 3);
assert(d.when === "2026-11-25T10:00:00.000Z", d.when);

// what has no JSON form is refused with the path
const cyclic = { a: {} };
cyclic.a.back = cyclic;
throws(() => Event.publish("convert.bad", cyclic), "$.a.back", "cycle");
throws(() => Event.publish("convert.bad", { f() {} }), "$.f", "function");
throws(() => Event.publish("convert.bad", { s: Symbol("x") }), "$.s", "symbol");
throws(() => Event.publish("convert.bad", [NaN]), "$[0]", "NaN");
throws(() => Event.publish("convert.bad", { p: Promise.resolve(1) }), "await it first");
throws(() => Event.publish("convert.bad", { m: new Map() }), "Object.fromEntries");
throws(() => Event.publish("convert.bad", { n: 2n ** 80n }), "BigInt");
Event.unsubscribe(sub);
export default { int: 3, float: 2.5, list: [1, 2], obj: {} };
