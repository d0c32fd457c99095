//! Sessions: records, checkpoints, restore, resume, listing, deletion.

use std::sync::Arc;
use std::time::Duration;

use llmspell_events::EventBus;
use llmspell_state::{
    Scope, SessionOutcome, SessionRef, SessionStatus, Sessions, State, StateError,
};
use llmspell_storage::MemoryBackend;
use serde_json::json;

crate::both_backends!(
    start_and_end_are_recorded,
    checkpoint_and_restore_exactly,
    resume_continues_the_session_from_its_last_checkpoint,
    listing_latest_and_delete,
);

async fn start_and_end_are_recorded(state: State) {
    let sessions = Sessions::new(state);
    let s = sessions.start(Some("job.lua")).await.unwrap();
    let r = sessions.get(s.id()).await.unwrap().unwrap();
    assert_eq!(r.status, SessionStatus::Running);
    assert_eq!(r.script.as_deref(), Some("job.lua"));
    assert_eq!(r.runs, 1);
    assert_eq!(r.pid, Some(std::process::id()));
    assert!(r.ended_at.is_none());
    let r = s
        .end(SessionOutcome::failed("script.lua:3: boom").with_exit_code(1))
        .await
        .unwrap();
    assert_eq!(r.status, SessionStatus::Failed);
    assert_eq!(r.exit_code, Some(1));
    assert_eq!(r.error.as_deref(), Some("script.lua:3: boom"));
    assert!(r.ended_at.unwrap() >= r.started_at);
    assert_eq!(sessions.get(s.id()).await.unwrap().unwrap(), r);
}

async fn checkpoint_and_restore_exactly(state: State) {
    let sessions = Sessions::new(state.clone());
    let s = sessions.start(None).await.unwrap();
    let scope = s.scope();
    assert!(matches!(
        s.restore().await,
        Err(StateError::NoCheckpoint { .. })
    ));
    state.set(&scope, "a", json!(1)).await.unwrap();
    state.set(&scope, "b", json!({"x": [1]})).await.unwrap();
    state
        .set(&Scope::Global, "outside", json!(1))
        .await
        .unwrap();
    let first = s.checkpoint(None).await.unwrap();
    assert_eq!(
        (first.seq, first.name.as_str(), first.keys),
        (1, "checkpoint-1", 2)
    );
    state.set(&scope, "a", json!(2)).await.unwrap();
    let second = s.checkpoint(Some("after a=2")).await.unwrap();
    assert_eq!((second.seq, second.keys), (2, 2));
    // Changes after the last checkpoint: changed, deleted and new keys.
    state.set(&scope, "a", json!(3)).await.unwrap();
    state.delete(&scope, "b").await.unwrap();
    state.set(&scope, "c", json!("new")).await.unwrap();
    state
        .set(&Scope::Global, "outside", json!(2))
        .await
        .unwrap();
    let restored = s.restore().await.unwrap();
    assert_eq!(restored.name, "after a=2");
    assert_eq!(state.list(&scope, "").await.unwrap(), ["a", "b"]);
    assert_eq!(state.get(&scope, "a").await.unwrap(), Some(json!(2)));
    assert_eq!(
        state.get(&scope, "b").await.unwrap(),
        Some(json!({"x": [1]}))
    );
    // Other scopes are not part of a session's checkpoint.
    assert_eq!(
        state.get(&Scope::Global, "outside").await.unwrap(),
        Some(json!(2))
    );
    // Versions keep growing through a restore.
    assert!(state.version(&scope, "a").await.unwrap() > 3);
    let names: Vec<_> = sessions
        .checkpoints(s.id())
        .await
        .unwrap()
        .into_iter()
        .map(|c| c.name)
        .collect();
    assert_eq!(names, ["checkpoint-1", "after a=2"]);
    let record = sessions.get(s.id()).await.unwrap().unwrap();
    assert_eq!(record.checkpoints, 2);
    assert_eq!(record.last_checkpoint.as_deref(), Some("after a=2"));
    for bad in ["", "a\nb", &"n".repeat(129)] {
        assert!(matches!(
            s.checkpoint(Some(bad)).await,
            Err(StateError::InvalidCheckpointName { .. })
        ));
    }
}

async fn resume_continues_the_session_from_its_last_checkpoint(state: State) {
    let sessions = Sessions::new(state.clone());
    let s = sessions.start(Some("etl.lua")).await.unwrap();
    state.set(&s.scope(), "step", json!(1)).await.unwrap();
    s.checkpoint(Some("one")).await.unwrap();
    state.set(&s.scope(), "step", json!(2)).await.unwrap();
    // The process "dies" here: no end().
    drop(s);
    let (resumed, checkpoint) = sessions.resume(SessionRef::Latest).await.unwrap();
    assert_eq!(checkpoint.name, "one");
    assert_eq!(
        state.get(&resumed.scope(), "step").await.unwrap(),
        Some(json!(1))
    );
    let r = sessions.get(resumed.id()).await.unwrap().unwrap();
    assert_eq!((r.runs, r.status), (2, SessionStatus::Running));
    assert!(r.last_started_at >= r.started_at);
    resumed.end(SessionOutcome::completed()).await.unwrap();
    // A session without a checkpoint cannot be resumed, and is left alone.
    let bare = sessions.start(None).await.unwrap();
    let err = sessions
        .resume(SessionRef::Id(bare.id()))
        .await
        .unwrap_err();
    assert!(matches!(err, StateError::NoCheckpoint { .. }), "{err}");
    assert_eq!(sessions.get(bare.id()).await.unwrap().unwrap().runs, 1);
}

async fn listing_latest_and_delete(state: State) {
    let sessions = Sessions::new(state.clone());
    assert!(sessions.list().await.unwrap().is_empty());
    assert!(matches!(
        sessions.find(SessionRef::Latest).await,
        Err(StateError::SessionNotFound { .. })
    ));
    let mut ids = Vec::new();
    for n in 0..3 {
        let s = sessions.start(Some(&format!("s{n}.lua"))).await.unwrap();
        state.set(&s.scope(), "n", json!(n)).await.unwrap();
        s.checkpoint(None).await.unwrap();
        s.end(SessionOutcome::completed()).await.unwrap();
        ids.push(s.id());
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    let listed: Vec<_> = sessions
        .list()
        .await
        .unwrap()
        .iter()
        .map(|r| r.id)
        .collect();
    assert_eq!(listed, ids, "in start order");
    assert_eq!(sessions.find(SessionRef::Latest).await.unwrap().id, ids[2]);
    // Resuming the first makes it the latest.
    sessions.resume(SessionRef::Id(ids[0])).await.unwrap();
    assert_eq!(sessions.find(SessionRef::Latest).await.unwrap().id, ids[0]);

    assert!(sessions.delete(ids[1]).await.unwrap());
    assert!(!sessions.delete(ids[1]).await.unwrap());
    assert!(sessions.get(ids[1]).await.unwrap().is_none());
    assert!(sessions.checkpoints(ids[1]).await.unwrap().is_empty());
    assert!(state
        .list(&Scope::Session(ids[1]), "")
        .await
        .unwrap()
        .is_empty());
    assert_eq!(sessions.list().await.unwrap().len(), 2);
    // Nothing of the deleted session is left in storage.
    let id = ids[1].to_string();
    for key in state.storage().keys(b"").await.unwrap() {
        assert!(!String::from_utf8_lossy(&key).contains(&id), "{key:?}");
    }
}

#[tokio::test]
async fn session_events_are_published() {
    let bus = EventBus::new();
    let mut events = bus.subscribe("session.*").unwrap();
    let state = State::builder(Arc::new(MemoryBackend::new()))
        .events(bus)
        .build()
        .unwrap();
    let sessions = Sessions::new(state);
    let s = sessions.start(Some("x.lua")).await.unwrap();
    s.checkpoint(Some("c")).await.unwrap();
    s.restore().await.unwrap();
    s.end(SessionOutcome::interrupted("SIGINT").with_exit_code(130))
        .await
        .unwrap();
    let mut types = Vec::new();
    while let Some(e) = events.recv_timeout(Duration::from_millis(200)).await {
        assert_eq!(e.data["session_id"], json!(s.id().to_string()));
        types.push(e.event_type.clone());
        if e.event_type == "session.ended" {
            assert_eq!(e.data["status"], "interrupted");
            assert_eq!(e.data["exit_code"], 130);
        }
    }
    assert_eq!(
        types,
        [
            "session.started",
            "session.checkpoint",
            "session.restored",
            "session.ended"
        ]
    );
}

#[test]
fn session_refs_parse() {
    assert!("".parse::<SessionRef>().is_err());
    let id = llmspell_state::SessionId::new();
    assert_eq!(
        id.to_string().parse::<SessionRef>().unwrap(),
        SessionRef::Id(id)
    );
}
