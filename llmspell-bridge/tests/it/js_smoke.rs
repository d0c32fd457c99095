use llmspell_bridge::{GlobalContext, JsConfig, JsEngine};
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn smoke() {
    let engine = JsEngine::new(GlobalContext::new(), JsConfig::default()).unwrap();
    assert_eq!(engine.eval("1 + 1").await.unwrap(), json!(2));
    let out = engine
        .eval(
            r#"(async () => {
                Hook.register("BeforeToolExecution", (ctx) => ({type: "modified", data: {tool_name: ctx.data.tool_name, parameters: {expression: "20 + 22"}}}));
                const r = await Tool.invoke("calculator", {expression: "1 + 1"});
                return r.result;
            })()"#,
        )
        .await;
    println!("{out:?}");
    assert_eq!(out.unwrap(), json!(42));
    let out = engine.run_script("const x = await Tool.invoke('calculator', {expression: '2*3'}); export default x.result;", "m.js", &[]).await;
    println!("{out:?}");
    let out = engine.run_script("throw new Error('boom')", "m.js", &[]).await;
    println!("{out:?}");
    let out = engine.run_script("function f() { g() }\nfunction g() { null.x }\nf()", "m.js", &[]).await;
    println!("{out:?}");
    let t = std::time::Instant::now();
    let out = engine.eval("let i = 0; while (true) { i++ }").await;
    println!("{out:?} {:?}", t.elapsed());
    let t = std::time::Instant::now();
    let out = engine.eval("let j = 0; for (let k = 0; k < 5000000; k++) { j++ } j").await;
    println!("{out:?} {:?}", t.elapsed());
}
