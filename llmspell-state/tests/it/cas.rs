//! compare_and_set under concurrent writers.

use std::collections::HashSet;

use llmspell_state::{CompareAndSet, Scope, State};
use serde_json::json;

crate::both_backends!(
    cas_semantics,
    racing_writers_have_exactly_one_winner_per_version,
    counters_by_cas_lose_no_increment,
    two_handles_on_one_backend_share_versions,
);

async fn cas_semantics(state: State) {
    let g = Scope::Global;
    // 0 means "absent".
    assert_eq!(
        state.compare_and_set(&g, "k", 0, json!("a")).await.unwrap(),
        CompareAndSet::Set { version: 1 }
    );
    assert_eq!(
        state.compare_and_set(&g, "k", 0, json!("b")).await.unwrap(),
        CompareAndSet::Conflict { current_version: 1 }
    );
    assert_eq!(
        state.compare_and_set(&g, "k", 1, json!("c")).await.unwrap(),
        CompareAndSet::Set { version: 2 }
    );
    assert_eq!(state.get(&g, "k").await.unwrap(), Some(json!("c")));
    // After a delete the key is absent again (expected 0), but a writer
    // that saw version 2 must not win against the re-created key.
    state.delete(&g, "k").await.unwrap();
    assert_eq!(
        state
            .compare_and_set(&g, "k", 2, json!("stale"))
            .await
            .unwrap(),
        CompareAndSet::Conflict { current_version: 0 }
    );
    assert_eq!(
        state
            .compare_and_set(&g, "k", 0, json!("new"))
            .await
            .unwrap(),
        CompareAndSet::Set { version: 4 }
    );
    assert_eq!(
        state
            .compare_and_set(&g, "k", 2, json!("stale"))
            .await
            .unwrap(),
        CompareAndSet::Conflict { current_version: 4 }
    );
}

async fn racing_writers_have_exactly_one_winner_per_version(state: State) {
    const WRITERS: usize = 8;
    const ROUNDS: u64 = 40;
    let g = Scope::Global;
    state.set(&g, "race", json!(null)).await.unwrap();
    for round in 0..ROUNDS {
        let expected = round + 1;
        let barrier = std::sync::Arc::new(tokio::sync::Barrier::new(WRITERS));
        let racers: Vec<_> = (0..WRITERS)
            .map(|w| {
                let state = state.clone();
                let barrier = barrier.clone();
                tokio::spawn(async move {
                    barrier.wait().await;
                    let value = json!({"round": round, "writer": w});
                    let out = state
                        .compare_and_set(&Scope::Global, "race", expected, value)
                        .await
                        .unwrap();
                    (w, out)
                })
            })
            .collect();
        let mut winners = Vec::new();
        for r in racers {
            let (w, out) = r.await.unwrap();
            match out {
                CompareAndSet::Set { version } => {
                    assert_eq!(version, expected + 1);
                    winners.push(w);
                }
                CompareAndSet::Conflict { current_version } => {
                    assert_eq!(current_version, expected + 1, "losers see the winner");
                }
            }
        }
        assert_eq!(winners.len(), 1, "round {round}: {winners:?}");
        let stored = state.get(&g, "race").await.unwrap().unwrap();
        assert_eq!(stored, json!({"round": round, "writer": winners[0]}));
    }
}

async fn counters_by_cas_lose_no_increment(state: State) {
    const TASKS: u64 = 6;
    const PER_TASK: u64 = 60;
    let tasks: Vec<_> = (0..TASKS)
        .map(|_| {
            let state = state.clone();
            tokio::spawn(async move {
                let g = Scope::Global;
                let mut conflicts = 0u64;
                for _ in 0..PER_TASK {
                    loop {
                        let seen = state.get_versioned(&g, "n").await.unwrap();
                        let (n, version) =
                            seen.map_or((0, 0), |v| (v.value.as_u64().unwrap(), v.version));
                        match state
                            .compare_and_set(&g, "n", version, json!(n + 1))
                            .await
                            .unwrap()
                        {
                            CompareAndSet::Set { .. } => break,
                            CompareAndSet::Conflict { .. } => conflicts += 1,
                        }
                    }
                }
                conflicts
            })
        })
        .collect();
    for t in tasks {
        t.await.unwrap();
    }
    let v = state
        .get_versioned(&Scope::Global, "n")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(v.value, json!(TASKS * PER_TASK));
    assert_eq!(v.version, TASKS * PER_TASK);
}

async fn two_handles_on_one_backend_share_versions(state: State) {
    let other = State::new(state.storage().clone());
    let g = Scope::Global;
    state.set(&g, "k", json!(1)).await.unwrap();
    assert_eq!(other.set(&g, "k", json!(2)).await.unwrap(), 2);
    assert_eq!(
        state.compare_and_set(&g, "k", 1, json!(3)).await.unwrap(),
        CompareAndSet::Conflict { current_version: 2 }
    );
    let mut seen = HashSet::new();
    for s in [&state, &other] {
        seen.insert(s.get(&g, "k").await.unwrap());
    }
    assert_eq!(seen.len(), 1);
}
