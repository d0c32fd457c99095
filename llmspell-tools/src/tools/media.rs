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

use crate::{FileSandbox, Result, ToolError};

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
