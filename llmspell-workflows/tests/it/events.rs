//! Lifecycle events, correlated with the run.

use std::time::Duration;

use llmspell_events::UniversalEvent;
use serde_json::json;

use crate::common::{probe, Fixture};

async fn drain(sub: &mut llmspell_events::Subscription) -> Vec<std::sync::Arc<UniversalEvent>> {
    let mut out = Vec::new();
    while let Some(e) = sub.recv_timeout(Duration::from_millis(100)).await {
        out.push(e);
    }
    out
}

#[tokio::test]
async fn a_run_publishes_its_lifecycle_with_one_correlation_id() {
    let f = Fixture::new();
    let mut sub = f.bus.subscribe("workflow.*").unwrap();
    let mut tools = f.bus.subscribe("tool.execution.*").unwrap();
    let wf = f.create(json!({"type": "sequential", "name": "ev", "steps": [
        probe("a", json!({})),
        {"name": "inner", "workflow": {"type": "loop", "iterator": {"range": {"end": 2}}, "body": [probe("b", json!({}))]}},
    ]}));
    let r = f.runtime.execute(&wf, json!({})).await.unwrap();
    assert!(r.success);
    let events = drain(&mut sub).await;
    let kinds: Vec<(&str, Option<&str>)> = events
        .iter()
        .map(|e| {
            (
                e.event_type.as_str(),
                e.data.get("step_name").and_then(|v| v.as_str()),
            )
        })
        .collect();
    assert_eq!(
        kinds,
        [
            ("workflow.started", None),
            ("workflow.step.started", Some("a")),
            ("workflow.step.completed", Some("a")),
            ("workflow.step.started", Some("inner")),
            ("workflow.started", None),
            ("workflow.step.started", Some("b")),
            ("workflow.step.completed", Some("b")),
            ("workflow.step.started", Some("b")),
            ("workflow.step.completed", Some("b")),
            ("workflow.completed", None),
            ("workflow.step.completed", Some("inner")),
            ("workflow.completed", None),
        ]
    );
    for e in &events {
        assert_eq!(
            e.metadata.correlation_id,
            Some(r.run_id),
            "{}",
            e.event_type
        );
        assert_eq!(e.data["run_id"], json!(r.run_id));
    }
    assert_eq!(events[0].data["workflow_name"], "ev");
    assert_eq!(events[0].data["pattern"], "sequential");
    assert_eq!(events[4].data["parent"], "ev");
    assert_eq!(events[7].data["iteration"], 1);
    assert!(events[2].data["duration_ms"].as_f64().is_some());
    // Tool calls of the steps share the run's correlation id.
    let tool_events = drain(&mut tools).await;
    assert_eq!(tool_events.len(), 6);
    assert!(tool_events
        .iter()
        .all(|e| e.metadata.correlation_id == Some(r.run_id)));
}

#[tokio::test]
async fn failures_publish_step_failed_and_workflow_failed() {
    let f = Fixture::new();
    let mut sub = f.bus.subscribe("workflow.*").unwrap();
    let wf = f.create(json!({"type": "sequential", "name": "bad", "steps": [probe("x", json!({"fail": "nope"}))]}));
    let r = f.runtime.execute(&wf, json!({})).await.unwrap();
    let events = drain(&mut sub).await;
    let kinds: Vec<&str> = events.iter().map(|e| e.event_type.as_str()).collect();
    assert_eq!(
        kinds,
        [
            "workflow.started",
            "workflow.step.started",
            "workflow.step.failed",
            "workflow.failed"
        ]
    );
    assert_eq!(events[2].data["error"], "tool `probe` failed: nope");
    assert_eq!(events[3].data["error"], json!(r.error.unwrap()));
}
