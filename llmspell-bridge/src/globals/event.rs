//! The `Event` global: publish on and subscribe to the shared event bus.

use std::time::Duration;

use llmspell_events::{OverflowStrategy, SubscriptionConfig, SubscriptionId};
use mlua::{Lua, Table, Value};

use super::{GlobalMetadata, GlobalObject};
use crate::context::GlobalContext;
use crate::error::{BridgeError, Result};
use crate::event_bridge::PublishOptions;
use crate::lua::convert::{json_to_lua, lua_to_json};
use crate::lua::engine_of;
use crate::lua::event_to_json;

/// `Event.publish(type, data, opts?)` (alias `Event.emit`),
/// `Event.subscribe(pattern, opts_or_callback?)`,
/// `Event.receive(id, timeout_ms?)`, `Event.unsubscribe(id)`,
/// `Event.list_subscriptions()`, `Event.get_stats()`.
///
/// - `publish` options: `language`, `correlation_id` (a UUID string),
///   `ttl_seconds`, `tags` (array of strings), `priority` (integer),
///   `source`, `target`. Returns `{id, sequence, matched, queued, dropped}`.
/// - `subscribe(pattern)` returns a subscription id string (`"sub-7"`);
///   `subscribe(pattern, fn)` or `subscribe(pattern, {callback = fn})`
///   makes a callback subscription: `fn(event)` runs on the script's
///   thread, in order, while the script waits in a bridge call
///   (`Event.receive`, `Tool.invoke`) and when the script ends. Options:
///   `capacity`, `overflow` (`"drop_oldest"`, `"drop_newest"`, `"reject"`,
///   `"block"` with `block_timeout_ms`).
/// - `receive(id, timeout_ms)` returns the next event table or `nil` after
///   the timeout (no timeout: only what is queued now).
/// - `unsubscribe(id)` frees the bus subscription; true once, then false.
#[derive(Debug, Clone, Copy, Default)]
pub struct EventGlobal;

fn invalid(function: &str, message: impl Into<String>) -> mlua::Error {
    BridgeError::invalid(function, message).into()
}

fn parse_id(function: &str, v: &Value) -> mlua::Result<SubscriptionId> {
    match v {
        Value::String(s) => s
            .to_str()
            .ok()
            .and_then(|s| s.parse::<SubscriptionId>().ok())
            .ok_or_else(|| {
                invalid(
                    function,
                    format!(
                        "`{}` is not a subscription id; pass the id returned by Event.subscribe (e.g. \"sub-3\")",
                        s.to_string_lossy()
                    ),
                )
            }),
        Value::Integer(i) => u64::try_from(*i)
            .map(SubscriptionId::from_u64)
            .map_err(|_| invalid(function, "a subscription id cannot be negative")),
        other => Err(invalid(
            function,
            format!(
                "expected a subscription id string, got a {}",
                other.type_name()
            ),
        )),
    }
}

fn subscription_config(opts: &Table) -> mlua::Result<Option<SubscriptionConfig>> {
    let capacity: Option<usize> = opts.get("capacity")?;
    let overflow: Option<String> = opts.get("overflow")?;
    if capacity.is_none() && overflow.is_none() {
        return Ok(None);
    }
    let mut config = SubscriptionConfig::new();
    if let Some(c) = capacity {
        config = config.capacity(c);
    }
    if let Some(o) = overflow {
        let strategy = match o.as_str() {
            "drop_oldest" => OverflowStrategy::DropOldest,
            "drop_newest" => OverflowStrategy::DropNewest,
            "reject" => OverflowStrategy::Reject,
            "block" => OverflowStrategy::Block {
                timeout: Duration::from_millis(
                    opts.get::<Option<u64>>("block_timeout_ms")?.unwrap_or(1000),
                ),
            },
            other => {
                return Err(invalid(
                    "Event.subscribe",
                    format!(
                    "unknown overflow `{other}`; valid: drop_oldest, drop_newest, reject, block"
                ),
                ))
            }
        };
        config = config.overflow(strategy);
    }
    Ok(Some(config))
}

fn publish_options(opts: Option<Table>) -> mlua::Result<PublishOptions> {
    let mut o = PublishOptions::default();
    let Some(t) = opts else { return Ok(o) };
    if let Some(l) = t.get::<Option<String>>("language")? {
        o.language = Some(
            l.parse()
                .map_err(|e: llmspell_events::ParseLanguageError| {
                    invalid("Event.publish", e.to_string())
                })?,
        );
    }
    if let Some(c) = t.get::<Option<String>>("correlation_id")? {
        o.correlation_id = Some(c.parse().map_err(|_| {
            invalid(
                "Event.publish",
                format!("correlation_id `{c}` is not a UUID (like 67e55044-10b1-426f-9247-bb680e5fe0c8)"),
            )
        })?);
    }
    if let Some(ttl) = t.get::<Option<f64>>("ttl_seconds")? {
        if !(ttl.is_finite() && ttl >= 0.0) {
            return Err(invalid(
                "Event.publish",
                "ttl_seconds must be a non-negative number",
            ));
        }
        o.ttl = Some(Duration::from_secs_f64(ttl));
    }
    if let Some(tags) = t.get::<Option<Vec<String>>>("tags")? {
        o.tags = tags;
    }
    o.priority = t.get("priority")?;
    o.source = t.get("source")?;
    o.target = t.get("target")?;
    Ok(o)
}

impl GlobalObject for EventGlobal {
    fn metadata(&self) -> GlobalMetadata {
        GlobalMetadata {
            name: "Event",
            description: "publish events on the shared bus and subscribe to them by pattern",
            functions: &[
                "publish",
                "emit",
                "subscribe",
                "receive",
                "unsubscribe",
                "list_subscriptions",
                "get_stats",
            ],
        }
    }

    fn inject_lua(&self, lua: &Lua, _context: &GlobalContext) -> Result<()> {
        let event = lua.create_table()?;

        let publish = lua.create_async_function(
            |lua, (event_type, data, opts): (String, Value, Option<Table>)| async move {
                let engine = engine_of(&lua)?;
                let data = lua_to_json(&lua, &data)?;
                let options = publish_options(opts)?;
                let report = engine.events().publish(&event_type, data, options).await?;
                let out = lua.create_table()?;
                out.set("sequence", report.sequence)?;
                out.set("matched", report.matched)?;
                out.set("queued", report.queued)?;
                out.set("dropped", report.dropped)?;
                Ok(out)
            },
        )?;
        event.set("publish", publish.clone())?;
        event.set("emit", publish)?;

        event.set(
            "subscribe",
            lua.create_function(|lua, (pattern, opts): (String, Value)| {
                let engine = engine_of(lua)?;
                let (callback, config) = match opts {
                    Value::Nil => (None, None),
                    Value::Function(f) => (Some(f), None),
                    Value::Table(t) => (t.get::<Option<mlua::Function>>("callback")?, subscription_config(&t)?),
                    other => {
                        return Err(invalid(
                            "Event.subscribe",
                            format!("the second argument must be nil, a callback function or an options table, got a {}", other.type_name()),
                        ))
                    }
                };
                let id = match callback {
                    Some(f) => {
                        let id = engine.events().subscribe_callback(&pattern, config)?;
                        engine.set_callback(id, f);
                        id
                    }
                    None => engine.events().subscribe(&pattern, config)?,
                };
                Ok(id.to_string())
            })?,
        )?;

        event.set(
            "receive",
            lua.create_async_function(|lua, (id, timeout_ms): (Value, Option<f64>)| async move {
                let engine = engine_of(&lua)?;
                let id = parse_id("Event.receive", &id)?;
                let timeout = match timeout_ms {
                    None => Duration::ZERO,
                    Some(ms) if ms.is_finite() && ms >= 0.0 => Duration::from_secs_f64(ms / 1000.0),
                    Some(_) => {
                        return Err(invalid(
                            "Event.receive",
                            "timeout_ms must be a non-negative number",
                        ))
                    }
                };
                let received = engine
                    .wait_pumping(engine.events().receive(id, timeout))
                    .await?;
                match received {
                    Some(ev) => Ok(json_to_lua(&lua, &event_to_json(&ev)?)?),
                    None => Ok(Value::Nil),
                }
            })?,
        )?;

        event.set(
            "unsubscribe",
            lua.create_function(|lua, id: Value| {
                let engine = engine_of(lua)?;
                let id = parse_id("Event.unsubscribe", &id)?;
                Ok(engine.unsubscribe(id))
            })?,
        )?;

        event.set(
            "list_subscriptions",
            lua.create_function(|lua, ()| {
                let engine = engine_of(lua)?;
                let list = lua.create_table()?;
                for (i, info) in engine.events().subscriptions().iter().enumerate() {
                    let t = lua.create_table()?;
                    t.set("id", info.id.to_string())?;
                    t.set("pattern", info.pattern.as_str())?;
                    t.set("callback", engine.events().is_callback(info.id))?;
                    t.set("queued", info.depth)?;
                    t.set("capacity", info.capacity)?;
                    t.set("delivered", info.delivered)?;
                    t.set("dropped", info.dropped.total())?;
                    list.raw_set(i + 1, t)?;
                }
                Ok(list)
            })?,
        )?;

        event.set(
            "get_stats",
            lua.create_function(|lua, ()| {
                let engine = engine_of(lua)?;
                let stats = engine.events().stats();
                let t = lua.create_table()?;
                t.set("published", stats.published)?;
                t.set("delivered", stats.delivered)?;
                t.set("dropped", stats.dropped.total())?;
                t.set("expired", stats.expired_before_routing)?;
                t.set("active_subscriptions", stats.active_subscriptions)?;
                t.set("handler_errors", stats.handler_errors)?;
                t.set("own_subscriptions", engine.events().subscriptions().len())?;
                t.set("callback_errors", engine.callback_errors())?;
                Ok(t)
            })?,
        )?;

        lua.globals().set("Event", event)?;
        Ok(())
    }
}
