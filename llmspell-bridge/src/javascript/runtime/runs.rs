//! Runs (`run_script`, `eval`, `call_function`, `run_pending_callbacks`):
//! the main body, its promise (callbacks run meanwhile), and the drain of
//! the callbacks after it.

use super::*;

/// How a run's main body got going.
enum Started {
    /// It finished with this value.
    Done(Value),
    /// It waits for a promise; a module's default export is read after.
    Waiting(boa_engine::object::builtins::JsFuture, Option<Module>),
}

/// One run request, served to the end: the main body, its promise, the
/// callbacks meanwhile and after.
pub(super) async fn run_task<'a>(
    cell: &'a RefCell<&mut Context>,
    state: &'a Rc<EngineState>,
    run: RunRequest,
    active: Rc<Cell<bool>>,
) {
    let RunRequest { kind, reply } = run;
    let what = match &kind {
        RunKind::Module { name, .. } | RunKind::Script { name, .. } => name.clone(),
        RunKind::Call { function, .. } => format!("function {function}"),
        RunKind::Drain => "event callbacks".to_owned(),
    };
    let script_limits = limits(&state.config, false);
    let (sid, scope) = state.scopes.add(Scope::new(
        what.clone(),
        CallerScope::default(),
        script_limits,
    ));
    let deadline = state.config.script_timeout.map(|t| Instant::now() + t);
    let started = {
        let mut guard = cell.borrow_mut();
        let ctx: &mut Context = &mut guard;
        let saved = state.scopes.enter(sid, ctx);
        let r = start(state, ctx, kind, &what, &script_limits);
        state.scopes.leave(saved, ctx);
        r
    };
    let outcome = match started {
        Err(e) => Err(e),
        Ok(Started::Done(v)) => Ok(v),
        Ok(Started::Waiting(future, module)) => {
            let waited = wait_pumping(cell, state, future, deadline, &scope).await;
            let limit = state.config.script_timeout.unwrap_or_default();
            settled(waited, &what, &script_limits, limit, &scope, cell).and_then(|v| {
                let mut guard = cell.borrow_mut();
                let ctx: &mut Context = &mut guard;
                match module {
                    Some(m) => default_export(&m, ctx, &what, &script_limits),
                    None => js_to_json(&v, ctx),
                }
            })
        }
    };
    match &outcome {
        Err(BridgeError::Timeout { what, limit }) => {
            state.report_limit("script_time", format!("{limit:?}"), what)
        }
        Err(BridgeError::ResourceLimit {
            what,
            resource,
            limit,
        }) => state.report_limit(resource, limit.clone(), what),
        _ => {}
    }
    drain_callbacks(cell, state).await;
    state.scopes.remove(sid);
    active.set(false);
    let _ = reply.send(outcome);
}

fn start(
    state: &EngineState,
    ctx: &mut Context,
    kind: RunKind,
    what: &str,
    limits: &RuntimeLimits,
) -> Result<Started> {
    let fail = |e: JsError, ctx: &mut Context| script_error(what, &e, limits, ctx);
    match kind {
        RunKind::Module { source, name, args } => {
            state.host.set_script_name(&name);
            set_args(ctx, &name, &args)?;
            let path = PathBuf::from(&name);
            let dir = path
                .parent()
                .filter(|d| !d.as_os_str().is_empty())
                .map(Path::to_path_buf)
                .or_else(|| path.is_file().then(|| PathBuf::from(".")));
            state.loader.set_root(dir);
            let src = Source::from_bytes(source.as_bytes());
            let module = match path.canonicalize() {
                Ok(p) => Module::parse(src.with_path(&p), None, ctx),
                Err(_) => Module::parse(src, None, ctx),
            }
            .map_err(|e| fail(e, ctx))?;
            let promise = module.load_link_evaluate(ctx);
            let future = promise.into_js_future(ctx).map_err(|e| fail(e, ctx))?;
            Ok(Started::Waiting(future, Some(module)))
        }
        RunKind::Script { source, name } => {
            state.host.set_script_name(&name);
            let script = Script::parse(Source::from_bytes(source.as_bytes()), None, ctx)
                .map_err(|e| fail(e, ctx))?;
            let v = script.evaluate(ctx).map_err(|e| fail(e, ctx))?;
            waiting_or_done(v, ctx, what, limits)
        }
        RunKind::Call { function, arg } => {
            let f = ctx
                .global_object()
                .get(JsString::from(function.as_str()), ctx)
                .map_err(|e| fail(e, ctx))?;
            let Some(f) = f.as_callable() else {
                return Err(BridgeError::invalid(
                    "JsEngine::call_function",
                    format!(
                        "the global `{function}` is not a function (its type is {})",
                        f.type_of()
                    ),
                ));
            };
            let arg = json_to_js(&arg, ctx)?;
            let v = f
                .call(&JsValue::undefined(), &[arg], ctx)
                .map_err(|e| fail(e, ctx))?;
            waiting_or_done(v, ctx, what, limits)
        }
        RunKind::Drain => Ok(Started::Done(Value::Null)),
    }
}

fn waiting_or_done(
    v: JsValue,
    ctx: &mut Context,
    what: &str,
    limits: &RuntimeLimits,
) -> Result<Started> {
    match v.as_promise() {
        Some(p) => Ok(Started::Waiting(
            p.into_js_future(ctx)
                .map_err(|e| script_error(what, &e, limits, ctx))?,
            None,
        )),
        None => Ok(Started::Done(js_to_json(&v, ctx)?)),
    }
}

/// The module's default export as JSON (`null` when it has none).
fn default_export(
    module: &Module,
    ctx: &mut Context,
    what: &str,
    limits: &RuntimeLimits,
) -> Result<Value> {
    let ns = module.namespace(ctx);
    let v = ns
        .get(js_string!("default"), ctx)
        .map_err(|e| script_error(what, &e, limits, ctx))?;
    js_to_json(&v, ctx)
}

/// `arg` and `scriptArgs`: `[script, ...args]`.
fn set_args(ctx: &mut Context, name: &str, args: &[String]) -> Result<()> {
    let list: Vec<Value> = std::iter::once(name.to_owned())
        .chain(args.iter().cloned())
        .map(Value::String)
        .collect();
    let v = json_to_js(&Value::Array(list), ctx)?;
    let global = ctx.global_object();
    for key in ["arg", "scriptArgs"] {
        global
            .set(JsString::from(key), v.clone(), false, ctx)
            .map_err(|e| BridgeError::Setup(e.to_string()))?;
    }
    Ok(())
}
