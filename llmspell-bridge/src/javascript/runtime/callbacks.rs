//! Event callbacks: run in order on the engine thread while a run waits,
//! and drained after its main body (the rule of the Lua engine).

use super::*;

/// The next event of this engine's callback subscriptions.
async fn next_callback(host: &ScriptHost) -> Option<(SubscriptionId, Arc<UniversalEvent>)> {
    let Some(mut queue) = host.events().callback_queue() else {
        return std::future::pending().await;
    };
    queue.next().await
}

/// Awaits `future` while running event callbacks as their events arrive.
pub(super) async fn wait_pumping(
    cell: &RefCell<&mut Context>,
    state: &Rc<EngineState>,
    future: impl Future<Output = JsResult<JsValue>>,
    deadline: Option<Instant>,
    scope: &Scope,
) -> std::result::Result<JsResult<JsValue>, Stop> {
    let host = Arc::clone(&state.host);
    let mut main = std::pin::pin!(settle_promise(future, deadline, scope));
    loop {
        let next = tokio::select! {
            biased;
            out = &mut main => return out,
            Some(next) = next_callback(&host) => next,
        };
        run_callback(cell, state, next.0, next.1).await;
    }
}

/// Runs queued callbacks until the queues are empty or the drain limit
/// passes (the rule of the Lua engine).
pub(super) async fn drain_callbacks(cell: &RefCell<&mut Context>, state: &Rc<EngineState>) {
    let host = Arc::clone(&state.host);
    let events = host.events();
    let deadline = std::time::Instant::now() + state.config.drain_limit;
    loop {
        let Some(mut queue) = events.callback_queue() else {
            return;
        };
        let now = std::time::Instant::now();
        if now >= deadline {
            let left = events.callback_backlog() + queue.len();
            if left > 0 {
                tracing::warn!(
                    left,
                    "drain limit reached: event callbacks left undelivered"
                );
            }
            return;
        }
        let next = match queue.try_next() {
            Some(next) => Some(next),
            None => {
                // Events still in a bus queue, or bridge calls (a publish
                // the script did not await) still running: wait a little.
                let busy = || events.callback_backlog() > 0 || state.in_flight.get() > 0;
                let wait = if busy() {
                    (deadline - now).min(Duration::from_millis(50))
                } else {
                    Duration::from_millis(2)
                };
                match tokio::time::timeout(wait, queue.next()).await {
                    Ok(next) => next,
                    Err(_) if !busy() => return,
                    Err(_) => continue,
                }
            }
        };
        drop(queue);
        match next {
            Some((id, event)) => run_callback(cell, state, id, event).await,
            None => return,
        }
    }
}

/// Runs the callback of subscription `id` for `event` under the call
/// limits, awaiting its promise; a failure is counted and fires
/// `EventHandlerError`.
async fn run_callback(
    cell: &RefCell<&mut Context>,
    state: &Rc<EngineState>,
    id: SubscriptionId,
    event: Arc<UniversalEvent>,
) {
    let Some(func) = state.callbacks.borrow().get(&id).cloned() else {
        return;
    };
    let what = format!("event callback of {id}");
    let call_limits = limits(&state.config, true);
    let (sid, scope) = state.scopes.add(Scope::new(
        what.clone(),
        CallerScope::default(),
        call_limits,
    ));
    let limit = state.config.call_timeout;
    let first = {
        let mut guard = cell.borrow_mut();
        let ctx: &mut Context = &mut guard;
        match event_to_json(&event).and_then(|v| json_to_js(&v, ctx)) {
            Err(e) => Err(e),
            Ok(arg) => {
                let saved = state.scopes.enter(sid, ctx);
                let r = func.call(&JsValue::undefined(), &[arg], ctx);
                state.scopes.leave(saved, ctx);
                match r {
                    Err(e) => Err(script_error(&what, &e, &call_limits, ctx)),
                    Ok(v) => match v.as_promise() {
                        Some(p) => p
                            .into_js_future(ctx)
                            .map(Some)
                            .map_err(|e| script_error(&what, &e, &call_limits, ctx)),
                        None => Ok(None),
                    },
                }
            }
        }
    };
    let outcome = match first {
        Err(e) => Err(e),
        Ok(None) => Ok(()),
        Ok(Some(future)) => {
            let waited = settle_promise(future, Some(Instant::now() + limit), &scope).await;
            settled(waited, &what, &call_limits, limit, &scope, cell).map(drop)
        }
    };
    state.scopes.remove(sid);
    if let Err(e) = outcome {
        match &e {
            BridgeError::Timeout { what, limit } => {
                state.report_limit("callback_time", format!("{limit:?}"), what)
            }
            BridgeError::ResourceLimit {
                what,
                resource,
                limit,
            } => state.report_limit(resource, limit.clone(), what),
            _ => {}
        }
        // Only the counter's value matters, no ordering with other memory.
        state.callback_errors.fetch_add(1, Ordering::Relaxed);
        tracing::warn!(target: "llmspell::script", subscription = %id, error = %e, "event callback failed");
        state
            .host
            .events()
            .report_handler_error(id, &event, &e.to_string())
            .await;
    }
}
