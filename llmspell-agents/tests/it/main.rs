//! Integration tests of llmspell-agents against real HTTP servers on
//! loopback.

mod agents;
mod common;
mod providers;
mod replay;
