//! Universal events, glob-pattern routing, a flow-controlled event bus and an
//! event store for llmspell.
//!
//! **Work in progress.** Today this crate holds [`Language`] (the type shared
//! by every llmspell crate) and [`EventPattern`]; issue 4 adds
//! `UniversalEvent`, `EventBus`, `FlowController` and `EventStore`.

mod error;
mod language;
mod pattern;

pub use error::{EventError, Result};
pub use language::{Language, ParseLanguageError};
pub use pattern::{EventPattern, PatternKind};
