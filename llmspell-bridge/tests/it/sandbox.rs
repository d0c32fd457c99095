use serde_json::json;

use super::engine;

#[tokio::test]
async fn dangerous_functions_are_absent() {
    let e = engine();
    let out = e
        .eval(
            r#"
            return {
                io = io == nil,
                execute = os.execute == nil,
                remove = os.remove == nil,
                rename = os.rename == nil,
                exit = os.exit == nil,
                getenv = os.getenv == nil,
                tmpname = os.tmpname == nil,
                package = package == nil,
                debug = debug == nil,
                dofile = dofile == nil,
                loadfile = loadfile == nil,
                dump = string.dump == nil,
            }"#,
        )
        .await
        .unwrap();
    for (name, absent) in out.as_object().unwrap() {
        assert_eq!(absent, &json!(true), "{name} should be absent");
    }
}

#[tokio::test]
async fn clock_and_calendar_remain() {
    let e = engine();
    let out = e
        .eval("return {type(os.time()), type(os.clock()), type(os.date('%Y')), os.difftime(5, 3)}")
        .await
        .unwrap();
    assert_eq!(out, json!(["number", "number", "string", 2.0]));
}

#[tokio::test]
async fn require_is_refused_with_a_clear_message() {
    let e = engine();
    let err = e.eval("return require('socket.core')").await.unwrap_err();
    let msg = err.to_string();
    assert!(msg.contains("require(\"socket.core\") is refused"), "{msg}");
}

#[tokio::test]
async fn load_accepts_text_and_refuses_binary_and_readers() {
    let e = engine();
    assert_eq!(
        e.eval("return load('return 1 + 1')()").await.unwrap(),
        json!(2)
    );
    // The loaded chunk sees the sandbox globals, not a full environment.
    assert_eq!(
        e.eval("return load('return io == nil')()").await.unwrap(),
        json!(true)
    );
    let out = e
        .eval("local f, err = pcall(load, 'return 1', 'x', 'b') return tostring(err)")
        .await
        .unwrap();
    assert!(
        out.as_str().unwrap().contains("binary chunks are refused"),
        "{out}"
    );
    let out = e
        .eval("local ok, err = pcall(load, function() return nil end) return tostring(err)")
        .await
        .unwrap();
    assert!(out.as_str().unwrap().contains("only source text"), "{out}");
    // A binary chunk passed as text is refused by the text-only mode.
    let out = e
        .eval(r#"local f, err = load("\27Lua") return err"#)
        .await
        .unwrap();
    assert!(out.as_str().unwrap().contains("binary"), "{out}");
}

#[tokio::test]
async fn script_errors_carry_a_traceback() {
    let e = engine();
    let err = e
        .run_script(
            "local function inner() error('boom') end\nlocal function outer() inner() end\nouter()",
            "tb.lua",
            &[],
        )
        .await
        .unwrap_err();
    let msg = err.to_string();
    assert!(msg.contains("tb.lua:1: boom"), "{msg}");
    assert!(msg.contains("stack traceback"), "{msg}");
    assert!(msg.contains("outer"), "{msg}");
}

#[tokio::test]
async fn script_arguments_are_visible() {
    let e = engine();
    let out = e
        .run_script(
            "local a, b = ... return {a, b, arg[0], arg[1], #arg}",
            "args.lua",
            &["x".into(), "y".into()],
        )
        .await
        .unwrap();
    assert_eq!(out, json!(["x", "y", "args.lua", "x", 2]));
}

#[tokio::test]
async fn rust_calls_a_script_function() {
    let e = engine();
    e.eval("function double(t) return {v = t.v * 2} end NOT_A_FN = 3")
        .await
        .unwrap();
    assert_eq!(
        e.call_function("double", &json!({"v": 21})).await.unwrap(),
        json!({"v": 42})
    );
    let err = e.call_function("NOT_A_FN", &json!(null)).await.unwrap_err();
    assert!(
        err.to_string()
            .contains("is not a function (its type is integer)"),
        "{err}"
    );
    let err = e.call_function("missing", &json!(null)).await.unwrap_err();
    assert!(err.to_string().contains("its type is nil"), "{err}");
}
