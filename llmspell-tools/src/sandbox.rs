//! Confining file tools to configured root directories.

use std::path::{Component, Path, PathBuf};

use crate::config::rule;
use crate::{Result, ToolError};

/// The directories file tools may touch.
///
/// Roots are canonicalised when the sandbox is built. A requested path is
/// accepted only if it contains no `..` component and, once every symbolic
/// link in it is resolved, lies inside a root. Relative paths are taken
/// relative to the first root. With no roots, every path is refused.
///
/// The check happens just before the operation; a process that can change
/// the file tree under a root between the check and the use can still race
/// it. Run tools on trees that untrusted processes cannot write to.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FileSandbox {
    roots: Vec<PathBuf>,
}

impl FileSandbox {
    /// A sandbox over `roots`, which must exist.
    ///
    /// # Errors
    /// [`ToolError::Config`] if a root does not exist or is not a directory.
    pub fn new<I, P>(roots: I) -> Result<Self>
    where
        I: IntoIterator<Item = P>,
        P: AsRef<Path>,
    {
        let roots = roots
            .into_iter()
            .map(|root| {
                let root = root.as_ref();
                let canonical = root.canonicalize().map_err(|e| {
                    ToolError::Config(format!("file root {} is unusable: {e}", root.display()))
                })?;
                if !canonical.is_dir() {
                    return Err(ToolError::Config(format!(
                        "file root {} is not a directory",
                        root.display()
                    )));
                }
                Ok(canonical)
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(Self { roots })
    }

    /// The canonical roots.
    #[must_use]
    pub fn roots(&self) -> &[PathBuf] {
        &self.roots
    }

    /// Whether the canonical path `path` is inside a root.
    #[must_use]
    pub fn contains(&self, path: &Path) -> bool {
        self.roots.iter().any(|root| path.starts_with(root))
    }

    /// Resolves `requested` for `tool`, refusing traversal and escapes.
    ///
    /// The returned path has every symlink of its existing part resolved; a
    /// not-yet-existing tail (a file about to be created) is appended to its
    /// deepest existing ancestor.
    ///
    /// # Errors
    /// [`ToolError::PolicyViolation`] if no root is configured
    /// (`no_file_roots`), the path has a `..` component (`path_traversal`),
    /// it goes through a dangling symbolic link (`dangling_symlink`) or it
    /// resolves outside every root (`path_outside_roots`).
    pub fn resolve(&self, tool: &str, requested: &str) -> Result<PathBuf> {
        let Some(first_root) = self.roots.first() else {
            return Err(ToolError::policy(
                tool,
                rule::NO_FILE_ROOTS,
                "no file roots are configured, so file access is disabled; \
                 add one with ToolsConfig::builder().file_root(dir)",
            ));
        };
        if requested.is_empty() {
            return Err(ToolError::invalid_parameter(
                tool,
                "path",
                "path must not be empty",
            ));
        }
        let requested_path = Path::new(requested);
        if requested_path
            .components()
            .any(|c| matches!(c, Component::ParentDir))
        {
            return Err(traversal(tool, requested));
        }
        let joined = if requested_path.is_absolute() {
            requested_path.to_path_buf()
        } else {
            first_root.join(requested_path)
        };
        let resolved = resolve_existing_prefix(&joined).map_err(|e| match e {
            Resolve::Dangling(link) => ToolError::policy(
                tool,
                rule::DANGLING_SYMLINK,
                format!(
                    "path `{requested}` goes through {}, a symbolic link to nothing; \
                     it is not followed",
                    link.display()
                ),
            ),
            Resolve::Io(e) => ToolError::io(tool, format!("resolving `{requested}`"), e),
        })?;
        if self.contains(&resolved) {
            Ok(resolved)
        } else {
            Err(ToolError::policy(
                tool,
                rule::PATH_OUTSIDE_ROOTS,
                format!(
                    "path `{requested}` resolves to {}, outside the allowed roots [{}]",
                    resolved.display(),
                    self.roots_list()
                ),
            ))
        }
    }

    /// Resolves `requested` like [`resolve`](Self::resolve) but leaves its
    /// last component unresolved: the directory entry itself (e.g. a
    /// symlink to delete or rename, not its target).
    ///
    /// # Errors
    /// As [`resolve`](Self::resolve); also if the path has no file name.
    pub fn resolve_entry(&self, tool: &str, requested: &str) -> Result<PathBuf> {
        let path = Path::new(requested);
        let Some(name) = path.file_name() else {
            return Err(ToolError::invalid_parameter(
                tool,
                "path",
                format!("`{requested}` does not name a file or directory entry"),
            ));
        };
        let parent = match path.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_string_lossy().into_owned(),
            _ if path.is_absolute() => "/".to_owned(),
            _ => ".".to_owned(),
        };
        if requested.split(['/', '\\']).any(|c| c == "..") {
            return Err(traversal(tool, requested));
        }
        let parent = self.resolve(tool, &parent)?;
        Ok(parent.join(name))
    }

    fn roots_list(&self) -> String {
        self.roots
            .iter()
            .map(|r| r.display().to_string())
            .collect::<Vec<_>>()
            .join(", ")
    }
}

fn traversal(tool: &str, requested: &str) -> ToolError {
    ToolError::policy(
        tool,
        rule::PATH_TRAVERSAL,
        format!("path `{requested}` contains `..`; path traversal is not allowed"),
    )
}

/// Why a path could not be resolved.
enum Resolve {
    /// It goes through this dangling symbolic link.
    Dangling(PathBuf),
    Io(std::io::Error),
}

/// Canonicalises the longest existing prefix of `path` and appends the rest.
fn resolve_existing_prefix(path: &Path) -> Result<PathBuf, Resolve> {
    let mut existing = path.to_path_buf();
    let mut tail = Vec::new();
    loop {
        match existing.canonicalize() {
            Ok(canonical) => {
                let mut out = canonical;
                for part in tail.iter().rev() {
                    out.push(part);
                }
                return Ok(out);
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                // A dangling symlink must not be written through: refuse to
                // treat it as "not existing yet".
                if existing.symlink_metadata().is_ok() {
                    return Err(Resolve::Dangling(existing));
                }
                let Some(name) = existing.file_name().map(ToOwned::to_owned) else {
                    return Err(Resolve::Io(e));
                };
                tail.push(name);
                if !existing.pop() {
                    return Err(Resolve::Io(e));
                }
            }
            Err(e) => return Err(Resolve::Io(e)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_roots_refuses_everything() {
        let sandbox = FileSandbox::default();
        assert!(matches!(
            sandbox.resolve("t", "a.txt"),
            Err(ToolError::PolicyViolation { ref rule, .. }) if rule == "no_file_roots"
        ));
    }

    #[test]
    fn new_files_resolve_under_their_existing_parent() {
        let dir = tempfile::tempdir().unwrap();
        let sandbox = FileSandbox::new([dir.path()]).unwrap();
        let p = sandbox.resolve("t", "sub/new.txt").unwrap();
        assert_eq!(p, dir.path().canonicalize().unwrap().join("sub/new.txt"));
    }
}
