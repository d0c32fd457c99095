//! The `Event` global: publish on and subscribe to the shared event bus.

use std::time::Duration;

use llmspell_events::{OverflowStrategy, SubscriptionConfig, SubscriptionId};
use serde_json::{json, Map, Value};

use super::args::{describe, opt_str, string_list};
use super::{GlobalBinding, GlobalMetadata, GlobalObject};
use crate::error::{BridgeError, Result};
use crate::event_bridge::PublishOptions;
use crate::host::ScriptHost;

/// `Event.publish(type, data, opts?)` (alias `Event.emit`),
/// `Event.subscribe(pattern, opts_or_callback?)`,
/// `Event.receive(id, timeout_ms?)`, `Event.unsubscribe(id)`,
/// `Event.list_subscriptions()`, `Event.get_stats()`.
///
/// - `publish` options: `language`, `correlation_id` (a UUID string),
///   `ttl_seconds`, `tags` (array of strings), `priority` (integer),
///   `source`, `target`. Returns `{sequence, matched, queued, dropped}`.
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

fn invalid(function: &str, message: impl Into<String>) -> BridgeError {
    BridgeError::invalid(function, message)
}

/// The options object (`null` for none), or an error naming `function`.
fn options<'a>(function: &str, opts: &'a Value) -> Result<Option<&'a Map<String, Value>>> {
    match opts {
        Value::Null => Ok(None),
        Value::Object(o) => Ok(Some(o)),
        other => Err(invalid(
            function,
            format!(
                "the options must be nil or a table, got {}",
                describe(other)
            ),
        )),
    }
}

fn opt_number(function: &str, o: &Map<String, Value>, key: &str) -> Result<Option<f64>> {
    match o.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => Ok(n.as_f64()),
        Some(other) => Err(invalid(
            function,
            format!("`{key}` must be a number, got {}", describe(other)),
        )),
    }
}

fn opt_integer<T: TryFrom<i64>>(
    function: &str,
    o: &Map<String, Value>,
    key: &str,
    what: &str,
) -> Result<Option<T>> {
    let bad = || invalid(function, format!("`{key}` must be {what}"));
    match opt_number(function, o, key)? {
        None => Ok(None),
        Some(f) if f.is_finite() && f.fract() == 0.0 =>
        {
            #[allow(clippy::cast_possible_truncation)]
            T::try_from(f as i64).map(Some).map_err(|_| bad())
        }
        Some(_) => Err(bad()),
    }
}

fn subscription_config(o: &Map<String, Value>) -> Result<Option<SubscriptionConfig>> {
    const F: &str = "Event.subscribe";
    let capacity: Option<usize> = opt_integer(F, o, "capacity", "a positive integer")?;
    let overflow = opt_str(F, o, "overflow")?;
    if capacity.is_none() && overflow.is_none() {
        return Ok(None);
    }
    let mut config = SubscriptionConfig::new();
    if let Some(c) = capacity {
        config = config.capacity(c);
    }
    if let Some(o_name) = overflow {
        let strategy = match o_name {
            "drop_oldest" => OverflowStrategy::DropOldest,
            "drop_newest" => OverflowStrategy::DropNewest,
            "reject" => OverflowStrategy::Reject,
            "block" => OverflowStrategy::Block {
                timeout: Duration::from_millis(
                    opt_integer(F, o, "block_timeout_ms", "a non-negative integer")?
                        .unwrap_or(1000u64),
                ),
            },
            other => {
                return Err(invalid(
                    F,
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

fn publish_options(opts: &Value) -> Result<PublishOptions> {
    const F: &str = "Event.publish";
    let mut o = PublishOptions::default();
    let Some(t) = options(F, opts)? else {
        return Ok(o);
    };
    if let Some(l) = opt_str(F, t, "language")? {
        o.language = Some(
            l.parse()
                .map_err(|e: llmspell_events::ParseLanguageError| invalid(F, e.to_string()))?,
        );
    }
    if let Some(c) = opt_str(F, t, "correlation_id")? {
        o.correlation_id = Some(c.parse().map_err(|_| {
            invalid(
                F,
                format!("correlation_id `{c}` is not a UUID (like 67e55044-10b1-426f-9247-bb680e5fe0c8)"),
            )
        })?);
    }
    if let Some(ttl) = opt_number(F, t, "ttl_seconds")? {
        if !(ttl.is_finite() && ttl >= 0.0) {
            return Err(invalid(F, "ttl_seconds must be a non-negative number"));
        }
        o.ttl = Some(Duration::from_secs_f64(ttl));
    }
    o.tags = string_list(F, t, "tags")?;
    o.priority = opt_integer(F, t, "priority", "an integer")?;
    o.source = opt_str(F, t, "source")?.map(str::to_owned);
    o.target = opt_str(F, t, "target")?.map(str::to_owned);
    Ok(o)
}

impl EventGlobal {
    /// `Event.publish(event_type, data, options)`: the publish report
    /// `{sequence, matched, queued, dropped}`.
    ///
    /// # Errors
    /// Bad options, a refused publish (see
    /// [`EventBridge::publish`](crate::EventBridge::publish)).
    pub(crate) async fn publish(
        &self,
        host: &ScriptHost,
        event_type: &str,
        data: Value,
        opts: &Value,
    ) -> Result<Value> {
        let options = publish_options(opts)?;
        let report = host.events().publish(event_type, data, options).await?;
        Ok(json!({
            "sequence": report.sequence,
            "matched": report.matched,
            "queued": report.queued,
            "dropped": report.dropped,
        }))
    }

    /// `Event.subscribe(pattern, options)`: a receiver subscription, or a
    /// callback subscription when the binding got a callback (it keeps the
    /// callback under the returned id and runs it for each event of
    /// [`EventBridge::callback_queue`](crate::EventBridge::callback_queue)).
    /// `options` is the options table without its `callback` (or `null`).
    ///
    /// # Errors
    /// Bad options, an invalid pattern, a closed bus.
    pub(crate) fn subscribe(
        &self,
        host: &ScriptHost,
        pattern: &str,
        callback: bool,
        opts: &Value,
    ) -> Result<SubscriptionId> {
        let config = match options("Event.subscribe", opts)? {
            Some(o) => subscription_config(o)?,
            None => None,
        };
        if callback {
            host.events().subscribe_callback(pattern, config)
        } else {
            host.events().subscribe(pattern, config)
        }
    }

    /// A subscription id given by a script (`"sub-3"`, or its number).
    ///
    /// # Errors
    /// [`BridgeError::InvalidArgument`] naming `function`.
    pub(crate) fn parse_id(&self, function: &str, v: &Value) -> Result<SubscriptionId> {
        match v {
            Value::String(s) => s.parse::<SubscriptionId>().map_err(|_| {
                invalid(
                    function,
                    format!(
                        "`{s}` is not a subscription id; pass the id returned by Event.subscribe (e.g. \"sub-3\")"
                    ),
                )
            }),
            Value::Number(n) => n
                .as_u64()
                .map(SubscriptionId::from_u64)
                .ok_or_else(|| invalid(function, "a subscription id is a non-negative integer")),
            other => Err(invalid(
                function,
                format!("expected a subscription id string, got {}", describe(other)),
            )),
        }
    }

    /// `Event.receive(id, timeout_ms)`: the next event of a receiver
    /// subscription as its script object, or `None` after the timeout
    /// (`null`: only what is queued now). A binding awaits it while running
    /// the engine's event callbacks.
    ///
    /// # Errors
    /// A bad id or timeout, or an id that is not this engine's.
    pub(crate) async fn receive(
        &self,
        host: &ScriptHost,
        id: &Value,
        timeout_ms: &Value,
    ) -> Result<Option<Value>> {
        const F: &str = "Event.receive";
        let id = self.parse_id(F, id)?;
        let timeout = match timeout_ms {
            Value::Null => Duration::ZERO,
            Value::Number(n) => match n.as_f64() {
                Some(ms) if ms.is_finite() && ms >= 0.0 => Duration::from_secs_f64(ms / 1000.0),
                _ => return Err(invalid(F, "timeout_ms must be a non-negative number")),
            },
            other => {
                return Err(invalid(
                    F,
                    format!(
                        "timeout_ms must be a non-negative number, got {}",
                        describe(other)
                    ),
                ))
            }
        };
        match host.events().receive(id, timeout).await? {
            Some(ev) => Ok(Some(event_to_json(&ev)?)),
            None => Ok(None),
        }
    }

    /// `Event.unsubscribe(id)`: whether the subscription was this engine's
    /// (the binding also drops its callback).
    pub(crate) fn unsubscribe(&self, host: &ScriptHost, id: SubscriptionId) -> bool {
        host.events().unsubscribe(id)
    }

    /// `Event.list_subscriptions()`: `{id, pattern, callback, queued,
    /// capacity, delivered, dropped}` per subscription of this engine.
    pub(crate) fn list_subscriptions(&self, host: &ScriptHost) -> Value {
        let events = host.events();
        Value::Array(
            events
                .subscriptions()
                .iter()
                .map(|info| {
                    json!({
                        "id": info.id.to_string(),
                        "pattern": info.pattern.as_str(),
                        "callback": events.is_callback(info.id),
                        "queued": info.depth,
                        "capacity": info.capacity,
                        "delivered": info.delivered,
                        "dropped": info.dropped.total(),
                    })
                })
                .collect(),
        )
    }

    /// `Event.get_stats()`: the bus counters plus this engine's
    /// subscription count and its failed callbacks (`callback_errors`, kept
    /// by the binding).
    pub(crate) fn stats(&self, host: &ScriptHost, callback_errors: u64) -> Value {
        let stats = host.events().stats();
        json!({
            "published": stats.published,
            "delivered": stats.delivered,
            "dropped": stats.dropped.total(),
            "expired": stats.expired_before_routing,
            "active_subscriptions": stats.active_subscriptions,
            "handler_errors": stats.handler_errors,
            "own_subscriptions": host.events().subscriptions().len(),
            "callback_errors": callback_errors,
        })
    }
}

/// The object a script sees for an event: the event's own JSON form plus
/// `type` (an alias of `event_type`).
///
/// # Errors
/// [`BridgeError::Conversion`] when the event does not serialise.
pub(crate) fn event_to_json(event: &llmspell_events::UniversalEvent) -> Result<Value> {
    let mut v = serde_json::to_value(event).map_err(|e| BridgeError::Conversion {
        direction: "event to JSON",
        path: "$".to_owned(),
        reason: e.to_string(),
    })?;
    if let Value::Object(map) = &mut v {
        map.insert("type".to_owned(), Value::String(event.event_type.clone()));
    }
    Ok(v)
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

    fn inject(&self, binding: &mut dyn GlobalBinding) -> Result<()> {
        binding.event(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn publish_options_parse_and_refuse() {
        let o = publish_options(&json!({
            "language": "javascript", "ttl_seconds": 1.5, "tags": ["a"], "priority": 3,
            "source": "s", "target": "t",
            "correlation_id": "67e55044-10b1-426f-9247-bb680e5fe0c8"
        }))
        .unwrap();
        assert_eq!(o.language, Some(llmspell_events::Language::JavaScript));
        assert_eq!(o.ttl, Some(Duration::from_millis(1500)));
        assert_eq!(o.tags, vec!["a".to_owned()]);
        assert_eq!(o.priority, Some(3));
        assert!(o.correlation_id.is_some());
        let check = |v: Value, needle: &str| {
            let err = publish_options(&v).unwrap_err().to_string();
            assert!(err.contains(needle), "{v}: {err}");
            assert!(err.starts_with("Event.publish"), "{err}");
        };
        check(json!({"correlation_id": "x"}), "not a UUID");
        check(json!({"ttl_seconds": -1}), "non-negative");
        check(json!({"tags": [1]}), "`tags` must hold strings");
        check(json!({"priority": 1.5}), "`priority` must be an integer");
        check(json!({"source": 1}), "`source` must be a string");
        check(json!(3), "options must be nil or a table");
    }

    #[test]
    fn subscription_options_parse_and_refuse() {
        let o = json!({"capacity": 4, "overflow": "block", "block_timeout_ms": 5});
        assert!(subscription_config(o.as_object().unwrap())
            .unwrap()
            .is_some());
        assert!(subscription_config(&Map::new()).unwrap().is_none());
        let o = json!({"overflow": "explode"});
        let err = subscription_config(o.as_object().unwrap()).unwrap_err();
        assert!(err.to_string().contains("valid: drop_oldest"), "{err}");
        let o = json!({"capacity": -1});
        let err = subscription_config(o.as_object().unwrap()).unwrap_err();
        assert!(err.to_string().contains("positive integer"), "{err}");
    }

    #[test]
    fn ids_parse() {
        let g = EventGlobal;
        assert_eq!(
            g.parse_id("f", &json!("sub-3")).unwrap(),
            SubscriptionId::from_u64(3)
        );
        assert_eq!(
            g.parse_id("f", &json!(4)).unwrap(),
            SubscriptionId::from_u64(4)
        );
        assert!(g.parse_id("f", &json!("x")).is_err());
        assert!(g.parse_id("f", &json!(-1)).is_err());
        assert!(g.parse_id("f", &json!(true)).is_err());
    }
}
