//! One secret through every output: logs, audit log, debug traces and
//! recordings must not contain it.

use std::sync::Arc;

use async_trait::async_trait;
use llmspell_hooks::builtin::{DebuggingHook, LoggingHook, SecurityConfig};
use llmspell_hooks::{Hook, HookContext, HookMetadata, HookRecorder, HookResult, ReplayableHook};
use llmspell_storage::MemoryBackend;
use serde_json::json;
use tracing::Level;

use crate::logging::capture;
use crate::Harness;

const SECRETS: [&str; 4] = [
    "hunter2-very-secret",
    "sk-abcdefghijklmnopqrstuvwxyz123456",
    "AKIAABCDEFGHIJKLMNOP",
    "opensesame",
];

struct Echo;

#[async_trait]
impl Hook for Echo {
    async fn execute(&self, ctx: &mut HookContext) -> llmspell_hooks::Result<HookResult> {
        Ok(HookResult::Modified(ctx.data.clone()))
    }
    fn metadata(&self) -> HookMetadata {
        HookMetadata::new("echo")
    }
}

impl ReplayableHook for Echo {
    fn replay_id(&self) -> String {
        "echo".into()
    }
}

#[tokio::test]
async fn secrets_reach_no_output() {
    let (logs, _g) = capture(Level::TRACE);
    let storage = Arc::new(MemoryBackend::new());
    let recorder = HookRecorder::new(storage.clone());
    let security = Arc::new(SecurityConfig::new().block_on_violation(false).build());
    let debugging = Arc::new(DebuggingHook::new());
    let h = Harness::new("login");
    h.attach(security.clone());
    h.attach(debugging.clone());
    h.attach(Arc::new(LoggingHook::new()));
    h.attach(Arc::new(recorder.recording(Echo)));

    let params = json!({
        "user": "ann",
        "password": SECRETS[0],
        "headers": {"Authorization": format!("Bearer {}", SECRETS[1])},
        "note": format!("aws key {} and password={}", SECRETS[2], SECRETS[3]),
    });
    h.call(params, Some("ann"), |_| {
        Err(format!("login failed for password={}", SECRETS[3]))
    })
    .await;

    let outputs = [
        ("logs", logs.text()),
        (
            "audit",
            serde_json::to_string(&security.audit_log()).unwrap(),
        ),
        (
            "traces",
            serde_json::to_string(&debugging.traces()).unwrap(),
        ),
        ("recordings", {
            let recs = recorder.executions("echo").await.unwrap();
            assert_eq!(recs.len(), 2, "Before and Error point recorded");
            let ctxs: Vec<String> = recs
                .iter()
                .map(|r| String::from_utf8(r.context.clone()).unwrap())
                .collect();
            format!("{ctxs:?} {}", serde_json::to_string(&recs).unwrap())
        }),
    ];
    for (name, text) in &outputs {
        assert!(
            text.contains("ann"),
            "{name} kept the non-secret data: {text}"
        );
        assert!(text.contains("[REDACTED]"), "{name}: {text}");
        for s in SECRETS {
            assert!(!text.contains(s), "{name} leaked {s}: {text}");
        }
    }
}
