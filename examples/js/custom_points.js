// Custom hook points ("custom:<name>") are registered like the named ones
// and fired by the script itself with Hook.fire (an embedding application
// can fire them from Rust too). Named points are fired by their components.
Hook.register("custom:before_deploy", (ctx) => {
    if (ctx.data.environment === "production") {
        return { type: "cancel", reason: "deploys to production need approval" };
    }
    return { type: "modified", data: { environment: ctx.data.environment, approved_by: "gate" } };
}, { name: "deploy-gate", tags: ["deploy"] });
Hook.register("custom:after_deploy", async (ctx) => {
    await Event.publish("deploy.finished", ctx.data);
}, { name: "deploy-notify", tags: ["deploy"] });

for (const h of Hook.list({ tag: "deploy" })) console.log(h.hook_point + " -> " + h.name);
if (Hook.list({ tag: "deploy" }).length !== 2) throw new Error("two deploy hooks");

async function deploy(environment) {
    const gate = await Hook.fire("custom:before_deploy", { environment });
    if (gate.type === "cancel") {
        console.log(`deploy to ${environment} refused by ${gate.hook}: ${gate.reason}`);
        return false;
    }
    console.log(`deploying to ${environment} (approved by ${gate.data.approved_by})`);
    await Hook.fire("custom:after_deploy", gate.data);
    return true;
}

if ((await deploy("staging")) !== true) throw new Error("staging");
if ((await deploy("production")) !== false) throw new Error("production");
