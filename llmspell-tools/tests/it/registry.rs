//! The registry: lookup by name and category, validation, registration.

use async_trait::async_trait;
use llmspell_tools::{
    Result, SecurityLevel, Tool, ToolCategory, ToolContext, ToolError, ToolMetadata, ToolRegistry,
};
use serde_json::{json, Value};

use crate::common::{assert_invalid, registry};

const ALL: [&str; 25] = [
    "archive_handler",
    "audio_processor",
    "base64_encoder",
    "calculator",
    "csv_analyzer",
    "data_validation",
    "database_connector",
    "date_time_handler",
    "diff_calculator",
    "email_sender",
    "environment_reader",
    "file_converter",
    "file_operations",
    "file_search",
    "file_watcher",
    "hash_calculator",
    "image_processor",
    "json_processor",
    "process_executor",
    "service_checker",
    "system_monitor",
    "template_engine",
    "text_manipulator",
    "uuid_generator",
    "video_processor",
];

#[test]
fn standard_registry_holds_every_standard_tool() {
    let names = registry().names();
    // 25 local tools plus the 9 web tools: the 34 standard tools.
    let mut expected: Vec<String> = ALL
        .iter()
        .chain(crate::network::NETWORK.iter())
        .map(|s| (*s).to_owned())
        .collect();
    expected.sort();
    assert_eq!(names, expected);
}

#[test]
fn every_tool_declares_metadata_and_object_schemas() {
    for meta in registry().list() {
        assert!(!meta.description().is_empty(), "{}", meta.name());
        assert_eq!(meta.parameters()["type"], "object", "{}", meta.name());
        assert!(meta.result().is_object(), "{}", meta.name());
    }
}

#[test]
fn lookup_by_category() {
    let reg = registry();
    let names = |c: ToolCategory| {
        reg.by_category(&c)
            .iter()
            .map(|t| t.name().to_owned())
            .collect::<Vec<_>>()
    };
    assert_eq!(
        names(ToolCategory::Data),
        [
            "csv_analyzer",
            "data_validation",
            "database_connector",
            "json_processor"
        ]
    );
    assert_eq!(
        names(ToolCategory::Custom("media".to_owned())),
        ["audio_processor", "image_processor", "video_processor"]
    );
    assert_eq!(
        names(ToolCategory::Custom("communication".to_owned())),
        ["email_sender"]
    );
    assert_eq!(
        names(ToolCategory::Filesystem),
        [
            "archive_handler",
            "file_converter",
            "file_operations",
            "file_search",
            "file_watcher"
        ]
    );
    assert_eq!(
        names(ToolCategory::System),
        [
            "environment_reader",
            "process_executor",
            "service_checker",
            "system_monitor"
        ]
    );
    assert_eq!(names(ToolCategory::Utility).len(), 8);
    assert!(names(ToolCategory::Custom("none".into())).is_empty());
}

#[test]
fn security_levels_are_declared() {
    let reg = registry();
    let level = |n: &str| reg.get(n).unwrap().metadata().security_level();
    assert_eq!(level("calculator"), SecurityLevel::Safe);
    assert_eq!(level("file_operations"), SecurityLevel::Restricted);
    assert_eq!(level("process_executor"), SecurityLevel::Privileged);
}

#[test]
fn unknown_tool_error_lists_the_registered_names() {
    let err = registry().require("nope").unwrap_err();
    let text = err.to_string();
    assert!(matches!(err, ToolError::NotFound { .. }));
    assert!(
        text.contains("nope") && text.contains("calculator"),
        "{text}"
    );
}

#[derive(Debug)]
struct Echo(ToolMetadata);

#[async_trait]
impl Tool for Echo {
    fn metadata(&self) -> &ToolMetadata {
        &self.0
    }
    async fn execute(&self, params: Value, _ctx: &ToolContext) -> Result<Value> {
        Ok(params)
    }
}

fn echo(name: &str, schema: Value) -> Echo {
    Echo(
        ToolMetadata::new(name, "echoes", ToolCategory::Custom("test".into()))
            .with_parameters(schema),
    )
}

#[tokio::test]
async fn register_validate_call_and_unregister_a_custom_tool() {
    let reg = ToolRegistry::new();
    assert!(reg.is_empty());
    reg.register(echo(
        "echo",
        json!({"type": "object", "properties": {"n": {"type": "integer"}}, "required": ["n"]}),
    ))
    .unwrap();
    assert_eq!(reg.len(), 1);
    let tool = reg.get("echo").unwrap();
    let out = tool
        .call(json!({"n": 3}), &ToolContext::new())
        .await
        .unwrap();
    assert_eq!(out, json!({"n": 3}));
    assert_invalid(tool.call(json!({"n": "x"}), &ToolContext::new()).await, "n");
    assert_invalid(reg.validate("echo", &json!({})).map(|()| Value::Null), "n");
    assert!(matches!(
        reg.register(echo("echo", json!({}))),
        Err(ToolError::AlreadyRegistered { .. })
    ));
    assert!(reg.unregister("echo").is_some());
    assert!(reg.unregister("echo").is_none());
    assert!(!reg.contains("echo"));
}

#[test]
fn a_tool_with_a_broken_schema_is_refused() {
    let reg = ToolRegistry::new();
    let err = reg.register(echo("bad", json!({"type": 5}))).unwrap_err();
    assert!(matches!(err, ToolError::InvalidSchema { .. }), "{err}");
    assert!(reg.is_empty());
}

#[test]
fn public_types_are_send_and_sync() {
    fn check<T: Send + Sync>() {}
    check::<ToolRegistry>();
    check::<ToolError>();
    check::<ToolContext>();
    check::<llmspell_tools::RegisteredTool>();
}
