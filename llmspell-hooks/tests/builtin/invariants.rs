//! Property tests and thread-safety assertions for the builtin pieces.

use std::time::Duration;

use llmspell_hooks::builtin::{Backoff, Jitter, Redactor, RetryPolicy, REDACTED};
use llmspell_hooks::{
    ComponentId, ComponentType, ContextSigner, DistributedHookContext, HookContext, HookPoint,
    PropagationFlags,
};
use proptest::prelude::*;
use rand::rngs::StdRng;
use rand::SeedableRng;
use serde_json::{json, Map, Value};

fn assert_send_sync<T: Send + Sync>() {}

#[test]
fn public_types_are_send_and_sync() {
    use llmspell_hooks::builtin::*;
    use llmspell_hooks::*;
    assert_send_sync::<LoggingHook>();
    assert_send_sync::<MetricsHook>();
    assert_send_sync::<DebuggingHook>();
    assert_send_sync::<SecurityHook>();
    assert_send_sync::<CachingHook>();
    assert_send_sync::<RateLimitHook>();
    assert_send_sync::<RetryHook>();
    assert_send_sync::<CostTrackingHook>();
    assert_send_sync::<Redactor>();
    assert_send_sync::<HookRecorder>();
    assert_send_sync::<HookReplayer>();
    assert_send_sync::<DistributedHookContext>();
    assert_send_sync::<ContextSigner>();
    assert_send_sync::<SelectiveHookRegistry>();
}

fn backoff() -> impl Strategy<Value = Backoff> {
    let d = (1u64..5_000).prop_map(Duration::from_millis);
    prop_oneof![
        d.clone().prop_map(Backoff::Fixed),
        (d.clone(), d.clone()).prop_map(|(initial, step)| Backoff::Linear { initial, step }),
        (d.clone(), 1.0f64..4.0).prop_map(|(initial, multiplier)| Backoff::Exponential {
            initial,
            multiplier
        }),
        d.prop_map(|initial| Backoff::Fibonacci { initial }),
    ]
}

fn jitter() -> impl Strategy<Value = Jitter> {
    prop_oneof![
        Just(Jitter::None),
        Just(Jitter::Full),
        Just(Jitter::Equal),
        Just(Jitter::Decorrelated)
    ]
}

proptest! {
    #[test]
    fn retry_delays_stay_within_bounds_and_the_cap(
        backoff in backoff(),
        jitter in jitter(),
        cap_ms in 1u64..60_000,
        seed in any::<u64>(),
        attempts in 1u32..40,
    ) {
        let policy = RetryPolicy { backoff, jitter, max_delay: Duration::from_millis(cap_ms) };
        let mut rng = StdRng::seed_from_u64(seed);
        let mut prev = None;
        for n in 1..=attempts {
            let (lo, hi) = policy.bounds(n, prev);
            prop_assert!(lo <= hi);
            let d = policy.delay(n, prev, &mut rng);
            prop_assert!(lo <= d && d <= hi, "attempt {}: {:?} not in [{:?}, {:?}]", n, d, lo, hi);
            prop_assert!(d <= policy.max_delay);
            prev = Some(d);
        }
    }

    #[test]
    fn values_under_secret_keys_never_survive_redaction(
        secrets in prop::collection::vec("[A-Z]{8,16}", 1..6),
        keys in prop::collection::vec(prop_oneof![
            Just("password"), Just("api_key"), Just("apiKey"), Just("X-Api-Token"),
            Just("client_secret"), Just("Authorization"), Just("db.passwd")
        ], 1..6),
        nest in 0usize..3,
    ) {
        let mut obj = Map::new();
        obj.insert("plain".into(), json!("1234 5678"));
        for (i, s) in secrets.iter().enumerate() {
            obj.insert(format!("{}{}", keys[i % keys.len()], i), json!(s));
        }
        let mut v = Value::Object(obj);
        for _ in 0..nest {
            v = json!({"inner": [v]});
        }
        let text = Redactor::new().redact_owned(v).to_string();
        for s in &secrets {
            prop_assert!(!text.contains(s.as_str()), "{} leaked in {}", s, text);
        }
        prop_assert!(text.contains(REDACTED));
        prop_assert!(text.contains("1234 5678"));
    }

    #[test]
    fn any_change_of_the_addressee_breaks_the_signature(other in "[a-z0-9-]{1,20}") {
        prop_assume!(other != "agent-b");
        let signer = ContextSigner::new([7u8; 32]).unwrap();
        let ctx = HookContext::new(HookPoint::BeforeAgentExecution, ComponentId::new(ComponentType::Agent, "a"));
        let mut d = signer.sign(DistributedHookContext::new(&ctx, "agent-b", PropagationFlags::default()));
        prop_assert!(signer.verify(&d).is_ok());
        d.remote_agent_id = other;
        prop_assert!(signer.verify(&d).is_err());
    }
}
