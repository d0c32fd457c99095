//! Every example script under `examples/lua/` runs to completion (each one
//! asserts what it demonstrates), so CI runs them all.

use std::path::PathBuf;

use llmspell_bridge::{GlobalContext, LuaConfig, LuaEngine};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_lua_example_runs() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../examples/lua");
    let mut scripts: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "lua"))
        .collect();
    scripts.sort();
    assert!(scripts.len() >= 10, "at least 10 examples: {scripts:?}");
    for path in &scripts {
        let source = std::fs::read_to_string(path).unwrap();
        // As `llmspell run` does: every run is a session.
        let context = GlobalContext::new();
        let session = context
            .sessions()
            .start(Some(&path.display().to_string()))
            .await
            .unwrap();
        context.set_session(Some(session));
        let engine = LuaEngine::new(context, LuaConfig::default()).unwrap();
        if let Err(e) = engine
            .run_script(&source, &path.display().to_string(), &["Ada".to_owned()])
            .await
        {
            panic!("{} failed:\n{e}", path.display());
        }
    }
}
