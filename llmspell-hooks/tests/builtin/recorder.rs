//! HookRecorder / HookReplayer: round trip through sled, differences.

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;

use async_trait::async_trait;
use llmspell_hooks::{
    ComponentId, ComponentType, Hook, HookContext, HookError, HookMetadata, HookPoint,
    HookRecorder, HookReplayer, HookResult, RecordedOutcome, ReplayableHook,
};
use llmspell_storage::SledBackend;
use serde_json::json;

/// Doubles `n` into `data.doubled`; cancels above `limit`.
struct Doubler {
    limit: AtomicI64,
}

#[async_trait]
impl Hook for Doubler {
    async fn execute(&self, ctx: &mut HookContext) -> llmspell_hooks::Result<HookResult> {
        let n = ctx
            .get("n")
            .and_then(serde_json::Value::as_i64)
            .ok_or_else(|| HookError::execution("doubler", "no n"))?;
        if n > self.limit.load(Ordering::SeqCst) {
            return Ok(HookResult::cancel(format!("{n} too big")));
        }
        ctx.insert("doubled", json!(n * 2));
        Ok(HookResult::Continue)
    }
    fn metadata(&self) -> HookMetadata {
        HookMetadata::new("doubler")
    }
}

impl ReplayableHook for Doubler {
    fn replay_id(&self) -> String {
        "tests/doubler".into()
    }
}

fn ctx(n: Option<i64>) -> HookContext {
    let mut b = HookContext::builder(
        HookPoint::BeforeToolExecution,
        ComponentId::new(ComponentType::Tool, "t"),
    );
    if let Some(n) = n {
        b = b.data("n", json!(n));
    }
    b.build()
}

#[tokio::test]
async fn record_to_sled_reopen_and_replay() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("db");
    let hook = Doubler {
        limit: AtomicI64::new(10),
    };
    {
        let recorder = HookRecorder::new(Arc::new(SledBackend::open(&path).unwrap()));
        for n in [Some(1), Some(5), Some(50), None] {
            let _ = recorder.record(&hook, &mut ctx(n)).await;
        }
    }
    // A new process: reopen the database.
    let recorder = HookRecorder::new(Arc::new(SledBackend::open(&path).unwrap()));
    let recs = recorder.executions("tests/doubler").await.unwrap();
    assert_eq!(recs.len(), 4);
    assert_eq!(
        recs[0].outcome,
        RecordedOutcome::Result(HookResult::Continue)
    );
    assert_eq!(recs[1].data_out["doubled"], 10);
    assert!(
        matches!(&recs[2].outcome, RecordedOutcome::Result(HookResult::Cancel(r)) if r == "50 too big")
    );
    assert!(matches!(&recs[3].outcome, RecordedOutcome::Error(e) if e.contains("no n")));
    assert!(recs
        .windows(2)
        .all(|w| w[0].recorded_at <= w[1].recorded_at));

    // The same hook replays identically.
    let report = HookReplayer::replay_recorded(&recorder, &hook)
        .await
        .unwrap();
    assert!(report.is_identical(), "{report:?}");
    assert_eq!((report.total, report.matched), (4, 4));

    // A changed hook: the limit moved, so the third execution now differs.
    hook.limit.store(100, Ordering::SeqCst);
    let report = HookReplayer::replay_recorded(&recorder, &hook)
        .await
        .unwrap();
    assert_eq!(report.matched, 3);
    assert_eq!(report.differences.len(), 1);
    let d = &report.differences[0];
    assert_eq!(d.index, 2);
    assert!(d.data_differs && d.result_differs);
    assert_eq!(d.replayed, RecordedOutcome::Result(HookResult::Continue));

    assert_eq!(recorder.clear("tests/doubler").await.unwrap(), 4);
    assert!(recorder
        .executions("tests/doubler")
        .await
        .unwrap()
        .is_empty());
}

#[tokio::test]
async fn a_recording_hook_records_executions_made_by_the_executor() {
    let storage = Arc::new(llmspell_storage::MemoryBackend::new());
    let recorder = HookRecorder::new(storage).with_redactor(None);
    let registry = Arc::new(llmspell_hooks::HookRegistry::new());
    registry
        .register(
            HookPoint::BeforeToolExecution,
            recorder.recording(Doubler {
                limit: AtomicI64::new(10),
            }),
        )
        .unwrap();
    let executor = llmspell_hooks::HookExecutor::new(registry);
    let mut c = ctx(Some(3));
    assert!(executor.execute_context(&mut c).await.is_continue());
    assert_eq!(c.data["doubled"], 6);
    let recs = recorder.executions("tests/doubler").await.unwrap();
    assert_eq!(recs.len(), 1);
    let replayed: HookContext = serde_json::from_slice(&recs[0].context).unwrap();
    assert_eq!(replayed.data["n"], 3);
    assert!(
        recorder.executions("tests").await.unwrap().is_empty(),
        "ids are not prefixes of each other"
    );
}
