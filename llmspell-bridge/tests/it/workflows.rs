//! The `Workflow` global, from `tests/lua/workflows.lua`, and its effects
//! seen from Rust.

use llmspell_bridge::{GlobalContext, LuaConfig, LuaEngine};
use serde_json::json;

use crate::scripts::run;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn workflows_script() {
    let context = GlobalContext::new();
    let engine = LuaEngine::new(context.clone(), LuaConfig::default()).unwrap();
    assert_eq!(run(&engine, "workflows.lua").await, json!("ok"));
    // The workflows the script created are in the shared runtime.
    let wf = context.workflows().workflow("lua_seq").unwrap();
    let r = context
        .workflows()
        .execute(&wf, json!({"a": 40}))
        .await
        .unwrap();
    assert!(r.success, "{:?}", r.error);
    assert_eq!(r.data["shout"], json!("TOTAL 84"));
}
