//! The `Hook` global: register Lua functions as real hooks in the shared
//! registry.

use std::sync::Arc;
use std::time::Duration;

use llmspell_hooks::{HookFilter, HookMetadata, HookPoint, Language, Priority, RegisterOptions};
use mlua::{Function, Lua, Table, UserData, UserDataMethods, Value};

use super::{GlobalMetadata, GlobalObject};
use crate::context::GlobalContext;
use crate::error::{BridgeError, Result};
use crate::lua::{engine_of, LuaHook};

/// `Hook.register(point, fn, priority_or_options?) → handle`,
/// `Hook.unregister(handle)`, `Hook.list(filter?)`.
///
/// - `point`: any hook point name (`"BeforeToolExecution"`, see
///   `llmspell hooks points`) or `"custom:<name>"`.
/// - The third argument: a priority (`"highest"`, `"high"`, `"normal"`,
///   `"low"`, `"lowest"` or an integer; lower runs first) or a table
///   `{priority=, match=<glob on component name>, timeout_ms=,
///   fail_closed=, name=, tags={...}, description=}`.
/// - `fn(ctx)` gets the context table (see
///   [`hook_result`](crate::hook_result)) and returns `nil`/`"continue"`,
///   `"skip"`, or a result table; it runs under the per-call time limit.
/// - The handle: `handle:id()`, `handle:hook_point()`,
///   `handle:unregister()` (true once, then false).
/// - `Hook.list(filter?)`: every hook in the shared registry (any language)
///   as `{id, name, hook_point, priority, language, tags, description,
///   enabled, own, calls, failures, timeouts, breaker}` (the last four from
///   the hook's monitor and circuit breaker); the filter is nil, a point name, or
///   `{hook_point=, language=, priority=, tag=}`.
#[derive(Debug, Clone, Copy, Default)]
pub struct HookGlobal;

/// The script-side handle of a registered hook.
#[derive(Debug, Clone)]
struct LuaHookHandle {
    id: u64,
    point: String,
}

impl UserData for LuaHookHandle {
    fn add_methods<M: UserDataMethods<Self>>(methods: &mut M) {
        methods.add_method("id", |_, this, ()| Ok(this.id));
        methods.add_method("hook_point", |_, this, ()| Ok(this.point.clone()));
        methods.add_method("unregister", |lua, this, ()| {
            Ok(engine_of(lua)?.hooks().unregister(this.id))
        });
        methods.add_meta_method("__tostring", |_, this, ()| {
            Ok(format!("HookHandle(#{} at {})", this.id, this.point))
        });
    }
}

fn invalid(function: &str, message: impl Into<String>) -> mlua::Error {
    BridgeError::invalid(function, message).into()
}

fn parse_point(function: &str, name: &str) -> mlua::Result<HookPoint> {
    name.parse::<HookPoint>()
        .map_err(|e| invalid(function, e.to_string()))
}

fn parse_priority(function: &str, v: &Value) -> mlua::Result<Priority> {
    match v {
        Value::String(s) => s
            .to_str()?
            .parse::<Priority>()
            .map_err(|e| invalid(function, e.to_string())),
        Value::Integer(i) => i32::try_from(*i).map(Priority).map_err(|_| {
            invalid(
                function,
                format!("priority {i} does not fit a 32-bit integer"),
            )
        }),
        Value::Number(n)
            if n.fract() == 0.0 && *n >= f64::from(i32::MIN) && *n <= f64::from(i32::MAX) =>
        {
            Ok(Priority(*n as i32))
        }
        other => Err(invalid(
            function,
            format!(
                "priority must be highest, high, normal, low, lowest or an integer, got {}",
                match other {
                    Value::Number(n) => n.to_string(),
                    other => format!("a {}", other.type_name()),
                }
            ),
        )),
    }
}

struct Registration {
    metadata: HookMetadata,
    options: RegisterOptions,
    timeout: Duration,
}

fn registration(
    default_name: String,
    default_timeout: Duration,
    third: Value,
) -> mlua::Result<Registration> {
    const F: &str = "Hook.register";
    let mut metadata = HookMetadata::new(default_name).with_language(Language::Lua);
    let mut options = RegisterOptions::new();
    let mut timeout = default_timeout;
    match third {
        Value::Nil => {}
        Value::Table(t) => {
            let priority: Value = t.get("priority")?;
            if !priority.is_nil() {
                metadata = metadata.with_priority(parse_priority(F, &priority)?);
            }
            if let Some(name) = t.get::<Option<String>>("name")? {
                metadata.name = name;
            }
            if let Some(d) = t.get::<Option<String>>("description")? {
                metadata = metadata.with_description(d);
            }
            if let Some(tags) = t.get::<Option<Vec<String>>>("tags")? {
                for tag in tags {
                    metadata = metadata.with_tag(tag);
                }
            }
            if let Some(glob) = t.get::<Option<String>>("match")? {
                options = options.matcher(glob);
            }
            if let Some(fc) = t.get::<Option<bool>>("fail_closed")? {
                options = options.fail_closed(fc);
            }
            if let Some(ms) = t.get::<Option<f64>>("timeout_ms")? {
                if !(ms.is_finite() && ms > 0.0) {
                    return Err(invalid(
                        F,
                        "timeout_ms must be a positive number of milliseconds",
                    ));
                }
                timeout = Duration::from_secs_f64(ms / 1000.0);
            }
        }
        other => metadata = metadata.with_priority(parse_priority(F, &other)?),
    }
    // The executor's timeout for this hook matches the Lua call limit, so a
    // hook given a long `timeout_ms` is not cut short by the default.
    options = options.timeout(timeout);
    Ok(Registration {
        metadata,
        options,
        timeout,
    })
}

fn list_filter(v: Value) -> mlua::Result<HookFilter> {
    const F: &str = "Hook.list";
    let mut filter = HookFilter::new();
    match v {
        Value::Nil => {}
        Value::String(s) => filter = filter.point(parse_point(F, &s.to_str()?)?),
        Value::Table(t) => {
            if let Some(p) = t.get::<Option<String>>("hook_point")? {
                filter = filter.point(parse_point(F, &p)?);
            }
            if let Some(l) = t.get::<Option<String>>("language")? {
                filter = filter.language(
                    l.parse::<Language>()
                        .map_err(|e| invalid(F, e.to_string()))?,
                );
            }
            let priority: Value = t.get("priority")?;
            if !priority.is_nil() {
                let p = parse_priority(F, &priority)?;
                filter = filter.priority_range(p..=p);
            }
            if let Some(tag) = t.get::<Option<String>>("tag")? {
                filter = filter.tag(tag);
            }
        }
        other => {
            return Err(invalid(
                F,
                format!(
                    "the filter must be nil, a point name or a table, got a {}",
                    other.type_name()
                ),
            ))
        }
    }
    Ok(filter)
}

impl GlobalObject for HookGlobal {
    fn metadata(&self) -> GlobalMetadata {
        GlobalMetadata {
            name: "Hook",
            description:
                "register Lua functions as hooks that run when agents, tools and workflows do",
            functions: &["register", "unregister", "list"],
        }
    }

    fn inject_lua(&self, lua: &Lua, _context: &GlobalContext) -> Result<()> {
        let hook = lua.create_table()?;

        hook.set(
            "register",
            lua.create_function(|lua, (point, func, third): (String, Value, Value)| {
                const F: &str = "Hook.register";
                let engine = engine_of(lua)?;
                let point = parse_point(F, &point)?;
                let Value::Function(func) = func else {
                    return Err(invalid(
                        F,
                        format!(
                            "the second argument must be the hook function, got a {}",
                            func.type_name()
                        ),
                    ));
                };
                let func: Function = func;
                let reg = registration(
                    engine.next_hook_name(),
                    engine.config().call_timeout(),
                    third,
                )?;
                let hook = LuaHook {
                    engine: engine.downgrade(),
                    func,
                    metadata: reg.metadata,
                    timeout: reg.timeout,
                };
                let handle = engine
                    .hooks()
                    .register(point.clone(), Arc::new(hook), reg.options)?;
                Ok(LuaHookHandle {
                    id: handle.id(),
                    point: point.to_string(),
                })
            })?,
        )?;

        hook.set(
            "unregister",
            lua.create_function(|lua, handle: Value| {
                let engine = engine_of(lua)?;
                let id = match &handle {
                    Value::UserData(ud) => ud.borrow::<LuaHookHandle>()?.id,
                    Value::Integer(i) => u64::try_from(*i).unwrap_or(u64::MAX),
                    other => {
                        return Err(invalid(
                            "Hook.unregister",
                            format!(
                                "expected a handle returned by Hook.register, got a {}",
                                other.type_name()
                            ),
                        ))
                    }
                };
                Ok(engine.hooks().unregister(id))
            })?,
        )?;

        hook.set(
            "list",
            lua.create_function(|lua, filter: Value| {
                let engine = engine_of(lua)?;
                let filter = list_filter(filter)?;
                let out = lua.create_table()?;
                for (i, h) in engine.hooks().list(&filter).iter().enumerate() {
                    let m = h.metadata();
                    let t: Table = lua.create_table()?;
                    t.set("id", h.handle().id())?;
                    t.set("name", m.name.as_str())?;
                    t.set("hook_point", h.handle().point().to_string())?;
                    t.set("priority", h.handle().priority().to_string())?;
                    t.set("language", m.language.as_str())?;
                    t.set(
                        "tags",
                        lua.create_sequence_from(m.tags.iter().map(String::as_str))?,
                    )?;
                    t.set("description", m.description.as_deref())?;
                    t.set("enabled", h.is_enabled())?;
                    t.set("own", engine.hooks().is_own(h.handle().id()))?;
                    let perf = h.performance();
                    t.set("calls", perf.calls)?;
                    t.set("failures", perf.failures)?;
                    t.set("timeouts", perf.timeouts)?;
                    t.set("breaker", h.breaker().state().to_string())?;
                    out.raw_set(i + 1, t)?;
                }
                Ok(out)
            })?,
        )?;

        lua.globals().set("Hook", hook)?;
        Ok(())
    }
}
