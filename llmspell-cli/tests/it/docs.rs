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
