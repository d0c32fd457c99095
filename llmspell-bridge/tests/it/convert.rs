use llmspell_bridge::lua::convert::{json_to_lua, lua_to_json};
use llmspell_bridge::BridgeError;
use mlua::Lua;
use proptest::prelude::*;
use serde_json::{json, Value};

use super::engine;

fn lua() -> Lua {
    Lua::new()
}

fn round_trip(lua: &Lua, v: &Value) -> Value {
    let l = json_to_lua(lua, v).unwrap();
    lua_to_json(lua, &l).unwrap()
}

#[test]
fn table_shapes() {
    let lua = lua();
    let check = |src: &str, expect: Value| {
        let v: mlua::Value = lua.load(src).eval().unwrap();
        assert_eq!(lua_to_json(&lua, &v).unwrap(), expect, "{src}");
    };
    check("return {}", json!({}));
    check("return {1, 2, 3}", json!([1, 2, 3]));
    check(
        "return {a = 1, b = {c = true}}",
        json!({"a": 1, "b": {"c": true}}),
    );
    check("return {[1] = 'a', [3] = 'c'}", json!({"1": "a", "3": "c"}));
    check("return {1, 2, x = 3}", json!({"1": 1, "2": 2, "x": 3}));
    check("return {1.5, 2.0, 3}", json!([1.5, 2.0, 3]));
    check("return 'héllo'", json!("héllo"));
    check("return nil", Value::Null);
}

#[test]
fn integers_and_floats_keep_their_kind() {
    let lua = lua();
    let v = round_trip(
        &lua,
        &json!({"i": 3, "f": 3.0, "big": 9007199254740993_i64}),
    );
    assert!(v["i"].is_i64());
    assert!(v["f"].is_f64());
    assert_eq!(v["big"], json!(9007199254740993_i64));
}

#[test]
fn empty_arrays_and_nulls_in_arrays_round_trip() {
    let lua = lua();
    assert_eq!(round_trip(&lua, &json!([])), json!([]));
    assert_eq!(round_trip(&lua, &json!({"a": []})), json!({"a": []}));
    assert_eq!(round_trip(&lua, &json!([1, null, 3])), json!([1, null, 3]));
    // Object members that are null are left out.
    assert_eq!(
        round_trip(&lua, &json!({"a": null, "b": 1})),
        json!({"b": 1})
    );
}

#[test]
fn cycles_functions_and_bad_values_are_refused_with_a_path() {
    let lua = lua();
    let bad = |src: &str, needle: &str, path: &str| {
        let v: mlua::Value = lua.load(src).eval().unwrap();
        let err = lua_to_json(&lua, &v).unwrap_err();
        match &err {
            BridgeError::Conversion {
                path: p, reason, ..
            } => {
                assert_eq!(p, path, "{src}: {err}");
                assert!(reason.contains(needle), "{src}: {err}");
            }
            other => panic!("{src}: unexpected {other}"),
        }
    };
    bad("local t = {} t.self = t return t", "cycle", "$.self");
    bad("return {a = {b = {print}}}", "function", "$.a.b[0]");
    bad("return {x = 0/0}", "no JSON form", "$.x");
    bad("return {[true] = 1}", "boolean", "$");
    bad("return {s = '\\xff'}", "UTF-8", "$.s");
    bad("return coroutine.create(print)", "thread", "$");
    // Shared (non-cyclic) subtables are fine.
    let v: mlua::Value = lua
        .load("local s = {1} return {a = s, b = s}")
        .eval()
        .unwrap();
    assert_eq!(lua_to_json(&lua, &v).unwrap(), json!({"a": [1], "b": [1]}));
}

#[test]
fn depth_is_bounded() {
    let lua = lua();
    let mut deep = json!(1);
    for _ in 0..200 {
        deep = json!([deep]);
    }
    assert!(matches!(
        json_to_lua(&lua, &deep),
        Err(BridgeError::Conversion { .. })
    ));
}

#[tokio::test]
async fn json_global() {
    let e = engine();
    let out = e
        .eval(
            r#"
            local s = JSON.encode({a = {1, 2}, e = JSON.array(), n = JSON.null})
            local back = JSON.decode(s)
            local ok, err = pcall(JSON.encode, {f = print})
            local ok2, err2 = pcall(JSON.decode, "{nope")
            return {s = JSON.decode(s), n = #back.a, ok = ok, err = tostring(err),
                    ok2 = ok2, err2 = tostring(err2), pretty = JSON.encode({x = 1}, {pretty = true})}
        "#,
        )
        .await
        .unwrap();
    assert_eq!(out["s"], json!({"a": [1, 2], "e": []}));
    assert_eq!(out["n"], json!(2));
    assert_eq!(out["ok"], json!(false));
    assert!(out["err"].as_str().unwrap().contains("function"), "{out}");
    assert_eq!(out["ok2"], json!(false));
    assert!(
        out["err2"].as_str().unwrap().contains("not valid JSON"),
        "{out}"
    );
    assert_eq!(out["pretty"], json!("{\n  \"x\": 1\n}"));
}

#[tokio::test]
async fn logger_global_accepts_messages_and_fields() {
    let e = engine();
    let out = e
        .eval("Logger.info('hello', {n = 1}) Logger.warn(42) Logger.error('e') Logger.debug('d') return true")
        .await
        .unwrap();
    assert_eq!(out, json!(true));
    let err = e.eval("Logger.info('x', {f = print})").await.unwrap_err();
    assert!(err.to_string().contains("function"), "{err}");
}

fn arb_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|i| json!(i)),
        (-1e12f64..1e12).prop_map(|f| json!(f)),
        "[a-zA-Z0-9 éü]{0,12}".prop_map(Value::String),
    ];
    leaf.prop_recursive(4, 64, 6, |inner| {
        prop_oneof![
            prop::collection::vec(prop_oneof![inner.clone(), Just(Value::Null)], 0..6)
                .prop_map(Value::Array),
            prop::collection::btree_map("[a-z_]{1,6}", inner, 0..6)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

proptest! {
    #[test]
    fn json_lua_json_round_trips(v in arb_json()) {
        let lua = lua();
        prop_assert_eq!(round_trip(&lua, &v), v);
    }
}
