//! All-or-nothing extraction: entries are written to a staging directory
//! inside the destination, checked against the destination, then moved
//! into place; any failure puts the destination back as it was.
//!
//! 1. **Stage.** Every entry is checked (zip-slip, links, entry types,
//!    [`ArchiveLimits`]) and written under a fresh
//!    `.llmspell-extract-<uuid>` directory in the destination (same file
//!    system, inside the file roots). A refusal here leaves the destination
//!    untouched.
//! 2. **Plan.** Each staged path is checked against the destination before
//!    anything there changes: no symbolic link on the way or at the target,
//!    no file where a directory is needed (or the reverse), no existing file
//!    unless `overwrite`.
//! 3. **Commit.** Missing directories are created, files that will be
//!    replaced are first moved to a `.llmspell-backup-<uuid>` directory, and
//!    staged files are renamed into place. If a step fails, every step done
//!    is undone in reverse order (new files removed, originals moved back,
//!    created directories removed) and the error is returned.
//!
//! The destination directory itself, and missing directories above it, are
//! created first and removed again if the extraction fails.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{self, Read, Write};
use std::path::{Component, Path, PathBuf};

use crate::blocking::Cancel;
use crate::config::rule;
use crate::{ArchiveLimits, Result, ToolError};

use super::{io_err, refuse, NAME};

/// A directory removed (with its contents) when dropped.
struct TempDir(PathBuf);

impl TempDir {
    fn create(parent: &Path, prefix: &str) -> Result<Self> {
        let path = parent.join(format!("{prefix}{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir(&path).map_err(io_err(format!("creating {}", path.display())))?;
        Ok(Self(path))
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// What a step of the commit changed, to undo it.
enum Undo {
    /// A directory that did not exist.
    CreatedDir(PathBuf),
    /// A file put at `target`; the original, if any, is at `backup`.
    Placed {
        target: PathBuf,
        backup: Option<PathBuf>,
    },
}

/// One extraction into `dest`.
pub(super) struct Extraction<'a> {
    dest: &'a Path,
    limits: ArchiveLimits,
    overwrite: bool,
    cancel: &'a Cancel,
    staging: TempDir,
    /// Directories above and including `dest` this extraction created.
    created_dest: Vec<PathBuf>,
    /// Staged paths (relative) and whether each is a directory; a path
    /// staged twice keeps its last kind.
    staged: BTreeMap<PathBuf, bool>,
    pub(super) entries: usize,
    pub(super) total: u64,
}

impl<'a> Extraction<'a> {
    /// Creates `dest` (and missing parents) and the staging directory.
    pub(super) fn new(
        dest: &'a Path,
        limits: ArchiveLimits,
        overwrite: bool,
        cancel: &'a Cancel,
    ) -> Result<Self> {
        let created_dest = create_dirs(dest)?;
        let staging = match TempDir::create(dest, ".llmspell-extract-") {
            Ok(s) => s,
            Err(e) => {
                remove_dirs(&created_dest);
                return Err(e);
            }
        };
        Ok(Self {
            dest,
            limits,
            overwrite,
            cancel,
            staging,
            created_dest,
            staged: BTreeMap::new(),
            entries: 0,
            total: 0,
        })
    }

    /// Counts an entry and returns its safe relative path.
    pub(super) fn entry(&mut self, name: &str) -> Result<PathBuf> {
        self.cancel.check(NAME)?;
        self.entries += 1;
        if self.entries > self.limits.max_entries {
            return Err(ToolError::policy(
                NAME,
                rule::ARCHIVE_ENTRY_LIMIT,
                format!(
                    "archive has more than {} entries (at `{name}`)",
                    self.limits.max_entries
                ),
            ));
        }
        safe_relative(Path::new(name)).ok_or_else(|| {
            ToolError::policy(
                NAME,
                rule::ARCHIVE_PATH_ESCAPE,
                format!("entry `{name}` would be written outside the destination (zip-slip)"),
            )
        })
    }

    /// Stages a directory entry.
    pub(super) fn dir(&mut self, relative: &Path) -> Result<()> {
        let path = self.staging.0.join(relative);
        std::fs::create_dir_all(&path)
            .map_err(io_err(format!("creating {}", relative.display())))?;
        self.note_parents(relative);
        self.staged.insert(relative.to_path_buf(), true);
        Ok(())
    }

    /// Stages a file entry, counting its bytes against the limits as they
    /// are written.
    pub(super) fn file(
        &mut self,
        name: &str,
        relative: &Path,
        reader: &mut dyn Read,
    ) -> Result<()> {
        if let Some(parent) = relative.parent() {
            std::fs::create_dir_all(self.staging.0.join(parent))
                .map_err(io_err(format!("creating the directory of {name}")))?;
        }
        if self.staged.contains_key(relative) && !self.overwrite {
            return Err(ToolError::execution(
                NAME,
                format!("the archive has `{name}` twice; set `overwrite` to keep the last one"),
            ));
        }
        let path = self.staging.0.join(relative);
        let mut out = File::create(&path).map_err(io_err(format!("staging {name}")))?;
        let remaining_total = self.limits.max_total_bytes.saturating_sub(self.total);
        let cap = self.limits.max_entry_bytes.min(remaining_total);
        let mut limited = reader.take(cap.saturating_add(1));
        let written = copy_checking(&mut limited, &mut out, self.cancel)
            .map_err(io_err(format!("extracting {name}")))?;
        if written > cap {
            return Err(size_refusal(name, cap, self.limits));
        }
        out.flush().map_err(io_err(format!("writing {name}")))?;
        self.total += written;
        self.note_parents(relative);
        self.staged.insert(relative.to_path_buf(), false);
        Ok(())
    }

    /// Records the parent directories of `relative` as staged directories.
    fn note_parents(&mut self, relative: &Path) {
        let mut parent = relative.parent();
        while let Some(p) = parent.filter(|p| !p.as_os_str().is_empty()) {
            self.staged.entry(p.to_path_buf()).or_insert(true);
            parent = p.parent();
        }
    }

    /// Checks the staged tree against the destination, then moves it into
    /// place; all or nothing.
    pub(super) fn commit(mut self) -> Result<()> {
        self.cancel.check(NAME)?;
        let staged = std::mem::take(&mut self.staged);
        for (relative, is_dir) in &staged {
            self.check_target(relative, *is_dir)?;
        }
        let backups = TempDir::create(self.dest, ".llmspell-backup-")?;
        let mut journal = Vec::new();
        for (relative, is_dir) in &staged {
            if let Err(e) = self.place(relative, *is_dir, &backups.0, &mut journal) {
                undo(journal);
                return Err(e);
            }
        }
        // Success: the originals that were replaced go with `backups`.
        self.created_dest.clear();
        Ok(())
    }

    /// Refuses a target that is, or is reached through, a symbolic link, a
    /// kind conflict, or an existing file without `overwrite`.
    fn check_target(&self, relative: &Path, is_dir: bool) -> Result<()> {
        let name = relative.display();
        let target = self.dest.join(relative);
        let meta = match target.symlink_metadata() {
            Ok(m) => m,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(ToolError::io(NAME, format!("checking {name}"), e)),
        };
        // Parents sort before their children and are checked first, so a
        // link on the way is caught at the link itself.
        if meta.file_type().is_symlink() {
            return Err(ToolError::policy(
                NAME,
                rule::ARCHIVE_LINK,
                format!(
                    "entry `{name}` would be written through or over a symbolic link \
                     in the destination"
                ),
            ));
        }
        match (is_dir, meta.is_dir()) {
            (true, true) => Ok(()),
            (true, false) => Err(ToolError::execution(
                NAME,
                format!("the archive has a directory `{name}` where the destination has a file"),
            )),
            (false, true) => Err(ToolError::execution(
                NAME,
                format!("the archive has a file `{name}` where the destination has a directory"),
            )),
            (false, false) if self.overwrite => Ok(()),
            (false, false) => Err(ToolError::execution(
                NAME,
                format!(
                    "`{name}` already exists in the destination; set `overwrite` to replace it"
                ),
            )),
        }
    }

    /// Moves one staged path into place, recording what it changed.
    fn place(
        &self,
        relative: &Path,
        is_dir: bool,
        backups: &Path,
        journal: &mut Vec<Undo>,
    ) -> Result<()> {
        let target = self.dest.join(relative);
        let name = relative.display();
        if is_dir {
            if !target.is_dir() {
                std::fs::create_dir(&target).map_err(io_err(format!("creating {name}")))?;
                journal.push(Undo::CreatedDir(target));
            }
            return Ok(());
        }
        let backup = if target.symlink_metadata().is_ok() {
            let backup = backups.join(relative);
            if let Some(parent) = backup.parent() {
                std::fs::create_dir_all(parent)
                    .map_err(io_err(format!("keeping the original of {name}")))?;
            }
            std::fs::rename(&target, &backup)
                .map_err(io_err(format!("keeping the original of {name}")))?;
            Some(backup)
        } else {
            None
        };
        let moved = std::fs::rename(self.staging.0.join(relative), &target);
        journal.push(Undo::Placed {
            target,
            backup: backup.clone(),
        });
        moved.map_err(io_err(format!("moving {name} into place")))
    }
}

impl Drop for Extraction<'_> {
    fn drop(&mut self) {
        // Not committed (or the commit failed): the directories made for
        // the destination go too. `staging` removes itself afterwards, so
        // `dest` is not empty yet; remove it first.
        if !self.created_dest.is_empty() {
            let _ = std::fs::remove_dir_all(&self.staging.0);
            remove_dirs(&self.created_dest);
        }
    }
}

/// Undoes a commit's steps, last first.
fn undo(journal: Vec<Undo>) {
    for step in journal.into_iter().rev() {
        match step {
            Undo::CreatedDir(dir) => {
                let _ = std::fs::remove_dir(dir);
            }
            Undo::Placed { target, backup } => {
                let _ = std::fs::remove_file(&target);
                if let Some(original) = backup {
                    if let Err(e) = std::fs::rename(&original, &target) {
                        tracing::error!(
                            target = %target.display(),
                            error = %e,
                            "could not restore a file replaced by a failed extraction"
                        );
                    }
                }
            }
        }
    }
}

/// Creates `dir` and its missing parents; returns those created, outermost
/// first.
fn create_dirs(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut missing = Vec::new();
    let mut cur = Some(dir);
    while let Some(d) = cur {
        if d.exists() {
            break;
        }
        missing.push(d.to_path_buf());
        cur = d.parent();
    }
    missing.reverse();
    for (i, d) in missing.iter().enumerate() {
        if let Err(e) = std::fs::create_dir(d) {
            remove_dirs(&missing[..i]);
            return Err(ToolError::io(NAME, format!("creating {}", d.display()), e));
        }
    }
    Ok(missing)
}

/// Removes directories made by [`create_dirs`], innermost first, if empty.
fn remove_dirs(dirs: &[PathBuf]) {
    for d in dirs.iter().rev() {
        let _ = std::fs::remove_dir(d);
    }
}

/// Copies `reader` to `out`, stopping when the caller has gone.
fn copy_checking(reader: &mut dyn Read, out: &mut File, cancel: &Cancel) -> io::Result<u64> {
    let mut buf = vec![0u8; 64 * 1024];
    let mut total = 0u64;
    loop {
        if cancel.is_cancelled() {
            return Err(io::Error::other("abandoned: the caller stopped waiting"));
        }
        let n = match reader.read(&mut buf) {
            Ok(0) => return Ok(total),
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        out.write_all(&buf[..n])?;
        total += n as u64;
    }
}

fn size_refusal(name: &str, cap: u64, limits: ArchiveLimits) -> ToolError {
    refuse(
        rule::ARCHIVE_SIZE_LIMIT,
        if cap == limits.max_entry_bytes {
            format!(
                "entry `{name}` is larger than {} bytes (size bomb?)",
                limits.max_entry_bytes
            )
        } else {
            format!(
                "archive expands to more than {} bytes (size bomb?)",
                limits.max_total_bytes
            )
        },
    )
}

/// A relative path with only normal components, or `None` (zip-slip).
pub(super) fn safe_relative(name: &Path) -> Option<PathBuf> {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn undo_restores_replaced_files_and_removes_new_ones() {
        let dir = tempfile::tempdir().unwrap();
        let dest = dir.path();
        let backup = dest.join(".backup");
        std::fs::create_dir(&backup).unwrap();
        // What a commit did: moved the original `a` aside and put a new
        // one in place; made `new/` and put `new/x` in it.
        std::fs::write(backup.join("a"), "original").unwrap();
        std::fs::write(dest.join("a"), "replacement").unwrap();
        std::fs::create_dir(dest.join("new")).unwrap();
        std::fs::write(dest.join("new/x"), "x").unwrap();
        let journal = vec![
            Undo::Placed {
                target: dest.join("a"),
                backup: Some(backup.join("a")),
            },
            Undo::CreatedDir(dest.join("new")),
            Undo::Placed {
                target: dest.join("new/x"),
                backup: None,
            },
        ];
        undo(journal);
        assert_eq!(std::fs::read_to_string(dest.join("a")).unwrap(), "original");
        assert!(!dest.join("new").exists());
        assert!(!backup.join("a").exists());
    }

    #[test]
    fn refused_staging_leaves_no_trace() {
        let dir = tempfile::tempdir().unwrap();
        let dest = dir.path().join("made/for/this");
        let cancel = Cancel::default();
        {
            let mut ex = Extraction::new(&dest, ArchiveLimits::default(), false, &cancel).unwrap();
            let rel = ex.entry("a/b.txt").unwrap();
            ex.file("a/b.txt", &rel, &mut &b"data"[..]).unwrap();
            assert!(ex.entry("../escape").is_err());
            // Dropped without a commit.
        }
        assert!(!dir.path().join("made").exists());
    }
}
