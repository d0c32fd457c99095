//! `examples/llmspell.toml` with the guards of `examples/hooks/`.

use std::path::PathBuf;
use std::process::Command;

#[test]
fn the_example_configuration_and_guards_work() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    let out = Command::new(env!("CARGO_BIN_EXE_llmspell"))
        .args([
            "run",
            "--config",
            "examples/llmspell.toml",
            "--allow-program",
            "echo",
            "examples/hooks/guarded.lua",
        ])
        .current_dir(&root)
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    assert_eq!(String::from_utf8_lossy(&out.stdout), "guarded: ok\n");
}
