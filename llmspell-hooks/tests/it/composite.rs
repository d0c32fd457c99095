use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use llmspell_hooks::{
    async_hook_fn, hook_fn, Aggregation, FirstMatchHook, Hook, HookContext, HookMetadata,
    HookResult, ParallelHook, SequentialHook, VotingHook,
};
use serde_json::json;

use crate::{returns, tool_ctx};

fn set(key: &'static str, value: i64) -> impl Hook + 'static {
    hook_fn(key, move |ctx: &mut HookContext| {
        let mut data = ctx.data.clone();
        data.insert(key.into(), json!(value));
        Ok(HookResult::Modified(data))
    })
}

#[tokio::test]
async fn sequential_applies_modified_and_stops_on_first_non_continue() {
    let ran = Arc::new(AtomicUsize::new(0));
    let r = ran.clone();
    let seq = SequentialHook::new("seq")
        .with(set("a", 1))
        .with(returns("skip", HookResult::skipped("-")))
        .with(returns("stop", HookResult::redirect("elsewhere")))
        .with(hook_fn("never", move |_| {
            r.fetch_add(1, Ordering::SeqCst);
            Ok(HookResult::Continue)
        }));
    let mut ctx = tool_ctx("t");
    assert_eq!(
        seq.execute(&mut ctx).await.unwrap(),
        HookResult::redirect("elsewhere")
    );
    assert_eq!(ctx.data["a"], 1);
    assert_eq!(ran.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn parallel_merges_data_and_aggregates_in_hook_order() {
    let par = ParallelHook::new("par")
        .concurrency_limit(2)
        .with(async_hook_fn("slow_replace", |_| async {
            tokio::time::sleep(Duration::from_millis(20)).await;
            Ok(HookResult::Replace(json!("slow")))
        }))
        .with(set("b", 2))
        .with(returns("cancel", HookResult::cancel("no")));
    let mut ctx = tool_ctx("t");
    // FirstStop: in hook order, the Replace comes first even though it
    // finishes last.
    assert_eq!(
        par.execute(&mut ctx).await.unwrap(),
        HookResult::Replace(json!("slow"))
    );
    assert_eq!(ctx.data["b"], 2);

    let par = ParallelHook::new("par2")
        .aggregation(Aggregation::CancelWins)
        .with(returns("replace", HookResult::Replace(json!(1))))
        .with(returns("cancel", HookResult::cancel("no")));
    assert_eq!(
        par.execute(&mut ctx).await.unwrap(),
        HookResult::cancel("no")
    );
}

#[tokio::test]
async fn parallel_respects_concurrency_limit() {
    let active = Arc::new(AtomicUsize::new(0));
    let peak = Arc::new(AtomicUsize::new(0));
    let mut par = ParallelHook::new("limited").concurrency_limit(2);
    for i in 0..6 {
        let (a, p) = (active.clone(), peak.clone());
        par = par.with(async_hook_fn(format!("h{i}"), move |_| {
            let (a, p) = (a.clone(), p.clone());
            async move {
                let now = a.fetch_add(1, Ordering::SeqCst) + 1;
                p.fetch_max(now, Ordering::SeqCst);
                tokio::time::sleep(Duration::from_millis(5)).await;
                a.fetch_sub(1, Ordering::SeqCst);
                Ok(HookResult::Continue)
            }
        }));
    }
    let mut ctx = tool_ctx("t");
    assert_eq!(par.execute(&mut ctx).await.unwrap(), HookResult::Continue);
    assert_eq!(peak.load(Ordering::SeqCst), 2);
}

struct OnlyFor(&'static str, HookResult);

#[async_trait::async_trait]
impl Hook for OnlyFor {
    async fn execute(&self, _ctx: &mut HookContext) -> llmspell_hooks::Result<HookResult> {
        Ok(self.1.clone())
    }
    fn metadata(&self) -> HookMetadata {
        HookMetadata::new(self.0)
    }
    fn should_execute(&self, ctx: &HookContext) -> bool {
        ctx.component.name == self.0
    }
}

#[tokio::test]
async fn first_match_runs_only_the_first_accepting_hook() {
    let fm = FirstMatchHook::new("fm")
        .with(OnlyFor("calc", HookResult::cancel("calc")))
        .with(OnlyFor("files", HookResult::cancel("files")));
    assert_eq!(
        fm.execute(&mut tool_ctx("files")).await.unwrap(),
        HookResult::cancel("files")
    );
    assert!(fm
        .execute(&mut tool_ctx("other"))
        .await
        .unwrap()
        .is_skipped());
    assert!(!fm.should_execute(&tool_ctx("other")));
}

#[tokio::test]
async fn voting_passes_at_threshold_and_nests() {
    let vote = |yes: usize, no: usize, threshold: f64| {
        let mut v = VotingHook::new("vote", threshold).unwrap();
        for i in 0..yes {
            v = v.with(returns(&format!("y{i}"), HookResult::Continue));
        }
        for i in 0..no {
            v = v.with(returns(
                &format!("n{i}"),
                HookResult::cancel(format!("n{i}")),
            ));
        }
        v.with(returns("abstain", HookResult::skipped("-")))
    };
    let mut ctx = tool_ctx("t");
    assert!(vote(2, 1, 0.66)
        .execute(&mut ctx)
        .await
        .unwrap()
        .is_continue());
    assert!(vote(1, 1, 0.66)
        .execute(&mut ctx)
        .await
        .unwrap()
        .is_cancel());
    assert!(VotingHook::new("bad", 0.0).is_err());

    // Nesting: a vote inside a sequence inside a parallel group.
    let nested = ParallelHook::new("outer").with(
        SequentialHook::new("inner")
            .with(set("n", 7))
            .with(vote(1, 2, 0.5)),
    );
    let r = nested.execute(&mut ctx).await.unwrap();
    assert!(r.is_cancel(), "{r:?}");
}
