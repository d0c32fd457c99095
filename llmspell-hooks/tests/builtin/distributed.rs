//! DistributedHookContext: signatures, tampering, expiry, hops.

use std::time::Duration;

use chrono::Utc;
use llmspell_hooks::{
    ComponentId, ComponentType, ContextSigner, ContextVerifyError, DistributedHookContext,
    HookContext, HookError, HookPoint, PropagationFlags,
};
use serde_json::{json, Value};

const KEY: &[u8] = b"0123456789abcdef0123456789abcdef";

fn signer() -> ContextSigner {
    ContextSigner::new(KEY).unwrap()
}

fn ctx() -> HookContext {
    HookContext::builder(
        HookPoint::BeforeAgentExecution,
        ComponentId::new(ComponentType::Agent, "planner"),
    )
    .data("input", json!({"task": "plan a trip", "budget": 1200.5}))
    .metadata("user_id", "ann")
    .parent(HookContext::new(
        HookPoint::SessionStart,
        ComponentId::system(),
    ))
    .build()
}

fn signed() -> DistributedHookContext {
    signer().sign(
        DistributedHookContext::new(&ctx(), "agent-b", PropagationFlags::default())
            .from_agent("agent-a"),
    )
}

#[test]
fn a_signed_context_round_trips_over_the_wire() {
    let original = ctx();
    let wire = signer()
        .sign(
            DistributedHookContext::new(&original, "agent-b", PropagationFlags::default())
                .from_agent("agent-a"),
        )
        .to_json()
        .unwrap();
    let got = signer().verify_json(&wire).unwrap();
    assert_eq!(got.correlation_id, original.correlation_id);
    assert_eq!(got.remote_agent_id, "agent-b");
    assert_eq!(got.source_agent_id.as_deref(), Some("agent-a"));
    assert_eq!(got.context.data, original.data);
    assert_eq!(got.context.metadata, original.metadata);
    assert!(
        got.context.parent.is_none(),
        "parent not propagated by default"
    );
    assert_eq!(got.hop_count, 0);
    let local = got.to_local_context();
    assert_eq!(local.correlation_id, original.correlation_id);
    assert_eq!(
        local.get_metadata("distributed.source_agent_id"),
        Some("agent-a")
    );
    assert_eq!(
        local.get_metadata("distributed.remote_agent_id"),
        Some("agent-b")
    );
    assert_eq!(local.get_metadata("distributed.hop_count"), Some("0"));
    assert_eq!(local.get_metadata("user_id"), Some("ann"));
}

#[test]
fn propagation_flags_trim_what_travels() {
    let d = DistributedHookContext::new(&ctx(), "b", PropagationFlags::minimal().with_parent(true));
    assert!(d.context.data.is_empty() && d.context.metadata.is_empty());
    assert!(d.context.parent.is_some());
}

#[test]
fn every_tampered_field_is_refused() {
    let wire: Value = serde_json::from_slice(&signed().to_json().unwrap()).unwrap();
    type Edit = Box<dyn Fn(&mut Value)>;
    let edits: Vec<(&str, Edit)> = vec![
        (
            "remote agent",
            Box::new(|v| v["remote_agent_id"] = json!("agent-evil")),
        ),
        (
            "source agent",
            Box::new(|v| v["source_agent_id"] = json!("agent-evil")),
        ),
        ("hop count", Box::new(|v| v["hop_count"] = json!(1))),
        ("max hops", Box::new(|v| v["max_hops"] = json!(1000))),
        (
            "expiry",
            Box::new(|v| v["expires_at"] = json!("2999-01-01T00:00:00Z")),
        ),
        (
            "data",
            Box::new(|v| v["context"]["data"]["input"]["budget"] = json!(999999)),
        ),
        (
            "metadata",
            Box::new(|v| v["context"]["metadata"]["user_id"] = json!("root")),
        ),
        (
            "added data",
            Box::new(|v| v["context"]["data"]["extra"] = json!(true)),
        ),
        (
            "correlation",
            Box::new(|v| v["correlation_id"] = json!(uuid::Uuid::new_v4())),
        ),
        (
            "flags",
            Box::new(|v| v["propagation"]["forward"] = json!(false)),
        ),
        (
            "point",
            Box::new(|v| v["context"]["point"] = json!("BeforeToolExecution")),
        ),
    ];
    for (what, edit) in edits {
        let mut v = wire.clone();
        edit(&mut v);
        let err = signer()
            .verify_json(&serde_json::to_vec(&v).unwrap())
            .unwrap_err();
        assert_eq!(err, ContextVerifyError::BadSignature, "{what}");
    }
    // Reordering keys or whitespace does not matter: the encoding is canonical.
    let pretty = serde_json::to_vec_pretty(&wire).unwrap();
    assert!(signer().verify_json(&pretty).is_ok());
}

#[test]
fn wrong_key_unsigned_malformed_and_short_keys() {
    let other = ContextSigner::new(b"another key that is long enough!!").unwrap();
    assert_eq!(
        other.verify(&signed()),
        Err(ContextVerifyError::BadSignature)
    );

    let unsigned = DistributedHookContext::new(&ctx(), "b", PropagationFlags::default());
    let e = signer().verify(&unsigned).unwrap_err();
    assert_eq!(e, ContextVerifyError::Unsigned);
    assert!(e.to_string().contains("unsigned"));

    let mut bad = signed();
    bad.signature = Some("zz".into());
    assert!(matches!(
        signer().verify(&bad),
        Err(ContextVerifyError::MalformedSignature(_))
    ));
    bad.signature = Some("abcd".into());
    assert!(matches!(
        signer().verify(&bad),
        Err(ContextVerifyError::MalformedSignature(_))
    ));

    assert!(matches!(
        signer().verify_json(b"{\"not\": 1}"),
        Err(ContextVerifyError::Malformed(_))
    ));
    let e = ContextSigner::new(b"short").unwrap_err();
    assert!(e.to_string().contains("at least 32 bytes"), "{e}");
    let as_hook_error: HookError = ContextVerifyError::BadSignature.into();
    assert!(as_hook_error.to_string().contains("tampered"));
}

#[test]
fn expired_and_future_contexts_are_refused() {
    let s = signer().with_ttl(Duration::from_secs(60));
    let now = Utc::now();
    let d = s.sign_at(
        DistributedHookContext::new(&ctx(), "b", PropagationFlags::default()),
        now,
    );
    assert!(s.verify_at(&d, now + chrono::Duration::seconds(59)).is_ok());
    let e = s
        .verify_at(&d, now + chrono::Duration::seconds(60))
        .unwrap_err();
    assert!(matches!(e, ContextVerifyError::Expired { .. }));
    assert!(e.to_string().contains("expired"));
    let e = s
        .verify_at(&d, now - chrono::Duration::seconds(31))
        .unwrap_err();
    assert!(matches!(e, ContextVerifyError::IssuedInFuture { .. }));
}

#[test]
fn hops_are_counted_and_limited() {
    let s = signer().with_max_hops(2);
    let d0 = s.sign(DistributedHookContext::new(
        &ctx(),
        "b",
        PropagationFlags::default(),
    ));
    let d1 = s.forward(&d0, "b", "c").unwrap();
    let d2 = s.forward(&d1, "c", "d").unwrap();
    assert_eq!((d1.hop_count, d2.hop_count), (1, 2));
    assert_eq!(d2.source_agent_id.as_deref(), Some("c"));
    assert_eq!(d2.correlation_id, d0.correlation_id);
    assert!(s.verify(&d2).is_ok());
    assert_eq!(
        s.forward(&d2, "d", "e"),
        Err(ContextVerifyError::TooManyHops { hops: 3, max: 2 })
    );

    // A receiver with a laxer signer cannot raise the limit set by the first.
    let lax = signer().with_max_hops(100);
    assert_eq!(
        lax.forward(&d2, "d", "e"),
        Err(ContextVerifyError::TooManyHops { hops: 3, max: 2 })
    );

    let no_fwd = s.sign(DistributedHookContext::new(
        &ctx(),
        "b",
        PropagationFlags::default().with_forward(false),
    ));
    assert_eq!(
        s.forward(&no_fwd, "b", "c"),
        Err(ContextVerifyError::ForwardingNotAllowed)
    );
}
