//! Keeps the user guide honest: every ```lua code block in
//! `docs/user-guide/*.md` runs with `llmspell run` and succeeds. A block
//! that is only part of a script (a table of fields, a line of a larger
//! example) is marked ```lua fragment and skipped.

use std::path::PathBuf;
use std::process::Command;

/// `(file, line, code)` of every runnable Lua block of the guide.
fn lua_blocks() -> Vec<(String, usize, String)> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../docs/user-guide");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "md"))
        .collect();
    files.sort();
    let mut blocks = Vec::new();
    for file in files {
        let text = std::fs::read_to_string(&file).unwrap();
        let name = file.file_name().unwrap().to_string_lossy().into_owned();
        // The Lua block being read, or whether another block is open.
        let mut current: Option<(usize, String)> = None;
        let mut in_other = false;
        for (i, line) in text.lines().enumerate() {
            let fence = line.trim_start().strip_prefix("```").map(str::trim);
            if let Some((start, code)) = &mut current {
                if fence.is_some() {
                    blocks.push((name.clone(), *start, std::mem::take(code)));
                    current = None;
                } else {
                    code.push_str(line);
                    code.push('\n');
                }
            } else if in_other {
                in_other = fence.is_none();
            } else if fence == Some("lua") {
                current = Some((i + 1, String::new()));
            } else if fence.is_some() {
                // another language, or ```lua fragment
                in_other = true;
            }
        }
    }
    blocks
}

#[test]
fn every_lua_block_of_the_user_guide_runs() {
    let blocks = lua_blocks();
    assert!(blocks.len() >= 10, "found only {} Lua blocks", blocks.len());
    let mut failures = Vec::new();
    for (file, line, code) in &blocks {
        let dir = tempfile::tempdir().unwrap();
        let script = dir.path().join("block.lua");
        std::fs::write(&script, code).unwrap();
        let out = Command::new(env!("CARGO_BIN_EXE_llmspell"))
            .args([
                "run",
                "--store",
                "memory",
                "--state-store",
                "memory",
                "--workflow-store",
                "memory",
                "--timeout-secs",
                "30",
                "--allow-dir",
                ".",
                "block.lua",
            ])
            .current_dir(dir.path())
            .output()
            .unwrap();
        if !out.status.success() {
            failures.push(format!(
                "{file}:{line}: {}\n{code}",
                String::from_utf8_lossy(&out.stderr)
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n---\n"));
}

/// Every markdown file under `dir`, recursively.
fn markdown_files(dir: &std::path::Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            markdown_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "md") {
            out.push(path);
        }
    }
}

#[test]
fn doc_links_stay_inside_the_repository_and_resolve() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .canonicalize()
        .unwrap();
    let mut files = vec![root.join("README.md")];
    markdown_files(&root.join("docs"), &mut files);
    let mut bad = Vec::new();
    for file in &files {
        let text = std::fs::read_to_string(file).unwrap();
        for forbidden in ["/work/", "../shared", "DESIGN.md", "TECH-NOTES"] {
            if text.contains(forbidden) {
                bad.push(format!("{}: mentions `{forbidden}`", file.display()));
            }
        }
        for target in inline_links(&text) {
            if target.starts_with("http://")
                || target.starts_with("https://")
                || target.starts_with('#')
            {
                continue;
            }
            let path = target.split('#').next().unwrap_or_default();
            let resolved = file.parent().unwrap().join(path);
            // rustdoc output exists only after `cargo doc`
            let generated = resolved.to_string_lossy().contains("/target/doc/");
            let inside = resolved
                .canonicalize()
                .map(|p| p.starts_with(&root))
                .unwrap_or(generated);
            if !inside || (!generated && !resolved.exists()) {
                bad.push(format!(
                    "{}: link `{target}` does not resolve inside the repository",
                    file.display()
                ));
            }
        }
    }
    assert!(bad.is_empty(), "{}", bad.join("\n"));
}

/// The targets of the inline links `[text](target)` of a markdown text.
fn inline_links(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(i) = rest.find("](") {
        rest = &rest[i + 2..];
        if let Some(end) = rest.find(')') {
            let target = &rest[..end];
            if !target.contains(' ') && !target.is_empty() {
                out.push(target.to_owned());
            }
            rest = &rest[end..];
        }
    }
    out
}
