//! Black-box tests of llmspell-tools: one module per area.

mod adversarial;
mod common;
mod data;
mod fast_path;
mod filesystem;
mod network;
mod policy;
mod properties;
mod registry;
mod runtime;
mod system;
mod utility;
