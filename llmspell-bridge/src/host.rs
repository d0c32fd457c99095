//! [`ScriptHost`]: the language-neutral side of one script engine.

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use llmspell_events::Language;
use parking_lot::RwLock;

use crate::context::GlobalContext;
use crate::event_bridge::EventBridge;
use crate::hook_bridge::HookBridge;

/// What every global function of one engine works with, whatever the
/// language: the shared [`GlobalContext`], the engine's own
/// [`EventBridge`] and [`HookBridge`] (what the engine registers, removed
/// when the host is dropped), the engine's language, the running script's
/// name and the default per-call time limit of script callbacks.
///
/// A language binding (`lua/`, `javascript/`) owns one host per engine and
/// passes it to the neutral functions of [`globals`](crate::globals).
pub(crate) struct ScriptHost {
    context: GlobalContext,
    events: EventBridge,
    hooks: HookBridge,
    language: Language,
    script_name: RwLock<Arc<str>>,
    call_timeout: Duration,
    hook_seq: AtomicU64,
}

impl fmt::Debug for ScriptHost {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ScriptHost")
            .field("language", &self.language)
            .field("script_name", &*self.script_name.read())
            .field("events", &self.events)
            .field("hooks", &self.hooks)
            .finish_non_exhaustive()
    }
}

impl ScriptHost {
    /// A host for an engine of `language` over `context`, whose script
    /// callbacks run at most `call_timeout` unless registered otherwise.
    pub(crate) fn new(context: GlobalContext, language: Language, call_timeout: Duration) -> Self {
        let events = EventBridge::with_hooks(
            context.event_bus().clone(),
            language,
            Arc::clone(context.hook_executor()),
        );
        let hooks = HookBridge::new(
            Arc::clone(context.hook_registry()),
            Arc::clone(context.hook_executor()),
        );
        ScriptHost {
            context,
            events,
            hooks,
            language,
            script_name: RwLock::new(Arc::from("<none>")),
            call_timeout,
            hook_seq: AtomicU64::new(1),
        }
    }

    /// The shared context.
    pub(crate) fn context(&self) -> &GlobalContext {
        &self.context
    }

    /// The engine's event bridge.
    pub(crate) fn events(&self) -> &EventBridge {
        &self.events
    }

    /// The engine's hook bridge.
    pub(crate) fn hooks(&self) -> &HookBridge {
        &self.hooks
    }

    /// The engine's language.
    pub(crate) fn language(&self) -> Language {
        self.language
    }

    /// The running script's name (`<none>` before the first script).
    pub(crate) fn script_name(&self) -> Arc<str> {
        Arc::clone(&self.script_name.read())
    }

    /// Sets the running script's name.
    pub(crate) fn set_script_name(&self, name: &str) {
        *self.script_name.write() = Arc::from(name);
    }

    /// The default per-call time limit of script hooks and callbacks.
    pub(crate) fn call_timeout(&self) -> Duration {
        self.call_timeout
    }

    /// A fresh default hook name (`lua-hook-<n>`, `javascript-hook-<n>`).
    pub(crate) fn next_hook_name(&self) -> String {
        format!(
            "{}-hook-{}",
            self.language.as_str(),
            // Only uniqueness matters, no ordering with other memory.
            self.hook_seq.fetch_add(1, Ordering::Relaxed)
        )
    }
}
