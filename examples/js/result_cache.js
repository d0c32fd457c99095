// Cache results by a key derived from the parameters.
let runs = 0;
Hook.register("AfterToolExecution", () => { runs += 1; }, { match: "calculator" });
Hook.register("BeforeToolExecution", (ctx) => ({
    type: "cache",
    key: "calc:" + ctx.data.parameters.expression,
    ttl_seconds: 30,
}), { match: "calculator" });

for (let i = 0; i < 3; i++) {
    const r = await Tool.invoke("calculator", { expression: "2 ^ 10" });
    console.log("2 ** 10 = " + r.result);
}
console.log(`the tool ran ${runs} time(s)`);
if (runs !== 1) throw new Error("served from the cache after the first call");
