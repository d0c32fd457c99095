//! `Hook` in JavaScript: `Hook.register` → a handle (`id()`,
//! `hook_point()`, `unregister()`), `Hook.unregister(handle)`,
//! `Hook.list(filter?)`, `Hook.fire(point, data?)` → a promise, and
//! `Hook.use(name, options?)` → a built-in hook's handle (`name()`,
//! `points()`, `stats()`, `unregister()`), as in Lua.

use std::rc::Rc;
use std::sync::Arc;

use boa_engine::object::ObjectInitializer;
use boa_engine::property::PropertyDescriptor;
use boa_engine::{
    Context, JsArgs, JsNativeError, JsObject, JsResult, JsString, JsValue, NativeFunction,
};

use super::{define, json_arg, string_arg, throw, type_name};
use crate::error::Result;
use crate::globals::{BuiltinRegistration, HookGlobal};
use crate::javascript::convert::json_to_js;
use crate::javascript::runtime::{js_error, with_state, EngineState};
use crate::javascript::script_hook::JsHookCallback;

/// The hidden properties of a handle (not enumerable, not writable).
const ID: &str = "__llmspell_hook_id";
const POINT: &str = "__llmspell_hook_point";
/// The hidden property of a built-in hook's handle (its id in the engine).
const BUILTIN: &str = "__llmspell_builtin_hook";

/// The registry id of a handle (or of a number given instead).
fn handle_id(v: &JsValue, function: &str, ctx: &mut Context) -> JsResult<u64> {
    if let Some(n) = v.as_number() {
        if n >= 0.0 && n.fract() == 0.0 {
            #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
            return Ok(n as u64);
        }
    }
    if let Some(o) = v.as_object() {
        let id = o.get(JsString::from(ID), ctx)?;
        if let Some(n) = id.as_number() {
            #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
            return Ok(n as u64);
        }
    }
    Err(JsNativeError::typ()
        .with_message(format!(
            "{function}: expected a handle returned by Hook.register, got {}",
            type_name(v)
        ))
        .into())
}

/// `this` when it is a hook handle (an object with the handle's id).
fn this_handle(this: &JsValue, method: &str, ctx: &mut Context) -> JsResult<JsObject> {
    this.as_object()
        .filter(|o| o.has_own_property(JsString::from(ID), ctx).unwrap_or(false))
        .ok_or_else(|| {
            JsNativeError::typ()
                .with_message(format!("handle.{method}() must be called on a hook handle"))
                .into()
        })
}

fn id(this: &JsValue, _: &[JsValue], ctx: &mut Context) -> JsResult<JsValue> {
    this_handle(this, "id", ctx)?.get(JsString::from(ID), ctx)
}

fn hook_point(this: &JsValue, _: &[JsValue], ctx: &mut Context) -> JsResult<JsValue> {
    this_handle(this, "hook_point", ctx)?.get(JsString::from(POINT), ctx)
}

fn handle_unregister(this: &JsValue, _: &[JsValue], ctx: &mut Context) -> JsResult<JsValue> {
    let id = handle_id(this, "handle.unregister", ctx)?;
    unregister_id(id)
}

fn to_string(this: &JsValue, _: &[JsValue], ctx: &mut Context) -> JsResult<JsValue> {
    let h = this_handle(this, "toString", ctx)?;
    let id = h.get(JsString::from(ID), ctx)?.display().to_string();
    let point = h.get(JsString::from(POINT), ctx)?.display().to_string();
    Ok(JsValue::from(JsString::from(format!(
        "HookHandle(#{id} at {})",
        point.trim_matches('"')
    ))))
}

fn unregister_id(id: u64) -> JsResult<JsValue> {
    with_state(|s| {
        let removed = HookGlobal.unregister(&s.host, id);
        if removed {
            s.forget_hook(id);
        }
        JsValue::from(removed)
    })
}

/// A handle object for registry id `id` at `point`.
fn handle(state: &EngineState, id: u64, point: &str, ctx: &mut Context) -> JsResult<JsValue> {
    let proto = state.hook_proto.borrow().clone();
    #[allow(clippy::cast_precision_loss)]
    let fields = [
        (ID, JsValue::from(id as f64)),
        (POINT, JsValue::from(JsString::from(point))),
    ];
    handle_object(proto, fields, ctx)
}

/// An object with prototype `proto` and `fields` as read-only, hidden
/// properties (the shape of both kinds of hook handle).
fn handle_object<const N: usize>(
    proto: Option<JsObject>,
    fields: [(&str, JsValue); N],
    ctx: &mut Context,
) -> JsResult<JsValue> {
    let obj = JsObject::with_object_proto(ctx.intrinsics());
    if let Some(p) = proto {
        obj.set_prototype(Some(p));
    }
    for (key, value) in fields {
        obj.define_property_or_throw(
            JsString::from(key),
            PropertyDescriptor::builder()
                .value(value)
                .writable(false)
                .enumerable(false)
                .configurable(false),
            ctx,
        )?;
    }
    Ok(obj.into())
}

/// `Hook.register(point, fn, priority | options?)` → a handle.
fn register(_: &JsValue, args: &[JsValue], ctx: &mut Context) -> JsResult<JsValue> {
    const F: &str = "Hook.register";
    let point = string_arg(args.get_or_undefined(0), F, "the hook point")?;
    let f = args.get_or_undefined(1);
    let Some(func) = f.as_function() else {
        return Err(JsNativeError::typ()
            .with_message(format!(
                "{F}: the second argument must be the hook function, got {}",
                type_name(f)
            ))
            .into());
    };
    let third = json_arg(args.get_or_undefined(2), ctx)?;
    with_state(|s| {
        let fn_id = s.keep_hook_fn(func);
        let callback = Arc::new(JsHookCallback::new(s.shared.clone(), fn_id));
        match HookGlobal.register(&s.host, &point, callback, &third) {
            Ok(reg) => {
                s.link_hook(reg.id, fn_id);
                handle(s, reg.id, &reg.point, ctx)
            }
            Err(e) => {
                s.forget_hook_fn(fn_id);
                Err(throw(&e))
            }
        }
    })?
}

/// `Hook.unregister(handle)` → true once, then false (a handle from
/// `Hook.register` or from `Hook.use`).
fn unregister(_: &JsValue, args: &[JsValue], ctx: &mut Context) -> JsResult<JsValue> {
    let handle = args.get_or_undefined(0);
    if let Some(reg) = builtin_of(handle, ctx)? {
        return with_state(|s| JsValue::from(reg.unregister(&s.host)));
    }
    let id = handle_id(handle, "Hook.unregister", ctx)?;
    unregister_id(id)
}

/// The registration behind a built-in hook's handle, if `v` is one.
fn builtin_of(v: &JsValue, ctx: &mut Context) -> JsResult<Option<BuiltinRegistration>> {
    let Some(o) = v.as_object() else {
        return Ok(None);
    };
    let id = o.get(JsString::from(BUILTIN), ctx)?;
    let Some(id) = id.as_number() else {
        return Ok(None);
    };
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    let id = id as u64;
    with_state(|s| s.builtins.borrow().get(&id).cloned())
}

/// The registration behind `this`, a built-in hook's handle.
fn this_builtin(this: &JsValue, method: &str, ctx: &mut Context) -> JsResult<BuiltinRegistration> {
    builtin_of(this, ctx)?.ok_or_else(|| {
        JsNativeError::typ()
            .with_message(format!(
                "handle.{method}() must be called on a handle returned by Hook.use"
            ))
            .into()
    })
}

fn builtin_name(this: &JsValue, _: &[JsValue], ctx: &mut Context) -> JsResult<JsValue> {
    let reg = this_builtin(this, "name", ctx)?;
    Ok(JsString::from(reg.hook.kind().name()).into())
}

fn builtin_points(this: &JsValue, _: &[JsValue], ctx: &mut Context) -> JsResult<JsValue> {
    let reg = this_builtin(this, "points", ctx)?;
    json_to_js(&reg.points(), ctx).map_err(|e| js_error(&e))
}

fn builtin_stats(this: &JsValue, _: &[JsValue], ctx: &mut Context) -> JsResult<JsValue> {
    let reg = this_builtin(this, "stats", ctx)?;
    json_to_js(&reg.stats(), ctx).map_err(|e| js_error(&e))
}

fn builtin_unregister(this: &JsValue, _: &[JsValue], ctx: &mut Context) -> JsResult<JsValue> {
    let reg = this_builtin(this, "unregister", ctx)?;
    with_state(|s| JsValue::from(reg.unregister(&s.host)))
}

fn builtin_to_string(this: &JsValue, _: &[JsValue], ctx: &mut Context) -> JsResult<JsValue> {
    let reg = this_builtin(this, "toString", ctx)?;
    Ok(JsString::from(format!("BuiltinHookHandle({})", reg.hook.kind())).into())
}

/// `Hook.use(name, options?)` → the handle of built-in hook `name`
/// registered with `options` (see [`HookGlobal::use_builtin`]).
fn use_builtin(_: &JsValue, args: &[JsValue], ctx: &mut Context) -> JsResult<JsValue> {
    let name = string_arg(
        args.get_or_undefined(0),
        "Hook.use",
        "the built-in hook's name",
    )?;
    let options = json_arg(args.get_or_undefined(1), ctx)?;
    let id = with_state(|s| {
        HookGlobal
            .use_builtin(&s.host, &name, &options)
            .map(|reg| s.keep_builtin(reg))
    })?
    .map_err(|e| throw(&e))?;
    let proto = with_state(|s| s.builtin_proto.borrow().clone())?;
    #[allow(clippy::cast_precision_loss)]
    handle_object(proto, [(BUILTIN, JsValue::from(id as f64))], ctx)
}

/// `Hook.list(filter?)`.
fn list(_: &JsValue, args: &[JsValue], ctx: &mut Context) -> JsResult<JsValue> {
    let filter = json_arg(args.get_or_undefined(0), ctx)?;
    let out = with_state(|s| HookGlobal.list(&s.host, &filter))?.map_err(|e| throw(&e))?;
    json_to_js(&out, ctx).map_err(|e| js_error(&e))
}

/// `Hook.fire("custom:<name>", data?)` → a promise of the outcome.
fn fire(_: &JsValue, args: &[JsValue], ctx: &mut Context) -> JsResult<JsValue> {
    let point = string_arg(args.get_or_undefined(0), "Hook.fire", "the point")?;
    let data = json_arg(args.get_or_undefined(1), ctx)?;
    with_state(|s| {
        let host = Arc::clone(&s.host);
        s.promise_op(
            ctx,
            async move { HookGlobal.fire(&host, &point, data).await },
        )
    })
}

/// A prototype object holding `methods` (name, function).
fn methods_proto(context: &mut Context, methods: &[(&'static str, NativeFnPtr)]) -> JsObject {
    let mut init = ObjectInitializer::new(context);
    for &(name, f) in methods {
        init.function(NativeFunction::from_fn_ptr(f), JsString::from(name), 0);
    }
    init.build()
}

/// The signature of the handles' methods.
type NativeFnPtr = fn(&JsValue, &[JsValue], &mut Context) -> JsResult<JsValue>;

pub(super) fn inject(context: &mut Context, state: &Rc<EngineState>) -> Result<()> {
    let proto = methods_proto(
        context,
        &[
            ("id", id),
            ("hook_point", hook_point),
            ("unregister", handle_unregister),
            ("toString", to_string),
        ],
    );
    *state.hook_proto.borrow_mut() = Some(proto);
    let builtin_proto = methods_proto(
        context,
        &[
            ("name", builtin_name),
            ("points", builtin_points),
            ("stats", builtin_stats),
            ("unregister", builtin_unregister),
            ("toString", builtin_to_string),
        ],
    );
    *state.builtin_proto.borrow_mut() = Some(builtin_proto);
    define(
        context,
        "Hook",
        &[
            ("register", register, 3),
            ("unregister", unregister, 1),
            ("list", list, 1),
            ("fire", fire, 2),
            ("use", use_builtin, 2),
        ],
    )?;
    Ok(())
}
