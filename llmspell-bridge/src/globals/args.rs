//! Reading script arguments in their JSON form: the checks every neutral
//! global shares, with errors that name the function, the key and what is
//! valid.

use std::time::Duration;

use serde_json::{Map, Value};

use crate::error::{BridgeError, Result};

/// The JSON type of `v` in the words a script author knows.
pub(crate) fn describe(v: &Value) -> &'static str {
    match v {
        Value::Null => "nil",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "a table",
    }
}

/// The string at `key` of an options object; `None` when absent or nil.
pub(crate) fn opt_str<'a>(
    function: &str,
    o: &'a Map<String, Value>,
    key: &str,
) -> Result<Option<&'a str>> {
    match o.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(other) => Err(BridgeError::invalid(
            function,
            format!("`{key}` must be a string, got {}", describe(other)),
        )),
    }
}

/// The array of strings at `key`; empty when absent, nil or an empty
/// table (a script's `{}` has no way to say it is an array).
pub(crate) fn string_list(
    function: &str,
    o: &Map<String, Value>,
    key: &str,
) -> Result<Vec<String>> {
    match o.get(key) {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::Object(m)) if m.is_empty() => Ok(Vec::new()),
        Some(Value::Array(items)) => items
            .iter()
            .map(|v| match v {
                Value::String(s) => Ok(s.clone()),
                other => Err(BridgeError::invalid(
                    function,
                    format!("`{key}` must hold strings, got {}", describe(other)),
                )),
            })
            .collect(),
        Some(other) => Err(BridgeError::invalid(
            function,
            format!(
                "`{key}` must be an array of strings, got {}",
                describe(other)
            ),
        )),
    }
}

/// The options object of `function` (`null` for none).
///
/// # Errors
/// [`BridgeError::InvalidArgument`] when `opts` is neither.
pub(crate) fn options<'a>(
    function: &str,
    opts: &'a Value,
) -> Result<Option<&'a Map<String, Value>>> {
    match opts {
        Value::Null => Ok(None),
        Value::Object(o) => Ok(Some(o)),
        other => Err(BridgeError::invalid(
            function,
            format!(
                "the options must be nil or a table, got {}",
                describe(other)
            ),
        )),
    }
}

/// Refuses a key of `o` that is not in `valid`, naming it, the closest
/// valid key when one is close, and every valid key. A misspelt option
/// must never be silently ignored (`{matchh = "calc*"}` would otherwise
/// make a hook apply to every component).
///
/// # Errors
/// [`BridgeError::InvalidArgument`] for the first unknown key (in key
/// order).
pub(crate) fn check_keys(function: &str, o: &Map<String, Value>, valid: &[&str]) -> Result<()> {
    let Some(unknown) = o.keys().find(|k| !valid.contains(&k.as_str())) else {
        return Ok(());
    };
    let hint = closest(unknown, valid)
        .map(|k| format!(" (did you mean `{k}`?)"))
        .unwrap_or_default();
    Err(BridgeError::invalid(
        function,
        format!(
            "unknown option `{unknown}`{hint}; valid options: {}",
            valid.join(", ")
        ),
    ))
}

/// The valid key closest to `key`: one that contains it or is contained
/// in it (`point` for `hook_point`), else the nearest by edit distance when
/// that is at most a third of the key's length (at least 1).
fn closest<'a>(key: &str, valid: &[&'a str]) -> Option<&'a str> {
    if key.len() >= 3 {
        if let Some(v) = valid.iter().find(|v| v.contains(key) || key.contains(**v)) {
            return Some(v);
        }
    }
    let limit = (key.chars().count() / 3).max(1);
    valid
        .iter()
        .map(|v| (edit_distance(key, v), *v))
        .filter(|(d, _)| *d <= limit)
        .min_by_key(|(d, _)| *d)
        .map(|(_, v)| v)
}

/// Levenshtein distance over chars (keys are short).
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let cur = row[j + 1];
            row[j + 1] = if ca == *cb {
                prev
            } else {
                1 + prev.min(cur).min(row[j])
            };
            prev = cur;
        }
    }
    row[b.len()]
}

/// The integer at `key` within `min..=max`; `None` when absent or nil.
///
/// # Errors
/// [`BridgeError::InvalidArgument`] naming the key and the valid range
/// for a non-number, a fraction or a value out of range.
pub(crate) fn opt_integer(
    function: &str,
    o: &Map<String, Value>,
    key: &str,
    min: i64,
    max: i64,
) -> Result<Option<i64>> {
    let Some(v) = o.get(key).filter(|v| !v.is_null()) else {
        return Ok(None);
    };
    integer_in(function, key, v, min, max).map(Some)
}

/// `v` as an integer within `min..=max`.
///
/// # Errors
/// [`BridgeError::InvalidArgument`] naming `key` and the valid range.
pub(crate) fn integer_in(function: &str, key: &str, v: &Value, min: i64, max: i64) -> Result<i64> {
    let bad = |got: String| {
        BridgeError::invalid(
            function,
            format!("`{key}` must be an integer from {min} to {max}, got {got}"),
        )
    };
    let Value::Number(n) = v else {
        return Err(bad(describe(v).to_owned()));
    };
    let i = match n.as_i64() {
        Some(i) => i,
        None => match n.as_f64() {
            // Whole floats in i64 range (Lua's 3.0, JSON's 3e2).
            #[allow(clippy::cast_possible_truncation, clippy::cast_precision_loss)]
            Some(f) if f.fract() == 0.0 && f >= i64::MIN as f64 && f < i64::MAX as f64 => f as i64,
            _ => return Err(bad(n.to_string())),
        },
    };
    if (min..=max).contains(&i) {
        Ok(i)
    } else {
        Err(bad(n.to_string()))
    }
}

/// The longest duration accepted from a script or the command line: 365
/// days. Longer ones are refused rather than overflowing a deadline
/// (`Duration::from_secs_f64(1e300)` panics).
pub const MAX_DURATION: Duration = Duration::from_secs(365 * 24 * 60 * 60);

/// Which durations are valid besides the upper bound.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Lower {
    /// Zero is valid (e.g. "do not wait").
    Zero,
    /// Strictly positive (a timeout).
    Positive,
}

/// A duration given as a number of `unit`s (`"ms"` or `"s"`) at `key`,
/// checked: finite, within the lower bound and at most [`MAX_DURATION`].
///
/// # Errors
/// [`BridgeError::InvalidArgument`] naming the key and the valid range.
pub(crate) fn duration(
    function: &str,
    key: &str,
    v: &Value,
    unit: TimeUnit,
    lower: Lower,
) -> Result<Duration> {
    let got = match v {
        Value::Number(n) => n.to_string(),
        other => describe(other).to_owned(),
    };
    let amount = v.as_f64();
    duration_from_f64(amount, unit, lower)
        .ok_or_else(|| BridgeError::invalid(function, duration_range(key, unit, lower, &got)))
}

/// The unit of a duration given as a number.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TimeUnit {
    /// Milliseconds.
    Millis,
    /// Seconds.
    Secs,
}

/// `amount` `unit`s as a duration, or `None` when not finite, below the
/// lower bound or above [`MAX_DURATION`].
pub(crate) fn duration_from_f64(
    amount: Option<f64>,
    unit: TimeUnit,
    lower: Lower,
) -> Option<Duration> {
    let amount = amount.filter(|a| a.is_finite())?;
    let secs = match unit {
        TimeUnit::Millis => amount / 1000.0,
        TimeUnit::Secs => amount,
    };
    let ok_low = match lower {
        Lower::Zero => secs >= 0.0,
        Lower::Positive => secs > 0.0,
    };
    (ok_low && secs <= MAX_DURATION.as_secs_f64()).then(|| Duration::from_secs_f64(secs))
}

/// "`key` must be ...": the valid range of a duration, for messages.
pub(crate) fn duration_range(key: &str, unit: TimeUnit, lower: Lower, got: &str) -> String {
    let (name, max) = match unit {
        TimeUnit::Millis => ("milliseconds", MAX_DURATION.as_millis()),
        TimeUnit::Secs => ("seconds", u128::from(MAX_DURATION.as_secs())),
    };
    let range = match lower {
        Lower::Zero => "from 0 to",
        Lower::Positive => "greater than 0 and at most",
    };
    format!("`{key}` must be a number of {name} {range} {max} (365 days), got {got}")
}

/// The optional duration at `key` of an options object.
///
/// # Errors
/// As [`duration`].
pub(crate) fn opt_duration(
    function: &str,
    o: &Map<String, Value>,
    key: &str,
    unit: TimeUnit,
    lower: Lower,
) -> Result<Option<Duration>> {
    match o.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(v) => duration(function, key, v, unit, lower).map(Some),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn options_are_read_or_refused_with_the_key() {
        let o = json!({"s": "x", "n": 1, "l": ["a"], "e": {}, "bad": [1]});
        let o = o.as_object().unwrap();
        assert_eq!(opt_str("f", o, "s").unwrap(), Some("x"));
        assert_eq!(opt_str("f", o, "missing").unwrap(), None);
        let err = opt_str("f", o, "n").unwrap_err().to_string();
        assert_eq!(err, "f: `n` must be a string, got a number");
        assert_eq!(string_list("f", o, "l").unwrap(), vec!["a".to_owned()]);
        assert!(string_list("f", o, "e").unwrap().is_empty());
        let err = string_list("f", o, "bad").unwrap_err().to_string();
        assert_eq!(err, "f: `bad` must hold strings, got a number");
        let err = string_list("f", o, "s").unwrap_err().to_string();
        assert_eq!(err, "f: `s` must be an array of strings, got a string");
    }

    #[test]
    fn unknown_keys_are_refused_with_a_suggestion() {
        let o = json!({"matchh": 1, "priority": 2});
        let err = check_keys("f", o.as_object().unwrap(), &["priority", "match"])
            .unwrap_err()
            .to_string();
        assert_eq!(
            err,
            "f: unknown option `matchh` (did you mean `match`?); valid options: priority, match"
        );
        let o = json!({"zzz": 1});
        let err = check_keys("f", o.as_object().unwrap(), &["priority"])
            .unwrap_err()
            .to_string();
        assert_eq!(err, "f: unknown option `zzz`; valid options: priority");
        assert!(check_keys("f", &Map::new(), &[]).is_ok());
        assert_eq!(edit_distance("kitten", "sitting"), 3);
        assert_eq!(edit_distance("", "ab"), 2);
    }

    #[test]
    fn durations_are_checked_never_panic() {
        let d = |v: Value, lower| duration("f", "k", &v, TimeUnit::Millis, lower);
        assert_eq!(
            d(json!(1500), Lower::Zero).unwrap(),
            Duration::from_millis(1500)
        );
        assert_eq!(d(json!(0), Lower::Zero).unwrap(), Duration::ZERO);
        for bad in [
            json!(0),
            json!(-1),
            json!(1e300),
            json!(f64::MAX),
            json!("5"),
        ] {
            let err = d(bad.clone(), Lower::Positive).unwrap_err().to_string();
            assert!(
                err.starts_with("f: `k` must be a number of milliseconds greater than 0"),
                "{bad}: {err}"
            );
        }
        let max_ms = MAX_DURATION.as_millis() as f64;
        assert_eq!(d(json!(max_ms), Lower::Positive).unwrap(), MAX_DURATION);
        assert!(d(json!(max_ms + 1.0), Lower::Positive).is_err());
        assert_eq!(
            duration_from_f64(Some(2.0), TimeUnit::Secs, Lower::Zero),
            Some(Duration::from_secs(2))
        );
        assert_eq!(
            duration_from_f64(Some(f64::NAN), TimeUnit::Secs, Lower::Zero),
            None
        );
        assert_eq!(duration_from_f64(None, TimeUnit::Secs, Lower::Zero), None);
    }

    #[test]
    fn integers_are_checked_against_their_range() {
        let o = json!({"a": 3, "b": 3.0, "c": 2.5, "d": 1e300, "e": "x"});
        let o = o.as_object().unwrap();
        assert_eq!(opt_integer("f", o, "a", 1, 5).unwrap(), Some(3));
        assert_eq!(opt_integer("f", o, "b", 1, 5).unwrap(), Some(3));
        assert_eq!(opt_integer("f", o, "missing", 1, 5).unwrap(), None);
        for k in ["c", "d", "e"] {
            let err = opt_integer("f", o, k, 1, 5).unwrap_err().to_string();
            assert!(err.contains("must be an integer from 1 to 5"), "{err}");
        }
        assert!(opt_integer("f", o, "a", 4, 5).is_err());
    }
}
