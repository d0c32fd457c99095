//! Decoding a parameter object into a tool's typed parameters.

use std::time::Duration;

use serde::Deserialize;
use serde_json::{Number, Value};

use crate::{Result, ToolError};

/// Decodes `params` into `T`, turning a serde error into
/// [`ToolError::InvalidParameter`] naming the top-level parameter at fault.
/// Strings move out of `params` into `T` (no copy), whatever their
/// lifetime parameter: a `T<'static>` with borrowable fields decodes here.
pub(crate) fn decode<'de, T: Deserialize<'de>>(tool: &str, params: Value) -> Result<T> {
    serde_path_to_error::deserialize(params).map_err(|e| invalid(tool, &e))
}

/// [`decode`] from borrowed parameters: fields declared
/// `#[serde(borrow)] Cow<'de, str>` (or `&'de str`) point into `params`
/// instead of copying them (what [`Tool::execute_ref`](crate::Tool::execute_ref)
/// overrides use). Decoded first without tracking the path (which copies
/// every borrowed key and enum variant name it passes into a `String`, a
/// few allocations per call that the owned path, moving its keys, does not
/// make); the parameters, being borrowed, are decoded again with the path
/// only to name the parameter of an error.
pub(crate) fn decode_ref<'de, T: Deserialize<'de>>(tool: &str, params: &'de Value) -> Result<T> {
    T::deserialize(params)
        .or_else(|_| serde_path_to_error::deserialize(params).map_err(|e| invalid(tool, &e)))
}

/// The error of a failed decoding, naming the parameter at fault.
fn invalid(tool: &str, e: &serde_path_to_error::Error<serde_json::Error>) -> ToolError {
    let parameter = match e.path().iter().next() {
        Some(serde_path_to_error::Segment::Map { key }) => key.clone(),
        _ => field_in(&e.inner().to_string())
            .unwrap_or("params")
            .to_owned(),
    };
    ToolError::invalid_parameter(tool, parameter, e.inner().to_string())
}

/// A whole number from outside, checked to lie in `min..=max`. A float
/// with no fractional part (`1e3`, what Lua's `1000.0` becomes) counts as
/// whole; `1e300`, `1.5`, and anything out of range are refused with the
/// valid range.
pub(crate) fn whole(
    tool: &str,
    parameter: &str,
    value: &Number,
    min: i64,
    max: i64,
) -> Result<i64> {
    let exact = value.as_i64().or_else(|| {
        value.as_f64().and_then(|f| {
            // `i64::MAX as f64` rounds up to 2^63, so `<` keeps it in range.
            #[allow(clippy::cast_precision_loss, clippy::cast_possible_truncation)]
            (f.fract() == 0.0 && f >= i64::MIN as f64 && f < i64::MAX as f64).then_some(f as i64)
        })
    });
    match exact {
        Some(n) if (min..=max).contains(&n) => Ok(n),
        _ => Err(ToolError::invalid_parameter(
            tool,
            parameter,
            format!("must be a whole number from {min} to {max}; got {value}"),
        )),
    }
}

/// A duration in milliseconds from outside, in `1..=max` (see [`whole`]).
pub(crate) fn millis(
    tool: &str,
    parameter: &str,
    value: &Number,
    max: Duration,
) -> Result<Duration> {
    let max_ms = i64::try_from(max.as_millis()).unwrap_or(i64::MAX);
    let ms = whole(tool, parameter, value, 1, max_ms)?;
    // In range, so positive.
    Ok(Duration::from_millis(ms.unsigned_abs()))
}

/// The name in a serde message such as ``missing field `expression` `` or
/// ``unknown field `x`, expected ...``.
fn field_in(message: &str) -> Option<&str> {
    if !(message.starts_with("missing field") || message.starts_with("unknown field")) {
        return None;
    }
    let start = message.find('`')? + 1;
    let len = message[start..].find('`')?;
    Some(&message[start..start + len])
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct P {
        expression: String,
    }

    fn parameter(params: Value) -> String {
        match decode::<P>("t", params) {
            Err(ToolError::InvalidParameter { parameter, .. }) => parameter,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn whole_numbers_and_durations_are_range_checked() {
        let n = |v: Value| match v {
            Value::Number(n) => n,
            _ => unreachable!(),
        };
        assert_eq!(whole("t", "x", &n(json!(5)), 1, 10).unwrap(), 5);
        assert_eq!(whole("t", "x", &n(json!(5.0)), 1, 10).unwrap(), 5);
        for bad in [
            json!(0),
            json!(11),
            json!(1.5),
            json!(1e300),
            json!(-1e300),
            json!(u64::MAX),
        ] {
            match whole("t", "x", &n(bad.clone()), 1, 10) {
                Err(ToolError::InvalidParameter {
                    parameter, message, ..
                }) => {
                    assert_eq!(parameter, "x");
                    assert!(message.contains("from 1 to 10"), "{message}");
                }
                other => panic!("{bad}: {other:?}"),
            }
        }
        assert_eq!(
            millis("t", "timeout_ms", &n(json!(250)), Duration::from_secs(1)).unwrap(),
            Duration::from_millis(250)
        );
        assert!(millis("t", "timeout_ms", &n(json!(1e300)), Duration::from_secs(1)).is_err());
        assert!(millis("t", "timeout_ms", &n(json!(0)), Duration::from_secs(1)).is_err());
        assert!(millis("t", "timeout_ms", &n(json!(1001)), Duration::from_secs(1)).is_err());
    }

    #[test]
    fn names_missing_unknown_and_mistyped_fields() {
        assert_eq!(parameter(json!({})), "expression");
        assert_eq!(parameter(json!({"expression": "1", "x": 1})), "x");
        assert_eq!(parameter(json!({"expression": 1})), "expression");
        assert_eq!(parameter(json!(3)), "params");
    }

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Borrowing<'a> {
        #[serde(borrow)]
        input: std::borrow::Cow<'a, str>,
        #[serde(default)]
        mode: Option<Mode>,
    }

    #[derive(Debug, Deserialize, PartialEq)]
    #[serde(rename_all = "snake_case")]
    enum Mode {
        Fast,
    }

    #[test]
    fn decode_ref_borrows_and_names_the_parameter_of_an_error() {
        let params = json!({"input": "abc", "mode": "fast"});
        let p: Borrowing<'_> = decode_ref("t", &params).unwrap();
        assert!(matches!(p.input, std::borrow::Cow::Borrowed("abc")));
        assert_eq!(p.mode, Some(Mode::Fast));
        let named = |params: Value| match decode_ref::<Borrowing<'_>>("t", &params) {
            Err(ToolError::InvalidParameter { parameter, .. }) => parameter,
            other => panic!("{other:?}"),
        };
        // The same names as `decode` gives.
        assert_eq!(named(json!({})), "input");
        assert_eq!(named(json!({"input": "a", "x": 1})), "x");
        assert_eq!(named(json!({"input": 1})), "input");
        assert_eq!(named(json!({"input": "a", "mode": "slow"})), "mode");
        assert_eq!(named(json!(3)), "params");
    }
}
