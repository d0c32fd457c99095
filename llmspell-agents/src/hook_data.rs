//! Hook data maps kept for reuse by the agents' hooked operations.
//!
//! An agent's creation, executions and shutdown each run a hooked
//! operation whose context data holds the same few keys (`agent_name`,
//! `from_state`, `to_state`, `gen_ai.request.model`, ... and the
//! operation's input, output and error keys). Built afresh, a map costs a
//! `String` per key and its nodes, and the hooks crate adds the input and
//! name keys at the first point: about half of the allocations a hooked
//! lifecycle made beyond the unhooked one. So the map an operation hands
//! back ([`Completed::spare_data`]) goes to a process-wide pool of its
//! [`Kind`]; the next operation of that kind takes it and sets its values
//! in place. Hooks see exactly the keys and values of a fresh map: a key
//! a hook added is removed when the map is given back, every fixed key is
//! set by the agent, and the operation sets the input and name keys and
//! sets or removes the output and error keys before each point.
//!
//! The maps are only built when one of the operation's points has a hook
//! (nothing sees them otherwise).
//!
//! [`Completed::spare_data`]: llmspell_hooks::Completed::spare_data

use llmspell_hooks::HookData;
use parking_lot::Mutex;
use serde_json::Value;

/// Most maps kept per kind (the operations in flight of a few concurrent
/// agents; more are dropped).
const MAX_SPARE: usize = 16;

/// Strings longer than this, and every array or object (inputs, outputs,
/// the configuration), are not kept alive in the pool.
const MAX_KEPT_STRING: usize = 256;

/// The operations whose maps are pooled; each has a pool of its own, so a
/// reused map already holds the kind's keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// Creation: `BeforeAgentInit`, `AfterAgentInit`.
    Init,
    /// An execution: `BeforeAgentExecution`, `AfterAgentExecution`,
    /// `AgentError`.
    Exec,
    /// `terminate`: `BeforeAgentShutdown`, `AfterAgentShutdown`.
    Shutdown,
}

/// The keys of a creation's map (fixed, name, input, output and error
/// keys), sorted.
const INIT_KEYS: &[&str] = &[
    "agent_name",
    "config",
    "error",
    "from_state",
    "gen_ai.request.model",
    "output",
    "to_state",
];

/// The keys of an execution's map, sorted.
const EXEC_KEYS: &[&str] = &[
    "agent_name",
    "error",
    "gen_ai.request.model",
    "gen_ai.system",
    "input",
    "output",
];

/// The keys of a shutdown's map, sorted.
const SHUTDOWN_KEYS: &[&str] = &[
    "agent_name",
    "error",
    "from_state",
    "input",
    "output",
    "to_state",
];

impl Kind {
    /// The keys a map of this kind may hold, sorted.
    fn keys(self) -> &'static [&'static str] {
        match self {
            Kind::Init => INIT_KEYS,
            Kind::Exec => EXEC_KEYS,
            Kind::Shutdown => SHUTDOWN_KEYS,
        }
    }

    fn index(self) -> usize {
        self as usize
    }
}

/// Whether every key of `map` is one of `keys` (sorted).
#[cfg(test)]
fn holds_only(map: &HookData, keys: &[&str]) -> bool {
    let mut rest = keys.iter();
    map.keys().all(|k| rest.any(|w| *w == k.as_str()))
}

/// The process-wide pools, one per [`Kind`].
static SPARE: [Mutex<Vec<HookData>>; 3] = [
    parking_lot::const_mutex(Vec::new()),
    parking_lot::const_mutex(Vec::new()),
    parking_lot::const_mutex(Vec::new()),
];

/// A map for an operation of `kind`: empty, or a spare one of that kind
/// (holding only the kind's keys, see [`give`]). The caller sets every
/// fixed key of the kind before a hook can see the map (the operation sets
/// the others).
pub(crate) fn take(kind: Kind) -> HookData {
    SPARE[kind.index()].lock().pop().unwrap_or_default()
}

/// Gives back the map an operation of `kind` is done with: any key that is
/// not the kind's (one a hook added, `forks`) is removed, and large values
/// are dropped now rather than kept alive until the map is reused. One
/// pass over the map, which iterates its keys in order like the kind's
/// sorted list.
pub(crate) fn give(kind: Kind, mut map: HookData) {
    let keys = kind.keys();
    let mut rest = keys.iter();
    let mut foreign = false;
    for (k, v) in &mut map {
        foreign = foreign || !rest.any(|w| *w == k.as_str());
        let large = match v {
            Value::String(s) => s.capacity() > MAX_KEPT_STRING,
            Value::Array(_) | Value::Object(_) => true,
            _ => false,
        };
        if large {
            *v = Value::Null;
        }
    }
    if foreign {
        map.retain(|k, _| keys.contains(&k.as_str()));
    }
    let mut spare = SPARE[kind.index()].lock();
    if spare.len() < MAX_SPARE {
        spare.push(map);
    }
}

/// Sets `key` to the string `value`, reusing the key's and the old
/// string's allocations when they are there.
pub(crate) fn set_str(map: &mut HookData, key: &'static str, value: &str) {
    match map.get_mut(key) {
        Some(Value::String(s)) => {
            if s != value {
                s.clear();
                s.push_str(value);
            }
        }
        Some(v) => *v = Value::String(value.to_owned()),
        None => {
            map.insert(key.to_owned(), Value::String(value.to_owned()));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn kind_keys_are_sorted() {
        for kind in [Kind::Init, Kind::Exec, Kind::Shutdown] {
            let keys = kind.keys();
            assert!(keys.windows(2).all(|w| w[0] < w[1]), "{kind:?}");
        }
    }

    #[test]
    fn a_reused_map_loses_foreign_keys_and_large_values() {
        let mut map = HookData::new();
        map.insert("agent_name".into(), json!("a"));
        map.insert("input".into(), json!({"text": "hi"}));
        map.insert("forks".into(), json!([]));
        map.insert("added_by_a_hook".into(), json!(1));
        assert!(!holds_only(&map, EXEC_KEYS));
        // A pool of its own kind: no other test uses `Shutdown` maps with
        // these keys, and the assertions hold whichever map comes back.
        give(Kind::Shutdown, map);
        let map = take(Kind::Shutdown);
        assert!(holds_only(&map, SHUTDOWN_KEYS));
        assert!(map.values().all(|v| !v.is_object() && !v.is_array()));
    }

    #[test]
    fn set_str_overwrites_in_place() {
        let mut map = HookData::new();
        set_str(&mut map, "from_state", "ready");
        set_str(&mut map, "from_state", "paused");
        map.insert("to_state".into(), json!(1));
        set_str(&mut map, "to_state", "ready");
        assert_eq!(map["from_state"], "paused");
        assert_eq!(map["to_state"], "ready");
    }
}
