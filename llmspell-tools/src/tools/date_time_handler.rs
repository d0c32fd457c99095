//! `date_time_handler`: parse, format, convert and compute with dates (chrono).

use std::fmt::Write as _;

use async_trait::async_trait;
use chrono::{
    DateTime, Datelike, FixedOffset, Local, NaiveDate, NaiveDateTime, Offset as _, TimeDelta, Utc,
};
use serde::Deserialize;
use serde_json::{json, Value};

use crate::params::{decode, whole};
use crate::{Result, Tool, ToolCategory, ToolContext, ToolError, ToolMetadata};

const NAME: &str = "date_time_handler";

/// Date and time operations: `now`, `parse`, `format`, `convert` (to a
/// time zone offset), `add` (a duration) and `difference` (between two
/// instants).
///
/// Inputs are RFC 3339 / ISO 8601 (`2024-05-01T12:00:00+02:00`), RFC 2822,
/// `YYYY-MM-DD HH:MM:SS` or `YYYY-MM-DD` (taken as UTC), or a Unix timestamp
/// in seconds; `input_format` gives an explicit strftime pattern. Time zones
/// are `UTC`, `local` or a fixed offset such as `+05:30`.
#[derive(Debug)]
pub struct DateTimeHandlerTool {
    metadata: ToolMetadata,
}

#[derive(Deserialize)]
#[serde(rename_all = "snake_case")]
enum Operation {
    Now,
    Parse,
    Format,
    Convert,
    Add,
    Difference,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Params {
    operation: Operation,
    input: Option<Value>,
    input_format: Option<String>,
    format: Option<String>,
    timezone: Option<String>,
    end: Option<Value>,
    seconds: Option<serde_json::Number>,
    minutes: Option<serde_json::Number>,
    hours: Option<serde_json::Number>,
    days: Option<serde_json::Number>,
}

/// The largest duration `add` takes, in seconds (chrono's `TimeDelta`
/// holds ±i64::MAX milliseconds), and per unit.
const MAX_SECONDS: i64 = i64::MAX / 1000;
/// The duration units of `add`: parameter, seconds per unit.
const UNITS: [(&str, i64); 4] = [
    ("seconds", 1),
    ("minutes", 60),
    ("hours", 3600),
    ("days", 86_400),
];

impl Default for DateTimeHandlerTool {
    fn default() -> Self {
        Self::new()
    }
}

impl DateTimeHandlerTool {
    /// The tool.
    #[must_use]
    pub fn new() -> Self {
        let instant = json!({"type": ["string", "integer"]});
        let metadata = ToolMetadata::new(
            NAME,
            "Get the current time, parse, format, convert time zones, add durations and \
             compute differences between dates.",
            ToolCategory::Utility,
        )
        .with_parameters(json!({
            "type": "object",
            "properties": {
                "operation": {"enum": ["now", "parse", "format", "convert", "add", "difference"]},
                "input": instant,
                "input_format": {"type": "string"},
                "format": {"type": "string", "description": "strftime pattern for output"},
                "timezone": {"type": "string", "description": "UTC, local or +HH:MM"},
                "end": instant,
                "seconds": {"type": "integer", "minimum": -MAX_SECONDS, "maximum": MAX_SECONDS},
                "minutes": {"type": "integer", "minimum": -(MAX_SECONDS / 60), "maximum": MAX_SECONDS / 60},
                "hours": {"type": "integer", "minimum": -(MAX_SECONDS / 3600), "maximum": MAX_SECONDS / 3600},
                "days": {"type": "integer", "minimum": -(MAX_SECONDS / 86_400), "maximum": MAX_SECONDS / 86_400}
            },
            "required": ["operation"],
            "additionalProperties": false,
            "allOf": [
                {"if": {"properties": {"operation": {"enum": ["parse", "format", "convert", "add", "difference"]}}},
                 "then": {"required": ["input"]}},
                {"if": {"properties": {"operation": {"const": "difference"}}},
                 "then": {"required": ["end"]}},
                {"if": {"properties": {"operation": {"const": "format"}}},
                 "then": {"required": ["format"]}},
                {"if": {"properties": {"operation": {"const": "convert"}}},
                 "then": {"required": ["timezone"]}}
            ]
        }))
        .with_result(json!({"type": "object"}));
        Self { metadata }
    }
}

#[async_trait]
impl Tool for DateTimeHandlerTool {
    fn metadata(&self) -> &ToolMetadata {
        &self.metadata
    }

    async fn execute(&self, params: Value, _ctx: &ToolContext) -> Result<Value> {
        let p: Params = decode(NAME, params)?;
        let offset = match &p.timezone {
            Some(tz) => Some(parse_timezone(tz)?),
            None => None,
        };
        let input = || -> Result<DateTime<FixedOffset>> {
            let raw = p
                .input
                .as_ref()
                .ok_or_else(|| ToolError::invalid_parameter(NAME, "input", "required"))?;
            parse_instant(raw, p.input_format.as_deref(), "input")
        };
        let zoned = |dt: DateTime<FixedOffset>| offset.map_or(dt, |o| dt.with_timezone(&o));
        match p.operation {
            Operation::Now => {
                let now = Utc::now().with_timezone(&offset.unwrap_or_else(|| Utc.fix()));
                describe(now, p.format.as_deref())
            }
            Operation::Parse | Operation::Convert => describe(zoned(input()?), p.format.as_deref()),
            Operation::Format => {
                let pattern = p.format.as_deref().unwrap_or("%+");
                Ok(json!({"formatted": format_with(&zoned(input()?), pattern)?}))
            }
            Operation::Add => {
                let (delta, largest) = duration(&p)?;
                let result = input()?.checked_add_signed(delta).ok_or_else(|| {
                    ToolError::invalid_parameter(
                        NAME,
                        largest,
                        "the date plus the duration is outside the supported dates \
                         (years -262143 to 262142)",
                    )
                })?;
                describe(zoned(result), p.format.as_deref())
            }
            Operation::Difference => {
                let start = input()?;
                let raw_end = p
                    .end
                    .as_ref()
                    .ok_or_else(|| ToolError::invalid_parameter(NAME, "end", "required"))?;
                let end = parse_instant(raw_end, p.input_format.as_deref(), "end")?;
                let delta = end.signed_duration_since(start);
                Ok(json!({
                    "seconds": delta.num_seconds(),
                    "minutes": delta.num_minutes(),
                    "hours": delta.num_hours(),
                    "days": delta.num_days(),
                    "weeks": delta.num_weeks(),
                    "milliseconds": delta.num_milliseconds(),
                }))
            }
        }
    }
}

/// The duration of `add`, each unit range-checked, and the parameter that
/// contributes most (named if the date goes out of range).
fn duration(p: &Params) -> Result<(TimeDelta, &'static str)> {
    let mut total = TimeDelta::zero();
    let mut largest = ("seconds", TimeDelta::zero());
    for ((name, unit), value) in UNITS
        .into_iter()
        .zip([&p.seconds, &p.minutes, &p.hours, &p.days])
    {
        let Some(value) = value else { continue };
        let bound = MAX_SECONDS / unit;
        let n = whole(NAME, name, value, -bound, bound)?;
        // In range by the check above.
        let part = TimeDelta::try_seconds(n * unit).unwrap_or(TimeDelta::MAX);
        total = total.checked_add(&part).ok_or_else(|| {
            ToolError::invalid_parameter(
                NAME,
                name,
                format!(
                    "the total duration is out of range: at most {MAX_SECONDS} seconds \
                     either way, all units together"
                ),
            )
        })?;
        if part.abs() > largest.1.abs() {
            largest = (name, part);
        }
    }
    Ok((total, largest.0))
}

fn describe(dt: DateTime<FixedOffset>, format: Option<&str>) -> Result<Value> {
    let mut out = json!({
        "rfc3339": dt.to_rfc3339(),
        "rfc2822": dt.to_rfc2822(),
        "unix": dt.timestamp(),
        "unix_millis": dt.timestamp_millis(),
        "year": dt.year(),
        "month": dt.month(),
        "day": dt.day(),
        "weekday": dt.weekday().to_string(),
        "day_of_year": dt.ordinal(),
        "is_leap_year": NaiveDate::from_ymd_opt(dt.year(), 2, 29).is_some(),
        "offset": dt.offset().to_string(),
    });
    if let Some(pattern) = format {
        out["formatted"] = Value::String(format_with(&dt, pattern)?);
    }
    Ok(out)
}

/// Formats with a user pattern; an invalid pattern is an error, not a panic.
fn format_with(dt: &DateTime<FixedOffset>, pattern: &str) -> Result<String> {
    let mut out = String::new();
    write!(out, "{}", dt.format(pattern)).map_err(|_| {
        ToolError::invalid_parameter(
            NAME,
            "format",
            format!("`{pattern}` is not a valid strftime pattern"),
        )
    })?;
    Ok(out)
}

fn parse_timezone(tz: &str) -> Result<FixedOffset> {
    match tz {
        "UTC" | "utc" | "Z" | "z" => Ok(Utc.fix()),
        "local" | "Local" => Ok(Local::now().offset().fix()),
        other => other.parse::<FixedOffset>().map_err(|_| {
            ToolError::invalid_parameter(
                NAME,
                "timezone",
                format!("`{other}` is not a time zone; use UTC, local or an offset like +05:30"),
            )
        }),
    }
}

fn parse_instant(
    raw: &Value,
    format: Option<&str>,
    parameter: &str,
) -> Result<DateTime<FixedOffset>> {
    let bad = |why: String| ToolError::invalid_parameter(NAME, parameter, why);
    if let Some(secs) = raw.as_i64() {
        return DateTime::from_timestamp(secs, 0)
            .map(|d| d.fixed_offset())
            .ok_or_else(|| bad(format!("timestamp {secs} is out of range")));
    }
    let Some(text) = raw.as_str() else {
        return Err(bad("expected a date string or a Unix timestamp".to_owned()));
    };
    let text = text.trim();
    if let Some(pattern) = format {
        if let Ok(dt) = DateTime::parse_from_str(text, pattern) {
            return Ok(dt);
        }
        if let Ok(naive) = NaiveDateTime::parse_from_str(text, pattern) {
            return Ok(naive.and_utc().fixed_offset());
        }
        return NaiveDate::parse_from_str(text, pattern)
            .ok()
            .and_then(|d| d.and_hms_opt(0, 0, 0))
            .map(|n| n.and_utc().fixed_offset())
            .ok_or_else(|| bad(format!("`{text}` does not match the pattern `{pattern}`")));
    }
    if let Ok(dt) = DateTime::parse_from_rfc3339(text) {
        return Ok(dt);
    }
    if let Ok(dt) = DateTime::parse_from_rfc2822(text) {
        return Ok(dt);
    }
    for pattern in ["%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M"] {
        if let Ok(naive) = NaiveDateTime::parse_from_str(text, pattern) {
            return Ok(naive.and_utc().fixed_offset());
        }
    }
    if let Some(n) = NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .ok()
        .and_then(|d| d.and_hms_opt(0, 0, 0))
    {
        return Ok(n.and_utc().fixed_offset());
    }
    if let Ok(secs) = text.parse::<i64>() {
        return parse_instant(&Value::from(secs), None, parameter);
    }
    Err(bad(format!(
        "`{text}` is not a date; use RFC 3339, RFC 2822, `YYYY-MM-DD[ HH:MM:SS]`, a Unix \
         timestamp, or give `input_format`"
    )))
}
