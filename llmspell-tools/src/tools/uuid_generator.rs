//! `uuid_generator`: UUID v4 / v5 / v7 generation and parsing.

use async_trait::async_trait;
use serde::Deserialize;
use serde_json::{json, Value};
use uuid::Uuid;

use crate::params::decode;
use crate::{Result, Synonyms, Tool, ToolCategory, ToolContext, ToolError, ToolMetadata};

const NAME: &str = "uuid_generator";
/// Most UUIDs one call may generate.
const MAX_COUNT: usize = 1000;

/// Generates UUIDs (random v4, time-ordered v7, name-based v5) in several
/// text formats, and parses/validates UUID strings.
#[derive(Debug)]
pub struct UuidGeneratorTool {
    metadata: ToolMetadata,
}

#[derive(Deserialize)]
#[serde(rename_all = "snake_case")]
enum Operation {
    Generate,
    Parse,
}

#[derive(Deserialize, Clone, Copy)]
#[serde(rename_all = "snake_case")]
enum Version {
    V4,
    V5,
    V7,
}

#[derive(Deserialize, Clone, Copy)]
#[serde(rename_all = "snake_case")]
enum Format {
    Hyphenated,
    Simple,
    Urn,
    Braced,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Params {
    #[serde(default = "generate")]
    operation: Operation,
    #[serde(default = "v4")]
    version: Version,
    #[serde(default = "one")]
    count: usize,
    #[serde(default = "hyphenated")]
    format: Format,
    namespace: Option<String>,
    name: Option<String>,
    input: Option<String>,
}

fn generate() -> Operation {
    Operation::Generate
}
fn v4() -> Version {
    Version::V4
}
fn one() -> usize {
    1
}
fn hyphenated() -> Format {
    Format::Hyphenated
}

impl Default for UuidGeneratorTool {
    fn default() -> Self {
        Self::new()
    }
}

impl UuidGeneratorTool {
    /// The tool.
    #[must_use]
    pub fn new() -> Self {
        let metadata = ToolMetadata::new(
            NAME,
            "Generate UUIDs (v4 random, v7 time-ordered, v5 name-based) or parse one.",
            ToolCategory::Utility,
        )
        .with_parameters(json!({
            "type": "object",
            "properties": {
                "operation": {"enum": ["generate", "parse"], "default": "generate"},
                "version": {"enum": ["v4", "v5", "v7"], "default": "v4"},
                "count": {"type": "integer", "minimum": 1, "maximum": MAX_COUNT, "default": 1},
                "format": {"enum": ["hyphenated", "simple", "urn", "braced"], "default": "hyphenated"},
                "namespace": {"type": "string", "description": "dns, url, oid, x500 or a UUID (v5)"},
                "name": {"type": "string", "description": "the name hashed by v5"},
                "input": {"type": "string", "description": "the UUID to parse"}
            },
            "additionalProperties": false,
            "allOf": [
                {"if": {"properties": {"version": {"const": "v5"}}, "required": ["version"]},
                 "then": {"required": ["namespace", "name"]}},
                {"if": {"properties": {"operation": {"const": "parse"}}, "required": ["operation"]},
                 "then": {"required": ["input"]}}
            ]
        }))
        .with_synonyms(synonyms())
        .with_result(json!({"type": "object"}));
        Self { metadata }
    }
}

fn render(id: Uuid, format: Format) -> String {
    match format {
        Format::Hyphenated => id.hyphenated().to_string(),
        Format::Simple => id.simple().to_string(),
        Format::Urn => id.urn().to_string(),
        Format::Braced => id.braced().to_string(),
    }
}

fn namespace(raw: &str) -> Result<Uuid> {
    Ok(match raw {
        "dns" => Uuid::NAMESPACE_DNS,
        "url" => Uuid::NAMESPACE_URL,
        "oid" => Uuid::NAMESPACE_OID,
        "x500" => Uuid::NAMESPACE_X500,
        other => Uuid::parse_str(other).map_err(|e| {
            ToolError::invalid_parameter(
                NAME,
                "namespace",
                format!("`{other}` is not dns, url, oid, x500 or a UUID: {e}"),
            )
        })?,
    })
}

#[async_trait]
impl Tool for UuidGeneratorTool {
    fn metadata(&self) -> &ToolMetadata {
        &self.metadata
    }

    async fn execute(&self, params: Value, _ctx: &ToolContext) -> Result<Value> {
        let p: Params = decode(NAME, params)?;
        match p.operation {
            Operation::Parse => {
                let input = p.input.ok_or_else(|| {
                    ToolError::invalid_parameter(NAME, "input", "required for `parse`")
                })?;
                Ok(match Uuid::parse_str(input.trim()) {
                    Ok(id) => json!({
                        "valid": true,
                        "uuid": id.hyphenated().to_string(),
                        "version": id.get_version_num(),
                        "is_nil": id.is_nil(),
                    }),
                    Err(e) => json!({"valid": false, "error": e.to_string()}),
                })
            }
            Operation::Generate => {
                if p.count == 0 || p.count > MAX_COUNT {
                    return Err(ToolError::invalid_parameter(
                        NAME,
                        "count",
                        format!("must be between 1 and {MAX_COUNT}"),
                    ));
                }
                let ids: Vec<String> = match p.version {
                    Version::V4 => (0..p.count)
                        .map(|_| render(Uuid::new_v4(), p.format))
                        .collect(),
                    Version::V7 => (0..p.count)
                        .map(|_| render(Uuid::now_v7(), p.format))
                        .collect(),
                    Version::V5 => {
                        let ns = namespace(p.namespace.as_deref().ok_or_else(|| {
                            ToolError::invalid_parameter(NAME, "namespace", "required for v5")
                        })?)?;
                        let name = p.name.ok_or_else(|| {
                            ToolError::invalid_parameter(NAME, "name", "required for v5")
                        })?;
                        // v5 is deterministic: every copy is the same UUID.
                        vec![render(Uuid::new_v5(&ns, name.as_bytes()), p.format); p.count]
                    }
                };
                Ok(json!({"uuids": ids}))
            }
        }
    }
}

/// The names rs-llmspell's scripts use (see `Synonyms`).
fn synonyms() -> Synonyms {
    Synonyms::new()
        .parameter("uuid", "input")
        .value("operation", "validate", "parse")
        .value("format", "standard", "hyphenated")
        .value("version", "4", "v4")
        .value("version", "5", "v5")
        .value("version", "7", "v7")
}
