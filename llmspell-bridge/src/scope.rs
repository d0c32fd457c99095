//! [`CallerScope`]: what a call carries from the task that makes it to the
//! thread that runs it.
//!
//! A Lua hook runs on the caller's own task, so the task-locals of the
//! hooked operation that fired it (its parent context, the `Hook.fire`
//! nesting depth, the emit-hook guard) are simply there. A binding whose
//! engine lives on its own thread (JavaScript) runs the callback on another
//! task: it captures the caller's scope with [`CallerScope::capture`] on the
//! caller's side, sends it with the call, and runs what the callback starts
//! (a `Tool.invoke`, a `Hook.fire`, an `Event.publish`) inside
//! [`CallerScope::enter`], so that a tool call made by the callback joins
//! the caller's correlation tree, a hook that fires its own point still
//! stops at the nesting limit, and a publish made by an emit hook does not
//! fire the emit hooks again.

use std::future::Future;

use llmspell_hooks::HookContext;

use crate::event_bridge::{in_emit_hook, with_emit_hook_flag};
use crate::globals::{fire_depth, with_fire_depth};

/// The scope of a call made on one task, to be re-entered on another.
#[derive(Debug, Clone, Default)]
pub(crate) struct CallerScope {
    parent: Option<HookContext>,
    fire_depth: u32,
    in_emit_hook: bool,
}

impl CallerScope {
    /// The scope of the current task: the enclosing hooked operation (if
    /// any), the `Hook.fire` depth and the emit-hook guard.
    pub(crate) fn capture() -> Self {
        CallerScope {
            parent: llmspell_hooks::current_parent(),
            fire_depth: fire_depth(),
            in_emit_hook: in_emit_hook(),
        }
    }

    /// Runs `fut` inside this scope: operations it starts are children of
    /// the parent, and the fire depth and emit guard are the caller's.
    pub(crate) async fn enter<F: Future>(self, fut: F) -> F::Output {
        let inner = with_fire_depth(self.fire_depth, with_emit_hook_flag(self.in_emit_hook, fut));
        match self.parent {
            Some(parent) => llmspell_hooks::with_parent(parent, inner).await,
            None => inner.await,
        }
    }
}
