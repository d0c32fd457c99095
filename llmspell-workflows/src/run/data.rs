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
//! added at an earlier point is removed before the map is reused.
//!
//! The values are written in one pass over the map's entries beside the
//! kind's sorted keys ([`DataPool::take`]). Setting them key by key, each
//! a lookup (a `BTreeMap` leaf is searched linearly, one string comparison
//! per key passed), made `memcmp` the largest single cost of a hooked
//! workflow run in a native profile (`perf`, about a sixth of what the
//! hooks added to the no-op workflow bench).

use parking_lot::Mutex;
use serde_json::Value;

use llmspell_hooks::{ComponentId, ComponentType, HookContext, HookData, HookPoint};

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
    /// The summary `AfterWorkflowComplete` sees as `output` (`success`,
    /// `data`, `error`).
    Summary,
}

/// The keys of a workflow operation: the fixed keys, the name, and the
/// input, output and error keys the operation sets or removes at every
/// point. Sorted (see [`DataPool::take`]).
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

/// The keys of a workflow's summary. Sorted.
const SUMMARY_KEYS: &[&str] = &["data", "error", "success"];

impl Kind {
    /// The keys a map of this kind may hold, sorted.
    fn keys(self) -> &'static [&'static str] {
        match self {
            Kind::Workflow => WORKFLOW_KEYS,
            Kind::Stage => STAGE_KEYS,
            Kind::Transition => TRANSITION_KEYS,
            Kind::Checkpoint => CHECKPOINT_KEYS,
            Kind::Summary => SUMMARY_KEYS,
        }
    }

    fn index(self) -> usize {
        self as usize
    }
}

/// A value [`DataPool::take`] sets for one key of a kind.
#[derive(Debug)]
pub(crate) enum Val<'a> {
    /// A string, written over the string the key holds (no allocation when
    /// it fits).
    Str(&'a str),
    /// A string, or null.
    OptStr(Option<&'a str>),
    /// Any value.
    Json(Value),
    /// Not set here: a key the operation sets or removes itself (the
    /// input, output, error and name keys).
    Keep,
}

impl Val<'_> {
    /// Writes the value into `slot`.
    fn write(self, slot: &mut Value) {
        match self {
            Val::Str(s) | Val::OptStr(Some(s)) => match slot {
                Value::String(old) => s.clone_into(old),
                other => *other = Value::String(s.to_owned()),
            },
            Val::OptStr(None) => *slot = Value::Null,
            Val::Json(v) => *slot = v,
            Val::Keep => {}
        }
    }
}

/// Spare hook data maps (see the module docs), one pool per [`Kind`],
/// and spare contexts for the notification points (`notify`).
#[derive(Debug, Default)]
pub(crate) struct DataPool {
    spare: [Mutex<Vec<HookData>>; 5],
    contexts: Mutex<Vec<HookContext>>,
}

impl DataPool {
    /// A context for a notification point: a spare one (the caller sets
    /// every field: a hook may have changed any), or a new one. A kept
    /// context keeps its component name, parent and metadata allocations
    /// for the next point.
    pub(crate) fn take_context(&self) -> HookContext {
        self.contexts.lock().pop().unwrap_or_else(|| {
            HookContext::new(
                HookPoint::WorkflowStageTransition,
                ComponentId::new(ComponentType::Workflow, ""),
            )
        })
    }

    /// Keeps a notification context for the next point.
    pub(crate) fn give_context(&self, ctx: HookContext) {
        let mut spare = self.contexts.lock();
        if spare.len() < MAX_SPARE {
            spare.push(ctx);
        }
    }

    /// A map for a point of `kind` with each key set to `value(key)`
    /// ([`Val::Keep`] for a key the operation sets itself): a spare map of
    /// the kind refilled, or a new one. A key a hook added to a spare map
    /// is removed.
    ///
    /// A spare map's keys are those of the kind, in the same order, so one
    /// pass over its entries beside the kind's keys writes every value (one
    /// key comparison per entry, where a lookup per key compared each with
    /// half the map's keys). A key the map lacks (a new map, or one a hook
    /// removed) is inserted after the pass; a key the kind does not have
    /// ends the pass, and the map is cleaned and filled by lookups.
    /// `value` is called once per key of the kind.
    pub(crate) fn take<'v>(&self, kind: Kind, mut value: impl FnMut(&str) -> Val<'v>) -> HookData {
        let keys = kind.keys();
        debug_assert!(keys.len() <= 32, "a u32 marks the keys written");
        let mut map = self.spare[kind.index()].lock().pop().unwrap_or_default();
        let mut written = 0u32;
        let mut foreign = false;
        let mut next = 0;
        for (key, slot) in &mut map {
            match keys[next..].iter().position(|k| *k == key.as_str()) {
                Some(at) => {
                    next += at;
                    value(keys[next]).write(slot);
                    written |= 1 << next;
                    next += 1;
                }
                None => {
                    foreign = true;
                    break;
                }
            }
        }
        if foreign {
            map.retain(|k, _| keys.contains(&k.as_str()));
        }
        for (i, key) in keys.iter().enumerate() {
            if written & (1 << i) != 0 {
                continue;
            }
            match value(key) {
                Val::Keep => {}
                v => match map.get_mut(*key) {
                    Some(slot) => v.write(slot),
                    None => {
                        let mut slot = Value::Null;
                        v.write(&mut slot);
                        map.insert((*key).to_owned(), slot);
                    }
                },
            }
        }
        map
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
            Kind::Summary,
        ] {
            let keys = kind.keys();
            assert!(keys.windows(2).all(|w| w[0] < w[1]), "{kind:?}: {keys:?}");
        }
    }

    /// A `value` function for [`DataPool::take`] from `(key, value)`
    /// pairs; every other key is kept.
    fn vals<'a>(pairs: Vec<(&'static str, Val<'a>)>) -> impl FnMut(&str) -> Val<'a> + 'a {
        let mut pairs: Vec<Option<(&'static str, Val<'a>)>> = pairs.into_iter().map(Some).collect();
        move |key| {
            pairs
                .iter_mut()
                .find(|p| p.as_ref().is_some_and(|(k, _)| *k == key))
                .and_then(Option::take)
                .map_or(Val::Keep, |(_, v)| v)
        }
    }

    /// The values of a transition map: `output` and `from_step` as given.
    fn transition<'a>(from: &'a str, output: Value) -> impl FnMut(&str) -> Val<'a> + 'a {
        vals(vec![
            ("branch", Val::OptStr(None)),
            ("from_step", Val::Str(from)),
            ("iteration", Val::Json(Value::Null)),
            ("output", Val::Json(output)),
            ("pattern", Val::Str("sequential")),
            ("run_id", Val::Str("run-1")),
            ("step_index", Val::Json(json!(1))),
            ("step_name", Val::Str("b")),
            ("to_step", Val::Str("b")),
            ("workflow_name", Val::Str("wf")),
        ])
    }

    #[test]
    fn a_new_map_gets_every_key_but_those_kept_for_the_operation() {
        let pool = DataPool::default();
        let m = pool.take(Kind::Transition, transition("a", json!(1)));
        let keys: Vec<&str> = m.keys().map(String::as_str).collect();
        assert_eq!(keys, TRANSITION_KEYS);
        assert_eq!(m["from_step"], "a");
        assert_eq!(m["branch"], Value::Null);
        assert_eq!(m["step_index"], 1);

        let m = pool.take(Kind::Stage, vals(vec![("workflow_name", Val::Str("wf"))]));
        assert_eq!(m.len(), 1, "Keep adds no key: {m:?}");
        assert_eq!(m["workflow_name"], "wf");
    }

    #[test]
    fn a_reused_map_holds_only_the_keys_set_again() {
        let pool = DataPool::default();
        let mut m = pool.take(Kind::Transition, transition("a", json!({"big": [1, 2, 3]})));
        m.insert("added_by_a_hook".into(), json!(1));
        m.insert("zzz_after_every_key".into(), json!(1));
        m.remove("step_name");
        pool.give(Kind::Transition, m);

        assert_eq!(
            pool.take(Kind::Checkpoint, vals(vec![("path", Val::Str("p"))]))
                .len(),
            1,
            "pools are per kind"
        );
        let m = pool.take(Kind::Transition, transition("b", json!(2)));
        let keys: Vec<&str> = m.keys().map(String::as_str).collect();
        assert_eq!(keys, TRANSITION_KEYS, "hook keys gone, removed key back");
        assert_eq!(m["from_step"], "b");
        assert_eq!(m["output"], 2);
        assert_eq!(m["step_name"], "b");
    }

    #[test]
    fn each_value_is_asked_for_once() {
        let pool = DataPool::default();
        for _ in 0..2 {
            let mut asked = Vec::new();
            let m = pool.take(Kind::Stage, |k| {
                asked.push(k.to_owned());
                Val::Str("x")
            });
            assert_eq!(asked, STAGE_KEYS);
            pool.give(Kind::Stage, m);
        }
    }

    #[test]
    fn given_back_large_values_are_dropped_and_kept_keys_stay() {
        let pool = DataPool::default();
        let mut m = pool.take(Kind::Stage, vals(vec![("workflow_name", Val::Str("wf"))]));
        m.insert("input".into(), json!({"big": [1, 2, 3]}));
        m.insert(
            "output".into(),
            Value::String("x".repeat(MAX_KEPT_STRING + 1)),
        );
        m.insert("error".into(), json!("short"));
        pool.give(Kind::Stage, m);

        let m = pool.take(Kind::Stage, vals(vec![("step_name", Val::Str("step"))]));
        assert_eq!(m["input"], Value::Null, "objects are not kept");
        assert_eq!(m["output"], Value::Null, "long strings are not kept");
        assert_eq!(
            m["error"], "short",
            "Keep leaves the value to the operation"
        );
        assert_eq!(
            m["workflow_name"], "wf",
            "left for the next point to overwrite"
        );
        assert_eq!(m["step_name"], "step");
    }

    #[test]
    fn every_value_kind_writes_over_any_old_value() {
        for old in [
            json!(null),
            json!("a much longer old string"),
            json!({"o": 1}),
            json!(3),
        ] {
            let mut slot = old.clone();
            Val::Str("new").write(&mut slot);
            assert_eq!(slot, "new", "from {old}");
            let mut slot = old.clone();
            Val::OptStr(None).write(&mut slot);
            assert_eq!(slot, Value::Null, "from {old}");
            let mut slot = old.clone();
            Val::Json(json!([1])).write(&mut slot);
            assert_eq!(slot, json!([1]), "from {old}");
            let mut slot = old.clone();
            Val::Keep.write(&mut slot);
            assert_eq!(slot, old);
        }
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
