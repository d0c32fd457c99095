//! `archive_handler`: create, list and safely extract zip, tar and tar.gz
//! archives (zip, tar, flate2).

use std::fs::File;
use std::io::{self, Read, Write};
use std::path::{Component, Path, PathBuf};

use async_trait::async_trait;
use serde::Deserialize;
use serde_json::{json, Value};

use crate::params::decode;
use crate::{
    ArchiveLimits, FileSandbox, Result, SecurityLevel, Tool, ToolCategory, ToolContext, ToolError,
    ToolMetadata, ToolsConfig,
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
/// them; files already written by a refused extraction are removed.
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

fn refuse(reason: impl Into<String>) -> ToolError {
    ToolError::security(NAME, reason)
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
        let job = move || -> Result<Value> {
            match p.operation {
                Operation::List => list(&archive, format, limits),
                Operation::Extract => {
                    let dest_raw = p.destination.as_deref().ok_or_else(|| {
                        ToolError::invalid_parameter(NAME, "destination", "required for `extract`")
                    })?;
                    let dest = sandbox.resolve(NAME, dest_raw)?;
                    std::fs::create_dir_all(&dest)
                        .map_err(io_err(format!("creating {dest_raw}")))?;
                    let dest = dest
                        .canonicalize()
                        .map_err(io_err(format!("resolving {dest_raw}")))?;
                    let mut extractor = Extractor::new(&dest, limits, p.overwrite);
                    let outcome = match format {
                        Format::Zip => extractor.zip(&archive),
                        Format::Tar | Format::TarGz => {
                            extractor.tar(&archive, format == Format::TarGz)
                        }
                    };
                    if let Err(e) = outcome {
                        extractor.roll_back();
                        return Err(e);
                    }
                    Ok(json!({
                        "destination": dest.display().to_string(),
                        "entries": extractor.entries,
                        "bytes": extractor.total,
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
            }
        };
        tokio::task::spawn_blocking(job)
            .await
            .map_err(|e| ToolError::execution(NAME, format!("archive task failed: {e}")))?
    }
}

fn list(archive: &Path, format: Format, limits: ArchiveLimits) -> Result<Value> {
    let file = File::open(archive).map_err(io_err("opening the archive"))?;
    let mut entries = Vec::new();
    let mut truncated = false;
    match format {
        Format::Zip => {
            let mut zip = zip::ZipArchive::new(file).map_err(bad_archive)?;
            for i in 0..zip.len() {
                if entries.len() == limits.max_entries {
                    truncated = true;
                    break;
                }
                let f = zip.by_index(i).map_err(bad_archive)?;
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
            let reader: Box<dyn Read> = if format == Format::TarGz {
                Box::new(flate2::read::GzDecoder::new(file))
            } else {
                Box::new(file)
            };
            let mut tar = tar::Archive::new(reader);
            for entry in tar.entries().map_err(bad_archive)? {
                if entries.len() == limits.max_entries {
                    truncated = true;
                    break;
                }
                let entry = entry.map_err(bad_archive)?;
                let name = entry.path().map_err(bad_archive)?.display().to_string();
                let kind = match entry.header().entry_type() {
                    tar::EntryType::Directory => "directory",
                    tar::EntryType::Symlink | tar::EntryType::Link => "symlink",
                    _ => "file",
                };
                entries.push(json!({"name": name, "size": entry.size(), "type": kind}));
            }
        }
    }
    Ok(json!({"entries": entries, "count": entries.len(), "truncated": truncated}))
}

/// A relative path with only normal components, or `None` (zip-slip).
fn safe_relative(name: &Path) -> Option<PathBuf> {
    let mut out = PathBuf::new();
    for component in name.components() {
        match component {
            Component::Normal(part) => out.push(part),
            Component::CurDir => {}
            Component::ParentDir | Component::RootDir | Component::Prefix(_) => return None,
        }
    }
    (!out.as_os_str().is_empty()).then_some(out)
}

struct Extractor<'a> {
    dest: &'a Path,
    limits: ArchiveLimits,
    overwrite: bool,
    entries: usize,
    total: u64,
    created: Vec<PathBuf>,
}

impl<'a> Extractor<'a> {
    fn new(dest: &'a Path, limits: ArchiveLimits, overwrite: bool) -> Self {
        Self {
            dest,
            limits,
            overwrite,
            entries: 0,
            total: 0,
            created: Vec::new(),
        }
    }

    /// Removes what a refused extraction wrote (files first, then dirs).
    fn roll_back(&mut self) {
        for path in self.created.iter().rev() {
            if path.is_dir() {
                let _ = std::fs::remove_dir(path);
            } else {
                let _ = std::fs::remove_file(path);
            }
        }
    }

    fn count_entry(&mut self, name: &str) -> Result<()> {
        self.entries += 1;
        if self.entries > self.limits.max_entries {
            return Err(refuse(format!(
                "archive has more than {} entries (at `{name}`)",
                self.limits.max_entries
            )));
        }
        Ok(())
    }

    /// The target of an entry, refusing escapes (also through symlinks
    /// already present in the destination).
    fn target(&self, name: &str, path: &Path) -> Result<PathBuf> {
        let relative = safe_relative(path).ok_or_else(|| {
            refuse(format!(
                "entry `{name}` would be written outside the destination (zip-slip)"
            ))
        })?;
        let target = self.dest.join(relative);
        let mut existing = target.parent().map(Path::to_path_buf);
        while let Some(dir) = existing {
            if let Ok(canonical) = dir.canonicalize() {
                if !canonical.starts_with(self.dest) {
                    return Err(refuse(format!(
                        "entry `{name}` would be written through a link outside the destination"
                    )));
                }
                break;
            }
            existing = dir.parent().map(Path::to_path_buf);
        }
        if target
            .symlink_metadata()
            .is_ok_and(|m| m.file_type().is_symlink())
        {
            return Err(refuse(format!(
                "entry `{name}` would overwrite a symbolic link"
            )));
        }
        Ok(target)
    }

    fn mkdirs(&mut self, dir: &Path) -> Result<()> {
        let mut missing = Vec::new();
        let mut cur = Some(dir);
        while let Some(d) = cur {
            if d.exists() {
                break;
            }
            missing.push(d.to_path_buf());
            cur = d.parent();
        }
        for d in missing.into_iter().rev() {
            std::fs::create_dir(&d).map_err(io_err(format!("creating {}", d.display())))?;
            self.created.push(d);
        }
        Ok(())
    }

    fn write_file(&mut self, name: &str, target: &Path, reader: &mut dyn Read) -> Result<()> {
        if let Some(parent) = target.parent() {
            self.mkdirs(parent)?;
        }
        if target.exists() && !self.overwrite {
            return Err(ToolError::execution(
                NAME,
                format!(
                    "`{name}` already exists in the destination; set `overwrite` to replace it"
                ),
            ));
        }
        let mut out =
            File::create(target).map_err(io_err(format!("creating {}", target.display())))?;
        self.created.push(target.to_path_buf());
        let remaining_total = self.limits.max_total_bytes.saturating_sub(self.total);
        let cap = self.limits.max_entry_bytes.min(remaining_total);
        let written = io::copy(&mut reader.take(cap + 1), &mut out)
            .map_err(io_err(format!("extracting {name}")))?;
        if written > cap {
            return Err(refuse(if cap == self.limits.max_entry_bytes {
                format!(
                    "entry `{name}` is larger than {} bytes (size bomb?)",
                    self.limits.max_entry_bytes
                )
            } else {
                format!(
                    "archive expands to more than {} bytes (size bomb?)",
                    self.limits.max_total_bytes
                )
            }));
        }
        out.flush()
            .map_err(io_err(format!("writing {}", target.display())))?;
        self.total += written;
        Ok(())
    }

    fn zip(&mut self, archive: &Path) -> Result<()> {
        let file = File::open(archive).map_err(io_err("opening the archive"))?;
        let mut zip = zip::ZipArchive::new(file).map_err(bad_archive)?;
        if zip.len() > self.limits.max_entries {
            return Err(refuse(format!(
                "archive has {} entries, more than the limit of {}",
                zip.len(),
                self.limits.max_entries
            )));
        }
        // Check every entry before writing anything.
        let mut declared = 0u64;
        for i in 0..zip.len() {
            let f = zip.by_index_raw(i).map_err(bad_archive)?;
            let name = f.name().map_err(bad_archive)?.into_owned();
            if f.is_symlink() {
                return Err(refuse(format!(
                    "entry `{name}` is a symbolic link; links are not extracted"
                )));
            }
            self.target(&name, Path::new(&name))?;
            declared = declared.saturating_add(f.size());
        }
        if declared > self.limits.max_total_bytes {
            return Err(refuse(format!(
                "archive declares {declared} bytes, more than the limit of {} (size bomb?)",
                self.limits.max_total_bytes
            )));
        }
        for i in 0..zip.len() {
            let mut f = zip.by_index(i).map_err(bad_archive)?;
            let name = f.name().map_err(bad_archive)?.into_owned();
            self.count_entry(&name)?;
            let target = self.target(&name, Path::new(&name))?;
            if f.is_dir() {
                self.mkdirs(&target)?;
            } else {
                self.write_file(&name, &target, &mut f)?;
            }
        }
        Ok(())
    }

    fn tar(&mut self, archive: &Path, gz: bool) -> Result<()> {
        let file = File::open(archive).map_err(io_err("opening the archive"))?;
        let reader: Box<dyn Read> = if gz {
            Box::new(flate2::read::GzDecoder::new(file))
        } else {
            Box::new(file)
        };
        let mut tar = tar::Archive::new(reader);
        for entry in tar.entries().map_err(bad_archive)? {
            let mut entry = entry.map_err(bad_archive)?;
            let path = entry.path().map_err(bad_archive)?.into_owned();
            let name = path.display().to_string();
            self.count_entry(&name)?;
            let target = self.target(&name, &path)?;
            match entry.header().entry_type() {
                tar::EntryType::Directory => self.mkdirs(&target)?,
                tar::EntryType::Regular | tar::EntryType::Continuous => {
                    self.write_file(&name, &target, &mut entry)?;
                }
                tar::EntryType::Symlink | tar::EntryType::Link => {
                    return Err(refuse(format!(
                        "entry `{name}` is a link; links are not extracted"
                    )));
                }
                // PAX/GNU metadata entries are consumed by the tar reader;
                // devices, FIFOs and the like are refused.
                other => {
                    return Err(refuse(format!(
                        "entry `{name}` has unsupported type {other:?}"
                    )));
                }
            }
        }
        Ok(())
    }
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
