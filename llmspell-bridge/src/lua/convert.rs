//! Lua ⇄ JSON conversion.
//!
//! The policy, in both directions:
//!
//! | Lua | JSON |
//! |---|---|
//! | `nil` (top level) | `null` |
//! | `JSON.null` (inside a table) | `null` |
//! | `true` / `false` | `true` / `false` |
//! | integer subtype (`42`) | integer (`42`) |
//! | float subtype (`42.0`, `0.5`) | float (`42.0`, `0.5`); NaN and ±inf are refused |
//! | string | string (must be valid UTF-8) |
//! | table with keys exactly `1..n`, n ≥ 1 | array |
//! | table marked as an array (`JSON.array(t)`, or any array decoded from JSON) | array, even when empty |
//! | empty unmarked table `{}` | **empty object** `{}` |
//! | other table | object: string keys as they are, integer keys as decimal strings |
//! | function, thread, userdata, a table key of another type | refused with the path |
//! | a table that contains itself | refused as a cycle, with the path |
//!
//! JSON to Lua: integers that fit `i64` become Lua integers, other numbers
//! floats; arrays become sequences carrying the array marker, so `[]`
//! round-trips; `null` inside an array becomes `JSON.null` so positions are
//! kept, and an object member whose value is `null` is left out of the table
//! (so `if ctx.data.error then` reads naturally). Nesting deeper than
//! [`MAX_DEPTH`] is refused in both directions.

use mlua::{Lua, LuaSerdeExt, Table, Value};
use serde_json::{Map, Number};

use super::hook_context::{pending, state_key, LazyContext};
use crate::error::{BridgeError, Result};

/// The deepest nesting converted in either direction.
pub const MAX_DEPTH: usize = 128;

const TO_JSON: &str = "Lua value to JSON";
const TO_LUA: &str = "JSON to Lua value";

fn conversion(direction: &'static str, path: &str, reason: impl Into<String>) -> BridgeError {
    BridgeError::Conversion {
        direction,
        path: if path.is_empty() {
            "$".to_owned()
        } else {
            format!("${path}")
        },
        reason: reason.into(),
    }
}

/// Converts a Lua value to JSON following the module policy.
///
/// # Errors
/// [`BridgeError::Conversion`] naming the path of the first value that cannot
/// be represented (a function, a cycle, a non-UTF-8 string, ...).
pub fn lua_to_json(lua: &Lua, value: &Value) -> Result<serde_json::Value> {
    let Value::Table(_) = value else {
        // No table: no metatable to look at.
        let cx = ToJson {
            lua,
            array_mt: None,
            lazy: None,
        };
        return to_json(value, &cx, &mut Vec::new(), &mut String::new());
    };
    let lazy = lua.app_data_ref::<LazyContext>().map(|l| l.clone());
    let cx = ToJson {
        lua,
        array_mt: Some(lua.array_metatable()),
        lazy,
    };
    let mut stack = Vec::new();
    let mut path = String::new();
    to_json(value, &cx, &mut stack, &mut path)
}

/// What a conversion to JSON needs to recognise special tables.
struct ToJson<'a> {
    lua: &'a Lua,
    array_mt: Option<Table>,
    lazy: Option<LazyContext>,
}

fn to_json(
    value: &Value,
    cx: &ToJson<'_>,
    stack: &mut Vec<*const std::ffi::c_void>,
    path: &mut String,
) -> Result<serde_json::Value> {
    Ok(match value {
        Value::Nil => serde_json::Value::Null,
        v if v.is_null() => serde_json::Value::Null,
        Value::Boolean(b) => serde_json::Value::Bool(*b),
        Value::Integer(i) => serde_json::Value::Number((*i).into()),
        Value::Number(n) => match Number::from_f64(*n) {
            Some(n) => serde_json::Value::Number(n),
            None => {
                return Err(conversion(
                    TO_JSON,
                    path,
                    format!("the number {n} has no JSON form; only finite numbers are allowed"),
                ))
            }
        },
        Value::String(s) => match s.to_str() {
            Ok(s) => serde_json::Value::String(s.to_owned()),
            Err(_) => {
                return Err(conversion(
                    TO_JSON,
                    path,
                    "the string is not valid UTF-8; JSON strings must be UTF-8",
                ))
            }
        },
        Value::Table(t) => table_to_json(t, cx, stack, path)?,
        other => {
            return Err(conversion(
                TO_JSON,
                path,
                format!(
                    "a value of type {} cannot be converted; only nil, booleans, numbers, strings and tables are allowed",
                    other.type_name()
                ),
            ))
        }
    })
}

fn table_to_json(
    table: &Table,
    cx: &ToJson<'_>,
    stack: &mut Vec<*const std::ffi::c_void>,
    path: &mut String,
) -> Result<serde_json::Value> {
    let ptr = table.to_pointer();
    if stack.contains(&ptr) {
        return Err(conversion(
            TO_JSON,
            path,
            "the table contains itself (a cycle); only trees of tables can be converted",
        ));
    }
    if stack.len() >= MAX_DEPTH {
        return Err(conversion(
            TO_JSON,
            path,
            format!("tables are nested deeper than {MAX_DEPTH} levels"),
        ));
    }
    stack.push(ptr);
    let out = table_body_to_json(table, cx, stack, path);
    stack.pop();
    out
}

fn table_body_to_json(
    table: &Table,
    cx: &ToJson<'_>,
    stack: &mut Vec<*const std::ffi::c_void>,
    path: &mut String,
) -> Result<serde_json::Value> {
    let mt = table.metatable();
    let marked_array = mt
        .as_ref()
        .is_some_and(|mt| cx.array_mt.as_ref() == Some(mt));
    // A lazy hook context (or its data): fill in what was never read.
    let mut unread = None;
    let mut lazy = false;
    if let (Some(mt), Some(l)) = (&mt, &cx.lazy) {
        if let Some(kind) = l.kind_of(mt) {
            lazy = true;
            unread = pending(l, cx.lua, table, kind)?;
        }
    }
    let hidden = Value::LightUserData(state_key());
    let mut entries: Vec<(Value, Value)> = Vec::new();
    for pair in table.pairs::<Value, Value>() {
        let pair = pair.map_err(|e| conversion(TO_JSON, path, e.to_string()))?;
        if lazy && pair.0 == hidden {
            continue;
        }
        entries.push(pair);
    }
    if lazy {
        let mut map = unread.unwrap_or_default();
        object_entries(&entries, &mut map, cx, stack, path)?;
        return Ok(serde_json::Value::Object(map));
    }
    let len = entries.len();
    let is_sequence = len > 0
        && entries.iter().all(|(k, _)| match k {
            Value::Integer(i) => *i >= 1 && usize::try_from(*i).is_ok_and(|i| i <= len),
            _ => false,
        });
    if marked_array || is_sequence {
        if !is_sequence && len > 0 {
            // A marked array with holes or non-index keys.
            return Err(conversion(
                TO_JSON,
                path,
                "the table is marked as an array but its keys are not exactly 1..n",
            ));
        }
        let mut items = vec![serde_json::Value::Null; len];
        for (k, v) in &entries {
            let Value::Integer(i) = k else { continue };
            let idx = usize::try_from(*i - 1).unwrap_or(0);
            let mark = path.len();
            path.push_str(&format!("[{idx}]"));
            items[idx] = to_json(v, cx, stack, path)?;
            path.truncate(mark);
        }
        return Ok(serde_json::Value::Array(items));
    }
    let mut map = Map::new();
    object_entries(&entries, &mut map, cx, stack, path)?;
    Ok(serde_json::Value::Object(map))
}

fn object_entries(
    entries: &[(Value, Value)],
    map: &mut Map<String, serde_json::Value>,
    cx: &ToJson<'_>,
    stack: &mut Vec<*const std::ffi::c_void>,
    path: &mut String,
) -> Result<()> {
    for (k, v) in entries {
        let key = match k {
            Value::String(s) => match s.to_str() {
                Ok(s) => s.to_owned(),
                Err(_) => {
                    return Err(conversion(
                        TO_JSON,
                        path,
                        "a table key is not valid UTF-8; JSON object keys must be UTF-8",
                    ))
                }
            },
            Value::Integer(i) => i.to_string(),
            other => {
                return Err(conversion(
                    TO_JSON,
                    path,
                    format!(
                        "a table key of type {} cannot become a JSON object key; only string and integer keys are allowed",
                        other.type_name()
                    ),
                ))
            }
        };
        let mark = path.len();
        path.push('.');
        path.push_str(&key);
        let value = to_json(v, cx, stack, path)?;
        path.truncate(mark);
        map.insert(key, value);
    }
    Ok(())
}

/// Converts JSON to a Lua value following the module policy.
///
/// # Errors
/// [`BridgeError::Conversion`] when nesting exceeds [`MAX_DEPTH`] or the Lua
/// state cannot allocate (memory limit).
pub fn json_to_lua(lua: &Lua, value: &serde_json::Value) -> Result<Value> {
    let array_mt = lua.array_metatable();
    let mut path = String::new();
    to_lua(lua, value, &array_mt, 0, &mut path)
}

fn to_lua(
    lua: &Lua,
    value: &serde_json::Value,
    array_mt: &Table,
    depth: usize,
    path: &mut String,
) -> Result<Value> {
    let lua_err = |path: &str, e: mlua::Error| conversion(TO_LUA, path, e.to_string());
    Ok(match value {
        serde_json::Value::Null => Value::Nil,
        serde_json::Value::Bool(b) => Value::Boolean(*b),
        serde_json::Value::Number(n) => match n.as_i64() {
            Some(i) => Value::Integer(i),
            None => Value::Number(n.as_f64().unwrap_or(f64::NAN)),
        },
        serde_json::Value::String(s) => {
            Value::String(lua.create_string(s).map_err(|e| lua_err(path, e))?)
        }
        serde_json::Value::Array(items) => {
            if depth >= MAX_DEPTH {
                return Err(conversion(
                    TO_LUA,
                    path,
                    format!("arrays and objects are nested deeper than {MAX_DEPTH} levels"),
                ));
            }
            let t = lua
                .create_table_with_capacity(items.len(), 0)
                .map_err(|e| lua_err(path, e))?;
            for (i, item) in items.iter().enumerate() {
                let mark = path.len();
                path.push_str(&format!("[{i}]"));
                let v = match to_lua(lua, item, array_mt, depth + 1, path)? {
                    Value::Nil => Value::NULL,
                    v => v,
                };
                t.raw_set(i + 1, v).map_err(|e| lua_err(path, e))?;
                path.truncate(mark);
            }
            t.set_metatable(Some(array_mt.clone()))
                .map_err(|e| lua_err(path, e))?;
            Value::Table(t)
        }
        serde_json::Value::Object(map) => {
            if depth >= MAX_DEPTH {
                return Err(conversion(
                    TO_LUA,
                    path,
                    format!("arrays and objects are nested deeper than {MAX_DEPTH} levels"),
                ));
            }
            let t = lua
                .create_table_with_capacity(0, map.len())
                .map_err(|e| lua_err(path, e))?;
            for (k, v) in map {
                if v.is_null() {
                    continue;
                }
                let mark = path.len();
                path.push('.');
                path.push_str(k);
                let v = to_lua(lua, v, array_mt, depth + 1, path)?;
                t.raw_set(k.as_str(), v).map_err(|e| lua_err(path, e))?;
                path.truncate(mark);
            }
            Value::Table(t)
        }
    })
}
