//! The file tools: archive_handler, file_converter, file_operations,
//! file_search, file_watcher — success, invalid input, and sandbox
//! refusals (traversal, symlink escapes, zip-slip, size bombs).

use llmspell_tools::{ArchiveLimits, ToolRegistry, ToolsConfig};
use serde_json::{json, Value};
use tempfile::TempDir;

use crate::common::{assert_invalid, assert_refused, call, call_in};

/// A sandbox root and, beside it, a directory outside the sandbox.
struct Fixture {
    root: TempDir,
    outside: TempDir,
    registry: ToolRegistry,
}

impl Fixture {
    fn new() -> Self {
        Self::with(ArchiveLimits::default())
    }

    fn with(limits: ArchiveLimits) -> Self {
        let root = tempfile::tempdir().unwrap();
        let outside = tempfile::tempdir().unwrap();
        std::fs::write(outside.path().join("secret.txt"), "top secret").unwrap();
        let config = ToolsConfig::builder()
            .file_root(root.path())
            .archive_limits(limits)
            .build()
            .unwrap();
        let registry = ToolRegistry::with_standard_tools(&config).unwrap();
        Self {
            root,
            outside,
            registry,
        }
    }

    fn path(&self, rel: &str) -> std::path::PathBuf {
        self.root.path().join(rel)
    }

    async fn call(&self, name: &str, params: Value) -> llmspell_tools::Result<Value> {
        call_in(&self.registry, name, params).await
    }

    #[cfg(unix)]
    fn link_outside(&self, name: &str, target: &str) {
        std::os::unix::fs::symlink(self.outside.path().join(target), self.path(name)).unwrap();
    }
}

#[tokio::test]
async fn file_operations_round_trip() {
    let f = Fixture::new();
    let ops = |v: Value| f.call("file_operations", v);
    ops(json!({"operation": "write", "path": "a/b.txt", "content": "hello", "create_dirs": true}))
        .await
        .unwrap();
    ops(json!({"operation": "append", "path": "a/b.txt", "content": " world"}))
        .await
        .unwrap();
    let read = ops(json!({"operation": "read", "path": "a/b.txt"}))
        .await
        .unwrap();
    assert_eq!(read["content"], "hello world");
    ops(json!({"operation": "copy", "path": "a/b.txt", "destination": "c.txt"}))
        .await
        .unwrap();
    ops(json!({"operation": "move", "path": "c.txt", "destination": "d.txt"}))
        .await
        .unwrap();
    let list = ops(json!({"operation": "list", "path": "."}))
        .await
        .unwrap();
    let names: Vec<&str> = list["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["a", "d.txt"]);
    let meta = ops(json!({"operation": "metadata", "path": "d.txt"}))
        .await
        .unwrap();
    assert_eq!(meta["size"], 11);
    assert_eq!(meta["type"], "file");
    let absolute = f.path("d.txt").display().to_string();
    let exists = ops(json!({"operation": "exists", "path": absolute}))
        .await
        .unwrap();
    assert_eq!(exists["exists"], true);
    ops(json!({"operation": "mkdir", "path": "x/y", "recursive": true}))
        .await
        .unwrap();
    assert!(f.path("x/y").is_dir());
    ops(json!({"operation": "delete", "path": "a", "recursive": true}))
        .await
        .unwrap();
    assert!(!f.path("a").exists());
}

#[tokio::test]
async fn file_operations_invalid_input() {
    let f = Fixture::new();
    assert_invalid(
        f.call(
            "file_operations",
            json!({"operation": "write", "path": "a"}),
        )
        .await,
        "content",
    );
    assert_invalid(
        f.call("file_operations", json!({"operation": "copy", "path": "a"}))
            .await,
        "destination",
    );
    assert_invalid(
        f.call(
            "file_operations",
            json!({"operation": "chmod", "path": "a"}),
        )
        .await,
        "operation",
    );
    assert_invalid(
        f.call("file_operations", json!({"operation": "read"}))
            .await,
        "path",
    );
}

#[tokio::test]
async fn file_operations_refuse_traversal_and_outside_paths() {
    let f = Fixture::new();
    let secret = f.outside.path().join("secret.txt").display().to_string();
    let reason = assert_refused(
        f.call(
            "file_operations",
            json!({"operation": "read", "path": "../x"}),
        )
        .await,
    );
    assert!(reason.contains(".."), "{reason}");
    let reason = assert_refused(
        f.call(
            "file_operations",
            json!({"operation": "read", "path": secret}),
        )
        .await,
    );
    assert!(reason.contains("outside the allowed roots"), "{reason}");
    assert_refused(
        f.call(
            "file_operations",
            json!({"operation": "write", "path": "/etc/llmspell-x", "content": "x"}),
        )
        .await,
    );
    assert_refused(
        f.call(
            "file_operations",
            json!({"operation": "copy", "path": secret, "destination": "s.txt"}),
        )
        .await,
    );
    assert_refused(
        f.call("file_operations", json!({"operation": "delete", "path": f.root.path().display().to_string(), "recursive": true}))
            .await,
    );
    assert!(f.root.path().exists());
}

#[cfg(unix)]
#[tokio::test]
async fn file_operations_refuse_symlink_escapes() {
    let f = Fixture::new();
    f.link_outside("leak.txt", "secret.txt");
    f.link_outside("leakdir", "");
    assert_refused(
        f.call(
            "file_operations",
            json!({"operation": "read", "path": "leak.txt"}),
        )
        .await,
    );
    assert_refused(
        f.call(
            "file_operations",
            json!({"operation": "write", "path": "leak.txt", "content": "pwned"}),
        )
        .await,
    );
    assert_refused(
        f.call(
            "file_operations",
            json!({"operation": "write", "path": "leakdir/new.txt", "content": "x"}),
        )
        .await,
    );
    assert_refused(
        f.call(
            "file_operations",
            json!({"operation": "list", "path": "leakdir"}),
        )
        .await,
    );
    assert_eq!(
        std::fs::read_to_string(f.outside.path().join("secret.txt")).unwrap(),
        "top secret"
    );
    // Deleting the link removes the link, never its target.
    f.call(
        "file_operations",
        json!({"operation": "delete", "path": "leak.txt"}),
    )
    .await
    .unwrap();
    assert!(f.outside.path().join("secret.txt").exists());
}

#[tokio::test]
async fn file_operations_refuse_everything_without_roots() {
    let reason =
        assert_refused(call("file_operations", json!({"operation": "read", "path": "x"})).await);
    assert!(reason.contains("no file roots"), "{reason}");
}

#[tokio::test]
async fn file_operations_cap_reads() {
    let root = tempfile::tempdir().unwrap();
    std::fs::write(root.path().join("big"), vec![b'a'; 2048]).unwrap();
    let config = ToolsConfig::builder()
        .file_root(root.path())
        .max_file_bytes(1024)
        .build()
        .unwrap();
    let registry = ToolRegistry::with_standard_tools(&config).unwrap();
    assert_refused(
        call_in(
            &registry,
            "file_operations",
            json!({"operation": "read", "path": "big"}),
        )
        .await,
    );
}

#[tokio::test]
async fn file_search_finds_matches() {
    let f = Fixture::new();
    std::fs::create_dir_all(f.path("src")).unwrap();
    std::fs::write(f.path("src/a.rs"), "fn main() {}\n// TODO: x\n").unwrap();
    std::fs::write(f.path("src/b.txt"), "todo later\n").unwrap();
    std::fs::write(f.path("bin.dat"), b"TODO\0\x01").unwrap();
    let out = f
        .call("file_search", json!({"path": ".", "pattern": "TODO"}))
        .await
        .unwrap();
    assert_eq!(out["matches"].as_array().unwrap().len(), 1);
    assert_eq!(out["matches"][0]["file"], "src/a.rs");
    assert_eq!(out["matches"][0]["line"], 2);
    assert_eq!(out["matches"][0]["column"], 4);
    let ci = f
        .call(
            "file_search",
            json!({"path": ".", "pattern": "todo", "case_sensitive": false}),
        )
        .await
        .unwrap();
    assert_eq!(ci["matches"].as_array().unwrap().len(), 2);
    let glob = f
        .call("file_search", json!({"path": ".", "pattern": "t.d.", "regex": true, "case_sensitive": false, "glob": "**/*.txt"}))
        .await
        .unwrap();
    assert_eq!(glob["matches"][0]["file"], "src/b.txt");
    assert_eq!(glob["matches"].as_array().unwrap().len(), 1);
    let limited = f
        .call(
            "file_search",
            json!({"path": ".", "pattern": "t", "case_sensitive": false, "max_results": 1}),
        )
        .await
        .unwrap();
    assert_eq!(limited["truncated"], true);
}

#[tokio::test]
async fn file_search_invalid_input_and_refusals() {
    let f = Fixture::new();
    assert_invalid(f.call("file_search", json!({"path": "."})).await, "pattern");
    assert_invalid(
        f.call(
            "file_search",
            json!({"path": ".", "pattern": "(", "regex": true}),
        )
        .await,
        "pattern",
    );
    assert_invalid(
        f.call(
            "file_search",
            json!({"path": ".", "pattern": "a", "glob": "a{"}),
        )
        .await,
        "glob",
    );
    assert_refused(
        f.call(
            "file_search",
            json!({"path": f.outside.path().display().to_string(), "pattern": "secret"}),
        )
        .await,
    );
}

#[cfg(unix)]
#[tokio::test]
async fn file_search_does_not_follow_links_out() {
    let f = Fixture::new();
    f.link_outside("leakdir", "");
    f.link_outside("leak.txt", "secret.txt");
    let out = f
        .call("file_search", json!({"path": ".", "pattern": "secret"}))
        .await
        .unwrap();
    assert_eq!(out["matches"], json!([]));
}

#[tokio::test]
async fn file_converter_converts_encodings_and_line_endings() {
    let f = Fixture::new();
    std::fs::write(f.path("latin.txt"), b"caf\xe9\r\nna\xefve\r\n").unwrap();
    let out = f
        .call(
            "file_converter",
            json!({"path": "latin.txt", "output_path": "utf8.txt", "from_encoding": "iso-8859-1", "line_endings": "lf"}),
        )
        .await
        .unwrap();
    assert_eq!(out["malformed_input"], false);
    assert_eq!(
        std::fs::read_to_string(f.path("utf8.txt")).unwrap(),
        "café\nnaïve\n"
    );
    f.call(
        "file_converter",
        json!({"path": "utf8.txt", "output_path": "u16.txt", "to_encoding": "utf-16le"}),
    )
    .await
    .unwrap();
    assert_eq!(&std::fs::read(f.path("u16.txt")).unwrap()[..4], b"c\0a\0");
    std::fs::write(f.path("tabs.txt"), "\tx  \n").unwrap();
    f.call("file_converter", json!({"path": "tabs.txt", "tabs_to_spaces": 2, "trim_trailing_whitespace": true, "line_endings": "crlf"}))
        .await
        .unwrap();
    assert_eq!(
        std::fs::read_to_string(f.path("tabs.txt")).unwrap(),
        "  x\r\n"
    );
}

#[tokio::test]
async fn file_converter_invalid_input_and_refusals() {
    let f = Fixture::new();
    std::fs::write(f.path("a.txt"), "a").unwrap();
    assert_invalid(
        f.call(
            "file_converter",
            json!({"path": "a.txt", "to_encoding": "klingon"}),
        )
        .await,
        "to_encoding",
    );
    assert_invalid(
        f.call(
            "file_converter",
            json!({"path": "a.txt", "line_endings": "dos"}),
        )
        .await,
        "line_endings",
    );
    assert_invalid(f.call("file_converter", json!({})).await, "path");
    let outside = f.outside.path().join("out.txt").display().to_string();
    assert_refused(
        f.call(
            "file_converter",
            json!({"path": "a.txt", "output_path": outside}),
        )
        .await,
    );
    assert!(!f.outside.path().join("out.txt").exists());
}

#[cfg(feature = "file-watcher")]
#[tokio::test]
async fn file_watcher_reports_changes() {
    let f = Fixture::new();
    let dir = f.path("watched");
    std::fs::create_dir(&dir).unwrap();
    let writer = {
        let dir = dir.clone();
        tokio::spawn(async move {
            tokio::time::sleep(std::time::Duration::from_millis(300)).await;
            std::fs::write(dir.join("new.txt"), "x").unwrap();
        })
    };
    let out = f
        .call(
            "file_watcher",
            json!({"path": "watched", "duration_ms": 3000, "max_events": 1}),
        )
        .await
        .unwrap();
    writer.await.unwrap();
    let events = out["events"].as_array().unwrap();
    assert_eq!(events.len(), 1, "{out}");
    assert_eq!(events[0]["kind"], "create");
    assert!(events[0]["paths"][0].as_str().unwrap().ends_with("new.txt"));
}

#[cfg(feature = "file-watcher")]
#[tokio::test]
async fn file_watcher_invalid_input_and_refusals() {
    let f = Fixture::new();
    assert_invalid(
        f.call("file_watcher", json!({"path": ".", "duration_ms": 600_000}))
            .await,
        "duration_ms",
    );
    assert_invalid(
        f.call("file_watcher", json!({"duration_ms": 10})).await,
        "path",
    );
    assert_refused(
        f.call(
            "file_watcher",
            json!({"path": f.outside.path().display().to_string(), "duration_ms": 10}),
        )
        .await,
    );
}

#[cfg(feature = "archive")]
mod archives {
    use std::io::Write as _;
    use std::path::Path;

    use super::*;

    fn seed(f: &Fixture) {
        std::fs::create_dir_all(f.path("in/sub")).unwrap();
        std::fs::write(f.path("in/a.txt"), "alpha").unwrap();
        std::fs::write(f.path("in/sub/b.txt"), "beta").unwrap();
    }

    #[tokio::test]
    async fn create_list_extract_each_format() {
        for (archive, format) in [("x.zip", "zip"), ("x.tar", "tar"), ("x.tar.gz", "tar_gz")] {
            let f = Fixture::new();
            seed(&f);
            let created = f
                .call(
                    "archive_handler",
                    json!({"operation": "create", "path": archive, "files": ["in"]}),
                )
                .await
                .unwrap();
            assert_eq!(created["entries"], 4, "{format}");
            let listed = f
                .call(
                    "archive_handler",
                    json!({"operation": "list", "path": archive, "format": format}),
                )
                .await
                .unwrap();
            let names: Vec<&str> = listed["entries"]
                .as_array()
                .unwrap()
                .iter()
                .map(|e| e["name"].as_str().unwrap())
                .collect();
            assert!(
                names.iter().any(|n| n.ends_with("sub/b.txt")),
                "{format}: {names:?}"
            );
            f.call(
                "archive_handler",
                json!({"operation": "extract", "path": archive, "destination": "out"}),
            )
            .await
            .unwrap();
            assert_eq!(
                std::fs::read_to_string(f.path("out/in/sub/b.txt")).unwrap(),
                "beta",
                "{format}"
            );
            assert_eq!(
                std::fs::read_to_string(f.path("out/in/a.txt")).unwrap(),
                "alpha",
                "{format}"
            );
        }
    }

    #[tokio::test]
    async fn invalid_input() {
        let f = Fixture::new();
        assert_invalid(
            f.call(
                "archive_handler",
                json!({"operation": "create", "path": "x.zip"}),
            )
            .await,
            "files",
        );
        assert_invalid(
            f.call(
                "archive_handler",
                json!({"operation": "extract", "path": "x.zip"}),
            )
            .await,
            "destination",
        );
        assert_invalid(
            f.call(
                "archive_handler",
                json!({"operation": "list", "path": "x.rar"}),
            )
            .await,
            "format",
        );
        assert_invalid(
            f.call(
                "archive_handler",
                json!({"operation": "list", "path": "x", "format": "rar"}),
            )
            .await,
            "format",
        );
    }

    fn evil_zip(path: &Path, name: &str) {
        let mut zip = zip::ZipWriter::new(std::fs::File::create(path).unwrap());
        zip.start_file(name, zip::write::SimpleFileOptions::default())
            .unwrap();
        zip.write_all(b"owned").unwrap();
        zip.finish().unwrap();
    }

    fn evil_tar(path: &Path, name: &[u8]) {
        // The `tar` builder refuses `..`; write the header bytes directly.
        let mut header = tar::Header::new_gnu();
        header.as_old_mut().name[..name.len()].copy_from_slice(name);
        header.set_size(5);
        header.set_mode(0o644);
        header.set_entry_type(tar::EntryType::Regular);
        header.set_cksum();
        let mut builder = tar::Builder::new(std::fs::File::create(path).unwrap());
        builder.append(&header, &b"owned"[..]).unwrap();
        builder.finish().unwrap();
    }

    #[tokio::test]
    async fn zip_slip_is_refused() {
        let f = Fixture::new();
        for (i, name) in ["../escaped.txt", "/abs/escaped.txt", "a/../../escaped.txt"]
            .iter()
            .enumerate()
        {
            let archive = format!("evil{i}.zip");
            evil_zip(&f.path(&archive), name);
            let reason = assert_refused(
                f.call(
                    "archive_handler",
                    json!({"operation": "extract", "path": archive, "destination": "out"}),
                )
                .await,
            );
            assert!(reason.contains("zip-slip"), "{reason}");
        }
        assert!(!f.root.path().parent().unwrap().join("escaped.txt").exists());
        evil_tar(&f.path("evil.tar"), b"../escaped.txt");
        assert_refused(
            f.call(
                "archive_handler",
                json!({"operation": "extract", "path": "evil.tar", "destination": "out"}),
            )
            .await,
        );
        assert!(!f.root.path().join("escaped.txt").exists());
    }

    #[cfg(unix)]
    #[tokio::test]
    async fn links_in_archives_and_destination_are_refused() {
        let f = Fixture::new();
        let mut header = tar::Header::new_gnu();
        header.set_entry_type(tar::EntryType::Symlink);
        header.set_size(0);
        let mut builder = tar::Builder::new(std::fs::File::create(f.path("link.tar")).unwrap());
        builder
            .append_link(&mut header, "evil", "/etc/passwd")
            .unwrap();
        builder.finish().unwrap();
        drop(builder);
        assert_refused(
            f.call(
                "archive_handler",
                json!({"operation": "extract", "path": "link.tar", "destination": "out"}),
            )
            .await,
        );
        // A symlink already in the destination cannot be written through.
        std::fs::create_dir(f.path("out2")).unwrap();
        std::os::unix::fs::symlink(f.outside.path(), f.path("out2/dir")).unwrap();
        evil_zip(&f.path("through.zip"), "dir/planted.txt");
        assert_refused(
            f.call(
                "archive_handler",
                json!({"operation": "extract", "path": "through.zip", "destination": "out2"}),
            )
            .await,
        );
        assert!(!f.outside.path().join("planted.txt").exists());
    }

    #[tokio::test]
    async fn size_bombs_are_refused_and_rolled_back() {
        let limits = ArchiveLimits {
            max_entries: 3,
            max_entry_bytes: 1000,
            max_total_bytes: 1500,
        };
        let f = Fixture::with(limits);
        // One entry over the per-entry cap (highly compressible, like a bomb).
        let mut zip = zip::ZipWriter::new(std::fs::File::create(f.path("bomb.zip")).unwrap());
        let options = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated);
        zip.start_file("ok.txt", options).unwrap();
        zip.write_all(&[b'a'; 10]).unwrap();
        zip.start_file("big.txt", options).unwrap();
        zip.write_all(&[0u8; 100_000]).unwrap();
        zip.finish().unwrap();
        let reason = assert_refused(
            f.call(
                "archive_handler",
                json!({"operation": "extract", "path": "bomb.zip", "destination": "out"}),
            )
            .await,
        );
        assert!(reason.contains("bytes"), "{reason}");
        // The tar.gz form is only caught while decompressing; what was
        // written is removed again.
        std::fs::create_dir_all(f.path("gz/in")).unwrap();
        std::fs::write(f.path("gz/in/a"), vec![b'x'; 900]).unwrap();
        std::fs::write(f.path("gz/in/b"), vec![b'y'; 900]).unwrap();
        f.call(
            "archive_handler",
            json!({"operation": "create", "path": "t.tar.gz", "files": ["gz/in/a", "gz/in/b"]}),
        )
        .await
        .unwrap();
        let reason = assert_refused(
            f.call(
                "archive_handler",
                json!({"operation": "extract", "path": "t.tar.gz", "destination": "out3"}),
            )
            .await,
        );
        assert!(reason.contains("1500"), "{reason}");
        assert!(
            !f.path("out3/a").exists(),
            "partial extraction was not rolled back"
        );
        // Too many entries.
        let mut zip = zip::ZipWriter::new(std::fs::File::create(f.path("many.zip")).unwrap());
        for i in 0..4 {
            zip.start_file(format!("f{i}"), options).unwrap();
        }
        zip.finish().unwrap();
        let reason = assert_refused(
            f.call(
                "archive_handler",
                json!({"operation": "extract", "path": "many.zip", "destination": "out4"}),
            )
            .await,
        );
        assert!(reason.contains("entries"), "{reason}");
    }

    #[tokio::test]
    async fn archives_outside_the_roots_are_refused() {
        let f = Fixture::new();
        seed(&f);
        let outside = f.outside.path().join("x.zip").display().to_string();
        assert_refused(
            f.call(
                "archive_handler",
                json!({"operation": "create", "path": outside, "files": ["in"]}),
            )
            .await,
        );
        let secret = f.outside.path().join("secret.txt").display().to_string();
        assert_refused(
            f.call(
                "archive_handler",
                json!({"operation": "create", "path": "s.zip", "files": [secret]}),
            )
            .await,
        );
        f.call(
            "archive_handler",
            json!({"operation": "create", "path": "ok.zip", "files": ["in"]}),
        )
        .await
        .unwrap();
        assert_refused(
            f.call(
                "archive_handler",
                json!({"operation": "extract", "path": "ok.zip", "destination": "../out"}),
            )
            .await,
        );
    }
}
