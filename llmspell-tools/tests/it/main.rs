//! Black-box tests of llmspell-tools: one module per area.

mod common;
mod data;
mod filesystem;
mod registry;
mod runtime;
mod system;
mod utility;
