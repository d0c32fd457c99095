//! `archive_handler`: create, list and safely extract zip, tar and tar.gz
//! archives (zip, tar, flate2).

mod extract;
mod tar_reader;

use std::fs::File;
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

use async_trait::async_trait;
use serde::Deserialize;
use serde_json::{json, Value};

use crate::blocking::{self, Cancel};
use crate::config::rule;
use crate::params::decode;
use crate::{
    ArchiveLimits, FileSandbox, Result, SecurityLevel, Synonyms, Tool, ToolCategory, ToolContext,
    ToolError, ToolMetadata, ToolsConfig,
};

const NAME: &str = "archive_handler";

/// Creates, lists and extracts zip, tar and tar.gz archives inside the
/// roots.
///
/// Extraction refuses the whole archive if any entry would land outside the
/// destination (absolute names, `..`: "zip-slip"), is a symlink or hard
/// link, or if the archive has more entries, a larger entry, or more bytes
/// in total than [`ArchiveLimits`] allow. Sizes are counted on the
/// decompressed bytes actually written, so a lying header cannot get past
/// them; tar extension headers (GNU long names, PAX records) are limited to
/// 1 MiB each before they are read. Extraction is all or nothing: entries
/// are staged inside the destination and moved into place only when every
/// one was accepted, and a failure while moving restores what was there
/// (files replaced with `overwrite` included). Refusals are
/// [`ToolError::PolicyViolation`]s naming the rule.
#[derive(Debug)]
pub struct ArchiveHandlerTool {
    metadata: ToolMetadata,
    sandbox: FileSandbox,
    limits: ArchiveLimits,
}

#[derive(Deserialize)]
#[serde(rename_all = "snake_case")]
enum Operation {
    Create,
    Extract,
    List,
}

#[derive(Deserialize, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
enum Format {
    Zip,
    Tar,
    TarGz,
}

impl Format {
    fn of(path: &str) -> Option<Self> {
        let lower = path.to_ascii_lowercase();
        if lower.ends_with(".zip") {
            Some(Self::Zip)
        } else if lower.ends_with(".tar.gz") || lower.ends_with(".tgz") {
            Some(Self::TarGz)
        } else if lower.ends_with(".tar") {
            Some(Self::Tar)
        } else {
            None
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Params {
    operation: Operation,
    path: String,
    format: Option<Format>,
    files: Option<Vec<String>>,
    destination: Option<String>,
    #[serde(default)]
    overwrite: bool,
}

impl ArchiveHandlerTool {
    /// The tool, confined to `config.files` with `config.archive` limits.
    #[must_use]
    pub fn new(config: &ToolsConfig) -> Self {
        let metadata = ToolMetadata::new(
            NAME,
            "Create, list and extract zip, tar and tar.gz archives inside the allowed roots; \
             extraction refuses path escapes, links and size bombs.",
            ToolCategory::Filesystem,
        )
        .with_security_level(SecurityLevel::Restricted)
        .with_parameters(json!({
            "type": "object",
            "properties": {
                "operation": {"enum": ["create", "extract", "list"]},
                "path": {"type": "string", "minLength": 1, "description": "the archive"},
                "format": {"enum": ["zip", "tar", "tar_gz"],
                           "description": "default: from the extension"},
                "files": {"type": "array", "items": {"type": "string", "minLength": 1}, "minItems": 1},
                "destination": {"type": "string", "minLength": 1},
                "overwrite": {"type": "boolean", "default": false}
            },
            "required": ["operation", "path"],
            "additionalProperties": false,
            "allOf": [
                {"if": {"properties": {"operation": {"const": "create"}}},
                 "then": {"required": ["files"]}},
                {"if": {"properties": {"operation": {"const": "extract"}}},
                 "then": {"required": ["destination"]}}
            ]
        }))
        .with_synonyms(synonyms())
        .with_result(json!({"type": "object"}));
        Self {
            metadata,
            sandbox: config.files.clone(),
            limits: config.archive,
        }
    }
}

fn io_err(context: impl Into<String>) -> impl FnOnce(io::Error) -> ToolError {
    let context = context.into();
    move |e| ToolError::io(NAME, context, e)
}

fn bad_archive(e: impl std::fmt::Display) -> ToolError {
    ToolError::execution(NAME, format!("cannot read the archive: {e}"))
}

fn refuse(rule: &str, detail: impl Into<String>) -> ToolError {
    ToolError::policy(NAME, rule, detail)
}

#[async_trait]
impl Tool for ArchiveHandlerTool {
    fn metadata(&self) -> &ToolMetadata {
        &self.metadata
    }

    async fn execute(&self, params: Value, _ctx: &ToolContext) -> Result<Value> {
        let p: Params = decode(NAME, params)?;
        let format = p.format.or_else(|| Format::of(&p.path)).ok_or_else(|| {
            ToolError::invalid_parameter(
                NAME,
                "format",
                "cannot tell the format from the extension; give `format`: zip, tar or tar_gz",
            )
        })?;
        let archive = self.sandbox.resolve(NAME, &p.path)?;
        let sandbox = self.sandbox.clone();
        let limits = self.limits;
        blocking::run(NAME, move |cancel| match p.operation {
            Operation::List => list(&archive, format, limits, cancel),
            Operation::Extract => {
                let dest_raw = p.destination.as_deref().ok_or_else(|| {
                    ToolError::invalid_parameter(NAME, "destination", "required for `extract`")
                })?;
                let dest = sandbox.resolve(NAME, dest_raw)?;
                let mut extraction = extract::Extraction::new(&dest, limits, p.overwrite, cancel)?;
                match format {
                    Format::Zip => stage_zip(&mut extraction, &archive, limits)?,
                    Format::Tar | Format::TarGz => stage_tar(
                        &mut extraction,
                        &archive,
                        format == Format::TarGz,
                        limits,
                        cancel,
                    )?,
                }
                let (entries, bytes) = (extraction.entries, extraction.total);
                extraction.commit()?;
                Ok(json!({
                    "destination": dest.display().to_string(),
                    "entries": entries,
                    "bytes": bytes,
                }))
            }
            Operation::Create => {
                let files = p.files.as_deref().unwrap_or_default();
                if files.is_empty() {
                    return Err(ToolError::invalid_parameter(
                        NAME,
                        "files",
                        "required for `create`",
                    ));
                }
                if !p.overwrite && archive.exists() {
                    return Err(ToolError::execution(
                        NAME,
                        format!("`{}` exists; set `overwrite` to replace it", p.path),
                    ));
                }
                let inputs = files
                    .iter()
                    .map(|f| sandbox.resolve(NAME, f))
                    .collect::<Result<Vec<_>>>()?;
                let count = create(&archive, format, &inputs)?;
                Ok(json!({"path": archive.display().to_string(), "entries": count}))
            }
        })
        .await
    }
}

fn list(archive: &Path, format: Format, limits: ArchiveLimits, cancel: &Cancel) -> Result<Value> {
    let file = File::open(archive).map_err(io_err("opening the archive"))?;
    let mut entries = Vec::new();
    let mut truncated = false;
    match format {
        Format::Zip => {
            let mut zip = zip::ZipArchive::new(file).map_err(bad_archive)?;
            for i in 0..zip.len() {
                cancel.check(NAME)?;
                if entries.len() == limits.max_entries {
                    truncated = true;
                    break;
                }
                let f = zip.by_index_raw(i).map_err(bad_archive)?;
                let kind = if f.is_dir() {
                    "directory"
                } else if f.is_symlink() {
                    "symlink"
                } else {
                    "file"
                };
                entries.push(
                    json!({"name": f.name().map_err(bad_archive)?, "size": f.size(), "type": kind}),
                );
            }
        }
        Format::Tar | Format::TarGz => {
            let mut tar = tar_reader::TarReader::new(decompressed(file, format), limits, cancel);
            tar.for_each(|member, _| {
                if entries.len() == limits.max_entries {
                    truncated = true;
                    return Ok(false);
                }
                let kind = match member.kind {
                    tar::EntryType::Directory => "directory",
                    tar::EntryType::Symlink | tar::EntryType::Link => "symlink",
                    _ => "file",
                };
                entries.push(json!({"name": member.name, "size": member.size, "type": kind}));
                Ok(true)
            })?;
        }
    }
    Ok(json!({"entries": entries, "count": entries.len(), "truncated": truncated}))
}

/// The tar stream of a `.tar` or `.tar.gz` file.
fn decompressed(file: File, format: Format) -> Box<dyn Read> {
    if format == Format::TarGz {
        Box::new(flate2::read::GzDecoder::new(file))
    } else {
        Box::new(file)
    }
}

/// Stages every entry of a zip archive, after checking all of them.
fn stage_zip(
    ex: &mut extract::Extraction<'_>,
    archive: &Path,
    limits: ArchiveLimits,
) -> Result<()> {
    let file = File::open(archive).map_err(io_err("opening the archive"))?;
    let mut zip = zip::ZipArchive::new(file).map_err(bad_archive)?;
    if zip.len() > limits.max_entries {
        return Err(refuse(
            rule::ARCHIVE_ENTRY_LIMIT,
            format!(
                "archive has {} entries, more than the limit of {}",
                zip.len(),
                limits.max_entries
            ),
        ));
    }
    // Check what the central directory declares before writing anything.
    let mut declared = 0u64;
    for i in 0..zip.len() {
        let f = zip.by_index_raw(i).map_err(bad_archive)?;
        let name = f.name().map_err(bad_archive)?.into_owned();
        if f.is_symlink() {
            return Err(refuse(
                rule::ARCHIVE_LINK,
                format!("entry `{name}` is a symbolic link; links are not extracted"),
            ));
        }
        if extract::safe_relative(Path::new(&name)).is_none() {
            return Err(refuse(
                rule::ARCHIVE_PATH_ESCAPE,
                format!("entry `{name}` would be written outside the destination (zip-slip)"),
            ));
        }
        if f.size() > limits.max_entry_bytes {
            return Err(refuse(
                rule::ARCHIVE_SIZE_LIMIT,
                format!(
                    "entry `{name}` declares {} bytes, more than the limit of {} (size bomb?)",
                    f.size(),
                    limits.max_entry_bytes
                ),
            ));
        }
        declared = declared.saturating_add(f.size());
    }
    if declared > limits.max_total_bytes {
        return Err(refuse(
            rule::ARCHIVE_SIZE_LIMIT,
            format!(
                "archive declares {declared} bytes, more than the limit of {} (size bomb?)",
                limits.max_total_bytes
            ),
        ));
    }
    // Declared sizes can lie: the bytes written are counted again.
    for i in 0..zip.len() {
        let mut f = zip.by_index(i).map_err(bad_archive)?;
        let name = f.name().map_err(bad_archive)?.into_owned();
        let relative = ex.entry(&name)?;
        if f.is_dir() {
            ex.dir(&relative)?;
        } else {
            ex.file(&name, &relative, &mut f)?;
        }
    }
    Ok(())
}

/// Stages every entry of a tar archive, refusing links and special files.
fn stage_tar(
    ex: &mut extract::Extraction<'_>,
    archive: &Path,
    gz: bool,
    limits: ArchiveLimits,
    cancel: &Cancel,
) -> Result<()> {
    let file = File::open(archive).map_err(io_err("opening the archive"))?;
    let format = if gz { Format::TarGz } else { Format::Tar };
    let mut tar = tar_reader::TarReader::new(decompressed(file, format), limits, cancel);
    tar.for_each(|member, data| {
        let name = member.name;
        let relative = ex.entry(&name)?;
        match member.kind {
            tar::EntryType::Directory => ex.dir(&relative)?,
            tar::EntryType::Regular | tar::EntryType::Continuous => {
                ex.file(&name, &relative, data)?;
            }
            tar::EntryType::Symlink | tar::EntryType::Link => {
                return Err(refuse(
                    rule::ARCHIVE_LINK,
                    format!("entry `{name}` is a link; links are not extracted"),
                ));
            }
            other => {
                return Err(refuse(
                    rule::ARCHIVE_ENTRY_TYPE,
                    format!("entry `{name}` has unsupported type {other:?}"),
                ));
            }
        }
        Ok(true)
    })
}

fn create(archive: &Path, format: Format, inputs: &[PathBuf]) -> Result<usize> {
    let mut files: Vec<(PathBuf, String, bool)> = Vec::new();
    for input in inputs {
        let base = input.parent().unwrap_or(input);
        for entry in walkdir::WalkDir::new(input)
            .follow_links(false)
            .sort_by_file_name()
        {
            let entry =
                entry.map_err(|e| ToolError::execution(NAME, format!("reading inputs: {e}")))?;
            if entry.path_is_symlink() {
                continue;
            }
            let name = entry
                .path()
                .strip_prefix(base)
                .unwrap_or(entry.path())
                .to_string_lossy()
                .replace('\\', "/");
            files.push((entry.path().to_path_buf(), name, entry.file_type().is_dir()));
        }
    }
    let out = File::create(archive).map_err(io_err("creating the archive"))?;
    match format {
        Format::Zip => {
            let mut zip = zip::ZipWriter::new(out);
            let options = zip::write::SimpleFileOptions::default()
                .compression_method(zip::CompressionMethod::Deflated);
            for (path, name, is_dir) in &files {
                if *is_dir {
                    zip.add_directory(format!("{name}/"), options)
                        .map_err(bad_archive)?;
                } else {
                    zip.start_file(name.as_str(), options)
                        .map_err(bad_archive)?;
                    let mut src = File::open(path).map_err(io_err(format!("reading {name}")))?;
                    io::copy(&mut src, &mut zip).map_err(io_err(format!("adding {name}")))?;
                }
            }
            zip.finish().map_err(bad_archive)?;
        }
        Format::Tar => {
            let mut out = write_tar(out, &files)?;
            out.flush().map_err(io_err("finishing the archive"))?;
        }
        Format::TarGz => {
            let gz = flate2::write::GzEncoder::new(out, flate2::Compression::default());
            write_tar(gz, &files)?
                .finish()
                .map_err(io_err("finishing the archive"))?;
        }
    }
    Ok(files.len())
}

fn write_tar<W: Write>(writer: W, files: &[(PathBuf, String, bool)]) -> Result<W> {
    let mut tar = tar::Builder::new(writer);
    tar.follow_symlinks(false);
    for (path, name, is_dir) in files {
        if *is_dir {
            tar.append_dir(name, path)
                .map_err(io_err(format!("adding {name}")))?;
        } else {
            tar.append_path_with_name(path, name)
                .map_err(io_err(format!("adding {name}")))?;
        }
    }
    tar.into_inner().map_err(io_err("finishing the archive"))
}

/// The names rs-llmspell's scripts use (see `Synonyms`).
fn synonyms() -> Synonyms {
    Synonyms::new()
        .parameter("input", "files")
        .parameter("target_path", "destination")
        .parameter("output_dir", "destination")
}
