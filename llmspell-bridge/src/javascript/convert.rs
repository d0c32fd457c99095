//! JavaScript ⇄ JSON conversion, the one policy every global of the
//! JavaScript binding uses.
//!
//! | JavaScript | JSON |
//! |---|---|
//! | `undefined` (top level, array element), `null` | `null` |
//! | an object property whose value is `undefined` | left out (as `JSON.stringify` does) |
//! | `true` / `false` | boolean |
//! | a number with no fraction within ±2⁵³ | integer (`3.0` is `3`: JavaScript has one number type) |
//! | any other finite number | float |
//! | `NaN`, `±Infinity` | refused |
//! | a `BigInt` that fits 64 bits | integer (larger ones are refused) |
//! | string | string (lone surrogates become U+FFFD) |
//! | array | array (holes become `null`) |
//! | `Date` | its ISO 8601 string (`toISOString`); an invalid date is refused |
//! | other objects | object of their own enumerable string-keyed properties (getters run; symbol keys skipped) |
//! | function, symbol, `Promise`, `Map`, `Set`, a cycle | refused: [`BridgeError::Conversion`] with the path (`$.a.b[0]`) and what to do |
//!
//! JSON → JavaScript: integers become numbers (exact up to 2⁵³), objects
//! plain objects, arrays arrays. Nesting deeper than 128 is refused both
//! ways.

use std::borrow::Cow;

use boa_engine::object::builtins::{JsArray, JsDate, JsMap, JsPromise, JsSet};
use boa_engine::property::PropertyKey;
use boa_engine::value::JsVariant;
use boa_engine::{js_string, Context, JsObject, JsString, JsValue};
use serde_json::{Map, Number, Value};

use crate::error::{BridgeError, Result};

/// The deepest nesting converted either way.
const MAX_DEPTH: usize = 128;

/// The largest integer a JavaScript number holds exactly (2⁵³).
const MAX_SAFE: f64 = 9_007_199_254_740_992.0;

const TO_JSON: &str = "JavaScript value to JSON";
const FROM_JSON: &str = "JSON to JavaScript value";

/// A path into a value, for error messages (`$.a.b[0]`).
#[derive(Default)]
struct Path<'a>(Vec<Seg<'a>>);

/// A key borrows from the JSON value when converting from JSON (no
/// allocation per key on the hook-call path).
enum Seg<'a> {
    Key(Cow<'a, str>),
    Index(u64),
}

impl Path<'_> {
    fn render(&self) -> String {
        let mut s = String::from("$");
        for seg in &self.0 {
            match seg {
                Seg::Key(k) => {
                    s.push('.');
                    s.push_str(k);
                }
                Seg::Index(i) => {
                    s.push('[');
                    s.push_str(&i.to_string());
                    s.push(']');
                }
            }
        }
        s
    }
}

fn refuse(direction: &'static str, path: &Path<'_>, reason: impl Into<String>) -> BridgeError {
    BridgeError::Conversion {
        direction,
        path: path.render(),
        reason: reason.into(),
    }
}

/// The JSON form of `value` (see the module docs).
///
/// # Errors
/// [`BridgeError::Conversion`] naming the path and what is allowed.
pub fn js_to_json(value: &JsValue, context: &mut Context) -> Result<Value> {
    let mut walk = ToJson {
        path: Path::default(),
        stack: Vec::new(),
        special: None,
    };
    Ok(walk.value(value, context)?.unwrap_or(Value::Null))
}

/// What [`js_to_json_with`] asks about every object before converting it:
/// given the object and its path (`$.steps[0].fn`), the JSON to put in its
/// place, or `None` to convert it as usual.
pub(crate) type Special<'f> =
    &'f mut dyn FnMut(&JsObject, &str, &mut Context) -> Result<Option<Value>>;

/// [`js_to_json`] with `special` deciding first for each object (functions
/// included): how a workflow definition turns its functions and agent
/// objects into markers and names.
///
/// # Errors
/// As [`js_to_json`], and what `special` returns.
pub(crate) fn js_to_json_with(
    value: &JsValue,
    context: &mut Context,
    special: Special<'_>,
) -> Result<Value> {
    let mut walk = ToJson {
        path: Path::default(),
        stack: Vec::new(),
        special: Some(special),
    };
    Ok(walk.value(value, context)?.unwrap_or(Value::Null))
}

/// The JavaScript form of `value`.
///
/// # Errors
/// [`BridgeError::Conversion`] when nesting is deeper than 128.
pub fn json_to_js(value: &Value, context: &mut Context) -> Result<JsValue> {
    from_json(value, context, &mut Path::default())
}

struct ToJson<'f> {
    path: Path<'static>,
    /// The objects on the path from the root, for cycle detection.
    stack: Vec<JsObject>,
    /// See [`js_to_json_with`].
    special: Option<Special<'f>>,
}

impl ToJson<'_> {
    /// `None` for `undefined` (left out of objects, `null` elsewhere).
    fn value(&mut self, value: &JsValue, context: &mut Context) -> Result<Option<Value>> {
        Ok(Some(match value.variant() {
            JsVariant::Undefined => return Ok(None),
            JsVariant::Null => Value::Null,
            JsVariant::Boolean(b) => Value::Bool(b),
            JsVariant::Integer32(i) => Value::from(i),
            JsVariant::Float64(f) => self.number(f)?,
            JsVariant::String(s) => Value::String(s.to_std_string_lossy()),
            JsVariant::BigInt(b) => {
                let Ok(i) = b.to_string().parse::<i64>() else {
                    return Err(refuse(
                        TO_JSON,
                        &self.path,
                        "a BigInt beyond 64 bits has no JSON form; convert it with String(n)",
                    ));
                };
                Value::from(i)
            }
            JsVariant::Symbol(_) => {
                return Err(refuse(
                    TO_JSON,
                    &self.path,
                    "a symbol has no JSON form; use a string",
                ))
            }
            JsVariant::Object(obj) => self.object(&obj, context)?,
        }))
    }

    fn number(&self, f: f64) -> Result<Value> {
        if !f.is_finite() {
            return Err(refuse(
                TO_JSON,
                &self.path,
                format!("{f} has no JSON form; only finite numbers convert"),
            ));
        }
        if f.fract() == 0.0 && f.abs() <= MAX_SAFE {
            #[allow(clippy::cast_possible_truncation)]
            return Ok(Value::from(f as i64));
        }
        Number::from_f64(f)
            .map(Value::Number)
            .ok_or_else(|| refuse(TO_JSON, &self.path, "not a finite number"))
    }

    fn object(&mut self, obj: &JsObject, context: &mut Context) -> Result<Value> {
        if let Some(special) = self.special.as_mut() {
            if let Some(v) = special(obj, &self.path.render(), context)? {
                return Ok(v);
            }
        }
        let kind = if obj.is_callable() {
            Some("a function has no JSON form; call it, or leave it out")
        } else if JsPromise::from_object(obj.clone()).is_ok() {
            Some("a Promise has no JSON form; await it first")
        } else if JsMap::from_object(obj.clone()).is_ok() {
            Some("a Map has no JSON form; convert it with Object.fromEntries(map)")
        } else if JsSet::from_object(obj.clone()).is_ok() {
            Some("a Set has no JSON form; convert it with [...set]")
        } else {
            None
        };
        if let Some(reason) = kind {
            return Err(refuse(TO_JSON, &self.path, reason));
        }
        if let Ok(date) = JsDate::from_object(obj.clone()) {
            return match date.to_iso_string(context) {
                Ok(v) => Ok(Value::String(
                    v.as_string()
                        .map(|s| s.to_std_string_lossy())
                        .unwrap_or_default(),
                )),
                Err(_) => Err(refuse(
                    TO_JSON,
                    &self.path,
                    "an invalid Date has no JSON form",
                )),
            };
        }
        if self.stack.iter().any(|o| JsObject::equals(o, obj)) {
            return Err(refuse(
                TO_JSON,
                &self.path,
                "a cycle: the value contains itself; JSON holds trees only",
            ));
        }
        if self.stack.len() >= MAX_DEPTH {
            return Err(refuse(
                TO_JSON,
                &self.path,
                format!("nesting deeper than {MAX_DEPTH} levels"),
            ));
        }
        self.stack.push(obj.clone());
        let out = if obj.is_array() {
            self.array(obj, context)
        } else {
            self.plain(obj, context)
        };
        self.stack.pop();
        out
    }

    fn get(&self, obj: &JsObject, key: PropertyKey, context: &mut Context) -> Result<JsValue> {
        obj.get(key, context).map_err(|e| {
            refuse(
                TO_JSON,
                &self.path,
                format!("reading the property threw: {e}"),
            )
        })
    }

    fn array(&mut self, obj: &JsObject, context: &mut Context) -> Result<Value> {
        let len = self
            .get(obj, js_string!("length").into(), context)?
            .as_number()
            .unwrap_or(0.0);
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
        let len = len.max(0.0) as u64;
        let mut items = Vec::with_capacity(usize::try_from(len.min(1 << 16)).unwrap_or(0));
        for i in 0..len {
            let v = self.get(obj, PropertyKey::from(i), context)?;
            self.path.0.push(Seg::Index(i));
            let item = self.value(&v, context);
            self.path.0.pop();
            items.push(item?.unwrap_or(Value::Null));
        }
        Ok(Value::Array(items))
    }

    fn plain(&mut self, obj: &JsObject, context: &mut Context) -> Result<Value> {
        let keys = obj.own_property_keys(context).map_err(|e| {
            refuse(
                TO_JSON,
                &self.path,
                format!("listing the properties threw: {e}"),
            )
        })?;
        let mut map = Map::new();
        for key in keys {
            let name = match &key {
                PropertyKey::String(s) => s.to_std_string_lossy(),
                PropertyKey::Index(i) => i.get().to_string(),
                PropertyKey::Symbol(_) => continue,
            };
            let enumerable = obj
                .borrow()
                .properties()
                .get(&key)
                .is_none_or(|d| d.enumerable().unwrap_or(true));
            if !enumerable {
                continue;
            }
            let v = self.get(obj, key, context)?;
            self.path.0.push(Seg::Key(Cow::Owned(name.clone())));
            let item = self.value(&v, context);
            self.path.0.pop();
            if let Some(item) = item? {
                map.insert(name, item);
            }
        }
        Ok(Value::Object(map))
    }
}

fn from_json<'a>(value: &'a Value, context: &mut Context, path: &mut Path<'a>) -> Result<JsValue> {
    if path.0.len() > MAX_DEPTH {
        return Err(refuse(
            FROM_JSON,
            path,
            format!("nesting deeper than {MAX_DEPTH} levels"),
        ));
    }
    Ok(match value {
        Value::Null => JsValue::null(),
        Value::Bool(b) => JsValue::from(*b),
        Value::Number(n) => match n.as_i64().and_then(|i| i32::try_from(i).ok()) {
            Some(i) => JsValue::from(i),
            None => JsValue::from(n.as_f64().unwrap_or(f64::NAN)),
        },
        Value::String(s) => JsValue::from(JsString::from(s.as_str())),
        Value::Array(items) => {
            let array =
                JsArray::new(context).map_err(|e| refuse(FROM_JSON, path, e.to_string()))?;
            for (i, item) in items.iter().enumerate() {
                path.0.push(Seg::Index(i as u64));
                let v = from_json(item, context, path);
                path.0.pop();
                array
                    .push(v?, context)
                    .map_err(|e| refuse(FROM_JSON, path, e.to_string()))?;
            }
            array.into()
        }
        Value::Object(map) => {
            let obj = JsObject::with_object_proto(context.intrinsics());
            for (k, item) in map {
                path.0.push(Seg::Key(Cow::Borrowed(k.as_str())));
                let v = from_json(item, context, path);
                path.0.pop();
                obj.create_data_property_or_throw(JsString::from(k.as_str()), v?, context)
                    .map_err(|e| refuse(FROM_JSON, path, e.to_string()))?;
            }
            obj.into()
        }
    })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn eval(source: &str, context: &mut Context) -> JsValue {
        context
            .eval(boa_engine::Source::from_bytes(source))
            .unwrap()
    }

    #[test]
    fn values_convert_to_json() {
        let mut ctx = Context::default();
        let check = |src: &str, expect: Value, ctx: &mut Context| {
            let v = eval(src, ctx);
            assert_eq!(js_to_json(&v, ctx).unwrap(), expect, "{src}");
        };
        check("undefined", Value::Null, &mut ctx);
        check("null", Value::Null, &mut ctx);
        check("3", json!(3), &mut ctx);
        check("3.0", json!(3), &mut ctx);
        check("-0", json!(0), &mut ctx);
        check("2.5", json!(2.5), &mut ctx);
        check("2 ** 60", json!(1_152_921_504_606_846_976.0_f64), &mut ctx);
        check("12n", json!(12), &mut ctx);
        check("'hé'", json!("hé"), &mut ctx);
        check(
            "({a: 1, b: [1, 'x', null, undefined], c: undefined, d: {e: true}})",
            json!({"a": 1, "b": [1, "x", null, null], "d": {"e": true}}),
            &mut ctx,
        );
        check("[,1]", json!([null, 1]), &mut ctx);
        check(
            "new Date(Date.UTC(2026, 0, 2, 3, 4, 5))",
            json!("2026-01-02T03:04:05.000Z"),
            &mut ctx,
        );
        check(
            "Object.defineProperty({a: 1}, 'hidden', {value: 2, enumerable: false})",
            json!({"a": 1}),
            &mut ctx,
        );
        check("({[Symbol('s')]: 1, k: 2})", json!({"k": 2}), &mut ctx);
        check("({get g() { return 7 }})", json!({"g": 7}), &mut ctx);
        check(
            "const shared = {x: 1}; ({a: shared, b: shared})",
            json!({"a": {"x": 1}, "b": {"x": 1}}),
            &mut ctx,
        );
    }

    #[test]
    fn unconvertible_values_are_refused_with_the_path() {
        let mut ctx = Context::default();
        let check = |src: &str, path: &str, needle: &str, ctx: &mut Context| {
            let v = eval(src, ctx);
            let err = js_to_json(&v, ctx).unwrap_err();
            let BridgeError::Conversion {
                path: p, reason, ..
            } = &err
            else {
                panic!("{src}: {err:?}")
            };
            assert_eq!(p, path, "{src}");
            assert!(reason.contains(needle), "{src}: {reason}");
        };
        check("({f: function() {}})", "$.f", "function", &mut ctx);
        check("[1, Symbol('x')]", "$[1]", "symbol", &mut ctx);
        check("({a: {b: [NaN]}})", "$.a.b[0]", "NaN", &mut ctx);
        check("({p: Promise.resolve(1)})", "$.p", "await it", &mut ctx);
        check("({m: new Map()})", "$.m", "Object.fromEntries", &mut ctx);
        check("({s: new Set()})", "$.s", "[...set]", &mut ctx);
        check("({d: new Date(NaN)})", "$.d", "invalid Date", &mut ctx);
        check("2n ** 70n", "$", "BigInt", &mut ctx);
        check(
            "const o = {a: {}}; o.a.back = o; o",
            "$.a.back",
            "cycle",
            &mut ctx,
        );
        check(
            "({get g() { throw new Error('no') }})",
            "$",
            "threw",
            &mut ctx,
        );
        check(
            "let d = {}; let cur = d; for (let i = 0; i < 200; i++) { cur.n = {}; cur = cur.n } d",
            "$.n.n.n.n.n.n.n.n.n.n.n.n.n.n.n.n.n.n.n.n.n.n.n.n.n.n.n.n.n.n.n.n.n.n.n.n.n.n.n.n.n.n.n.n.n.n.n.n.n.n.n.n.n.n.n.n.n.n.n.n.n.n.n.n.n.n.n.n.n.n.n.n.n.n.n.n.n.n.n.n.n.n.n.n.n.n.n.n.n.n.n.n.n.n.n.n.n.n.n.n.n.n.n.n.n.n.n.n.n.n.n.n.n.n.n.n.n.n.n.n.n.n.n.n.n.n.n.n",
            "deeper than 128",
            &mut ctx,
        );
    }

    #[test]
    fn json_round_trips_through_javascript() {
        let mut ctx = Context::default();
        let v = json!({"a": [1, 2.5, "s", null, true, {"b": []}], "big": 9_007_199_254_740_993_i64, "neg": -4});
        let js = json_to_js(&v, &mut ctx).unwrap();
        let back = js_to_json(&js, &mut ctx).unwrap();
        assert_eq!(back["a"], v["a"]);
        assert_eq!(back["neg"], json!(-4));
        // Beyond 2^53 the JavaScript number is not exact.
        assert!(back["big"].is_number());
    }
}
