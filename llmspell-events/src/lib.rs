//! Universal events, glob-pattern routing, a flow-controlled event bus and an
//! event store for llmspell.
//!
//! **Work in progress.** Today this crate holds only [`Language`], the type
//! shared by every llmspell crate; issue 4 adds `UniversalEvent`,
//! `EventPattern`, `EventBus`, `FlowController` and `EventStore`.

mod language;

pub use language::{Language, ParseLanguageError};
