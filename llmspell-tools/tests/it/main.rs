//! Black-box tests of llmspell-tools: one module per area.

mod adversarial;
mod common;
mod data;
mod database;
mod email;
mod execute_ref;
mod fast_path;
mod filesystem;
mod media;
mod network;
mod policy;
mod properties;
mod registry;
mod runtime;
mod synonyms;
mod system;
mod utility;
