//! UniversalEvent ⇄ CloudEvents 1.0: lossless, and open to other producers.

use std::time::Duration;

use chrono::{TimeZone, Utc};
use llmspell_events::cloudevent::{decode, encode, from_cloudevent, to_cloudevent};
use llmspell_events::{EventMetadata, Language, UniversalEvent};
use proptest::prelude::*;
use serde_json::{json, Value};

fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(|f| json!(f)),
        ".{0,12}".prop_map(Value::String),
    ];
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map("[a-z]{1,6}", inner, 0..4)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

prop_compose! {
    fn event()(
        id in any::<u128>(),
        event_type in "[a-z .*>~é]{1,20}",
        data in json_value(),
        language in prop::sample::select(Language::ALL.to_vec()),
        secs in 0i64..4_000_000_000,
        nanos in 0u32..1_000_000_000,
        sequence in any::<u64>(),
        schema_version in any::<u32>(),
        correlation in proptest::option::of(any::<u128>()),
        source in proptest::option::of(".{0,10}"),
        target in proptest::option::of(".{0,10}"),
        tags in prop::collection::vec(".{0,6}", 0..3),
        priority in any::<i32>(),
        ttl in proptest::option::of(0u64..u64::MAX / 2),
        origin in proptest::option::of("[a-z0-9-]{1,10}"),
    ) -> UniversalEvent {
        let mut e = UniversalEvent::builder(event_type)
            .id(uuid::Uuid::from_u128(id))
            .data(data)
            .language(language)
            .timestamp(Utc.timestamp_opt(secs, nanos).unwrap())
            .metadata(EventMetadata {
                correlation_id: correlation.map(uuid::Uuid::from_u128),
                source,
                target,
                tags,
                priority,
                ttl: ttl.map(Duration::from_millis),
                origin,
            })
            .build();
        e.sequence = sequence;
        e.schema_version = schema_version;
        e
    }
}

proptest! {
    #[test]
    fn universal_event_to_cloudevent_and_back_is_lossless(e in event()) {
        let ce = to_cloudevent(&e);
        prop_assert_eq!(from_cloudevent(&ce).unwrap(), e.clone());
        prop_assert_eq!(decode(&encode(&e)).unwrap(), e.clone());
        // The bytes and the JSON tree say the same.
        let bytes: Value = serde_json::from_slice(&encode(&e)).unwrap();
        prop_assert_eq!(&bytes, &ce);
        // CloudEvents rules: required attributes, lowercase alphanumeric names.
        let obj = ce.as_object().unwrap();
        for key in ["id", "source", "specversion", "type"] {
            prop_assert!(obj[key].as_str().is_some_and(|s| !s.is_empty()), "{key}");
        }
        for key in obj.keys() {
            prop_assert!(key.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit()), "{key}");
        }
    }

    #[test]
    fn cloudevent_from_this_crate_survives_a_second_round_trip(e in event()) {
        let ce = to_cloudevent(&e);
        let back = from_cloudevent(&ce).unwrap();
        prop_assert_eq!(to_cloudevent(&back), ce);
    }
}

#[test]
fn the_wire_form_is_structured_mode_json() {
    let e = UniversalEvent::builder("tool.execution.started")
        .data(json!({"tool": "calculator"}))
        .source("agent:planner")
        .tag("a")
        .tag("b")
        .priority(3)
        .ttl(Duration::from_secs(2))
        .build();
    let ce = to_cloudevent(&e);
    assert_eq!(ce["specversion"], "1.0");
    assert_eq!(ce["id"], e.id.to_string());
    assert_eq!(ce["type"], "tool.execution.started");
    assert_eq!(ce["source"], "agent:planner");
    assert_eq!(ce["datacontenttype"], "application/json");
    assert_eq!(ce["data"], json!({"tool": "calculator"}));
    assert_eq!(ce["language"], "rust");
    assert_eq!(ce["tags"], r#"["a","b"]"#);
    assert_eq!(ce["priority"], 3);
    assert_eq!(ce["ttlms"], "2000");
    assert!(chrono::DateTime::parse_from_rfc3339(ce["time"].as_str().unwrap()).is_ok());
}

#[test]
fn events_from_other_producers_are_accepted() {
    let ce = json!({
        "specversion": "1.0",
        "id": "A234-1234-1234",
        "source": "https://shop.example/orders",
        "type": "orders.created",
        "time": "2026-11-25T10:00:00Z",
        "datacontenttype": "application/json",
        "data": {"order": 7},
        "someext": "ignored"
    });
    let e = from_cloudevent(&ce).unwrap();
    assert_eq!(e.event_type, "orders.created");
    assert_eq!(e.data, json!({"order": 7}));
    assert_eq!(e.language, Language::Unknown);
    assert_eq!(
        e.metadata.source.as_deref(),
        Some("https://shop.example/orders")
    );
    // A stable id: the same message maps to the same event id.
    assert_eq!(from_cloudevent(&ce).unwrap().id, e.id);
    for bad in [
        json!({"specversion": "0.3", "id": "1", "source": "s", "type": "t"}),
        json!({"specversion": "1.0", "source": "s", "type": "t"}),
        json!({"specversion": "1.0", "id": "1", "source": "s", "type": "t", "time": "yesterday"}),
        json!([1, 2]),
    ] {
        let err = from_cloudevent(&bad).unwrap_err().to_string();
        assert!(err.contains("CloudEvent"), "{err}");
    }
}

/// `decode` reads the attributes straight from the bytes; whatever it
/// returns must be what the JSON-tree path returns (the event, or the same
/// error).
#[test]
fn decode_agrees_with_the_json_tree_path() {
    let cases = [
        // This crate's own form, with every attribute.
        r#"{"specversion":"1.0","id":"6f1c9a52-3d0e-4b53-9d1e-0a4f6f1b2c3d","source":"agent:a","type":"tool.x","time":"2026-11-25T10:00:00.123456789Z","datacontenttype":"application/json","data":{"a":[1,2.5,"x",null,true]},"language":"lua","sequence":"42","schemaversion":"3","correlationid":"0b8f6f4e-1c2d-4e5f-8a9b-0c1d2e3f4a5b","target":"t","tags":"[\"a\",\"b\"]","priority":-7,"ttlms":"1500","llmspellorigin":"node-1"}"#,
        // Another producer: a non-UUID id, numbers as JSON numbers, extensions.
        r#"{"specversion":"1.0","id":"A-1","source":"https://x.example","type":"orders.created","time":"2026-11-25T10:00:00+02:00","data":{"order":7},"sequence":5,"schemaversion":2,"priority":"3","ttlms":10,"someext":{"deep":[1e300]},"other":1}"#,
        // Escapes in names and values, and unknown attributes.
        r#"{"specversion":"1.0","i\u0064":"x\"y","source":"s\u00e9","typ\u0065":"a.b\nc","time":"2026-11-25T10:00:00Z","language":"JS","llmspellsource":"empty"}"#,
        // data: null, data_base64, absent source marker.
        r#"{"specversion":"1.0","id":"1","source":"urn:llmspell","type":"t","time":"2026-11-25T10:00:00Z","data":null,"data_base64":"AAE=","llmspellsource":"absent"}"#,
        r#"{"specversion":"1.0","id":"1","source":"s","type":"t","time":"2026-11-25T10:00:00Z","data_base64":"AAE=","datacontenttype":null}"#,
        // Nulls for optional attributes.
        r#"{"specversion":"1.0","id":"1","source":"s","type":"t","time":"2026-11-25T10:00:00Z","language":null,"sequence":null,"priority":null,"tags":null,"target":null,"llmspellorigin":null}"#,
        // A repeated attribute: the last one counts.
        r#"{"specversion":"1.0","id":"1","source":"s","type":"first","type":"second","time":"2026-11-25T10:00:00Z"}"#,
        r#"{"specversion":"1.0","id":"1","source":"s","type":7,"type":"t","time":"2026-11-25T10:00:00Z"}"#,
        // datacontenttype of any kind is ignored.
        r#"{"specversion":"1.0","id":"1","source":"s","type":"t","time":"2026-11-25T10:00:00Z","datacontenttype":5}"#,
        // Refused, each for one reason.
        r#"{"specversion":"0.3","id":"1","source":"s","type":"t"}"#,
        r#"{"specversion":"1.0","source":"s","type":"t"}"#,
        r#"{"specversion":"1.0","id":"1","source":"s","type":"t","time":"yesterday"}"#,
        r#"{"specversion":"1.0","id":"1","source":"s","type":"t","time":"2026-11-25T10:00:00Z","sequence":-1}"#,
        r#"{"specversion":"1.0","id":"1","source":"s","type":"t","time":"2026-11-25T10:00:00Z","sequence":1.5}"#,
        r#"{"specversion":"1.0","id":"1","source":"s","type":"t","time":"2026-11-25T10:00:00Z","sequence":"x"}"#,
        r#"{"specversion":"1.0","id":"1","source":"s","type":"t","time":"2026-11-25T10:00:00Z","schemaversion":"99999999999"}"#,
        r#"{"specversion":"1.0","id":"1","source":"s","type":"t","time":"2026-11-25T10:00:00Z","priority":3000000000}"#,
        r#"{"specversion":"1.0","id":"1","source":"s","type":"t","time":"2026-11-25T10:00:00Z","priority":1.0}"#,
        r#"{"specversion":"1.0","id":"1","source":"s","type":"t","time":"2026-11-25T10:00:00Z","tags":"[1]"}"#,
        r#"{"specversion":"1.0","id":"1","source":"s","type":"t","time":"2026-11-25T10:00:00Z","correlationid":"nope"}"#,
        r#"{"specversion":"1.0","id":"1","source":"s","type":"t","time":"2026-11-25T10:00:00Z","language":"cobol"}"#,
        r#"{"specversion":"1.0","id":"1","source":"s","type":"t","time":"2026-11-25T10:00:00Z","target":3}"#,
        r#"{"specversion":"1.0","id":"1","source":"s","type":"t","time":"2026-11-25T10:00:00Z","data":1,"data_base64":2}"#,
        r#"{"specversion":"1.0","id":"1","source":"s","type":"t","time":"2026-11-25T10:00:00Z","x":1e999}"#,
        r#"{"specversion":"1.0","id":1,"source":"s","type":"t"}"#,
        r#"[1, 2]"#,
        r#"{"specversion":"1.0","id":"1","source":"s","type":"t"} trailing"#,
        r#"not json"#,
    ];
    for case in cases {
        let tree = serde_json::from_slice::<Value>(case.as_bytes())
            .map_err(|e| format!("the message is not JSON: {e}"))
            .and_then(|v| from_cloudevent(&v).map_err(|e| e.to_string()));
        let direct = decode(case.as_bytes()).map_err(|e| e.to_string());
        match (&tree, &direct) {
            (Ok(a), Ok(b)) => assert_eq!(a, b, "{case}"),
            (Err(a), Err(b)) => assert!(b.contains(a.as_str()), "{case}: {a} / {b}"),
            _ => panic!("{case}: the JSON tree says {tree:?}, decode says {direct:?}"),
        }
    }
}
