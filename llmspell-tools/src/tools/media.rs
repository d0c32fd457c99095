//! The media tools (feature `media`): `image_processor`, `audio_processor`,
//! `video_processor`, and what they share: input files from the file
//! roots, size-checked before they are read.

mod audio;
mod image;
mod video;

use std::path::PathBuf;

pub use audio::AudioProcessorTool;
pub use image::ImageProcessorTool;
pub use video::VideoProcessorTool;

use serde_json::{json, Value};

use crate::{FileSandbox, Result, SecurityLevel, Synonyms, ToolCategory, ToolError, ToolMetadata};

/// The metadata every media tool has: category `media`, security level
/// `Restricted`, the given parameter schema and synonyms, an object result.
pub(super) fn media_metadata(
    name: &str,
    description: &str,
    parameters: Value,
    synonyms: Synonyms,
) -> ToolMetadata {
    ToolMetadata::new(name, description, ToolCategory::Custom("media".to_owned()))
        .with_security_level(SecurityLevel::Restricted)
        .with_parameters(parameters)
        .with_synonyms(synonyms)
        .with_result(json!({"type": "object"}))
}

/// The synonyms every media tool accepts (rs-llmspell names): `input` for
/// `path`, `target_path` for `output_path`, the operation `info` for
/// `metadata`. Tools add their own after these.
pub(super) fn media_synonyms() -> Synonyms {
    Synonyms::new()
        .parameter("input", "path")
        .parameter("target_path", "output_path")
        .value("operation", "info", "metadata")
}

/// The parameter schema of a media tool with two operations: `metadata`
/// and `writer`, which writes `output_path` (required for it; described
/// by `output_description`). `extra` properties follow `output_path`.
pub(super) fn two_operation_schema(writer: &str, output_description: &str, extra: Value) -> Value {
    let mut properties = json!({
        "operation": {"enum": ["metadata", writer]},
        "path": {"type": "string", "minLength": 1},
        "output_path": {"type": "string", "minLength": 1, "description": output_description}
    });
    if let (Value::Object(properties), Value::Object(extra)) = (&mut properties, extra) {
        properties.extend(extra);
    }
    json!({
        "type": "object",
        "properties": properties,
        "required": ["operation", "path"],
        "additionalProperties": false,
        "if": {"properties": {"operation": {"const": writer}}},
        "then": {"required": ["output_path"]}
    })
}

/// A media file to read: inside the roots, a regular file, at most
/// `limit` bytes.
pub(super) async fn input_file(
    tool: &str,
    files: &FileSandbox,
    path: &str,
    limit: u64,
) -> Result<PathBuf> {
    let resolved = files.resolve(tool, path)?;
    let meta = tokio::fs::metadata(&resolved)
        .await
        .map_err(|e| ToolError::io(tool, format!("reading {path}"), e))?;
    if !meta.is_file() {
        return Err(ToolError::invalid_parameter(
            tool,
            "path",
            format!("`{path}` is not a file"),
        ));
    }
    if meta.len() > limit {
        return Err(ToolError::policy(
            tool,
            crate::config::rule::FILE_TOO_LARGE,
            format!(
                "`{path}` has {} bytes, more than the {limit} allowed (max_file_bytes)",
                meta.len()
            ),
        ));
    }
    Ok(resolved)
}

/// The file name extension of `path`, lower case.
pub(super) fn extension(path: &std::path::Path) -> Option<String> {
    path.extension()
        .map(|e| e.to_string_lossy().to_ascii_lowercase())
}

/// The first directory on `PATH` holding an executable `program`.
pub(super) fn on_path(program: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(program))
        .find(|candidate| candidate.is_file())
}
