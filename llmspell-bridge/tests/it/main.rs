//! Black-box tests of llmspell-bridge.

mod agents;
mod convert;
mod cross;
mod examples;
mod js;
mod limits;
mod sandbox;
mod scripts;
mod system;
mod workflows;

use llmspell_bridge::{GlobalContext, LuaConfig, LuaEngine};

pub(crate) fn engine() -> LuaEngine {
    LuaEngine::new(GlobalContext::new(), LuaConfig::default()).unwrap()
}

pub(crate) fn engine_with(config: LuaConfig) -> LuaEngine {
    LuaEngine::new(GlobalContext::new(), config).unwrap()
}

#[test]
fn public_types_are_send_and_sync() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<LuaEngine>();
    assert_send_sync::<GlobalContext>();
    assert_send_sync::<LuaConfig>();
    assert_send_sync::<llmspell_bridge::EventBridge>();
    assert_send_sync::<llmspell_bridge::HookBridge>();
    assert_send_sync::<llmspell_bridge::BridgeError>();
}
