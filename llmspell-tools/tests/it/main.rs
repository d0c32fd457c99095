//! Black-box tests of llmspell-tools: one module per area.

mod common;
mod data;
mod filesystem;
mod registry;
mod system;
mod utility;
