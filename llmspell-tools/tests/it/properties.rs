//! Property tests: the sandbox never lets a path out, and tools never panic
//! on arbitrary input.

use llmspell_tools::{FileSandbox, ToolContext, ToolError, ToolRegistry, ToolsConfig};
use proptest::prelude::*;
use serde_json::json;

fn segment() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("..".to_owned()),
        Just(".".to_owned()),
        Just("out".to_owned()),
        Just("sub".to_owned()),
        Just("file.txt".to_owned()),
        "[a-z]{1,3}",
    ]
}

fn relative_path() -> impl Strategy<Value = String> {
    prop::collection::vec(segment(), 1..6).prop_map(|parts| parts.join("/"))
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn resolved_paths_stay_inside_the_roots(rel in relative_path(), absolute in any::<bool>()) {
        let root = tempfile::tempdir().unwrap();
        let outside = tempfile::tempdir().unwrap();
        std::fs::create_dir(root.path().join("sub")).unwrap();
        std::fs::write(root.path().join("sub/file.txt"), "x").unwrap();
        #[cfg(unix)]
        std::os::unix::fs::symlink(outside.path(), root.path().join("out")).unwrap();
        let sandbox = FileSandbox::new([root.path()]).unwrap();
        let canonical_root = root.path().canonicalize().unwrap();
        let requested = if absolute {
            format!("{}/{rel}", root.path().display())
        } else {
            rel.clone()
        };
        match sandbox.resolve("t", &requested) {
            Ok(path) => {
                prop_assert!(path.starts_with(&canonical_root), "{requested} -> {}", path.display());
                prop_assert!(!rel.split('/').any(|s| s == ".."));
            }
            Err(ToolError::PolicyViolation { .. } | ToolError::Io { .. } | ToolError::InvalidParameter { .. }) => {}
            Err(other) => prop_assert!(false, "unexpected error {other:?}"),
        }
    }

    #[test]
    fn string_tools_never_panic(text in any::<String>(), pattern in "[^\\\\]{0,8}") {
        let registry = ToolRegistry::with_standard_tools(&ToolsConfig::default()).unwrap();
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        let calls = [
            ("calculator", json!({"expression": text})),
            ("date_time_handler", json!({"operation": "parse", "input": text, "format": pattern})),
            ("date_time_handler", json!({"operation": "format", "input": "2024-01-01", "format": text})),
            ("json_processor", json!({"input": {"a": [1, {"b": 2}]}, "path": text})),
            ("json_processor", json!({"operation": "parse", "input": text})),
            ("text_manipulator", json!({"operation": "replace", "text": text, "pattern": pattern, "replacement": "x", "regex": true})),
            ("template_engine", json!({"template": text, "context": {"a": 1}})),
            ("csv_analyzer", json!({"input": text})),
            ("base64_encoder", json!({"operation": "decode", "input": text})),
            ("uuid_generator", json!({"operation": "parse", "input": text})),
        ];
        for (tool, params) in calls {
            let registered = registry.get(tool).unwrap();
            // Any Ok or Err is fine; a panic fails the property.
            let _ = rt.block_on(registered.call(params, &ToolContext::new()));
        }
    }
}
