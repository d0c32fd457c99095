//! Cross-crate integration tests for llmspell live in this package's
//! `tests/` directory; this library holds the fixtures they share.
