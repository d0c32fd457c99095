//! `Event` in JavaScript.

use std::sync::Arc;

use boa_engine::property::PropertyKey;
use boa_engine::{js_string, Context, JsArgs, JsNativeError, JsObject, JsResult, JsValue};
use serde_json::Value;

use super::{define, json_arg, string_arg, throw, type_name};
use crate::error::Result;
use crate::globals::EventGlobal;
use crate::javascript::convert::json_to_js;
use crate::javascript::runtime::{js_error, with_state};

/// `Event.publish(type, data, opts?)` / `Event.emit` → a promise of
/// `{sequence, matched, queued, dropped}`.
fn publish(_: &JsValue, args: &[JsValue], ctx: &mut Context) -> JsResult<JsValue> {
    let event_type = string_arg(args.get_or_undefined(0), "Event.publish", "the event type")?;
    let data = json_arg(args.get_or_undefined(1), ctx)?;
    let opts = json_arg(args.get_or_undefined(2), ctx)?;
    with_state(|s| {
        let host = Arc::clone(&s.host);
        s.publish_op(ctx, async move {
            EventGlobal.publish(&host, &event_type, data, &opts).await
        })
    })
}

/// An options object as JSON without its `callback`.
fn options_without_callback(opts: &JsObject, ctx: &mut Context) -> JsResult<Value> {
    let copy = JsObject::with_object_proto(ctx.intrinsics());
    copy.copy_data_properties(
        &opts.clone().into(),
        vec![PropertyKey::from(js_string!("callback"))],
        ctx,
    )?;
    json_arg(&copy.into(), ctx)
}

/// `Event.subscribe(pattern, opts | callback?)` → the subscription id.
fn subscribe(_: &JsValue, args: &[JsValue], ctx: &mut Context) -> JsResult<JsValue> {
    const F: &str = "Event.subscribe";
    let pattern = string_arg(args.get_or_undefined(0), F, "the pattern")?;
    let second = args.get_or_undefined(1);
    let (callback, opts) = if let Some(f) = second.as_function() {
        (Some(f), Value::Null)
    } else if second.is_null_or_undefined() {
        (None, Value::Null)
    } else if let Some(o) = second.as_object().filter(|o| !o.is_array()) {
        let cb = o.get(js_string!("callback"), ctx)?;
        let callback = if cb.is_null_or_undefined() {
            None
        } else {
            Some(cb.as_function().ok_or_else(|| {
                JsNativeError::typ().with_message(format!(
                    "{F}: `callback` must be a function, got {}",
                    type_name(&cb)
                ))
            })?)
        };
        (callback, options_without_callback(&o, ctx)?)
    } else {
        return Err(JsNativeError::typ()
            .with_message(format!(
                "{F}: the second argument must be undefined, a callback function or an options object, got {}",
                type_name(second)
            ))
            .into());
    };
    with_state(|s| {
        let id = EventGlobal
            .subscribe(&s.host, &pattern, callback.is_some(), &opts)
            .map_err(|e| throw(&e))?;
        if let Some(f) = callback {
            s.set_callback(id, f);
        }
        Ok(JsValue::from(js_string!(id.to_string())))
    })?
}

/// `Event.receive(id, timeoutMs?)` → a promise of the event or `null`.
fn receive(_: &JsValue, args: &[JsValue], ctx: &mut Context) -> JsResult<JsValue> {
    let id = json_arg(args.get_or_undefined(0), ctx)?;
    let timeout = json_arg(args.get_or_undefined(1), ctx)?;
    with_state(|s| {
        let host = Arc::clone(&s.host);
        s.promise_op(ctx, async move {
            Ok(EventGlobal
                .receive(&host, &id, &timeout)
                .await?
                .unwrap_or(Value::Null))
        })
    })
}

/// `Event.unsubscribe(id)` → true once, then false.
fn unsubscribe(_: &JsValue, args: &[JsValue], ctx: &mut Context) -> JsResult<JsValue> {
    let id = json_arg(args.get_or_undefined(0), ctx)?;
    with_state(|s| {
        let id = EventGlobal
            .parse_id("Event.unsubscribe", &id)
            .map_err(|e| throw(&e))?;
        s.forget_callback(id);
        Ok(JsValue::from(EventGlobal.unsubscribe(&s.host, id)))
    })?
}

fn list_subscriptions(_: &JsValue, _: &[JsValue], ctx: &mut Context) -> JsResult<JsValue> {
    let out = with_state(|s| EventGlobal.list_subscriptions(&s.host))?;
    json_to_js(&out, ctx).map_err(|e| js_error(&e))
}

fn get_stats(_: &JsValue, _: &[JsValue], ctx: &mut Context) -> JsResult<JsValue> {
    let out = with_state(|s| {
        EventGlobal.stats(
            &s.host,
            s.callback_errors.load(std::sync::atomic::Ordering::Relaxed),
        )
    })?;
    json_to_js(&out, ctx).map_err(|e| js_error(&e))
}

pub(super) fn inject(context: &mut Context) -> Result<()> {
    define(
        context,
        "Event",
        &[
            ("publish", publish, 3),
            ("emit", publish, 3),
            ("subscribe", subscribe, 2),
            ("receive", receive, 2),
            ("unsubscribe", unsubscribe, 1),
            ("list_subscriptions", list_subscriptions, 0),
            ("get_stats", get_stats, 0),
        ],
    )?;
    Ok(())
}
