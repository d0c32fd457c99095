// Tool aliases: an unknown name is redirected to a real tool.
const aliases = { calc: "calculator", uuid: "uuid_generator", upper: "text_manipulator" };
Hook.register("AfterToolDiscovery", (ctx) => {
    const target = aliases[ctx.data.tool_name];
    if (ctx.data.error && target) return { type: "redirect", target };
}, { name: "aliases" });

console.log("calc: " + (await Tool.invoke("calc", { expression: "40 + 2" })).result);
console.log("uuid: " + JSON.stringify(await Tool.invoke("uuid", {})));
try {
    await Tool.invoke("nope", {});
    throw new Error("`nope` has no alias");
} catch (e) {
    if (!e.message.includes("no tool named")) throw e;
}
