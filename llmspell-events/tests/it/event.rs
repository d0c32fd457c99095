use std::time::Duration;

use chrono::{TimeZone, Utc};
use llmspell_events::{EventBus, Language, UniversalEvent};
use proptest::prelude::*;
use serde_json::{json, Value};

fn arb_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        any::<u64>().prop_map(|n| json!(n)),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(|f| json!(f)),
        ".*".prop_map(Value::String),
    ];
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map(".*", inner, 0..4)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

proptest! {
    #[test]
    fn json_round_trip_is_exact(
        ty in "[a-z.]{1,20}",
        data in arb_json(),
        nanos in 0i64..4_000_000_000_000_000_000,
        ttl in proptest::option::of(0u64..10_000_000),
        tags in prop::collection::vec(".*", 0..3),
        priority in any::<i32>(),
        seq in any::<u64>(),
    ) {
        let mut b = UniversalEvent::builder(ty)
            .data(data)
            .language(Language::Python)
            .timestamp(Utc.timestamp_nanos(nanos))
            .correlation_id(uuid::Uuid::new_v4())
            .source("src")
            .target("dst")
            .priority(priority);
        for t in tags {
            b = b.tag(t);
        }
        if let Some(ms) = ttl {
            b = b.ttl(Duration::from_millis(ms));
        }
        let mut e = b.build();
        e.sequence = seq;
        let text = serde_json::to_string(&e).unwrap();
        let back: UniversalEvent = serde_json::from_str(&text).unwrap();
        prop_assert_eq!(&back, &e);
        prop_assert_eq!(serde_json::to_string(&back).unwrap(), text);
    }
}

#[test]
fn builder_sets_every_field() {
    let id = uuid::Uuid::new_v4();
    let c = uuid::Uuid::new_v4();
    let e = UniversalEvent::builder("a.b")
        .id(id)
        .data(json!({"x": 1}))
        .language(Language::Lua)
        .correlation_id(c)
        .source("s")
        .target("t")
        .tag("one")
        .tag("two")
        .priority(7)
        .ttl(Duration::from_millis(1500))
        .build();
    assert_eq!(e.id, id);
    assert_eq!(e.event_type, "a.b");
    assert_eq!(e.data, json!({"x": 1}));
    assert_eq!(e.language, Language::Lua);
    assert_eq!(e.metadata.correlation_id, Some(c));
    assert_eq!(e.metadata.source.as_deref(), Some("s"));
    assert_eq!(e.metadata.target.as_deref(), Some("t"));
    assert_eq!(e.metadata.tags, ["one", "two"]);
    assert_eq!(e.metadata.priority, 7);
    assert_eq!(e.metadata.ttl, Some(Duration::from_millis(1500)));
    assert_eq!(e.sequence, 0);
    assert_eq!(e.schema_version, llmspell_events::SCHEMA_VERSION);
    let v = serde_json::to_value(&e).unwrap();
    assert_eq!(v["metadata"]["ttl"], json!(1500));
    assert_eq!(v["language"], json!("lua"));
}

#[tokio::test]
async fn expired_events_are_never_delivered() {
    let bus = EventBus::new();
    let mut sub = bus.subscribe("t.*").unwrap();
    // Already expired when published.
    let old = UniversalEvent::builder("t.old")
        .timestamp(Utc::now() - chrono::Duration::seconds(10))
        .ttl(Duration::from_secs(1))
        .build();
    let report = bus.publish(old).await.unwrap();
    assert!(report.expired);
    assert_eq!(report.queued, 0);
    // Expires while queued.
    let short = UniversalEvent::builder("t.short")
        .ttl(Duration::from_millis(30))
        .build();
    assert_eq!(bus.publish(short).await.unwrap().queued, 1);
    bus.publish(UniversalEvent::new("t.keep", json!(1)))
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(60)).await;
    let got = sub.recv().await.unwrap();
    assert_eq!(got.event_type, "t.keep");
    assert!(sub.try_recv().is_none());
    let stats = bus.stats();
    assert_eq!(stats.expired_before_routing, 1);
    assert_eq!(stats.dropped.expired, 1);
    assert_eq!(stats.delivered, 1);
}

#[tokio::test]
async fn invalid_events_are_refused() {
    let bus = EventBus::new();
    assert!(bus
        .publish(UniversalEvent::new("", Value::Null))
        .await
        .is_err());
    assert!(bus
        .try_publish(UniversalEvent::new("a\0b", Value::Null))
        .is_err());
    assert_eq!(bus.stats().published, 0);
}
