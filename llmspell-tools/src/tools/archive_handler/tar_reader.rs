//! Reading tar archives with every size bounded before anything is
//! buffered.
//!
//! The `tar` crate reads a GNU long-name, long-link or PAX header's data
//! into memory whole, whatever size the header declares (a 1.5 MB
//! `.tar.gz` can declare a 1.5 GiB long name). Entries are therefore read
//! raw here: an extension header's declared size is checked against
//! [`MAX_EXTENSION_BYTES`] before its data is read, and the names it
//! carries are applied to the next entry as `tar` would (GNU long name
//! first, then the PAX `path`, then the header's own name).

use std::io::{self, Read};
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::Arc;

use crate::blocking::Cancel;
use crate::config::rule;
use crate::{ArchiveLimits, Result, ToolError};

use super::{bad_archive, NAME};

/// Largest GNU long-name/long-link or PAX extension header accepted. A path
/// is at most a few KiB; PAX records may carry extended attributes.
pub(super) const MAX_EXTENSION_BYTES: u64 = 1 << 20;

/// Bytes a tar stream may have beyond `max_total_bytes` (headers, padding,
/// skipped data of refused or listed-only entries).
const STREAM_SLACK_BYTES: u64 = 64 << 20;

/// One archive member, its names resolved.
pub(super) struct Member {
    /// The entry's name (from a long-name or PAX header if it had one).
    pub(super) name: String,
    pub(super) kind: tar::EntryType,
    /// The size the header declares.
    pub(super) size: u64,
}

const FINE: u8 = 0;
const TOO_BIG: u8 = 1;
const ABANDONED: u8 = 2;

/// The archive's (decompressed) byte stream, stopped with an error once it
/// exceeds its cap or once the caller has gone. The reason is kept in a
/// shared flag, so it survives however `tar` wraps the error.
pub(super) struct Guarded<R> {
    inner: R,
    left: u64,
    cancel: Cancel,
    stop: Arc<AtomicU8>,
}

impl<R: Read> Read for Guarded<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.cancel.is_cancelled() {
            // Relaxed: read back on this thread only, after the error.
            self.stop.store(ABANDONED, Ordering::Relaxed);
            return Err(io::Error::other("abandoned"));
        }
        let n = self.inner.read(buf)?;
        match self.left.checked_sub(n as u64) {
            Some(left) => {
                self.left = left;
                Ok(n)
            }
            None => {
                self.stop.store(TOO_BIG, Ordering::Relaxed);
                Err(io::Error::other("archive stream too large"))
            }
        }
    }
}

/// Reads a tar stream member by member.
pub(super) struct TarReader<R: Read> {
    archive: tar::Archive<Guarded<R>>,
    cap: u64,
    stop: Arc<AtomicU8>,
}

impl<R: Read> TarReader<R> {
    /// A reader over `stream` (already decompressed) that reads at most
    /// `limits.max_total_bytes` plus headers and stops when `cancel` is set.
    pub(super) fn new(stream: R, limits: ArchiveLimits, cancel: &Cancel) -> Self {
        let cap = limits.max_total_bytes.saturating_add(STREAM_SLACK_BYTES);
        let stop = Arc::new(AtomicU8::new(FINE));
        let guarded = Guarded {
            inner: stream,
            left: cap,
            cancel: cancel.clone(),
            stop: Arc::clone(&stop),
        };
        Self {
            archive: tar::Archive::new(guarded),
            cap,
            stop,
        }
    }

    /// Calls `each` with every member and a reader of its data, until it
    /// returns `Ok(false)` or the archive ends.
    ///
    /// Any error, `each`'s included, is replaced by a refusal when the
    /// stream went over its cap, and by an "abandoned" error when the
    /// caller has gone.
    pub(super) fn for_each(
        &mut self,
        each: impl FnMut(Member, &mut dyn Read) -> Result<bool>,
    ) -> Result<()> {
        let result = self.members(each);
        // Relaxed: the flag was stored by this thread (inside `read`).
        match self.stop.load(Ordering::Relaxed) {
            TOO_BIG => Err(ToolError::policy(
                NAME,
                rule::ARCHIVE_SIZE_LIMIT,
                format!(
                    "the archive's tar stream is longer than {} bytes (size bomb?)",
                    self.cap
                ),
            )),
            ABANDONED => Err(ToolError::execution(
                NAME,
                "abandoned: the caller stopped waiting",
            )),
            _ => result,
        }
    }

    fn members(
        &mut self,
        mut each: impl FnMut(Member, &mut dyn Read) -> Result<bool>,
    ) -> Result<()> {
        let fail = |e: &dyn std::fmt::Display| bad_archive(e);
        let entries = self.archive.entries().map_err(|e| fail(&e))?.raw(true);
        let mut long_name: Option<Vec<u8>> = None;
        let mut long_link = false;
        let mut pax: Option<Vec<u8>> = None;
        for entry in entries {
            let mut entry = entry.map_err(|e| fail(&e))?;
            let header = entry.header();
            let kind = header.entry_type();
            let size = header.entry_size().map_err(|e| fail(&e))?;
            let extension = if kind.is_gnu_longname() {
                Some("GNU long-name")
            } else if kind.is_gnu_longlink() {
                Some("GNU long-link")
            } else if kind.is_pax_local_extensions() {
                Some("PAX")
            } else if kind.is_pax_global_extensions() {
                Some("PAX global")
            } else {
                None
            };
            if let Some(what) = extension {
                if size > MAX_EXTENSION_BYTES {
                    return Err(ToolError::policy(
                        NAME,
                        rule::ARCHIVE_SIZE_LIMIT,
                        format!(
                            "a {what} header declares {size} bytes, more than the \
                             {MAX_EXTENSION_BYTES} accepted (size bomb?)"
                        ),
                    ));
                }
                if kind.is_pax_global_extensions() {
                    // Archive-wide defaults (comments, mtimes): not needed.
                    continue;
                }
                // `size` is bounded above, so this buffers at most that much.
                let mut data = Vec::new();
                (&mut entry)
                    .take(size)
                    .read_to_end(&mut data)
                    .map_err(|e| fail(&e))?;
                let slot_taken = if kind.is_gnu_longname() {
                    long_name.replace(data).is_some()
                } else if kind.is_gnu_longlink() {
                    std::mem::replace(&mut long_link, true)
                } else {
                    pax.replace(data).is_some()
                };
                if slot_taken {
                    return Err(bad_archive(format!(
                        "two {what} headers describe the same entry"
                    )));
                }
                continue;
            }
            let pax_records = pax.take();
            let mut pax_path = None;
            if let Some(records) = &pax_records {
                for record in tar::PaxExtensions::new(records) {
                    let record = record.map_err(|e| fail(&e))?;
                    match record.key_bytes() {
                        b"path" => pax_path = Some(record.value_bytes().to_vec()),
                        b"size" => {
                            // Only archives with members over 8 GiB need it,
                            // far over any extraction limit.
                            return Err(ToolError::policy(
                                NAME,
                                rule::ARCHIVE_SIZE_LIMIT,
                                "the archive has a PAX size record (a member over 8 GiB); \
                                 such archives are not read",
                            ));
                        }
                        _ => {}
                    }
                }
            }
            let name_bytes = match long_name.take() {
                Some(mut bytes) => {
                    while bytes.last() == Some(&0) {
                        bytes.pop();
                    }
                    bytes
                }
                None => pax_path.unwrap_or_else(|| header.path_bytes().into_owned()),
            };
            long_link = false;
            let member = Member {
                name: String::from_utf8_lossy(&name_bytes).into_owned(),
                kind,
                size,
            };
            if !each(member, &mut entry)? {
                return Ok(());
            }
        }
        if long_name.is_some() || long_link || pax.is_some() {
            return Err(bad_archive("an extension header describes no entry"));
        }
        Ok(())
    }
}
