//! OTLP/HTTP span export to a loopback receiver the test runs.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::process::Command;
use std::sync::{Arc, Mutex};

use serde_json::Value;

use super::write;

/// The requests a receiver got: (path, JSON body).
type Received = Arc<Mutex<Vec<(String, Value)>>>;

/// A minimal OTLP/HTTP (JSON) receiver: every request body it gets.
fn receiver() -> (String, Received) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let got = Arc::new(Mutex::new(Vec::new()));
    let sink = Arc::clone(&got);
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(stream) = stream else { return };
            let sink = Arc::clone(&sink);
            std::thread::spawn(move || {
                let mut w = stream.try_clone().unwrap();
                let mut r = BufReader::new(stream);
                loop {
                    let mut request_line = String::new();
                    if r.read_line(&mut request_line).unwrap_or(0) == 0 {
                        return;
                    }
                    let mut len = 0;
                    loop {
                        let mut h = String::new();
                        r.read_line(&mut h).unwrap();
                        let h = h.trim_end();
                        if h.is_empty() {
                            break;
                        }
                        if let Some((k, v)) = h.split_once(':') {
                            if k.eq_ignore_ascii_case("content-length") {
                                len = v.trim().parse().unwrap();
                            }
                        }
                    }
                    let mut body = vec![0; len];
                    r.read_exact(&mut body).unwrap();
                    let path = request_line.split(' ').nth(1).unwrap_or("").to_owned();
                    let json = serde_json::from_slice(&body).unwrap_or(Value::Null);
                    sink.lock().unwrap().push((path, json));
                    let _ = w.write_all(
                        b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 2\r\n\r\n{}",
                    );
                }
            });
        }
    });
    (url, got)
}

fn attr<'a>(span: &'a Value, key: &str) -> Option<&'a Value> {
    span["attributes"]
        .as_array()?
        .iter()
        .find(|a| a["key"] == key)
        .map(|a| &a["value"])
}

#[test]
fn spans_are_exported_with_gen_ai_attributes_and_parent_links() {
    let (url, got) = receiver();
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "llmspell.toml",
        "[store]\nevents = \"memory\"\nstate = \"memory\"\n[telemetry]\nservice_name = \"otlp-test\"\nprotocol = \"http/json\"\n",
    );
    write(
        dir.path(),
        "t.lua",
        "Hook.register('BeforeToolExecution', function(ctx)\n\
           if ctx.data.tool_name == 'calculator' then Tool.invoke('uuid_generator', {}) end\n\
         end, {name = 'nester'})\n\
         assert(Tool.invoke('calculator', {expression = '1 + 1'}).result == 2)\n\
         pcall(Tool.invoke, 'calculator', {expression = '1 +'})\n",
    );
    let out = Command::new(env!("CARGO_BIN_EXE_llmspell"))
        .args(["run", "t.lua"])
        .current_dir(dir.path())
        .env("OTEL_EXPORTER_OTLP_ENDPOINT", &url)
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let got = got.lock().unwrap();
    assert!(!got.is_empty(), "no export arrived");
    let mut spans = Vec::new();
    for (path, body) in got.iter() {
        assert_eq!(path, "/v1/traces");
        for rs in body["resourceSpans"].as_array().unwrap() {
            let service = rs["resource"]["attributes"]
                .as_array()
                .unwrap()
                .iter()
                .find(|a| a["key"] == "service.name")
                .unwrap();
            assert_eq!(service["value"]["stringValue"], "otlp-test");
            for ss in rs["scopeSpans"].as_array().unwrap() {
                spans.extend(ss["spans"].as_array().unwrap().iter().cloned());
            }
        }
    }
    let named = |n: &str| spans.iter().filter(|s| s["name"] == n).collect::<Vec<_>>();
    let calcs = named("execute_tool calculator");
    let uuids = named("execute_tool uuid_generator");
    assert_eq!((calcs.len(), uuids.len()), (2, 2), "{spans:#?}");
    let ok = calcs
        .iter()
        .find(|s| attr(s, "otel.status_code").is_none() && s["status"]["code"] != 2)
        .copied();
    let ok = ok.unwrap_or(calcs[0]);
    assert_eq!(
        attr(ok, "gen_ai.operation.name").unwrap()["stringValue"],
        "execute_tool"
    );
    assert_eq!(
        attr(ok, "gen_ai.tool.name").unwrap()["stringValue"],
        "calculator"
    );
    assert_eq!(
        attr(ok, "llmspell.component.type").unwrap()["stringValue"],
        "tool"
    );
    assert_eq!(attr(ok, "llmspell.language").unwrap()["stringValue"], "lua");
    assert!(attr(ok, "llmspell.correlation_id").is_some());
    // Each execution of the script hook is a span of its own, a child of
    // the tool call it ran for.
    let hooks = named("hook nester");
    assert!(hooks.len() >= 2, "{spans:#?}");
    for h in &hooks {
        assert_eq!(
            attr(h, "llmspell.hook.name").unwrap()["stringValue"],
            "nester"
        );
        assert_eq!(
            attr(h, "llmspell.hook.point").unwrap()["stringValue"],
            "BeforeToolExecution"
        );
        assert_eq!(
            attr(h, "llmspell.hook.language").unwrap()["stringValue"],
            "lua"
        );
        assert_eq!(
            attr(h, "llmspell.hook.result").unwrap()["stringValue"],
            "continue"
        );
        let parent = calcs
            .iter()
            .chain(uuids.iter())
            .find(|c| c["spanId"] == h["parentSpanId"])
            .unwrap_or_else(|| panic!("no operation parent for {h:#}"));
        assert_eq!(parent["traceId"], h["traceId"]);
    }
    // The nested call ran inside the hook: its span is a child of the
    // hook's span, itself a child of the calculator call's, in one trace.
    for u in &uuids {
        let hook = hooks
            .iter()
            .find(|h| h["spanId"] == u["parentSpanId"])
            .unwrap_or_else(|| panic!("no hook parent for {u:#}"));
        let call = calcs
            .iter()
            .find(|c| c["spanId"] == hook["parentSpanId"])
            .unwrap_or_else(|| panic!("no calculator parent for {hook:#}"));
        assert_eq!(call["traceId"], u["traceId"]);
    }
    // The failed call carries the error.
    let failed = calcs
        .iter()
        .find(|c| attr(c, "error.type").is_some())
        .unwrap_or_else(|| panic!("{calcs:#?}"));
    assert_eq!(attr(failed, "error.type").unwrap()["stringValue"], "failed");
}
