//! Black-box tests of llmspell-bridge.

mod convert;
mod examples;
mod limits;
mod sandbox;
mod scripts;

use llmspell_bridge::{GlobalContext, LuaConfig, LuaEngine};

pub(crate) fn engine() -> LuaEngine {
    LuaEngine::new(GlobalContext::new(), LuaConfig::default()).unwrap()
}

pub(crate) fn engine_with(config: LuaConfig) -> LuaEngine {
    LuaEngine::new(GlobalContext::new(), config).unwrap()
}
