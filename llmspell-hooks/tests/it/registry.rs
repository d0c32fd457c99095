use std::sync::{Arc, Mutex};

use llmspell_hooks::{
    hook_fn, Hook, HookFilter, HookHandle, HookMetadata, HookPoint, HookRegistry, HookResult,
    Language, Priority, RegisterOptions,
};
use proptest::prelude::*;

use crate::{setup, tool_ctx};

fn named(name: &str, priority: i32) -> Arc<dyn Hook> {
    Arc::new(hook_fn(
        HookMetadata::new(name).with_priority(Priority(priority)),
        |_| Ok(HookResult::Continue),
    ))
}

#[test]
fn list_filters_by_point_language_priority_tag_and_enabled() {
    let r = HookRegistry::new();
    let p = HookPoint::BeforeAgentInit;
    let lua = hook_fn(
        HookMetadata::new("lua_one")
            .with_language(Language::Lua)
            .with_tag("security")
            .with_priority(Priority::HIGH),
        |_| Ok(HookResult::Continue),
    );
    let h_lua = r.register(p.clone(), lua).unwrap();
    r.register(p.clone(), hook_fn("rust_one", |_| Ok(HookResult::Continue)))
        .unwrap();
    r.register(
        HookPoint::AfterAgentInit,
        hook_fn("other", |_| Ok(HookResult::Continue)),
    )
    .unwrap();
    let names = |f: HookFilter| -> Vec<String> {
        r.list(&f)
            .iter()
            .map(|h| h.metadata().name.clone())
            .collect()
    };
    assert_eq!(
        names(HookFilter::new().point(p.clone())),
        ["lua_one", "rust_one"]
    );
    assert_eq!(
        names(HookFilter::new().language(Language::Lua)),
        ["lua_one"]
    );
    assert_eq!(names(HookFilter::new().tag("security")), ["lua_one"]);
    assert_eq!(
        names(HookFilter::new().priority_range(Priority::NORMAL..=Priority::LOWEST)),
        ["rust_one", "other"]
    );
    r.set_enabled(&h_lua, false).unwrap();
    assert_eq!(names(HookFilter::new().enabled(false)), ["lua_one"]);
    let stats = r.stats();
    assert_eq!(stats.total, 3);
    assert_eq!(stats.enabled, 2);
    assert_eq!(stats.by_point["BeforeAgentInit"], 2);
    assert_eq!(stats.by_language["lua"], 1);
    assert_eq!(stats.by_breaker_state["closed"], 3);
}

#[test]
fn unregister_by_handle_and_by_name() {
    let r = HookRegistry::new();
    let p = HookPoint::SessionStart;
    let a = r
        .register_with(p.clone(), named("a", 0), RegisterOptions::new())
        .unwrap();
    r.register_with(p.clone(), named("b", 0), RegisterOptions::new())
        .unwrap();
    r.register_with(p.clone(), named("b", 5), RegisterOptions::new())
        .unwrap();
    assert_eq!(r.len(), 3);
    assert!(r.unregister(&a));
    assert!(!r.unregister(&a), "second unregister finds nothing");
    assert!(r.set_enabled(&a, true).is_err());
    assert_eq!(r.unregister_by_name(&p, "b"), 2);
    assert!(r.is_empty());
}

#[test]
fn register_many_is_all_or_nothing() {
    let r = HookRegistry::new();
    let p = HookPoint::SessionEnd;
    let bad = r.register_many(vec![
        (p.clone(), named("ok", 0), RegisterOptions::new()),
        (
            p.clone(),
            named("bad", 0),
            RegisterOptions::new().matcher("[z-a]"),
        ),
    ]);
    assert!(bad.is_err());
    assert!(r.is_empty());
    let handles = r
        .register_many(vec![
            (p.clone(), named("x", 0), RegisterOptions::new()),
            (p.clone(), named("y", 0), RegisterOptions::new()),
        ])
        .unwrap();
    assert_eq!(handles.len(), 2);
    assert_eq!(r.len_at(&p), 2);
}

#[tokio::test]
async fn execution_order_is_priority_then_registration() {
    let (registry, executor) = setup();
    let order = Arc::new(Mutex::new(Vec::new()));
    let p = HookPoint::BeforeToolExecution;
    for (name, prio) in [("low", 10), ("first", -10), ("mid_a", 0), ("mid_b", 0)] {
        let o = order.clone();
        registry
            .register(
                p.clone(),
                hook_fn(
                    HookMetadata::new(name).with_priority(Priority(prio)),
                    move |_| {
                        o.lock().unwrap().push(name);
                        Ok(HookResult::Continue)
                    },
                ),
            )
            .unwrap();
    }
    let mut ctx = tool_ctx("t");
    assert!(executor.execute(&p, &mut ctx).await.is_continue());
    assert_eq!(*order.lock().unwrap(), ["first", "mid_a", "mid_b", "low"]);
}

#[derive(Debug, Clone)]
enum Op {
    Register {
        point: usize,
        name: u8,
        priority: i8,
    },
    Unregister(usize),
    UnregisterName {
        point: usize,
        name: u8,
    },
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        (0..3usize, 0..4u8, -3..3i8).prop_map(|(point, name, priority)| Op::Register {
            point,
            name,
            priority
        }),
        any::<usize>().prop_map(Op::Unregister),
        (0..3usize, 0..4u8).prop_map(|(point, name)| Op::UnregisterName { point, name }),
    ]
}

const POINTS: [HookPoint; 3] = [
    HookPoint::BeforeToolExecution,
    HookPoint::AfterToolExecution,
    HookPoint::SystemStartup,
];

proptest! {
    /// The registry's per-point order equals a model sorted by (priority,
    /// registration order) after any register/unregister sequence.
    #[test]
    fn register_unregister_matches_model(ops in proptest::collection::vec(op(), 0..60)) {
        let r = HookRegistry::new();
        // model: (point, priority, seq, name, handle)
        let mut model: Vec<(usize, i32, u64, String, HookHandle)> = Vec::new();
        let mut seq = 0u64;
        for op in ops {
            match op {
                Op::Register { point, name, priority } => {
                    let name = format!("h{name}");
                    let h = r.register_with(POINTS[point].clone(), named(&name, i32::from(priority)), RegisterOptions::new()).unwrap();
                    seq += 1;
                    model.push((point, i32::from(priority), seq, name, h));
                }
                Op::Unregister(i) => {
                    if model.is_empty() {
                        continue;
                    }
                    let (.., h) = model.remove(i % model.len());
                    prop_assert!(r.unregister(&h));
                }
                Op::UnregisterName { point, name } => {
                    let name = format!("h{name}");
                    let before = model.len();
                    model.retain(|(p, _, _, n, _)| !(*p == point && *n == name));
                    prop_assert_eq!(r.unregister_by_name(&POINTS[point], &name), before - model.len());
                }
            }
        }
        prop_assert_eq!(r.len(), model.len());
        for (i, point) in POINTS.iter().enumerate() {
            let mut expected: Vec<_> = model.iter().filter(|m| m.0 == i).collect();
            expected.sort_by_key(|m| (m.1, m.2));
            let expected: Vec<HookHandle> = expected.into_iter().map(|m| m.4.clone()).collect();
            let actual: Vec<HookHandle> = r.hooks_at(point).iter().map(|h| h.handle().clone()).collect();
            prop_assert_eq!(actual, expected);
        }
    }

    /// Execution order is total (every hook runs exactly once) and stable
    /// (equal priorities keep registration order).
    #[test]
    fn priority_order_is_total_and_stable(prios in proptest::collection::vec(-3..3i32, 0..30)) {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        let (registry, executor) = setup();
        let order = Arc::new(Mutex::new(Vec::new()));
        for (i, p) in prios.iter().enumerate() {
            let o = order.clone();
            registry.register(HookPoint::ToolValidation, hook_fn(HookMetadata::new(format!("{i}")).with_priority(Priority(*p)), move |_| {
                o.lock().unwrap().push(i);
                Ok(HookResult::Continue)
            })).unwrap();
        }
        let mut ctx = tool_ctx("t");
        let outcome = rt.block_on(executor.execute(&HookPoint::ToolValidation, &mut ctx));
        prop_assert!(outcome.is_continue());
        let mut expected: Vec<usize> = (0..prios.len()).collect();
        expected.sort_by_key(|&i| (prios[i], i));
        prop_assert_eq!(order.lock().unwrap().clone(), expected);
    }
}
