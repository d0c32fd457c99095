//! `file_operations`: read, write and manage files inside the sandbox.

use std::path::Path;

use async_trait::async_trait;
use serde::Deserialize;
use serde_json::{json, Value};

use crate::config::rule;
use crate::params::decode;
use crate::{
    FileSandbox, Result, SecurityLevel, Synonyms, Tool, ToolCategory, ToolContext, ToolError,
    ToolMetadata, ToolsConfig,
};

const NAME: &str = "file_operations";
/// Most entries `list` returns.
const MAX_LIST: usize = 10_000;

/// File operations confined to the configured roots: `read`, `write`,
/// `append`, `delete`, `copy`, `move`, `mkdir`, `list`, `exists`,
/// `metadata`. Paths with `..`, and paths whose symlinks lead outside the
/// roots, are refused. Reads are capped at the configured file size.
#[derive(Debug)]
pub struct FileOperationsTool {
    metadata: ToolMetadata,
    sandbox: FileSandbox,
    max_file_bytes: u64,
}

#[derive(Deserialize)]
#[serde(rename_all = "snake_case")]
enum Operation {
    Read,
    Write,
    Append,
    Delete,
    Copy,
    Move,
    Mkdir,
    List,
    Exists,
    Metadata,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Params {
    operation: Operation,
    path: String,
    content: Option<String>,
    destination: Option<String>,
    #[serde(default)]
    recursive: bool,
    #[serde(default)]
    create_dirs: bool,
}

impl FileOperationsTool {
    /// The tool, confined to `config.files`.
    #[must_use]
    pub fn new(config: &ToolsConfig) -> Self {
        let metadata = ToolMetadata::new(
            NAME,
            "Read, write, append, delete, copy, move, list and inspect files and directories \
             inside the allowed roots.",
            ToolCategory::Filesystem,
        )
        .with_security_level(SecurityLevel::Restricted)
        .with_parameters(json!({
            "type": "object",
            "properties": {
                "operation": {"enum": ["read", "write", "append", "delete", "copy", "move",
                                       "mkdir", "list", "exists", "metadata"]},
                "path": {"type": "string", "minLength": 1},
                "content": {"type": "string"},
                "destination": {"type": "string", "minLength": 1},
                "recursive": {"type": "boolean", "default": false},
                "create_dirs": {"type": "boolean", "default": false}
            },
            "required": ["operation", "path"],
            "additionalProperties": false,
            "allOf": [
                {"if": {"properties": {"operation": {"enum": ["write", "append"]}}},
                 "then": {"required": ["content"]}},
                {"if": {"properties": {"operation": {"enum": ["copy", "move"]}}},
                 "then": {"required": ["destination"]}}
            ]
        }))
        .with_synonyms(synonyms())
        .with_result(json!({"type": "object"}));
        Self {
            metadata,
            sandbox: config.files.clone(),
            max_file_bytes: config.file_limit(),
        }
    }
}

fn io(context: String) -> impl FnOnce(std::io::Error) -> ToolError {
    move |e| ToolError::io(NAME, context, e)
}

fn required<'a>(value: Option<&'a String>, name: &str, op: &str) -> Result<&'a str> {
    value
        .map(String::as_str)
        .ok_or_else(|| ToolError::invalid_parameter(NAME, name, format!("required for `{op}`")))
}

fn kind_of(meta: &std::fs::Metadata) -> &'static str {
    if meta.file_type().is_symlink() {
        "symlink"
    } else if meta.is_dir() {
        "directory"
    } else {
        "file"
    }
}

fn describe(path: &Path, meta: &std::fs::Metadata) -> Value {
    let modified = meta
        .modified()
        .ok()
        .map(|t| chrono::DateTime::<chrono::Utc>::from(t).to_rfc3339());
    json!({
        "path": path.display().to_string(),
        "type": kind_of(meta),
        "size": meta.len(),
        "readonly": meta.permissions().readonly(),
        "modified": modified,
    })
}

#[async_trait]
impl Tool for FileOperationsTool {
    fn metadata(&self) -> &ToolMetadata {
        &self.metadata
    }

    async fn execute(&self, params: Value, _ctx: &ToolContext) -> Result<Value> {
        let p: Params = decode(NAME, params)?;
        let sb = &self.sandbox;
        match p.operation {
            Operation::Read => {
                let path = sb.resolve(NAME, &p.path)?;
                let meta = tokio::fs::metadata(&path)
                    .await
                    .map_err(io(format!("reading {}", p.path)))?;
                if meta.len() > self.max_file_bytes {
                    return Err(ToolError::policy(
                        NAME,
                        rule::FILE_TOO_LARGE,
                        format!(
                            "`{}` is {} bytes, over the {}-byte read limit",
                            p.path,
                            meta.len(),
                            self.max_file_bytes
                        ),
                    ));
                }
                let bytes = tokio::fs::read(&path)
                    .await
                    .map_err(io(format!("reading {}", p.path)))?;
                let content = String::from_utf8(bytes).map_err(|_| {
                    ToolError::execution(NAME, format!("`{}` is not UTF-8 text", p.path))
                })?;
                Ok(
                    json!({"path": path.display().to_string(), "content": content, "size": meta.len()}),
                )
            }
            Operation::Write | Operation::Append => {
                let content = required(p.content.as_ref(), "content", "write")?;
                let path = sb.resolve(NAME, &p.path)?;
                if p.create_dirs {
                    if let Some(parent) = path.parent() {
                        tokio::fs::create_dir_all(parent)
                            .await
                            .map_err(io(format!("creating parents of {}", p.path)))?;
                    }
                }
                let append = matches!(p.operation, Operation::Append);
                let mut options = tokio::fs::OpenOptions::new();
                options.create(true);
                if append {
                    options.append(true);
                } else {
                    options.write(true).truncate(true);
                }
                let mut file = options
                    .open(&path)
                    .await
                    .map_err(io(format!("opening {}", p.path)))?;
                tokio::io::AsyncWriteExt::write_all(&mut file, content.as_bytes())
                    .await
                    .map_err(io(format!("writing {}", p.path)))?;
                tokio::io::AsyncWriteExt::flush(&mut file)
                    .await
                    .map_err(io(format!("writing {}", p.path)))?;
                Ok(json!({"path": path.display().to_string(), "bytes_written": content.len()}))
            }
            Operation::Delete => {
                let path = sb.resolve_entry(NAME, &p.path)?;
                if sb.roots().iter().any(|r| r == &path) {
                    return Err(ToolError::policy(
                        NAME,
                        rule::ROOT_PROTECTED,
                        "a sandbox root cannot be deleted",
                    ));
                }
                let meta = tokio::fs::symlink_metadata(&path)
                    .await
                    .map_err(io(format!("deleting {}", p.path)))?;
                if meta.is_dir() {
                    if p.recursive {
                        tokio::fs::remove_dir_all(&path).await
                    } else {
                        tokio::fs::remove_dir(&path).await
                    }
                } else {
                    tokio::fs::remove_file(&path).await
                }
                .map_err(io(format!(
                    "deleting {} (directories need `recursive` unless empty)",
                    p.path
                )))?;
                Ok(json!({"path": path.display().to_string(), "deleted": true}))
            }
            Operation::Copy => {
                let dest = required(p.destination.as_ref(), "destination", "copy")?;
                let from = sb.resolve(NAME, &p.path)?;
                let to = sb.resolve(NAME, dest)?;
                let bytes = tokio::fs::copy(&from, &to)
                    .await
                    .map_err(io(format!("copying {} to {dest}", p.path)))?;
                Ok(
                    json!({"from": from.display().to_string(), "to": to.display().to_string(), "bytes": bytes}),
                )
            }
            Operation::Move => {
                let dest = required(p.destination.as_ref(), "destination", "move")?;
                let from = sb.resolve_entry(NAME, &p.path)?;
                let to = sb.resolve(NAME, dest)?;
                if sb.roots().iter().any(|r| r == &from) {
                    return Err(ToolError::policy(
                        NAME,
                        rule::ROOT_PROTECTED,
                        "a sandbox root cannot be moved",
                    ));
                }
                tokio::fs::rename(&from, &to)
                    .await
                    .map_err(io(format!("moving {} to {dest}", p.path)))?;
                Ok(json!({"from": from.display().to_string(), "to": to.display().to_string()}))
            }
            Operation::Mkdir => {
                let path = sb.resolve(NAME, &p.path)?;
                if p.recursive {
                    tokio::fs::create_dir_all(&path).await
                } else {
                    tokio::fs::create_dir(&path).await
                }
                .map_err(io(format!("creating directory {}", p.path)))?;
                Ok(json!({"path": path.display().to_string(), "created": true}))
            }
            Operation::List => {
                let path = sb.resolve(NAME, &p.path)?;
                let mut dir = tokio::fs::read_dir(&path)
                    .await
                    .map_err(io(format!("listing {}", p.path)))?;
                let mut entries = Vec::new();
                let mut truncated = false;
                while let Some(entry) = dir
                    .next_entry()
                    .await
                    .map_err(io(format!("listing {}", p.path)))?
                {
                    if entries.len() == MAX_LIST {
                        truncated = true;
                        break;
                    }
                    let meta = entry
                        .metadata()
                        .await
                        .map_err(io(format!("listing {}", p.path)))?;
                    entries.push(json!({
                        "name": entry.file_name().to_string_lossy(),
                        "type": kind_of(&meta),
                        "size": meta.len(),
                    }));
                }
                entries.sort_by(|a, b| a["name"].as_str().cmp(&b["name"].as_str()));
                Ok(
                    json!({"path": path.display().to_string(), "entries": entries, "truncated": truncated}),
                )
            }
            Operation::Exists => {
                let path = sb.resolve(NAME, &p.path)?;
                let exists = tokio::fs::try_exists(&path).await.unwrap_or(false);
                Ok(json!({"path": path.display().to_string(), "exists": exists}))
            }
            Operation::Metadata => {
                let path = sb.resolve(NAME, &p.path)?;
                let meta = tokio::fs::metadata(&path)
                    .await
                    .map_err(io(format!("inspecting {}", p.path)))?;
                Ok(describe(&path, &meta))
            }
        }
    }
}

/// The names rs-llmspell's scripts use (see `Synonyms`).
fn synonyms() -> Synonyms {
    Synonyms::new()
        .parameter("input", "content")
        .parameter("source_path", "path")
        .parameter("target_path", "destination")
        .value("operation", "create_dir", "mkdir")
        .value("operation", "remove", "delete")
}
