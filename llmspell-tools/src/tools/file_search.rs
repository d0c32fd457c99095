//! `file_search`: search file contents under a directory (walkdir, globset,
//! regex).

use std::io::Read as _;
use std::path::Path;

use async_trait::async_trait;
use serde::Deserialize;
use serde_json::{json, Value};

use crate::params::decode;
use crate::{
    FileSandbox, Result, SecurityLevel, Tool, ToolCategory, ToolContext, ToolError, ToolMetadata,
    ToolsConfig,
};

const NAME: &str = "file_search";

/// Searches the text files under a directory (inside the roots) for a
/// literal string or a regex, optionally only files whose relative path
/// matches a glob. Symlinks are not followed; binary files (a NUL byte in
/// the first 8 KiB) and files over the size limit are skipped.
#[derive(Debug)]
pub struct FileSearchTool {
    metadata: ToolMetadata,
    sandbox: FileSandbox,
    max_file_bytes: u64,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Params {
    path: String,
    pattern: String,
    #[serde(default)]
    regex: bool,
    #[serde(default = "yes")]
    case_sensitive: bool,
    glob: Option<String>,
    #[serde(default = "hundred")]
    max_results: usize,
    #[serde(default = "depth")]
    max_depth: usize,
}

fn yes() -> bool {
    true
}
fn hundred() -> usize {
    100
}
fn depth() -> usize {
    32
}

impl FileSearchTool {
    /// The tool, confined to `config.files`.
    #[must_use]
    pub fn new(config: &ToolsConfig) -> Self {
        let metadata = ToolMetadata::new(
            NAME,
            "Search text files under a directory for a string or regex; returns file, line \
             number and line for each match.",
            ToolCategory::Filesystem,
        )
        .with_security_level(SecurityLevel::Restricted)
        .with_parameters(json!({
            "type": "object",
            "properties": {
                "path": {"type": "string", "minLength": 1},
                "pattern": {"type": "string", "minLength": 1},
                "regex": {"type": "boolean", "default": false},
                "case_sensitive": {"type": "boolean", "default": true},
                "glob": {"type": "string", "description": "e.g. `**/*.rs`, matched on the relative path"},
                "max_results": {"type": "integer", "minimum": 1, "maximum": 10_000, "default": 100},
                "max_depth": {"type": "integer", "minimum": 0, "maximum": 256, "default": 32}
            },
            "required": ["path", "pattern"],
            "additionalProperties": false
        }))
        .with_result(json!({"type": "object"}));
        Self {
            metadata,
            sandbox: config.files.clone(),
            max_file_bytes: config.file_limit(),
        }
    }
}

fn is_binary(path: &Path) -> bool {
    let mut head = [0u8; 8192];
    std::fs::File::open(path)
        .and_then(|mut f| f.read(&mut head))
        .map_or(true, |n| head[..n].contains(&0))
}

#[async_trait]
impl Tool for FileSearchTool {
    fn metadata(&self) -> &ToolMetadata {
        &self.metadata
    }

    async fn execute(&self, params: Value, _ctx: &ToolContext) -> Result<Value> {
        let p: Params = decode(NAME, params)?;
        let root = self.sandbox.resolve(NAME, &p.path)?;
        let source = if p.regex {
            p.pattern.clone()
        } else {
            regex::escape(&p.pattern)
        };
        let re = regex::RegexBuilder::new(&source)
            .case_insensitive(!p.case_sensitive)
            .size_limit(1 << 20)
            .build()
            .map_err(|e| {
                ToolError::invalid_parameter(NAME, "pattern", format!("bad regex: {e}"))
            })?;
        let glob = match &p.glob {
            Some(g) => Some(
                globset::Glob::new(g)
                    .map_err(|e| {
                        ToolError::invalid_parameter(NAME, "glob", format!("bad glob: {e}"))
                    })?
                    .compile_matcher(),
            ),
            None => None,
        };
        let sandbox = self.sandbox.clone();
        let max_file_bytes = self.max_file_bytes;
        crate::blocking::run(NAME, move |cancel| {
            let mut matches = Vec::new();
            let (mut files_searched, mut skipped) = (0usize, 0usize);
            let mut truncated = false;
            'walk: for entry in walkdir::WalkDir::new(&root)
                .follow_links(false)
                .max_depth(p.max_depth)
                .sort_by_file_name()
            {
                cancel.check(NAME)?;
                let Ok(entry) = entry else {
                    skipped += 1;
                    continue;
                };
                if !entry.file_type().is_file() {
                    continue;
                }
                let path = entry.path();
                let relative = path.strip_prefix(&root).unwrap_or(path);
                if glob.as_ref().is_some_and(|g| !g.is_match(relative)) {
                    continue;
                }
                // Belt and braces: never read outside the roots.
                if !sandbox.contains(path) {
                    skipped += 1;
                    continue;
                }
                let too_big = entry.metadata().map_or(true, |m| m.len() > max_file_bytes);
                if too_big || is_binary(path) {
                    skipped += 1;
                    continue;
                }
                let Ok(text) = std::fs::read_to_string(path) else {
                    skipped += 1;
                    continue;
                };
                files_searched += 1;
                for (index, line) in text.lines().enumerate() {
                    if let Some(m) = re.find(line) {
                        if matches.len() == p.max_results {
                            truncated = true;
                            break 'walk;
                        }
                        matches.push(json!({
                            "file": relative.display().to_string(),
                            "line": index + 1,
                            "column": line[..m.start()].chars().count() + 1,
                            "text": line,
                        }));
                    }
                }
            }
            Ok(json!({
                "root": root.display().to_string(),
                "matches": matches,
                "files_searched": files_searched,
                "files_skipped": skipped,
                "truncated": truncated,
            }))
        })
        .await
    }
}
