//! DebuggingHook: bounded ring of traces, minimum-duration filter.

use std::sync::Arc;
use std::time::Duration;

use llmspell_hooks::builtin::{DebuggingConfig, DebuggingHook};
use llmspell_hooks::ManualClock;
use serde_json::json;

use crate::Harness;

#[tokio::test]
async fn captures_context_in_result_out_and_duration() {
    let clock = ManualClock::new();
    let dbg = Arc::new(
        DebuggingConfig::new()
            .clock(Arc::new(clock.clone()))
            .build(),
    );
    let h = Harness::new("calc");
    h.attach(dbg.clone());
    let c = clock.clone();
    h.call(json!({"expr": "1+1"}), None, move |_| {
        c.advance(Duration::from_millis(7));
        Ok(json!(2))
    })
    .await;
    h.call(json!({"expr": "1/0"}), None, |_| {
        Err("division by zero".into())
    })
    .await;
    let t = dbg.traces();
    assert_eq!(t.len(), 4);
    assert_eq!(t[0].point, "BeforeToolExecution");
    assert_eq!(t[0].data["parameters"]["expr"], "1+1");
    assert_eq!(t[0].duration, None);
    assert_eq!(t[1].point, "AfterToolExecution");
    assert_eq!(t[1].result, Some(json!(2)));
    assert_eq!(t[1].duration, Some(Duration::from_millis(7)));
    assert_eq!(t[3].error.as_deref(), Some("division by zero"));
    assert_eq!(dbg.traces_slower_than(Duration::from_millis(5)).len(), 1);
    let json = serde_json::to_value(&t[1]).unwrap();
    assert_eq!(json["duration"], 7000);
}

#[tokio::test]
async fn the_ring_is_bounded_and_filters_by_minimum_duration() {
    let clock = ManualClock::new();
    let dbg = Arc::new(
        DebuggingConfig::new()
            .capacity(3)
            .min_duration(Duration::from_millis(10))
            .clock(Arc::new(clock.clone()))
            .build(),
    );
    let h = Harness::new("calc");
    h.attach(dbg.clone());
    for ms in [1u64, 20, 5, 30, 40, 50] {
        let c = clock.clone();
        h.call(json!({"ms": ms}), None, move |_| {
            c.advance(Duration::from_millis(ms));
            Ok(json!(ms))
        })
        .await;
    }
    let kept: Vec<_> = dbg
        .traces()
        .iter()
        .map(|t| t.result.clone().unwrap())
        .collect();
    assert_eq!(kept, [json!(30), json!(40), json!(50)]);
    dbg.clear();
    assert!(dbg.traces().is_empty());
    let _ = DebuggingHook::new();
}
