//! The `Logger` global: `Logger.info/warn/error/debug/trace` into `tracing`.

use mlua::{Lua, Table, Value};

use super::{GlobalMetadata, GlobalObject};
use crate::context::GlobalContext;
use crate::error::Result;
use crate::lua::convert::lua_to_json;
use crate::lua::ScriptName;

/// `Logger.<level>(message, fields?)` emits a `tracing` event with target
/// `llmspell::script`, the script name in `script`, the message, and the
/// optional fields table as JSON in `fields`.
#[derive(Debug, Clone, Copy, Default)]
pub struct LoggerGlobal;

#[derive(Clone, Copy)]
enum Level {
    Trace,
    Debug,
    Info,
    Warn,
    Error,
}

fn emit(level: Level, script: &str, message: &str, fields: &str) {
    match level {
        Level::Trace => tracing::trace!(target: "llmspell::script", script, fields, "{message}"),
        Level::Debug => tracing::debug!(target: "llmspell::script", script, fields, "{message}"),
        Level::Info => tracing::info!(target: "llmspell::script", script, fields, "{message}"),
        Level::Warn => tracing::warn!(target: "llmspell::script", script, fields, "{message}"),
        Level::Error => tracing::error!(target: "llmspell::script", script, fields, "{message}"),
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

    fn inject_lua(&self, lua: &Lua, _context: &GlobalContext) -> Result<()> {
        let logger = lua.create_table()?;
        for (name, level) in [
            ("trace", Level::Trace),
            ("debug", Level::Debug),
            ("info", Level::Info),
            ("warn", Level::Warn),
            ("error", Level::Error),
        ] {
            let f =
                lua.create_function(move |lua, (message, fields): (Value, Option<Table>)| {
                    let message = match message {
                        Value::String(s) => s.to_string_lossy(),
                        other => lua.coerce_string(other.clone())?.map_or_else(
                            || format!("<{}>", other.type_name()),
                            |s| s.to_string_lossy(),
                        ),
                    };
                    let fields = match fields {
                        Some(t) => lua_to_json(lua, &Value::Table(t))?.to_string(),
                        None => String::new(),
                    };
                    let script = lua
                        .app_data_ref::<ScriptName>()
                        .map_or_else(String::new, |n| n.0.clone());
                    emit(level, &script, &message, &fields);
                    Ok(())
                })?;
            logger.set(name, f)?;
        }
        lua.globals().set("Logger", logger)?;
        Ok(())
    }
}
