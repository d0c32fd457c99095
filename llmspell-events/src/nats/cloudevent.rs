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

/// `time`: RFC 3339 in UTC with as many fraction digits as needed (0, 3,
/// 6 or 9), i.e. chrono's `%Y-%m-%dT%H:%M:%S%.fZ`.
fn rfc3339<S: Serializer>(t: &DateTime<Utc>, s: S) -> std::result::Result<S::Ok, S::Error> {
    let mut buf = [0u8; 30];
    match write_rfc3339(t, &mut buf) {
        // Only ASCII digits and separators were written.
        Some(n) => s.serialize_str(std::str::from_utf8(&buf[..n]).unwrap_or_default()),
        None => s.collect_str(&t.format("%Y-%m-%dT%H:%M:%S%.fZ")),
    }
}

/// Writes `t` as [`rfc3339`] does into `buf` and returns the length;
/// `None` for the rare times left to chrono's formatter (years outside
/// 0..=9999, leap seconds).
fn write_rfc3339(t: &DateTime<Utc>, buf: &mut [u8; 30]) -> Option<usize> {
    use chrono::{Datelike, Timelike};
    let year = u32::try_from(t.year()).ok().filter(|y| *y <= 9999)?;
    let nanos = t.nanosecond();
    if nanos >= 1_000_000_000 {
        return None;
    }
    let mut n = 0;
    let mut put = |value: u32, digits: u32, sep: Option<u8>| {
        for i in (0..digits).rev() {
            // A decimal digit.
            buf[n] = b'0' + u8::try_from(value / 10u32.pow(i) % 10).unwrap_or(0);
            n += 1;
        }
        if let Some(c) = sep {
            buf[n] = c;
            n += 1;
        }
    };
    put(year, 4, Some(b'-'));
    put(t.month(), 2, Some(b'-'));
    put(t.day(), 2, Some(b'T'));
    put(t.hour(), 2, Some(b':'));
    put(t.minute(), 2, Some(b':'));
    put(t.second(), 2, None);
    if nanos != 0 {
        let (value, digits) = if nanos.is_multiple_of(1_000_000) {
            (nanos / 1_000_000, 3)
        } else if nanos.is_multiple_of(1_000) {
            (nanos / 1_000, 6)
        } else {
            (nanos, 9)
        };
        buf[n] = b'.';
        n += 1;
        let mut put = |value: u32, digits: u32| {
            for i in (0..digits).rev() {
                buf[n] = b'0' + u8::try_from(value / 10u32.pow(i) % 10).unwrap_or(0);
                n += 1;
            }
        };
        put(value, digits);
    }
    buf[n] = b'Z';
    Some(n + 1)
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
    let id = event_id(raw_id, source);
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
/// Reads the attributes straight from the bytes (no JSON tree; only `data`
/// becomes a [`Value`]); anything that would be refused, or is unusual
/// (a repeated attribute), is read again through [`from_cloudevent`], so
/// the result and the errors are exactly those of
/// `from_cloudevent(&serde_json::from_slice(bytes)?)`.
///
/// # Errors
/// [`EventError::CloudEvent`] for bytes that are not JSON or not a
/// CloudEvent (see [`from_cloudevent`]).
pub fn decode(bytes: &[u8]) -> Result<UniversalEvent> {
    if let Some(event) = direct::decode(bytes) {
        return Ok(event);
    }
    let value: Value =
        serde_json::from_slice(bytes).map_err(|e| bad(format!("the message is not JSON: {e}")))?;
    from_cloudevent(&value)
}

/// The fast path of [`decode`]: the attributes deserialized in place.
/// Returns `None` for anything [`from_cloudevent`] would refuse (and for
/// repeated attributes), so the caller falls back to it for the error.
mod direct {
    use std::borrow::Cow;
    use std::fmt;
    use std::time::Duration;

    use chrono::{DateTime, Utc};
    use serde::de::{self, Deserialize, Deserializer, MapAccess, Visitor};
    use serde_json::Value;
    use uuid::Uuid;

    use super::SPEC_VERSION;
    use crate::{EventMetadata, Language, UniversalEvent};

    /// A string attribute, borrowed from the message unless escaped.
    struct Text<'de>(Cow<'de, str>);

    impl<'de> Deserialize<'de> for Text<'de> {
        fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
            struct V;
            impl<'de> Visitor<'de> for V {
                type Value = Text<'de>;
                fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                    f.write_str("a string")
                }
                fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Text<'de>, E> {
                    Ok(Text(Cow::Borrowed(v)))
                }
                fn visit_str<E: de::Error>(self, v: &str) -> Result<Text<'de>, E> {
                    Ok(Text(Cow::Owned(v.to_owned())))
                }
                fn visit_string<E: de::Error>(self, v: String) -> Result<Text<'de>, E> {
                    Ok(Text(Cow::Owned(v)))
                }
            }
            d.deserialize_str(V)
        }
    }

    /// A whole-number attribute as `from_cloudevent` reads it: a JSON
    /// integer ≥ 0 or a decimal string.
    struct Whole(u64);

    impl<'de> Deserialize<'de> for Whole {
        fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
            struct V;
            impl Visitor<'_> for V {
                type Value = Whole;
                fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                    f.write_str("a whole number")
                }
                fn visit_u64<E: de::Error>(self, v: u64) -> Result<Whole, E> {
                    Ok(Whole(v))
                }
                fn visit_i64<E: de::Error>(self, v: i64) -> Result<Whole, E> {
                    u64::try_from(v).map(Whole).map_err(E::custom)
                }
                fn visit_str<E: de::Error>(self, v: &str) -> Result<Whole, E> {
                    v.parse().map(Whole).map_err(E::custom)
                }
            }
            d.deserialize_any(V)
        }
    }

    /// `priority` as `from_cloudevent` reads it: a 32-bit JSON integer or
    /// decimal string.
    struct Priority(i32);

    impl<'de> Deserialize<'de> for Priority {
        fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
            struct V;
            impl Visitor<'_> for V {
                type Value = Priority;
                fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                    f.write_str("a 32-bit integer")
                }
                fn visit_u64<E: de::Error>(self, v: u64) -> Result<Priority, E> {
                    i32::try_from(v).map(Priority).map_err(E::custom)
                }
                fn visit_i64<E: de::Error>(self, v: i64) -> Result<Priority, E> {
                    i32::try_from(v).map(Priority).map_err(E::custom)
                }
                fn visit_str<E: de::Error>(self, v: &str) -> Result<Priority, E> {
                    v.parse().map(Priority).map_err(E::custom)
                }
            }
            d.deserialize_any(V)
        }
    }

    /// The attribute names read; `Other` is skipped.
    #[derive(Clone, Copy)]
    enum Key {
        SpecVersion,
        Id,
        Source,
        Type,
        Time,
        DataContentType,
        Data,
        DataBase64,
        Language,
        Sequence,
        SchemaVersion,
        CorrelationId,
        Tags,
        Priority,
        TtlMs,
        LlmspellSource,
        Target,
        Origin,
        Other,
    }

    impl<'de> Deserialize<'de> for Key {
        fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
            struct V;
            impl Visitor<'_> for V {
                type Value = Key;
                fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                    f.write_str("an attribute name")
                }
                fn visit_str<E: de::Error>(self, v: &str) -> Result<Key, E> {
                    Ok(match v {
                        "specversion" => Key::SpecVersion,
                        "id" => Key::Id,
                        "source" => Key::Source,
                        "type" => Key::Type,
                        "time" => Key::Time,
                        "datacontenttype" => Key::DataContentType,
                        "data" => Key::Data,
                        "data_base64" => Key::DataBase64,
                        "language" => Key::Language,
                        "sequence" => Key::Sequence,
                        "schemaversion" => Key::SchemaVersion,
                        "correlationid" => Key::CorrelationId,
                        "tags" => Key::Tags,
                        "priority" => Key::Priority,
                        "ttlms" => Key::TtlMs,
                        "llmspellsource" => Key::LlmspellSource,
                        "target" => Key::Target,
                        "llmspellorigin" => Key::Origin,
                        _ => Key::Other,
                    })
                }
            }
            d.deserialize_identifier(V)
        }
    }

    /// The attributes as they stand in the message (`null` = absent,
    /// except for `data`).
    #[derive(Default)]
    struct Attrs<'de> {
        specversion: Option<Text<'de>>,
        id: Option<Text<'de>>,
        source: Option<Text<'de>>,
        event_type: Option<Text<'de>>,
        time: Option<Text<'de>>,
        data: Option<Value>,
        data_base64: Option<Text<'de>>,
        language: Option<Text<'de>>,
        sequence: Option<Whole>,
        schemaversion: Option<Whole>,
        correlationid: Option<Text<'de>>,
        tags: Option<Text<'de>>,
        priority: Option<Priority>,
        ttlms: Option<Whole>,
        llmspellsource: Option<Text<'de>>,
        target: Option<Text<'de>>,
        origin: Option<Text<'de>>,
    }

    impl<'de> Deserialize<'de> for Attrs<'de> {
        fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
            struct V;
            impl<'de> Visitor<'de> for V {
                type Value = Attrs<'de>;
                fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                    f.write_str("a CloudEvent object")
                }
                fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Attrs<'de>, A::Error> {
                    let mut a = Attrs::default();
                    // A repeated attribute goes to the JSON-tree path (which
                    // keeps the last one).
                    let mut seen = 0u32;
                    while let Some(key) = map.next_key::<Key>()? {
                        if !matches!(key, Key::Other) {
                            let bit = 1u32 << key as u32;
                            if seen & bit != 0 {
                                return Err(de::Error::custom("repeated attribute"));
                            }
                            seen |= bit;
                        }
                        match key {
                            Key::SpecVersion => a.specversion = map.next_value()?,
                            Key::Id => a.id = map.next_value()?,
                            Key::Source => a.source = map.next_value()?,
                            Key::Type => a.event_type = map.next_value()?,
                            Key::Time => a.time = map.next_value()?,
                            Key::Data => a.data = Some(map.next_value()?),
                            Key::DataBase64 => a.data_base64 = map.next_value()?,
                            Key::Language => a.language = map.next_value()?,
                            Key::Sequence => a.sequence = map.next_value()?,
                            Key::SchemaVersion => a.schemaversion = map.next_value()?,
                            Key::CorrelationId => a.correlationid = map.next_value()?,
                            Key::Tags => a.tags = map.next_value()?,
                            Key::Priority => a.priority = map.next_value()?,
                            Key::TtlMs => a.ttlms = map.next_value()?,
                            Key::LlmspellSource => a.llmspellsource = map.next_value()?,
                            Key::Target => a.target = map.next_value()?,
                            Key::Origin => a.origin = map.next_value()?,
                            Key::DataContentType => {
                                map.next_value::<Option<Text<'de>>>()?;
                            }
                            // Parsed as the JSON-tree path parses it (a
                            // number out of range fails there too).
                            Key::Other => {
                                map.next_value::<Value>()?;
                            }
                        }
                    }
                    Ok(a)
                }
            }
            d.deserialize_map(V)
        }
    }

    fn text(t: Option<Text<'_>>) -> Option<String> {
        t.map(|t| t.0.into_owned())
    }

    fn language(l: &str) -> Option<Language> {
        // The names this crate writes, without the allocation of `parse`.
        Language::ALL
            .iter()
            .copied()
            .find(|x| x.as_str() == l)
            .or_else(|| l.parse().ok())
    }

    pub(super) fn decode(bytes: &[u8]) -> Option<UniversalEvent> {
        let a: Attrs<'_> = serde_json::from_slice(bytes).ok()?;
        if a.specversion?.0 != SPEC_VERSION {
            return None;
        }
        let raw_id = a.id?;
        let source = a.source?;
        let event_type = a.event_type?.0.into_owned();
        let id = super::event_id(&raw_id.0, &source.0);
        let timestamp = match a.time {
            None => Utc::now(),
            Some(t) => DateTime::parse_from_rfc3339(&t.0).ok()?.with_timezone(&Utc),
        };
        let data = match (a.data, a.data_base64) {
            (Some(d), _) => d,
            (None, Some(b64)) => serde_json::json!({ "data_base64": b64.0 }),
            (None, None) => Value::Null,
        };
        let language = match a.language {
            None => Language::Unknown,
            Some(l) => language(&l.0)?,
        };
        let schema_version = match a.schemaversion {
            None => crate::SCHEMA_VERSION,
            Some(v) => u32::try_from(v.0).ok()?,
        };
        let correlation_id = match a.correlationid {
            None => None,
            Some(c) => Some(Uuid::parse_str(&c.0).ok()?),
        };
        let tags = match a.tags {
            None => Vec::new(),
            Some(t) => serde_json::from_str::<Vec<String>>(&t.0).ok()?,
        };
        let source = match a.llmspellsource.as_ref().map(|s| &*s.0) {
            Some("absent") => None,
            Some("empty") => Some(String::new()),
            _ => Some(source.0.into_owned()),
        };
        Some(UniversalEvent {
            id,
            event_type,
            data,
            language,
            timestamp,
            sequence: a.sequence.map_or(0, |s| s.0),
            metadata: EventMetadata {
                correlation_id,
                source,
                target: text(a.target),
                tags,
                priority: a.priority.map_or(0, |p| p.0),
                ttl: a.ttlms.map(|t| Duration::from_millis(t.0)),
                origin: text(a.origin),
            },
            schema_version,
        })
    }
}

/// The event id of a CloudEvent `id`: the UUID itself, or for another
/// producer's id a UUID v5 of `source` and `id` (stable across deliveries).
fn event_id(raw_id: &str, source: &str) -> Uuid {
    Uuid::parse_str(raw_id).unwrap_or_else(|_| {
        Uuid::new_v5(
            &Uuid::NAMESPACE_URL,
            format!("{source}\u{0}{raw_id}").as_bytes(),
        )
    })
}

fn bad(reason: impl Into<String>) -> EventError {
    EventError::CloudEvent {
        reason: reason.into(),
    }
}

#[cfg(test)]
mod tests {
    use chrono::{TimeZone, Utc};

    use super::write_rfc3339;

    #[test]
    fn time_is_written_as_chrono_writes_it() {
        let mut buf = [0u8; 30];
        for (secs, nanos) in [
            (0, 0),
            (1_764_000_000, 1),
            (1_764_000_000, 120_000_000),
            (1_764_000_000, 123_400_000),
            (1_764_000_000, 123_456_000),
            (1_764_000_000, 123_456_789),
            (1_764_000_000, 999_999_999),
            (253_402_300_799, 5_000),
            (-62_167_219_200, 0),
        ] {
            let t = Utc.timestamp_opt(secs, nanos).unwrap();
            let n = write_rfc3339(&t, &mut buf).unwrap();
            assert_eq!(
                std::str::from_utf8(&buf[..n]).unwrap(),
                t.format("%Y-%m-%dT%H:%M:%S%.fZ").to_string()
            );
        }
        let far = Utc.timestamp_opt(253_402_300_800, 0).unwrap();
        assert!(write_rfc3339(&far, &mut buf).is_none());
    }
}
