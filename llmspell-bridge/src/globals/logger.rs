//! The `Logger` global: `Logger.info/warn/error/debug/trace` into `tracing`.

use serde_json::Value;

use super::{GlobalBinding, GlobalMetadata, GlobalObject};
use crate::error::Result;
use crate::host::ScriptHost;

/// `Logger.<level>(message, fields?)` emits a `tracing` event with target
/// `llmspell::script`, the script name in `script`, the message, and the
/// optional fields table as JSON in `fields`.
#[derive(Debug, Clone, Copy, Default)]
pub struct LoggerGlobal;

/// A `Logger` function's level.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum LogLevel {
    /// `Logger.trace`.
    Trace,
    /// `Logger.debug`.
    Debug,
    /// `Logger.info`.
    Info,
    /// `Logger.warn`.
    Warn,
    /// `Logger.error`.
    Error,
}

impl LogLevel {
    /// Every level with its function name, for bindings to define them.
    pub const ALL: [(&'static str, LogLevel); 5] = [
        ("trace", LogLevel::Trace),
        ("debug", LogLevel::Debug),
        ("info", LogLevel::Info),
        ("warn", LogLevel::Warn),
        ("error", LogLevel::Error),
    ];
}

impl LoggerGlobal {
    /// Logs `message` at `level`, with `fields` (any JSON; `null` for none).
    pub(crate) fn log(&self, host: &ScriptHost, level: LogLevel, message: &str, fields: &Value) {
        let script = host.script_name();
        let script: &str = &script;
        let fields = if fields.is_null() {
            String::new()
        } else {
            fields.to_string()
        };
        match level {
            LogLevel::Trace => {
                tracing::trace!(target: "llmspell::script", script, fields, "{message}");
            }
            LogLevel::Debug => {
                tracing::debug!(target: "llmspell::script", script, fields, "{message}");
            }
            LogLevel::Info => {
                tracing::info!(target: "llmspell::script", script, fields, "{message}");
            }
            LogLevel::Warn => {
                tracing::warn!(target: "llmspell::script", script, fields, "{message}");
            }
            LogLevel::Error => {
                tracing::error!(target: "llmspell::script", script, fields, "{message}");
            }
        }
    }
}

impl GlobalObject for LoggerGlobal {
    fn metadata(&self) -> GlobalMetadata {
        GlobalMetadata {
            name: "Logger",
            description: "log messages with optional structured fields into tracing",
            functions: &["trace", "debug", "info", "warn", "error"],
        }
    }

    fn inject(&self, binding: &mut dyn GlobalBinding) -> Result<()> {
        binding.logger(self)
    }
}
