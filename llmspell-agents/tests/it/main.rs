//! Integration tests of llmspell-agents against real HTTP servers on
//! loopback.

mod agents;
mod hooks;
mod properties;
mod providers;
mod replay;
