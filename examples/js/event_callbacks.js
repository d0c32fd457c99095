// Callback subscriptions run on the script's thread, in order, while the
// script awaits a bridge call and when the script ends.
let total = 0;
Event.subscribe("metrics.*", (ev) => { total += ev.data.value; });
for (let i = 1; i <= 10; i++) Event.publish("metrics.sample", { value: i });

// Awaiting a bridge call (here Event.receive) lets the callbacks run.
const idle = Event.subscribe("nothing.here");
for (let i = 0; i < 100 && total !== 55; i++) await Event.receive(idle, 20);
console.log("sum of samples: " + total);
if (total !== 55) throw new Error("sum " + total);

// A callback may be async: the next one waits for it.
const seen = [];
Event.subscribe("steps.*", async (ev) => {
    await Hook.fire("custom:step", ev.data);
    seen.push(ev.data.n);
});
for (let n = 1; n <= 3; n++) await Event.publish("steps.next", { n });
for (let i = 0; i < 100 && seen.length < 3; i++) await Event.receive(idle, 20);
if (seen.join(",") !== "1,2,3") throw new Error("order " + seen);

// Callbacks still queued at the end of the script are drained too.
Event.subscribe("late.*", (ev) => console.log("late event: " + ev.data.msg));
Event.publish("late.note", { msg: "delivered after the last line" });
