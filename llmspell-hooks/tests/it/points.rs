use llmspell_hooks::{ComponentType, HookError, HookPoint, Priority};
use proptest::prelude::*;

#[test]
fn display_and_parse_are_exact_inverses_for_every_named_point() {
    assert_eq!(HookPoint::ALL.len(), 42);
    for p in HookPoint::ALL {
        let s = p.to_string();
        assert_eq!(s.parse::<HookPoint>().unwrap(), p);
        let json = serde_json::to_string(&p).unwrap();
        assert_eq!(json, format!("\"{s}\""));
        assert_eq!(serde_json::from_str::<HookPoint>(&json).unwrap(), p);
    }
    assert_eq!(
        HookPoint::BeforeToolExecution.to_string(),
        "BeforeToolExecution"
    );
}

#[test]
fn unknown_point_error_lists_valid_names() {
    let err = "BeforeNothing".parse::<HookPoint>().unwrap_err();
    assert!(matches!(err, HookError::UnknownHookPoint { .. }));
    let msg = err.to_string();
    assert!(msg.contains("BeforeNothing"));
    assert!(msg.contains("BeforeToolExecution"));
    assert!(msg.contains("CpuUsageHigh"));
    assert!(msg.contains("custom:<name>"));
    assert!("custom:".parse::<HookPoint>().is_err());
    assert!("beforetoolexecution".parse::<HookPoint>().is_err());
    assert!(serde_json::from_str::<HookPoint>("\"Nope\"").is_err());
}

#[test]
fn priority_and_component_type_parse() {
    assert_eq!("high".parse::<Priority>().unwrap(), Priority::HIGH);
    assert_eq!("-7".parse::<Priority>().unwrap(), Priority(-7));
    assert!("urgent".parse::<Priority>().is_err());
    for t in [
        ComponentType::Agent,
        ComponentType::Tool,
        ComponentType::Workflow,
        ComponentType::System,
        ComponentType::Custom("x".into()),
    ] {
        assert_eq!(t.to_string().parse::<ComponentType>().unwrap(), t);
    }
    assert!("robot".parse::<ComponentType>().is_err());
}

proptest! {
    #[test]
    fn custom_points_round_trip(name in "[a-zA-Z0-9_.:-]{1,20}") {
        let p = HookPoint::Custom(name.clone());
        let s = p.to_string();
        prop_assert_eq!(&s, &format!("custom:{name}"));
        prop_assert_eq!(s.parse::<HookPoint>().unwrap(), p.clone());
        let json = serde_json::to_string(&p).unwrap();
        prop_assert_eq!(serde_json::from_str::<HookPoint>(&json).unwrap(), p);
    }

    #[test]
    fn parsing_never_panics(s in ".{0,40}") {
        let _ = s.parse::<HookPoint>();
    }
}
