//! `hash_calculator`: MD5, SHA-1, SHA-256, SHA-512 and BLAKE3 digests.

use std::borrow::Cow;

use async_trait::async_trait;
use base64::Engine as _;
use serde::Deserialize;
use serde_json::{json, Value};
use sha2::Digest as _;

use crate::params::{decode, decode_ref};
use crate::{Result, Synonyms, Tool, ToolCategory, ToolContext, ToolError, ToolMetadata};

const NAME: &str = "hash_calculator";
/// Inputs up to this many bytes are hashed inline.
const INLINE_LIMIT: usize = 1 << 20;

/// Hashes text (or Base64/hex-encoded bytes) and verifies a hash against an
/// expected hex digest. MD5 and SHA-1 are offered for checksums only: they
/// are broken for security purposes.
#[derive(Debug)]
pub struct HashCalculatorTool {
    metadata: ToolMetadata,
}

#[derive(Deserialize, Clone, Copy)]
#[serde(rename_all = "snake_case")]
enum Algorithm {
    Md5,
    Sha1,
    Sha256,
    Sha512,
    Blake3,
}

#[derive(Deserialize)]
#[serde(rename_all = "snake_case")]
enum Operation {
    Hash,
    Verify,
}

#[derive(Deserialize)]
#[serde(rename_all = "snake_case")]
enum InputEncoding {
    Utf8,
    Base64,
    Hex,
}

/// The parameters; `input` points into a borrowed parameter object
/// (`execute_ref`) or is the owned object's string, moved (`execute`):
/// never a copy.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Params<'a> {
    #[serde(default = "hash")]
    operation: Operation,
    #[serde(default = "sha256")]
    algorithm: Algorithm,
    #[serde(borrow)]
    input: Cow<'a, str>,
    #[serde(default = "utf8")]
    input_encoding: InputEncoding,
    expected: Option<String>,
}

fn hash() -> Operation {
    Operation::Hash
}
fn sha256() -> Algorithm {
    Algorithm::Sha256
}
fn utf8() -> InputEncoding {
    InputEncoding::Utf8
}

impl Default for HashCalculatorTool {
    fn default() -> Self {
        Self::new()
    }
}

impl HashCalculatorTool {
    /// The tool.
    #[must_use]
    pub fn new() -> Self {
        let metadata = ToolMetadata::new(
            NAME,
            "Compute an MD5, SHA-1, SHA-256, SHA-512 or BLAKE3 digest, or verify one.",
            ToolCategory::Utility,
        )
        .with_parameters(json!({
            "type": "object",
            "properties": {
                "operation": {"enum": ["hash", "verify"], "default": "hash"},
                "algorithm": {"enum": ["md5", "sha1", "sha256", "sha512", "blake3"], "default": "sha256"},
                "input": {"type": "string"},
                "input_encoding": {"enum": ["utf8", "base64", "hex"], "default": "utf8"},
                "expected": {"type": "string", "pattern": "^[0-9a-fA-F]+$"}
            },
            "required": ["input"],
            "additionalProperties": false,
            "if": {"properties": {"operation": {"const": "verify"}}, "required": ["operation"]},
            "then": {"required": ["expected"]}
        }))
        .with_synonyms(synonyms())
        .with_result(json!({
            "type": "object",
            "properties": {
                "algorithm": {"type": "string"},
                "hash": {"type": "string"},
                "matches": {"type": "boolean"}
            },
            "required": ["algorithm", "hash"]
        }));
        Self { metadata }
    }
}

fn digest(algorithm: Algorithm, bytes: &[u8]) -> (&'static str, String) {
    match algorithm {
        Algorithm::Md5 => ("md5", hex::encode(md5::Md5::digest(bytes))),
        Algorithm::Sha1 => ("sha1", hex::encode(sha1::Sha1::digest(bytes))),
        Algorithm::Sha256 => ("sha256", hex::encode(sha2::Sha256::digest(bytes))),
        Algorithm::Sha512 => ("sha512", hex::encode(sha2::Sha512::digest(bytes))),
        Algorithm::Blake3 => ("blake3", blake3::hash(bytes).to_hex().to_string()),
    }
}

#[async_trait]
impl Tool for HashCalculatorTool {
    fn metadata(&self) -> &ToolMetadata {
        &self.metadata
    }

    async fn execute(&self, params: Value, _ctx: &ToolContext) -> Result<Value> {
        let p: Params<'static> = decode(NAME, params)?;
        run(p).await
    }

    /// Hashes the borrowed input in place (no copy of it, up to the inline
    /// limit); the same result as `execute`.
    async fn execute_ref(&self, params: &Value, _ctx: &ToolContext) -> Result<Value> {
        let p: Params<'_> = decode_ref(NAME, params)?;
        run(p).await
    }
}

/// Hashes inline, or (long inputs, owned for the hand-over) on a worker
/// thread so that the timeout holds.
async fn run(p: Params<'_>) -> Result<Value> {
    if p.input.len() <= INLINE_LIMIT {
        return compute(p);
    }
    let p = Params {
        operation: p.operation,
        algorithm: p.algorithm,
        input: Cow::<'static, str>::Owned(p.input.into_owned()),
        input_encoding: p.input_encoding,
        expected: p.expected,
    };
    crate::blocking::run(NAME, move |_| compute(p)).await
}

/// Decodes and hashes.
fn compute(p: Params<'_>) -> Result<Value> {
    let bytes: Cow<'_, [u8]> =
        match p.input_encoding {
            InputEncoding::Utf8 => Cow::Borrowed(p.input.as_bytes()),
            InputEncoding::Base64 => Cow::Owned(
                base64::engine::general_purpose::STANDARD
                    .decode(p.input.trim())
                    .map_err(|e| {
                        ToolError::invalid_parameter(NAME, "input", format!("not Base64: {e}"))
                    })?,
            ),
            InputEncoding::Hex => Cow::Owned(hex::decode(p.input.trim()).map_err(|e| {
                ToolError::invalid_parameter(NAME, "input", format!("not hex: {e}"))
            })?),
        };
    let (name, hash) = digest(p.algorithm, &bytes);
    match p.operation {
        Operation::Hash => Ok(json!({"algorithm": name, "hash": hash})),
        Operation::Verify => {
            let expected = p.expected.ok_or_else(|| {
                ToolError::invalid_parameter(NAME, "expected", "required for `verify`")
            })?;
            let matches = expected.eq_ignore_ascii_case(&hash);
            Ok(json!({"algorithm": name, "hash": hash, "matches": matches}))
        }
    }
}

/// The names rs-llmspell's scripts use (see `Synonyms`).
fn synonyms() -> Synonyms {
    Synonyms::new()
        .parameter("data", "input")
        .parameter("expected_hash", "expected")
        .value("operation", "calculate", "hash")
}
