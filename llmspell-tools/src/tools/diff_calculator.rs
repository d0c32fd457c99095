//! `diff_calculator`: text diffs (similar).

use async_trait::async_trait;
use serde::Deserialize;
use serde_json::{json, Value};
use similar::{ChangeTag, TextDiff};

use crate::params::decode;
use crate::{Result, Synonyms, Tool, ToolCategory, ToolContext, ToolMetadata};

const NAME: &str = "diff_calculator";
/// Largest `old` or `new` text, in bytes.
const MAX_TEXT_BYTES: usize = 1 << 20;
/// Inputs up to this many bytes (together) are diffed inline.
const INLINE_LIMIT: usize = 64 * 1024;
/// Time the diff algorithm may search for a minimal diff.
const DIFF_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(2);

/// Computes the difference between two texts by line, word or character:
/// a unified diff, the list of changes, and counts.
#[derive(Debug)]
pub struct DiffCalculatorTool {
    metadata: ToolMetadata,
}

#[derive(Deserialize, Clone, Copy)]
#[serde(rename_all = "snake_case")]
enum Granularity {
    Line,
    Word,
    Char,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Params {
    old: String,
    new: String,
    #[serde(default = "line")]
    granularity: Granularity,
    #[serde(default = "three")]
    context_lines: usize,
    #[serde(default = "old_label")]
    old_label: String,
    #[serde(default = "new_label")]
    new_label: String,
}

fn line() -> Granularity {
    Granularity::Line
}
fn three() -> usize {
    3
}
fn old_label() -> String {
    "old".to_owned()
}
fn new_label() -> String {
    "new".to_owned()
}

impl Default for DiffCalculatorTool {
    fn default() -> Self {
        Self::new()
    }
}

impl DiffCalculatorTool {
    /// The tool.
    #[must_use]
    pub fn new() -> Self {
        let metadata = ToolMetadata::new(
            NAME,
            "Compare two texts by line, word or character; returns a unified diff, the changes \
             and counts of insertions and deletions.",
            ToolCategory::Utility,
        )
        .with_parameters(json!({
            "type": "object",
            "properties": {
                "old": {"type": "string", "maxLength": MAX_TEXT_BYTES},
                "new": {"type": "string", "maxLength": MAX_TEXT_BYTES},
                "granularity": {"enum": ["line", "word", "char"], "default": "line"},
                "context_lines": {"type": "integer", "minimum": 0, "maximum": 1000, "default": 3},
                "old_label": {"type": "string"},
                "new_label": {"type": "string"}
            },
            "required": ["old", "new"],
            "additionalProperties": false
        }))
        .with_synonyms(synonyms())
        .with_result(json!({
            "type": "object",
            "properties": {
                "identical": {"type": "boolean"},
                "unified": {"type": "string"},
                "changes": {"type": "array"},
                "stats": {"type": "object"},
                "similarity": {"type": "number"}
            },
            "required": ["identical", "unified", "changes", "stats", "similarity"]
        }));
        Self { metadata }
    }
}

#[async_trait]
impl Tool for DiffCalculatorTool {
    fn metadata(&self) -> &ToolMetadata {
        &self.metadata
    }

    async fn execute(&self, params: Value, _ctx: &ToolContext) -> Result<Value> {
        let p: Params = decode(NAME, params)?;
        for (name, text) in [("old", &p.old), ("new", &p.new)] {
            if text.len() > MAX_TEXT_BYTES {
                return Err(crate::ToolError::invalid_parameter(
                    NAME,
                    name,
                    format!("longer than {MAX_TEXT_BYTES} bytes"),
                ));
            }
        }
        // Large inputs are diffed on a worker thread (the timeout holds).
        let inline = p.old.len() + p.new.len() <= INLINE_LIMIT;
        crate::blocking::run_unless(inline, NAME, move |_| Ok(compute(&p))).await
    }
}

fn compute(p: &Params) -> Value {
    // Past the deadline the diff algorithm settles for a coarser (still
    // correct) diff instead of running on.
    let mut config = TextDiff::configure();
    config.timeout(DIFF_TIMEOUT);
    let diff = match p.granularity {
        Granularity::Line => config.diff_lines(&p.old, &p.new),
        Granularity::Word => config.diff_words(&p.old, &p.new),
        Granularity::Char => config.diff_chars(&p.old, &p.new),
    };
    let (mut insertions, mut deletions, mut unchanged) = (0usize, 0usize, 0usize);
    let mut changes = Vec::new();
    for change in diff.iter_all_changes() {
        let tag = match change.tag() {
            ChangeTag::Equal => {
                unchanged += 1;
                continue;
            }
            ChangeTag::Delete => {
                deletions += 1;
                "delete"
            }
            ChangeTag::Insert => {
                insertions += 1;
                "insert"
            }
        };
        changes.push(json!({
            "tag": tag,
            "old_index": change.old_index(),
            "new_index": change.new_index(),
            "value": change.value(),
        }));
    }
    let unified = diff
        .unified_diff()
        .context_radius(p.context_lines)
        .header(&p.old_label, &p.new_label)
        .to_string();
    json!({
        "identical": insertions == 0 && deletions == 0,
        "unified": unified,
        "changes": changes,
        "stats": {"insertions": insertions, "deletions": deletions, "unchanged": unchanged},
        "similarity": diff.ratio(),
    })
}

/// The names rs-llmspell's scripts use (see `Synonyms`).
fn synonyms() -> Synonyms {
    Synonyms::new()
        .parameter("old_text", "old")
        .parameter("new_text", "new")
}
