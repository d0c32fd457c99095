//! Public types are Send + Sync where they are shared between tasks.

use llmspell_hooks::*;

fn send_sync<T: Send + Sync>() {}

#[test]
fn public_types_are_send_and_sync() {
    send_sync::<HookPoint>();
    send_sync::<HookContext>();
    send_sync::<HookResult>();
    send_sync::<HookOutcome>();
    send_sync::<HookError>();
    send_sync::<HookMetadata>();
    send_sync::<ComponentId>();
    send_sync::<HookRegistry>();
    send_sync::<HookExecutor>();
    send_sync::<HookHandle>();
    send_sync::<RegisteredHook>();
    send_sync::<CircuitBreaker>();
    send_sync::<Hooks>();
    send_sync::<HookCache>();
    send_sync::<ManualClock>();
    send_sync::<std::sync::Arc<dyn Hook>>();
    send_sync::<SequentialHook>();
    send_sync::<ParallelHook>();
    send_sync::<FirstMatchHook>();
    send_sync::<VotingHook>();
    send_sync::<JsonHookAdapter>();
}
