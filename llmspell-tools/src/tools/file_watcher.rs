//! `file_watcher`: collect file system change events for a while (notify).

use std::path::PathBuf;
use std::time::Duration;

use async_trait::async_trait;
use notify::{RecursiveMode, Watcher as _};
use serde::Deserialize;
use serde_json::{json, Value};

use crate::params::{decode, millis};
use crate::{
    FileSandbox, Result, SecurityLevel, Synonyms, Tool, ToolCategory, ToolContext, ToolError,
    ToolMetadata, ToolsConfig,
};

const NAME: &str = "file_watcher";
/// Longest watch one call may ask for, in milliseconds.
const MAX_DURATION_MS: u64 = 60_000;

/// Watches a file or directory inside the roots for `duration_ms` (or until
/// `max_events` events arrive) and returns the changes seen: create,
/// modify, remove, rename, access. The watch ends with the call.
#[derive(Debug)]
pub struct FileWatcherTool {
    metadata: ToolMetadata,
    sandbox: FileSandbox,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Params {
    path: String,
    duration_ms: Option<serde_json::Number>,
    #[serde(default = "hundred")]
    max_events: usize,
    #[serde(default = "yes")]
    recursive: bool,
}

fn hundred() -> usize {
    100
}
fn yes() -> bool {
    true
}

impl FileWatcherTool {
    /// The tool, confined to `config.files`.
    #[must_use]
    pub fn new(config: &ToolsConfig) -> Self {
        let metadata = ToolMetadata::new(
            NAME,
            "Watch a file or directory inside the allowed roots for a while and report the \
             changes (create, modify, remove, rename).",
            ToolCategory::Filesystem,
        )
        .with_security_level(SecurityLevel::Restricted)
        .with_parameters(json!({
            "type": "object",
            "properties": {
                "path": {"type": "string", "minLength": 1},
                "duration_ms": {"type": "integer", "minimum": 1, "maximum": MAX_DURATION_MS, "default": 1000},
                "max_events": {"type": "integer", "minimum": 1, "maximum": 10_000, "default": 100},
                "recursive": {"type": "boolean", "default": true}
            },
            "required": ["path"],
            "additionalProperties": false
        }))
        .with_synonyms(synonyms())
        .with_result(json!({"type": "object"}));
        Self {
            metadata,
            sandbox: config.files.clone(),
        }
    }
}

fn kind_name(kind: &notify::EventKind) -> &'static str {
    use notify::event::{EventKind, ModifyKind};
    match kind {
        EventKind::Create(_) => "create",
        EventKind::Modify(ModifyKind::Name(_)) => "rename",
        EventKind::Modify(_) => "modify",
        EventKind::Remove(_) => "remove",
        EventKind::Access(_) => "access",
        EventKind::Any | EventKind::Other => "other",
    }
}

#[async_trait]
impl Tool for FileWatcherTool {
    fn metadata(&self) -> &ToolMetadata {
        &self.metadata
    }

    async fn execute(&self, params: Value, _ctx: &ToolContext) -> Result<Value> {
        let p: Params = decode(NAME, params)?;
        let duration = match &p.duration_ms {
            Some(ms) => millis(
                NAME,
                "duration_ms",
                ms,
                Duration::from_millis(MAX_DURATION_MS),
            )?,
            None => Duration::from_secs(1),
        };
        let path = self.sandbox.resolve(NAME, &p.path)?;
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
        // The watcher's callback runs on notify's thread; it only forwards.
        let mut watcher =
            notify::recommended_watcher(move |event: notify::Result<notify::Event>| {
                let _ = tx.send(event);
            })
            .map_err(|e| ToolError::execution(NAME, format!("cannot start watching: {e}")))?;
        let mode = if p.recursive {
            RecursiveMode::Recursive
        } else {
            RecursiveMode::NonRecursive
        };
        watcher
            .watch(&path, mode)
            .map_err(|e| ToolError::execution(NAME, format!("cannot watch {}: {e}", p.path)))?;
        let mut events = Vec::new();
        let mut errors = Vec::new();
        let deadline = tokio::time::Instant::now() + duration;
        while events.len() < p.max_events {
            match tokio::time::timeout_at(deadline, rx.recv()).await {
                Ok(Some(Ok(event))) => {
                    let paths: Vec<String> = event
                        .paths
                        .iter()
                        .filter(|p| self.sandbox.contains(p))
                        .map(|p: &PathBuf| p.display().to_string())
                        .collect();
                    events.push(json!({"kind": kind_name(&event.kind), "paths": paths}));
                }
                Ok(Some(Err(e))) => errors.push(e.to_string()),
                Ok(None) | Err(_) => break,
            }
        }
        drop(watcher);
        Ok(json!({
            "path": path.display().to_string(),
            "events": events,
            "errors": errors,
            "truncated": events.len() >= p.max_events,
        }))
    }
}

/// The names rs-llmspell's scripts use (see `Synonyms`).
fn synonyms() -> Synonyms {
    Synonyms::new().parameter("timeout_ms", "duration_ms")
}
