//! The events error type.

/// An events result.
pub type Result<T, E = EventError> = std::result::Result<T, E>;

/// Everything that can go wrong in `llmspell-events`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EventError {
    /// An event pattern could not be parsed.
    #[error("invalid event pattern `{pattern}`: {reason}; patterns are globs where `*` matches any run of characters, `?` one character, `[abc]`/`[a-z]`/`[^a]` a class, and `\\` escapes the next character")]
    InvalidPattern {
        /// The pattern as given.
        pattern: String,
        /// What is wrong with it.
        reason: String,
    },
}
