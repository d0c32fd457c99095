//! `State` and `Session` in JavaScript.
//!
//! Every function that reads or writes storage returns a promise; the
//! scope argument is optional (`undefined` or `null`: global).
//! `State.compare_and_set` resolves to `true` or `false` (JavaScript has
//! no second return value: read the current version with
//! `State.version`).

use std::sync::Arc;

use boa_engine::{Context, JsArgs, JsNativeError, JsResult, JsValue};
use serde_json::Value;

use super::{define, string_arg, throw, type_name};
use crate::error::Result;
use crate::globals::{SessionGlobal, StateGlobal};
use crate::javascript::convert::js_to_json;
use crate::javascript::runtime::with_state;
use crate::javascript::script_hook::JsMigration;

/// An optional string argument (`undefined` / `null`: none).
fn optional_string(v: &JsValue, function: &str, what: &str) -> JsResult<Option<String>> {
    if v.is_null_or_undefined() {
        Ok(None)
    } else {
        string_arg(v, function, what).map(Some)
    }
}

/// A number argument, or a `TypeError` naming the function and what it is.
fn number_arg(v: &JsValue, function: &str, what: &str) -> JsResult<f64> {
    v.as_number().ok_or_else(|| {
        JsNativeError::typ()
            .with_message(format!(
                "{function}: {what} must be a number, got {}",
                type_name(v)
            ))
            .into()
    })
}

/// A value argument as JSON, refused with the key when it has no JSON form.
fn value_arg(v: &JsValue, function: &str, key: &str, ctx: &mut Context) -> JsResult<Value> {
    js_to_json(v, ctx).map_err(|e| throw(&StateGlobal::not_json(function, key, &e)))
}

/// A promise of `fut`'s JSON value.
fn promise<F>(
    ctx: &mut Context,
    op: impl FnOnce(Arc<crate::host::ScriptHost>) -> F,
) -> JsResult<JsValue>
where
    F: std::future::Future<Output = Result<Value>> + 'static,
{
    with_state(|s| {
        let fut = op(Arc::clone(&s.host));
        s.promise_op(ctx, fut)
    })
}

/// `State.get(key, scope?)` → a promise of the value or `null`.
fn get(_: &JsValue, args: &[JsValue], ctx: &mut Context) -> JsResult<JsValue> {
    const F: &str = "State.get";
    let key = string_arg(args.get_or_undefined(0), F, "the key")?;
    let scope = optional_string(args.get_or_undefined(1), F, "the scope")?;
    promise(ctx, |host| async move {
        StateGlobal.get(&host, &key, scope.as_deref()).await
    })
}

/// `State.set(key, value, scope?)` → a promise of the new version.
fn set(_: &JsValue, args: &[JsValue], ctx: &mut Context) -> JsResult<JsValue> {
    const F: &str = "State.set";
    let key = string_arg(args.get_or_undefined(0), F, "the key")?;
    let value = value_arg(args.get_or_undefined(1), F, &key, ctx)?;
    let scope = optional_string(args.get_or_undefined(2), F, "the scope")?;
    promise(ctx, |host| async move {
        Ok(StateGlobal
            .set(&host, &key, value, scope.as_deref())
            .await?
            .into())
    })
}

/// `State.delete(key, scope?)` → a promise of whether the key held a value.
fn delete(_: &JsValue, args: &[JsValue], ctx: &mut Context) -> JsResult<JsValue> {
    const F: &str = "State.delete";
    let key = string_arg(args.get_or_undefined(0), F, "the key")?;
    let scope = optional_string(args.get_or_undefined(1), F, "the scope")?;
    promise(ctx, |host| async move {
        Ok(StateGlobal
            .delete(&host, &key, scope.as_deref())
            .await?
            .into())
    })
}

/// `State.list(prefix?, scope?)` → a promise of the sorted keys.
fn list(_: &JsValue, args: &[JsValue], ctx: &mut Context) -> JsResult<JsValue> {
    const F: &str = "State.list";
    let prefix = optional_string(args.get_or_undefined(0), F, "the prefix")?;
    let scope = optional_string(args.get_or_undefined(1), F, "the scope")?;
    promise(ctx, |host| async move {
        Ok(StateGlobal
            .list(&host, prefix.as_deref(), scope.as_deref())
            .await?
            .into())
    })
}

/// `State.compare_and_set(key, expectedVersion, value, scope?)` → a
/// promise of `true` (written) or `false` (another version is current).
fn compare_and_set(_: &JsValue, args: &[JsValue], ctx: &mut Context) -> JsResult<JsValue> {
    const F: &str = "State.compare_and_set";
    let key = string_arg(args.get_or_undefined(0), F, "the key")?;
    let expected = number_arg(args.get_or_undefined(1), F, "the expected version")?;
    let value = value_arg(args.get_or_undefined(2), F, &key, ctx)?;
    let scope = optional_string(args.get_or_undefined(3), F, "the scope")?;
    promise(ctx, |host| async move {
        let (ok, _) = StateGlobal
            .compare_and_set(&host, &key, expected, value, scope.as_deref())
            .await?;
        Ok(ok.into())
    })
}

/// `State.version(key, scope?)` → a promise of the version (0: absent).
fn version(_: &JsValue, args: &[JsValue], ctx: &mut Context) -> JsResult<JsValue> {
    const F: &str = "State.version";
    let key = string_arg(args.get_or_undefined(0), F, "the key")?;
    let scope = optional_string(args.get_or_undefined(1), F, "the scope")?;
    promise(ctx, |host| async move {
        Ok(StateGlobal
            .version(&host, &key, scope.as_deref())
            .await?
            .into())
    })
}

/// `State.migrate(prefix, from, to, fn)`: registers the step (at once).
fn migrate(_: &JsValue, args: &[JsValue], _ctx: &mut Context) -> JsResult<JsValue> {
    const F: &str = "State.migrate";
    let prefix = string_arg(args.get_or_undefined(0), F, "the key prefix")?;
    let from = number_arg(args.get_or_undefined(1), F, "`from`")?;
    let to = number_arg(args.get_or_undefined(2), F, "`to`")?;
    let f = args.get_or_undefined(3);
    let Some(func) = f.as_function() else {
        return Err(JsNativeError::typ()
            .with_message(format!(
                "{F}: the fourth argument must be the migration function, got {}",
                type_name(f)
            ))
            .into());
    };
    with_state(|s| {
        let fn_id = s.keep_hook_fn(func);
        let callback = Arc::new(JsMigration::new(s.shared.clone(), fn_id));
        match StateGlobal.migrate(&s.host, &prefix, from, to, callback) {
            Ok(()) => Ok(JsValue::undefined()),
            Err(e) => {
                s.forget_hook_fn(fn_id);
                Err(throw(&e))
            }
        }
    })?
}

/// `State.save(scope, key, value)` (rs-llmspell's form) → a promise.
fn save(_: &JsValue, args: &[JsValue], ctx: &mut Context) -> JsResult<JsValue> {
    const F: &str = "State.save";
    let scope = string_arg(args.get_or_undefined(0), F, "the scope")?;
    let key = string_arg(args.get_or_undefined(1), F, "the key")?;
    let value = value_arg(args.get_or_undefined(2), F, &key, ctx)?;
    promise(ctx, |host| async move {
        StateGlobal.set(&host, &key, value, Some(&scope)).await?;
        Ok(Value::Null)
    })
}

/// `State.load(scope, key)` (rs-llmspell's form) → a promise of the value.
fn load(_: &JsValue, args: &[JsValue], ctx: &mut Context) -> JsResult<JsValue> {
    const F: &str = "State.load";
    let scope = string_arg(args.get_or_undefined(0), F, "the scope")?;
    let key = string_arg(args.get_or_undefined(1), F, "the key")?;
    promise(ctx, |host| async move {
        StateGlobal.get(&host, &key, Some(&scope)).await
    })
}

/// `State.list_keys(scope?)` (rs-llmspell's form) → a promise of the keys.
fn list_keys(_: &JsValue, args: &[JsValue], ctx: &mut Context) -> JsResult<JsValue> {
    let scope = optional_string(args.get_or_undefined(0), "State.list_keys", "the scope")?;
    promise(ctx, |host| async move {
        Ok(StateGlobal
            .list(&host, None, scope.as_deref())
            .await?
            .into())
    })
}

/// `Session.id()` / `Session.getCurrent()` → the id or `null`.
fn session_id(_: &JsValue, _: &[JsValue], _ctx: &mut Context) -> JsResult<JsValue> {
    with_state(|s| match SessionGlobal.id(&s.host) {
        Some(id) => JsValue::from(boa_engine::JsString::from(id)),
        None => JsValue::null(),
    })
}

/// `Session.checkpoint(name?)` → a promise of the checkpoint's summary.
fn checkpoint(_: &JsValue, args: &[JsValue], ctx: &mut Context) -> JsResult<JsValue> {
    let name = optional_string(args.get_or_undefined(0), "Session.checkpoint", "the name")?;
    promise(ctx, |host| async move {
        SessionGlobal.checkpoint(&host, name.as_deref()).await
    })
}

/// `Session.info()` → a promise of this session's record or `null`.
fn info(_: &JsValue, _: &[JsValue], ctx: &mut Context) -> JsResult<JsValue> {
    promise(ctx, |host| async move { SessionGlobal.info(&host).await })
}

/// `Session.get(id)` → a promise of the record or `null`.
fn session_get(_: &JsValue, args: &[JsValue], ctx: &mut Context) -> JsResult<JsValue> {
    let id = string_arg(args.get_or_undefined(0), "Session.get", "the session id")?;
    promise(
        ctx,
        |host| async move { SessionGlobal.get(&host, &id).await },
    )
}

/// `Session.list()` → a promise of every record, oldest first.
fn session_list(_: &JsValue, _: &[JsValue], ctx: &mut Context) -> JsResult<JsValue> {
    promise(ctx, |host| async move { SessionGlobal.list(&host).await })
}

pub(super) fn inject_state(context: &mut Context) -> Result<()> {
    define(
        context,
        "State",
        &[
            ("get", get, 2),
            ("set", set, 3),
            ("delete", delete, 2),
            ("list", list, 2),
            ("compare_and_set", compare_and_set, 4),
            ("version", version, 2),
            ("migrate", migrate, 4),
            ("save", save, 3),
            ("load", load, 2),
            ("list_keys", list_keys, 1),
        ],
    )?;
    Ok(())
}

pub(super) fn inject_session(context: &mut Context) -> Result<()> {
    define(
        context,
        "Session",
        &[
            ("id", session_id, 0),
            ("getCurrent", session_id, 0),
            ("checkpoint", checkpoint, 1),
            ("info", info, 0),
            ("get", session_get, 1),
            ("list", session_list, 0),
        ],
    )?;
    Ok(())
}
