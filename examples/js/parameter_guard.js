// A security hook: validate parameters and refuse what is not allowed.
const blocked = ["os", "exec", "rm"];
Hook.register("ToolValidation", (ctx) => {
    const text = JSON.stringify(ctx.data.parameters ?? {});
    for (const word of blocked) {
        if (text.includes(word)) {
            Logger.warn("blocked a call", { tool: ctx.data.tool_name, word });
            return { type: "cancel", reason: "parameter contains `" + word + "`" };
        }
    }
}, { name: "param-guard", priority: "highest", fail_closed: true });

const ok = await Tool.invoke("text_manipulator", { operation: "uppercase", text: "fine text" });
console.log(JSON.stringify(ok));
try {
    await Tool.invoke("text_manipulator", { operation: "uppercase", text: "please rm -rf" });
    throw new Error("the guard should have refused");
} catch (e) {
    console.log("refused: " + e.message);
    if (!e.message.includes("contains `rm`")) throw e;
}
