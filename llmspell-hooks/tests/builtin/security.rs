//! SecurityHook: validation, deny lists, blocking, audit log.

use std::sync::Arc;

use llmspell_hooks::builtin::{SecurityConfig, SecurityHook, Violation, REDACTED};
use serde_json::json;

use crate::{Call, Harness};

#[tokio::test]
async fn a_violation_cancels_before_the_operation_runs_and_is_audited() {
    let h = Harness::new("shell");
    let sec = Arc::new(
        SecurityConfig::new()
            .deny_pattern(r"rm\s+-rf")
            .unwrap()
            .deny_value("/etc/shadow")
            .max_string_bytes(64)
            .build(),
    );
    h.attach(sec.clone());

    let r = h
        .call(
            json!({"cmd": "rm -rf /", "files": ["/etc/shadow"], "token": "t0k"}),
            Some("eve"),
            |_| Ok(json!(0)),
        )
        .await;
    let Call::Cancelled(reason) = r else {
        panic!("must be cancelled: {r:?}")
    };
    assert!(
        reason.contains("/cmd") && reason.contains("/files/0"),
        "{reason}"
    );
    assert_eq!(h.runs(), 0);

    assert!(matches!(
        h.call(json!({"cmd": "ls"}), Some("eve"), |_| Ok(json!(0)))
            .await,
        Call::Ran(_)
    ));
    assert!(matches!(
        h.call(json!({"cmd": "x".repeat(65)}), None, |_| Ok(json!(0)))
            .await,
        Call::Cancelled(_)
    ));

    let log = sec.audit_log();
    // Before + After of the allowed call, Before of each blocked one.
    assert_eq!(log.len(), 4, "{log:#?}");
    assert!(log[0].blocked);
    assert_eq!(log[0].user.as_deref(), Some("eve"));
    assert_eq!(log[0].parameters["token"], REDACTED);
    assert!(log[0].violations.contains(&Violation::DeniedValue {
        path: "/files/0".into()
    }));
    assert!(!log[1].blocked && log[1].violations.is_empty());
    assert!(matches!(
        log[3].violations[0],
        Violation::StringTooLong {
            len: 65,
            limit: 64,
            ..
        }
    ));
}

#[tokio::test]
async fn audit_only_mode_lets_violations_through_and_the_log_is_bounded() {
    let h = Harness::new("shell");
    let sec = Arc::new(
        SecurityConfig::new()
            .max_parameter_bytes(10)
            .block_on_violation(false)
            .audit_capacity(3)
            .build(),
    );
    h.attach(sec.clone());
    for i in 0..5 {
        assert!(matches!(
            h.call(json!({"payload": "0123456789", "i": i}), None, |_| Ok(
                json!(0)
            ))
            .await,
            Call::Ran(_)
        ));
    }
    let log = sec.audit_log();
    assert_eq!(log.len(), 3);
    assert!(log.iter().all(|e| !e.blocked));
    assert!(matches!(
        log[2].violations[0],
        Violation::ParametersTooLarge { limit: 10, .. }
    ));
    assert!(SecurityConfig::new().deny_pattern("(").is_err());
}

#[tokio::test]
async fn redact_context_hides_secrets_from_later_hooks() {
    let h = Harness::new("api");
    h.attach(Arc::new(SecurityConfig::new().redact_context(true).build()));
    let seen = Arc::new(parking_lot::Mutex::new(None));
    let s = seen.clone();
    let r = h
        .call(json!({"api_key": "sk-live", "q": "x"}), None, move |p| {
            *s.lock() = Some(p.clone());
            Ok(json!(1))
        })
        .await;
    assert!(matches!(r, Call::Ran(_)));
    assert_eq!(seen.lock().as_ref().unwrap()["api_key"], REDACTED);
    let _ = SecurityHook::new();
}
