//! Calls of kept functions (hooks, migration functions, workflow
//! functions) from any thread: the function runs at once on the engine
//! thread; a promise it returns is awaited by a task of the loop, under the
//! call's deadline.

use super::*;

/// What a call returned at once.
enum First {
    Value(Value),
    Wait(boa_engine::object::builtins::JsFuture),
}

/// Starts a hook call: calls the function at once, replies at once unless
/// it returned a promise (then the returned task waits for it).
pub(super) fn start_hook<'a>(
    cell: &'a RefCell<&mut Context>,
    state: &'a Rc<EngineState>,
    h: Box<HookRequest>,
) -> Option<Task<'a>> {
    let HookRequest {
        fn_id,
        ctx,
        caller,
        deadline,
        limit,
        what,
        resource,
        reporting,
        step,
        reply,
    } = *h;
    let Some(func) = state.hook_fns.borrow().get(&fn_id).cloned() else {
        let _ = reply.send(Err(BridgeError::Script {
            chunk: what,
            message: "the hook was unregistered before this call reached the engine".to_owned(),
        }));
        return None;
    };
    // A workflow function is the script's own code: the script's limits.
    let call_limits = limits(&state.config, !step);
    let (sid, scope) = state
        .scopes
        .add(Scope::new(what.clone(), caller, call_limits));
    let started = std::time::Instant::now();
    // The state object a workflow function gets, read back after the call.
    let mut step_state: Option<JsValue> = None;
    let first = {
        let mut guard = cell.borrow_mut();
        let ctx_ref: &mut Context = &mut guard;
        match call_args(ctx, step, ctx_ref) {
            Err(e) => Err(e),
            Ok(args) => {
                if step {
                    step_state = args.get(1).cloned();
                }
                let saved = state.scopes.enter(sid, ctx_ref);
                let r = func.call(&JsValue::undefined(), &args, ctx_ref);
                state.scopes.leave(saved, ctx_ref);
                match r {
                    Err(e) => Err(script_error(&what, &e, &call_limits, ctx_ref)),
                    Ok(v) => match v.as_promise() {
                        Some(p) => p
                            .into_js_future(ctx_ref)
                            .map(First::Wait)
                            .map_err(|e| script_error(&what, &e, &call_limits, ctx_ref)),
                        None => js_to_json(&v, ctx_ref).map(First::Value),
                    },
                }
            }
        }
    };
    let overran = started.elapsed() > limit;
    let what_done = what.clone();
    let finish = move |state: &EngineState, out: Result<Value>| {
        if !reporting {
            match &out {
                Err(BridgeError::ResourceLimit {
                    resource,
                    limit,
                    what,
                }) => {
                    state.report_limit(resource, limit.clone(), what);
                }
                Err(BridgeError::Timeout { what, limit }) => {
                    state.report_limit(resource, format!("{limit:?}"), what);
                }
                _ if overran => state.report_limit(resource, format!("{limit:?}"), &what_done),
                _ => {}
            }
        }
        let _ = reply.send(out);
    };
    match first {
        Err(e) => {
            state.scopes.remove(sid);
            finish(state, Err(e));
            None
        }
        Ok(First::Value(v)) => {
            state.scopes.remove(sid);
            let out = with_step_state(v, step_state.as_ref(), &mut cell.borrow_mut());
            finish(state, out);
            None
        }
        Ok(First::Wait(future)) => Some(Box::pin(async move {
            let waited = settle_promise(future, Some(deadline), &scope).await;
            let out = settled(waited, &what, &call_limits, limit, &scope, cell)
                .and_then(|v| js_to_json(&v, &mut cell.borrow_mut()))
                .and_then(|v| with_step_state(v, step_state.as_ref(), &mut cell.borrow_mut()));
            state.scopes.remove(sid);
            finish(state, out);
        })),
    }
}

/// The arguments of a call: the one argument, or a workflow function's
/// `(input, state, context)` from `{input, state, context}`.
fn call_args(arg: Value, step: bool, ctx: &mut Context) -> Result<Vec<JsValue>> {
    if !step {
        return Ok(vec![json_to_js(&arg, ctx)?]);
    }
    let Value::Object(mut parts) = arg else {
        return Ok(vec![json_to_js(&arg, ctx)?]);
    };
    let mut take = |key: &str| parts.remove(key).unwrap_or(Value::Null);
    let (input, state, context) = (take("input"), take("state"), take("context"));
    let state = match state {
        Value::Object(m) => Value::Object(m),
        _ => Value::Object(serde_json::Map::new()),
    };
    Ok(vec![
        json_to_js(&input, ctx)?,
        json_to_js(&state, ctx)?,
        json_to_js(&context, ctx)?,
    ])
}

/// A workflow function's reply, `{output, state}` (the state object as the
/// function left it); any other call's output as it is.
fn with_step_state(output: Value, state: Option<&JsValue>, ctx: &mut Context) -> Result<Value> {
    match state {
        None => Ok(output),
        Some(s) => Ok(serde_json::json!({ "output": output, "state": js_to_json(s, ctx)? })),
    }
}
