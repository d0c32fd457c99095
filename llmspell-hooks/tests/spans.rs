//! Each traced hook execution is exactly one `llmspell.hook` span, with its
//! result recorded on it. A test binary of its own: it installs a tracing
//! subscriber, which changes the process-wide callsite interest that other
//! tests' hooks would see.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use llmspell_hooks::{
    async_hook_fn, hook_fn, ComponentId, ComponentType, HookContext, HookExecutor, HookPoint,
    HookRegistry, HookResult,
};
use serde_json::json;
use tracing_subscriber::layer::SubscriberExt;

/// Counts `llmspell.hook` spans made and the results recorded on them.
#[derive(Clone, Default)]
struct HookSpans {
    made: Arc<AtomicUsize>,
    results: Arc<AtomicUsize>,
}

impl<S: tracing::Subscriber> tracing_subscriber::Layer<S> for HookSpans {
    fn on_new_span(
        &self,
        attrs: &tracing::span::Attributes<'_>,
        _: &tracing::span::Id,
        _: tracing_subscriber::layer::Context<'_, S>,
    ) {
        if attrs.metadata().name() == "llmspell.hook" {
            self.made.fetch_add(1, Ordering::SeqCst);
        }
    }

    fn on_record(
        &self,
        _: &tracing::span::Id,
        values: &tracing::span::Record<'_>,
        _: tracing_subscriber::layer::Context<'_, S>,
    ) {
        struct Find(bool);
        impl tracing::field::Visit for Find {
            fn record_debug(&mut self, field: &tracing::field::Field, _: &dyn std::fmt::Debug) {
                self.0 |= field.name() == "llmspell.hook.result";
            }
        }
        let mut find = Find(false);
        values.record(&mut find);
        if find.0 {
            self.results.fetch_add(1, Ordering::SeqCst);
        }
    }
}

#[test]
fn each_traced_hook_execution_is_one_span_with_its_result() {
    const P: HookPoint = HookPoint::BeforeToolExecution;
    let spans = HookSpans::default();
    let subscriber = tracing_subscriber::registry().with(spans.clone());
    let calls = Arc::new(AtomicUsize::new(0));
    tracing::subscriber::with_default(subscriber, || {
        let registry = Arc::new(HookRegistry::new());
        let executor = HookExecutor::new(Arc::clone(&registry));
        // A closure hook first: the synchronous first pass sees its span
        // enabled and hands the chain, and that span, to the awaited path.
        registry
            .register(
                P,
                hook_fn("a", |ctx| {
                    ctx.insert("a", json!(true));
                    Ok(HookResult::Continue)
                }),
            )
            .unwrap();
        let counted = Arc::clone(&calls);
        registry
            .register(
                P,
                async_hook_fn("w", move |ctx| {
                    let counted = Arc::clone(&counted);
                    async move {
                        counted.fetch_add(1, Ordering::SeqCst);
                        tokio::time::sleep(Duration::ZERO).await;
                        Ok(HookResult::Modified(ctx.data))
                    }
                }),
            )
            .unwrap();
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let mut ctx = HookContext::new(P, ComponentId::new(ComponentType::Tool, "t"));
        assert!(rt
            .block_on(executor.execute_context(&mut ctx))
            .is_continue());
        assert_eq!(ctx.data["a"], true);
    });
    assert_eq!(calls.load(Ordering::SeqCst), 1);
    assert_eq!(spans.made.load(Ordering::SeqCst), 2, "one span per hook");
    assert_eq!(spans.results.load(Ordering::SeqCst), 2);
}
