//! `base64_encoder`: Base64 encoding and decoding.

use std::borrow::Cow;

use async_trait::async_trait;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};
use base64::Engine as _;
use serde::Deserialize;
use serde_json::{json, Value};

use crate::params::{decode, decode_ref};
use crate::{Result, Synonyms, Tool, ToolCategory, ToolContext, ToolError, ToolMetadata};

const NAME: &str = "base64_encoder";
/// Inputs up to this many bytes are converted inline.
const INLINE_LIMIT: usize = 1 << 20;

/// Encodes text to Base64 and decodes Base64 (standard or URL-safe alphabet,
/// with or without padding). Decoded bytes that are not UTF-8 are returned
/// as hex.
#[derive(Debug)]
pub struct Base64EncoderTool {
    metadata: ToolMetadata,
}

#[derive(Deserialize)]
#[serde(rename_all = "snake_case")]
enum Operation {
    Encode,
    Decode,
}

#[derive(Deserialize)]
#[serde(rename_all = "snake_case")]
enum Variant {
    Standard,
    UrlSafe,
}

/// The parameters; `input` points into a borrowed parameter object
/// (`execute_ref`) or is the owned object's string, moved (`execute`).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Params<'a> {
    operation: Operation,
    #[serde(borrow)]
    input: Cow<'a, str>,
    #[serde(default = "standard")]
    variant: Variant,
    #[serde(default = "yes")]
    padding: bool,
}

fn standard() -> Variant {
    Variant::Standard
}

fn yes() -> bool {
    true
}

impl Default for Base64EncoderTool {
    fn default() -> Self {
        Self::new()
    }
}

impl Base64EncoderTool {
    /// The tool.
    #[must_use]
    pub fn new() -> Self {
        let metadata = ToolMetadata::new(
            NAME,
            "Encode text to Base64 or decode Base64 to text (hex if the bytes are not UTF-8).",
            ToolCategory::Utility,
        )
        .with_parameters(json!({
            "type": "object",
            "properties": {
                "operation": {"enum": ["encode", "decode"]},
                "input": {"type": "string"},
                "variant": {"enum": ["standard", "url_safe"], "default": "standard"},
                "padding": {"type": "boolean", "default": true}
            },
            "required": ["operation", "input"],
            "additionalProperties": false
        }))
        .with_synonyms(synonyms())
        .with_result(json!({
            "type": "object",
            "properties": {
                "output": {"type": "string"},
                "encoding": {"enum": ["base64", "utf8", "hex"]}
            },
            "required": ["output", "encoding"]
        }));
        Self { metadata }
    }
}

#[async_trait]
impl Tool for Base64EncoderTool {
    fn metadata(&self) -> &ToolMetadata {
        &self.metadata
    }

    async fn execute(&self, params: Value, _ctx: &ToolContext) -> Result<Value> {
        let p: Params<'static> = decode(NAME, params)?;
        run(p).await
    }

    /// Converts the borrowed input in place (no copy of it, up to the
    /// inline limit); the same result as `execute`.
    async fn execute_ref(&self, params: &Value, _ctx: &ToolContext) -> Result<Value> {
        let p: Params<'_> = decode_ref(NAME, params)?;
        run(p).await
    }
}

/// Converts inline, or (long inputs, owned for the hand-over) on a worker
/// thread so that the timeout holds.
async fn run(p: Params<'_>) -> Result<Value> {
    if p.input.len() <= INLINE_LIMIT {
        return convert(p);
    }
    let p = Params {
        operation: p.operation,
        input: Cow::<'static, str>::Owned(p.input.into_owned()),
        variant: p.variant,
        padding: p.padding,
    };
    crate::blocking::run(NAME, move |_| convert(p)).await
}

/// Encodes or decodes.
fn convert(p: Params<'_>) -> Result<Value> {
    let engine = match (p.variant, p.padding) {
        (Variant::Standard, true) => &STANDARD,
        (Variant::Standard, false) => &STANDARD_NO_PAD,
        (Variant::UrlSafe, true) => &URL_SAFE,
        (Variant::UrlSafe, false) => &URL_SAFE_NO_PAD,
    };
    match p.operation {
        Operation::Encode => {
            Ok(json!({"output": engine.encode(p.input.as_bytes()), "encoding": "base64"}))
        }
        Operation::Decode => {
            let bytes = engine.decode(p.input.trim()).map_err(|e| {
                ToolError::invalid_parameter(NAME, "input", format!("not valid Base64: {e}"))
            })?;
            Ok(match String::from_utf8(bytes) {
                Ok(text) => json!({"output": text, "encoding": "utf8"}),
                Err(e) => json!({"output": hex::encode(e.into_bytes()), "encoding": "hex"}),
            })
        }
    }
}

/// The names rs-llmspell's scripts use (see `Synonyms`).
fn synonyms() -> Synonyms {
    Synonyms::new()
        .parameter("data", "input")
        .value("variant", "url-safe", "url_safe")
        .value("variant", "urlsafe", "url_safe")
}
