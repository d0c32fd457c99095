//! [`UniversalEvent`] ⇄ CloudEvents 1.0, JSON structured mode.
//!
//! The CloudEvents context attributes carry what they mean in the spec;
//! every other field of a `UniversalEvent` travels as an extension
//! attribute (names are lowercase letters and digits, as the spec asks):
//!
//! | UniversalEvent | CloudEvent |
//! |---|---|
//! | `id` | `id` (the UUID, hyphenated) |
//! | `event_type` | `type` |
//! | `metadata.source` | `source` (`urn:llmspell` when absent or empty, with extension `llmspellsource` = `absent` / `empty`) |
//! | `timestamp` | `time` (RFC 3339, nanoseconds) |
//! | `data` | `data`, `datacontenttype` = `application/json` (no `data` member for a null payload) |
//! | `language` | `language` |
//! | `sequence` | `sequence` (a decimal string: CloudEvents integers are 32-bit) |
//! | `schema_version` | `schemaversion` (decimal string) |
//! | `metadata.correlation_id` | `correlationid` |
//! | `metadata.target` | `target` |
//! | `metadata.tags` | `tags` (a JSON array in a string; absent when empty) |
//! | `metadata.priority` | `priority` (an integer; absent when 0) |
//! | `metadata.ttl` | `ttlms` (whole milliseconds, decimal string) |
//! | `metadata.origin` | `llmspellorigin` |
//!
//! Events from other producers are accepted: a non-UUID `id` becomes a
//! UUID v5 of `source` and `id` (stable, so de-duplication still works),
//! missing extensions take their defaults (language `unknown`, sequence 0,
//! schema version 1), `data_base64` arrives as the string under
//! `{"data_base64": ...}`, and other extensions are ignored.

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Serialize, Serializer};
use serde_json::Value;
use uuid::Uuid;

use crate::{EventError, EventMetadata, Language, Result, UniversalEvent};

/// The CloudEvents version written and read.
pub const SPEC_VERSION: &str = "1.0";
/// The `source` of an event whose `metadata.source` is absent or empty.
pub const DEFAULT_SOURCE: &str = "urn:llmspell";
/// The content type of `data`.
pub const JSON_CONTENT_TYPE: &str = "application/json";

/// The structured-mode JSON CloudEvent for `event`.
///
/// ```
/// use llmspell_events::{cloudevent, UniversalEvent};
/// use serde_json::json;
///
/// let event = UniversalEvent::builder("tool.execution.started")
///     .data(json!({"tool": "calculator"}))
///     .source("agent:planner")
///     .build();
/// let ce = cloudevent::to_cloudevent(&event);
/// assert_eq!(ce["specversion"], "1.0");
/// assert_eq!(ce["type"], "tool.execution.started");
/// assert_eq!(ce["source"], "agent:planner");
/// assert_eq!(cloudevent::from_cloudevent(&ce).unwrap(), event);
/// ```
#[must_use]
pub fn to_cloudevent(event: &UniversalEvent) -> Value {
    // The wire struct always serializes (string keys only).
    serde_json::to_value(Wire::new(event, event.metadata.origin.as_deref())).unwrap_or_default()
}

/// The CloudEvent for `event`, as JSON bytes.
#[must_use]
pub fn encode(event: &UniversalEvent) -> Vec<u8> {
    encode_with_origin(event, event.metadata.origin.as_deref().unwrap_or_default())
}

/// [`encode`] with `origin` as the `llmspellorigin` attribute (none when
/// empty).
#[must_use]
pub fn encode_with_origin(event: &UniversalEvent, origin: &str) -> Vec<u8> {
    let origin = (!origin.is_empty()).then_some(origin);
    serde_json::to_vec(&Wire::new(event, origin)).unwrap_or_default()
}

/// The structured-mode form, serialized straight from the event (no
/// intermediate JSON tree).
#[derive(Serialize)]
struct Wire<'a> {
    specversion: &'static str,
    id: Uuid,
    source: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    llmspellsource: Option<&'static str>,
    #[serde(rename = "type")]
    event_type: &'a str,
    #[serde(serialize_with = "rfc3339")]
    time: DateTime<Utc>,
    datacontenttype: &'static str,
    #[serde(skip_serializing_if = "Value::is_null")]
    data: &'a Value,
    language: &'static str,
    #[serde(serialize_with = "as_text")]
    sequence: u64,
    #[serde(serialize_with = "as_text")]
    schemaversion: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    correlationid: Option<Uuid>,
    #[serde(skip_serializing_if = "Option::is_none")]
    target: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    tags: Option<String>,
    #[serde(skip_serializing_if = "is_zero")]
    priority: i32,
    #[serde(skip_serializing_if = "Option::is_none", serialize_with = "opt_text")]
    ttlms: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    llmspellorigin: Option<&'a str>,
}

#[allow(clippy::trivially_copy_pass_by_ref)]
fn is_zero(n: &i32) -> bool {
    *n == 0
}

fn rfc3339<S: Serializer>(t: &DateTime<Utc>, s: S) -> std::result::Result<S::Ok, S::Error> {
    s.collect_str(&t.format("%Y-%m-%dT%H:%M:%S%.fZ"))
}

fn as_text<S: Serializer, T: std::fmt::Display>(
    n: &T,
    s: S,
) -> std::result::Result<S::Ok, S::Error> {
    s.collect_str(n)
}

#[allow(clippy::ref_option)]
fn opt_text<S: Serializer>(n: &Option<u64>, s: S) -> std::result::Result<S::Ok, S::Error> {
    match n {
        Some(n) => s.collect_str(n),
        None => s.serialize_none(),
    }
}

impl<'a> Wire<'a> {
    fn new(event: &'a UniversalEvent, origin: Option<&'a str>) -> Self {
        let m = &event.metadata;
        let (source, llmspellsource) = match m.source.as_deref() {
            Some(s) if !s.is_empty() => (s, None),
            Some(_) => (DEFAULT_SOURCE, Some("empty")),
            None => (DEFAULT_SOURCE, Some("absent")),
        };
        Wire {
            specversion: SPEC_VERSION,
            id: event.id,
            source,
            llmspellsource,
            event_type: &event.event_type,
            time: event.timestamp,
            datacontenttype: JSON_CONTENT_TYPE,
            data: &event.data,
            language: event.language.as_str(),
            sequence: event.sequence,
            schemaversion: event.schema_version,
            correlationid: m.correlation_id,
            target: m.target.as_deref(),
            // Extension values are scalars: the list travels as JSON text.
            tags: (!m.tags.is_empty()).then(|| serde_json::to_string(&m.tags).unwrap_or_default()),
            priority: m.priority,
            ttlms: m
                .ttl
                .map(|t| u64::try_from(t.as_millis()).unwrap_or(u64::MAX)),
            llmspellorigin: origin,
        }
    }
}

/// The event a structured-mode JSON CloudEvent carries.
///
/// # Errors
/// [`EventError::CloudEvent`] when it is not a CloudEvents 1.0 object
/// with a string `id`, `source` and `type`, or an attribute has the wrong
/// form.
pub fn from_cloudevent(ce: &Value) -> Result<UniversalEvent> {
    let obj = ce
        .as_object()
        .ok_or_else(|| bad("the message is not a JSON object"))?;
    let text = |name: &str| -> Result<Option<&str>> {
        match obj.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s)),
            Some(other) => Err(bad(format!("`{name}` must be a string, got {other}"))),
        }
    };
    let required = |name: &str| -> Result<&str> {
        text(name)?.ok_or_else(|| bad(format!("the required attribute `{name}` is missing")))
    };
    let version = required("specversion")?;
    if version != SPEC_VERSION {
        return Err(bad(format!(
            "specversion `{version}` is not supported; expected `{SPEC_VERSION}`"
        )));
    }
    let raw_id = required("id")?;
    let source = required("source")?;
    let event_type = required("type")?.to_owned();
    let id = Uuid::parse_str(raw_id).unwrap_or_else(|_| {
        Uuid::new_v5(
            &Uuid::NAMESPACE_URL,
            format!("{source}\u{0}{raw_id}").as_bytes(),
        )
    });
    let timestamp = match text("time")? {
        None => Utc::now(),
        Some(t) => DateTime::parse_from_rfc3339(t)
            .map_err(|e| bad(format!("`time` `{t}` is not an RFC 3339 time: {e}")))?
            .with_timezone(&Utc),
    };
    let data = match (obj.get("data"), text("data_base64")?) {
        (Some(d), _) => d.clone(),
        (None, Some(b64)) => serde_json::json!({ "data_base64": b64 }),
        (None, None) => Value::Null,
    };
    let language = match text("language")? {
        None => Language::Unknown,
        Some(l) => l
            .parse()
            .map_err(|_| bad(format!("`language` `{l}` is not a known language")))?,
    };
    let number = |name: &str| -> Result<Option<u64>> {
        match obj.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => s
                .parse()
                .map(Some)
                .map_err(|_| bad(format!("`{name}` `{s}` is not a whole number"))),
            Some(Value::Number(n)) => n
                .as_u64()
                .map(Some)
                .ok_or_else(|| bad(format!("`{name}` {n} is not a whole number"))),
            Some(other) => Err(bad(format!("`{name}` must be a number, got {other}"))),
        }
    };
    let sequence = number("sequence")?.unwrap_or(0);
    let schema_version = match number("schemaversion")? {
        None => crate::SCHEMA_VERSION,
        Some(v) => {
            u32::try_from(v).map_err(|_| bad(format!("`schemaversion` {v} is too large")))?
        }
    };
    let correlation_id = text("correlationid")?
        .map(|c| {
            Uuid::parse_str(c).map_err(|e| bad(format!("`correlationid` `{c}` is not a UUID: {e}")))
        })
        .transpose()?;
    let tags = match text("tags")? {
        None => Vec::new(),
        Some(t) => serde_json::from_str::<Vec<String>>(t)
            .map_err(|e| bad(format!("`tags` must be a JSON array of strings: {e}")))?,
    };
    let priority = match obj.get("priority") {
        None | Some(Value::Null) => 0,
        Some(Value::Number(n)) => n
            .as_i64()
            .and_then(|p| i32::try_from(p).ok())
            .ok_or_else(|| bad(format!("`priority` {n} is not a 32-bit integer")))?,
        Some(Value::String(s)) => s
            .parse()
            .map_err(|_| bad(format!("`priority` `{s}` is not a 32-bit integer")))?,
        Some(other) => return Err(bad(format!("`priority` must be an integer, got {other}"))),
    };
    let ttl = number("ttlms")?.map(Duration::from_millis);
    let source = match text("llmspellsource")? {
        Some("absent") => None,
        Some("empty") => Some(String::new()),
        _ => Some(source.to_owned()),
    };
    Ok(UniversalEvent {
        id,
        event_type,
        data,
        language,
        timestamp,
        sequence,
        metadata: EventMetadata {
            correlation_id,
            source,
            target: text("target")?.map(str::to_owned),
            tags,
            priority,
            ttl,
            origin: text("llmspellorigin")?.map(str::to_owned),
        },
        schema_version,
    })
}

/// The event in CloudEvent JSON bytes.
///
/// # Errors
/// [`EventError::CloudEvent`] for bytes that are not JSON or not a
/// CloudEvent (see [`from_cloudevent`]).
pub fn decode(bytes: &[u8]) -> Result<UniversalEvent> {
    let value: Value =
        serde_json::from_slice(bytes).map_err(|e| bad(format!("the message is not JSON: {e}")))?;
    from_cloudevent(&value)
}

fn bad(reason: impl Into<String>) -> EventError {
    EventError::CloudEvent {
        reason: reason.into(),
    }
}
