use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;

use llmspell_hooks::{hook_fn, HookExecutor, HookPoint, HookRegistry, HookResult};

use crate::tool_ctx;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn registration_from_many_tasks_while_dispatching() {
    let registry = Arc::new(HookRegistry::new());
    let executor = Arc::new(HookExecutor::new(registry.clone()));
    let p = HookPoint::BeforeToolExecution;
    let calls = Arc::new(AtomicUsize::new(0));
    let stop = Arc::new(AtomicBool::new(false));

    let mut dispatchers = Vec::new();
    for _ in 0..4 {
        let (executor, stop, p) = (executor.clone(), stop.clone(), p.clone());
        dispatchers.push(tokio::spawn(async move {
            let mut runs = 0usize;
            while !stop.load(Ordering::Relaxed) {
                let mut ctx = tool_ctx("t");
                assert!(executor.execute(&p, &mut ctx).await.is_continue());
                runs += 1;
                tokio::task::yield_now().await;
            }
            runs
        }));
    }
    let mut writers = Vec::new();
    for t in 0..8 {
        let (registry, calls, p) = (registry.clone(), calls.clone(), p.clone());
        writers.push(tokio::spawn(async move {
            let mut handles = Vec::new();
            for i in 0..50 {
                let c = calls.clone();
                let h = registry
                    .register(
                        p.clone(),
                        hook_fn(format!("w{t}_{i}"), move |_| {
                            c.fetch_add(1, Ordering::Relaxed);
                            Ok(HookResult::Continue)
                        }),
                    )
                    .unwrap();
                handles.push(h);
                if i % 2 == 0 {
                    let h = handles.remove(0);
                    assert!(registry.unregister(&h));
                }
                tokio::task::yield_now().await;
            }
            handles
        }));
    }
    let mut kept = 0;
    for w in writers {
        kept += w.await.unwrap().len();
    }
    stop.store(true, Ordering::Relaxed);
    let mut runs = 0;
    for d in dispatchers {
        runs += d.await.unwrap();
    }
    assert!(runs > 0);
    assert_eq!(registry.len_at(&p), kept);
    assert_eq!(kept, 8 * 25);
    // After the writes, one dispatch runs exactly the remaining hooks.
    let before = calls.load(Ordering::Relaxed);
    let mut ctx = tool_ctx("t");
    assert!(executor.execute(&p, &mut ctx).await.is_continue());
    assert_eq!(calls.load(Ordering::Relaxed) - before, kept);
}
