// Hooks at one point run by priority (lower first), then registration order.
const order = [];
const recorder = (label) => () => { order.push(label); };
Hook.register("BeforeToolExecution", recorder("normal"));
Hook.register("BeforeToolExecution", recorder("lowest"), "lowest");
Hook.register("BeforeToolExecution", recorder("high"), "high");
Hook.register("BeforeToolExecution", recorder("-5"), -5);
Hook.register("BeforeToolExecution", recorder("highest"), { priority: "highest" });

await Tool.invoke("uuid_generator", {});
console.log("run order: " + order.join(" < "));
if (order.join(",") !== "highest,high,-5,normal,lowest") throw new Error(order.join(","));

for (const h of Hook.list("BeforeToolExecution")) {
    console.log(`  #${h.id} ${h.name} priority=${h.priority} calls=${h.calls}`);
    Hook.unregister(h.id);
}
