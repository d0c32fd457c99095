// Publish and receive events on the shared bus.
const sub = Event.subscribe("order.*");
await Event.publish("order.created", { id: 17, items: ["book", "pen"] }, { tags: ["shop"] });
await Event.emit("order.paid", { id: 17, amount: 12.5 });
await Event.publish("user.login", { id: 3 }); // does not match order.*

for (let i = 0; i < 2; i++) {
    const ev = await Event.receive(sub, 1000);
    console.log(ev.type, JSON.stringify(ev.data), "seq " + ev.sequence, "from " + ev.language);
}
if ((await Event.receive(sub, 50)) !== null) throw new Error("user.login was delivered");

const stats = Event.get_stats();
console.log(`published: ${stats.published}, subscriptions: ${stats.active_subscriptions}`);
if (!Event.unsubscribe(sub)) throw new Error("unsubscribe");
