//! Hook data maps kept for reuse.
//!
//! Every stage, transition, checkpoint and workflow point of a hooked run
//! carries the same handful of fixed keys (`workflow_name`, `pattern`,
//! `run_id`, `step_name`, ...). Built afresh for each point, they cost a
//! `String` per key and per name value and the map's nodes, which was most
//! of what a hooked point cost beyond the hook itself. So a map a point is
//! done with (a transition's or checkpoint's context data, or the map a
//! stage or workflow operation hands back in `Completed::spare_data`) goes
//! back to the runtime's [`DataPool`], in the pool of its [`Kind`] of
//! point; the next point of that kind takes it and overwrites its values
//! in place (no key to allocate, and no key of another kind to drop).
//! Hooks see exactly the keys and values of a fresh map: a key a hook
//! added at an earlier point is removed before the map is reused (checked
//! in one pass over the sorted keys; a linear search per key cost about
//! 2 % of a hooked run of the tool workflow bench in `memcmp`).

use parking_lot::Mutex;
use serde_json::Value;

use llmspell_hooks::HookData;

/// Most maps kept (enough for the points in flight of a few concurrent
/// runs; more are dropped).
const MAX_SPARE: usize = 32;

/// Values longer than this (strings) or any array or object (inputs and
/// outputs) are not kept alive in the pool.
const MAX_KEPT_STRING: usize = 256;

/// The kinds of points a map serves; each kind has a pool of its own, so
/// that a reused map already holds the kind's keys (a map of another kind
/// would lose some keys and have to allocate others).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// `BeforeWorkflowStart`, `AfterWorkflowComplete`.
    Workflow,
    /// `BeforeWorkflowStage`, `AfterWorkflowStage`, `WorkflowError`.
    Stage,
    /// `WorkflowStageTransition`.
    Transition,
    /// `WorkflowCheckpoint`.
    Checkpoint,
}

/// The keys of a workflow operation: the fixed keys, the name, and the
/// input, output and error keys the operation sets or removes at every
/// point. Sorted (see [`holds_only`]).
const WORKFLOW_KEYS: &[&str] = &[
    "error",
    "input",
    "output",
    "parent",
    "pattern",
    "resumed",
    "run_id",
    "workflow_name",
];

/// The keys of a stage: the fixed keys, then the operation's input, output
/// and error keys. Sorted.
const STAGE_KEYS: &[&str] = &[
    "branch",
    "error",
    "input",
    "iteration",
    "output",
    "pattern",
    "run_id",
    "step_index",
    "step_name",
    "workflow_name",
];

/// The keys of `WorkflowStageTransition` (all set by the run). Sorted.
const TRANSITION_KEYS: &[&str] = &[
    "branch",
    "from_step",
    "iteration",
    "output",
    "pattern",
    "run_id",
    "step_index",
    "step_name",
    "to_step",
    "workflow_name",
];

/// The keys of `WorkflowCheckpoint` (all set by the run). Sorted.
const CHECKPOINT_KEYS: &[&str] = &[
    "path",
    "pattern",
    "run_id",
    "step_index",
    "step_name",
    "steps_completed",
    "store",
    "workflow_name",
];

impl Kind {
    /// The keys a map of this kind may hold, sorted.
    fn keys(self) -> &'static [&'static str] {
        match self {
            Kind::Workflow => WORKFLOW_KEYS,
            Kind::Stage => STAGE_KEYS,
            Kind::Transition => TRANSITION_KEYS,
            Kind::Checkpoint => CHECKPOINT_KEYS,
        }
    }

    fn index(self) -> usize {
        self as usize
    }
}

/// Whether every key of `map` is one of `keys` (sorted): one pass over
/// both, since the map iterates its keys in order. A map whose keys come
/// in another order only takes the slow path in [`DataPool::take`].
fn holds_only(map: &HookData, keys: &[&str]) -> bool {
    let mut rest = keys.iter();
    map.keys().all(|k| rest.any(|w| *w == k.as_str()))
}

/// Spare hook data maps (see the module docs), one pool per [`Kind`].
#[derive(Debug, Default)]
pub(crate) struct DataPool {
    spare: [Mutex<Vec<HookData>>; 4],
}

impl DataPool {
    /// A map for a point of `kind`: empty, or a spare one of that kind with
    /// any other key (one a hook added) removed. The caller (or the
    /// operation, for its input, output and error keys) sets every key of
    /// the kind before a hook sees the map.
    pub(crate) fn take(&self, kind: Kind) -> HookData {
        let spare = self.spare[kind.index()].lock().pop();
        match spare {
            Some(mut map) => {
                let keys = kind.keys();
                if !holds_only(&map, keys) {
                    map.retain(|k, _| keys.contains(&k.as_str()));
                }
                map
            }
            None => HookData::new(),
        }
    }

    /// Gives back a map a point of `kind` is done with. Large values are
    /// dropped now rather than kept alive until the map is reused.
    pub(crate) fn give(&self, kind: Kind, mut map: HookData) {
        for v in map.values_mut() {
            let large = match v {
                Value::String(s) => s.capacity() > MAX_KEPT_STRING,
                Value::Array(_) | Value::Object(_) => true,
                _ => false,
            };
            if large {
                *v = Value::Null;
            }
        }
        let mut spare = self.spare[kind.index()].lock();
        if spare.len() < MAX_SPARE {
            spare.push(map);
        }
    }
}

/// Sets `key` to `value`, reusing the key when it is there.
pub(crate) fn set(map: &mut HookData, key: &str, value: Value) {
    match map.get_mut(key) {
        Some(slot) => *slot = value,
        None => {
            map.insert(key.to_owned(), value);
        }
    }
}

/// Sets `key` to the string `value`, reusing the key and the string that
/// are there.
pub(crate) fn set_str(map: &mut HookData, key: &str, value: &str) {
    match map.get_mut(key) {
        Some(Value::String(s)) => {
            if s != value {
                value.clone_into(s);
            }
        }
        Some(slot) => *slot = Value::String(value.to_owned()),
        None => {
            map.insert(key.to_owned(), Value::String(value.to_owned()));
        }
    }
}

/// Sets `key` to the string `value`, or to null.
pub(crate) fn set_opt_str(map: &mut HookData, key: &str, value: Option<&str>) {
    match value {
        Some(v) => set_str(map, key, v),
        None => set(map, key, Value::Null),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_key_lists_are_sorted() {
        for kind in [
            Kind::Workflow,
            Kind::Stage,
            Kind::Transition,
            Kind::Checkpoint,
        ] {
            let keys = kind.keys();
            assert!(keys.windows(2).all(|w| w[0] < w[1]), "{kind:?}: {keys:?}");
        }
    }

    #[test]
    fn a_reused_map_holds_only_the_keys_set_again() {
        let pool = DataPool::default();
        let mut m = pool.take(Kind::Transition);
        set_str(&mut m, "workflow_name", "wf");
        set_str(&mut m, "from_step", "a");
        set(&mut m, "output", json!({"big": [1, 2, 3]}));
        m.insert("added_by_a_hook".into(), json!(1));
        pool.give(Kind::Transition, m);

        assert!(pool.take(Kind::Stage).is_empty(), "pools are per kind");
        let mut m = pool.take(Kind::Transition);
        assert_eq!(m.len(), 3, "{m:?}");
        assert_eq!(m["output"], Value::Null, "objects are not kept");
        assert!(!m.contains_key("added_by_a_hook"));
        set_str(&mut m, "workflow_name", "other");
        set_opt_str(&mut m, "branch", None);
        assert_eq!(m["workflow_name"], "other");
        assert_eq!(m["branch"], Value::Null);
        assert_eq!(
            m["from_step"], "a",
            "kept for the next transition to overwrite"
        );
    }

    #[test]
    fn holds_only_checks_every_key() {
        let mut m = HookData::new();
        assert!(holds_only(&m, STAGE_KEYS));
        for k in STAGE_KEYS {
            m.insert((*k).into(), Value::Null);
        }
        assert!(holds_only(&m, STAGE_KEYS));
        assert!(!holds_only(&m, TRANSITION_KEYS));
        m.insert("zzz".into(), Value::Null);
        assert!(!holds_only(&m, STAGE_KEYS));
        m.remove("zzz");
        m.insert("a".into(), Value::Null);
        assert!(!holds_only(&m, STAGE_KEYS));
    }

    #[test]
    fn the_pool_is_bounded() {
        let pool = DataPool::default();
        for _ in 0..MAX_SPARE + 5 {
            pool.give(Kind::Stage, HookData::new());
        }
        assert_eq!(pool.spare[Kind::Stage.index()].lock().len(), MAX_SPARE);
    }
}
