//! Black-box tests of llmspell-storage: one conformance suite run against
//! every backend, durability across SIGKILL, and error reporting.

mod conformance;
mod durability;
mod errors;
mod flush;
mod model;
mod reopen;
