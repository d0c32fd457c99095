//! Black-box tests of llmspell-workflows: one module per area.

mod agents;
mod common;
mod definitions;
mod durability;
mod events;
mod hooks;
mod patterns;
mod sequential;
mod state;
