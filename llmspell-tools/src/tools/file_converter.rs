//! `file_converter`: text encoding, line ending and indentation conversion
//! (encoding_rs).

use async_trait::async_trait;
use encoding_rs::Encoding;
use serde::Deserialize;
use serde_json::{json, Value};

use crate::config::rule;
use crate::params::decode;
use crate::{
    FileSandbox, Result, SecurityLevel, Synonyms, Tool, ToolCategory, ToolContext, ToolError,
    ToolMetadata, ToolsConfig,
};

const NAME: &str = "file_converter";

/// Converts a text file inside the roots between character encodings (any
/// WHATWG label: `utf-8`, `utf-16le`, `utf-16be`, `windows-1252`,
/// `iso-8859-1`, `shift_jis`, ...), normalises line endings and expands
/// tabs; writes to `output_path` or back to `path`.
#[derive(Debug)]
pub struct FileConverterTool {
    metadata: ToolMetadata,
    sandbox: FileSandbox,
    max_file_bytes: u64,
}

#[derive(Deserialize, Clone, Copy)]
#[serde(rename_all = "snake_case")]
enum LineEndings {
    Keep,
    Lf,
    Crlf,
    Cr,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Params {
    path: String,
    output_path: Option<String>,
    #[serde(default = "utf8")]
    from_encoding: String,
    #[serde(default = "utf8")]
    to_encoding: String,
    #[serde(default = "keep")]
    line_endings: LineEndings,
    tabs_to_spaces: Option<usize>,
    #[serde(default)]
    trim_trailing_whitespace: bool,
}

fn utf8() -> String {
    "utf-8".to_owned()
}
fn keep() -> LineEndings {
    LineEndings::Keep
}

impl FileConverterTool {
    /// The tool, confined to `config.files`.
    #[must_use]
    pub fn new(config: &ToolsConfig) -> Self {
        let metadata = ToolMetadata::new(
            NAME,
            "Convert a text file's character encoding, line endings (lf, crlf, cr) and tabs \
             to spaces, inside the allowed roots.",
            ToolCategory::Filesystem,
        )
        .with_security_level(SecurityLevel::Restricted)
        .with_parameters(json!({
            "type": "object",
            "properties": {
                "path": {"type": "string", "minLength": 1},
                "output_path": {"type": "string", "minLength": 1},
                "from_encoding": {"type": "string", "default": "utf-8"},
                "to_encoding": {"type": "string", "default": "utf-8"},
                "line_endings": {"enum": ["keep", "lf", "crlf", "cr"], "default": "keep"},
                "tabs_to_spaces": {"type": "integer", "minimum": 1, "maximum": 16},
                "trim_trailing_whitespace": {"type": "boolean", "default": false}
            },
            "required": ["path"],
            "additionalProperties": false
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

fn encoding(label: &str, parameter: &str) -> Result<&'static Encoding> {
    Encoding::for_label(label.trim().as_bytes()).ok_or_else(|| {
        ToolError::invalid_parameter(
            NAME,
            parameter,
            format!("`{label}` is not a known encoding label (e.g. utf-8, utf-16le, windows-1252)"),
        )
    })
}

fn encode(text: &str, to: &'static Encoding) -> (Vec<u8>, bool) {
    // encoding_rs only decodes UTF-16; encode it here.
    if to == encoding_rs::UTF_16LE {
        return (
            text.encode_utf16().flat_map(u16::to_le_bytes).collect(),
            false,
        );
    }
    if to == encoding_rs::UTF_16BE {
        return (
            text.encode_utf16().flat_map(u16::to_be_bytes).collect(),
            false,
        );
    }
    let (bytes, _, unmappable) = to.encode(text);
    (bytes.into_owned(), unmappable)
}

#[async_trait]
impl Tool for FileConverterTool {
    fn metadata(&self) -> &ToolMetadata {
        &self.metadata
    }

    async fn execute(&self, params: Value, _ctx: &ToolContext) -> Result<Value> {
        let p: Params = decode(NAME, params)?;
        let from = encoding(&p.from_encoding, "from_encoding")?;
        let to = encoding(&p.to_encoding, "to_encoding")?;
        let input = self.sandbox.resolve(NAME, &p.path)?;
        let output = match &p.output_path {
            Some(out) => self.sandbox.resolve(NAME, out)?,
            None => input.clone(),
        };
        let meta = tokio::fs::metadata(&input)
            .await
            .map_err(|e| ToolError::io(NAME, format!("reading {}", p.path), e))?;
        if meta.len() > self.max_file_bytes {
            return Err(ToolError::policy(
                NAME,
                rule::FILE_TOO_LARGE,
                format!(
                    "`{}` is over the {}-byte limit",
                    p.path, self.max_file_bytes
                ),
            ));
        }
        let bytes = tokio::fs::read(&input)
            .await
            .map_err(|e| ToolError::io(NAME, format!("reading {}", p.path), e))?;
        let (text, detected, malformed) = from.decode(&bytes);
        let mut text = text.into_owned();
        if let Some(width) = p.tabs_to_spaces {
            text = text.replace('\t', &" ".repeat(width));
        }
        if p.trim_trailing_whitespace {
            let ends_with_newline = text.ends_with('\n');
            text = text
                .split('\n')
                .map(|l| {
                    let trimmed = l.trim_end_matches([' ', '\t']);
                    if l.ends_with('\r') && !trimmed.ends_with('\r') {
                        format!("{trimmed}\r")
                    } else {
                        trimmed.to_owned()
                    }
                })
                .collect::<Vec<_>>()
                .join("\n");
            if ends_with_newline && !text.ends_with('\n') {
                text.push('\n');
            }
        }
        let normalised = text.replace("\r\n", "\n").replace('\r', "\n");
        let text = match p.line_endings {
            LineEndings::Keep => text,
            LineEndings::Lf => normalised,
            LineEndings::Crlf => normalised.replace('\n', "\r\n"),
            LineEndings::Cr => normalised.replace('\n', "\r"),
        };
        let (out_bytes, unmappable) = encode(&text, to);
        tokio::fs::write(&output, &out_bytes)
            .await
            .map_err(|e| ToolError::io(NAME, "writing the output", e))?;
        Ok(json!({
            "path": input.display().to_string(),
            "output_path": output.display().to_string(),
            "from_encoding": detected.name(),
            "to_encoding": to.name(),
            "bytes_read": bytes.len(),
            "bytes_written": out_bytes.len(),
            "malformed_input": malformed,
            "unmappable_characters": unmappable,
        }))
    }
}

/// The names rs-llmspell's scripts use (see `Synonyms`).
fn synonyms() -> Synonyms {
    Synonyms::new()
        .parameter("target_path", "output_path")
        .parameter("line_ending", "line_endings")
}
