// The event hook points fire for script publishes: BeforeEventEmit can
// change or refuse an event, AfterEventEmit sees its sequence, and a
// failing callback fires EventHandlerError.
import { assert, rejects } from "./assert.js";

const sub = Event.subscribe("note.*");

const before = Hook.register("BeforeEventEmit", async (ctx) => {
    if (ctx.data.event_type === "note.secret") {
        return { type: "cancel", reason: "secrets stay private" };
    }
    if (ctx.data.event_type === "note.plain") {
        const data = ctx.data.data;
        data.stamped = true;
        // A publish made inside an emit hook does not fire the hooks again.
        await Event.publish("note.inner", { from: "hook" });
        return { type: "modified", data: { event_type: "note.stamped", data } };
    }
}, { name: "note-filter" });

const afterSeen = [];
const after = Hook.register("AfterEventEmit", (ctx) => {
    afterSeen.push(ctx.data.event_type + "#" + ctx.data.sequence);
});

await Event.publish("note.plain", { text: "hi" });
await rejects(Event.publish("note.secret", { text: "pin 1234" }),
    "cancelled by hook `note-filter`: secrets stay private");

const first = await Event.receive(sub, 1000);
assert(first.type === "note.inner" && first.data.from === "hook", "the hook's own publish");
const second = await Event.receive(sub, 1000);
assert(second.type === "note.stamped" && second.data.stamped === true && second.data.text === "hi");
assert((await Event.receive(sub, 50)) === null, "the secret was not published");
assert(afterSeen.length === 1 && afterSeen[0] === "note.stamped#" + second.sequence, JSON.stringify(afterSeen));
before.unregister();
after.unregister();

// A callback that fails (throws, or rejects) fires EventHandlerError.
const handlerErrors = [];
const onError = Hook.register("EventHandlerError", (ctx) => { handlerErrors.push(ctx.data); });
Event.subscribe("fragile.*", (ev) => { throw new Error("cannot handle " + ev.type); });
Event.subscribe("brittle.*", async (ev) => { throw new Error("async fail " + ev.type); });
await Event.publish("fragile.thing", {});
await Event.publish("brittle.thing", {});
const idle = Event.subscribe("nothing.here");
for (let n = 0; n < 100 && handlerErrors.length < 2; n++) await Event.receive(idle, 20);
assert(handlerErrors.length === 2, "EventHandlerError fired: " + handlerErrors.length);
assert(handlerErrors[0].event_type === "fragile.thing");
assert(String(handlerErrors[0].error).includes("cannot handle fragile.thing"), handlerErrors[0].error);
assert(String(handlerErrors[1].error).includes("async fail brittle.thing"), handlerErrors[1].error);
assert(Event.get_stats().callback_errors === 2);
onError.unregister();
export default "ok";
