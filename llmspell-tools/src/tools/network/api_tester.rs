//! `api_tester`: one request plus assertions on its answer.

use std::time::Duration;

use async_trait::async_trait;
use reqwest::header::{HeaderValue, CONTENT_TYPE};
use serde::Deserialize;
use serde_json::{json, Map, Number, Value};
use serde_json_path::JsonPath;

use super::client::{millis, HttpClient, Request};
use super::{
    auth_schema, method_of, request_headers, target_of, timeout_of, url_schema, web_metadata, Auth,
};
use crate::params::{decode, whole};
use crate::{Result, Tool, ToolContext, ToolError, ToolMetadata, ToolsConfig};

const NAME: &str = "api_tester";
const METHODS: &[&str] = &["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"];

/// Sends one request and checks the answer against `expect`: the status
/// (one code or a list), headers (exact value, or `true` for "present"),
/// JSON paths (RFC 9535; each must select exactly the expected value),
/// text the body contains, and the longest latency. Returns a report —
/// `passed` and one entry per assertion — rather than failing: a failed
/// assertion is a test result, not a tool error.
#[derive(Debug)]
pub struct ApiTesterTool {
    metadata: ToolMetadata,
    client: HttpClient,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Params {
    url: Option<String>,
    input: Option<String>,
    method: Option<String>,
    headers: Option<Map<String, Value>>,
    body: Option<Value>,
    auth: Option<Auth>,
    #[serde(default)]
    expect: Expect,
    timeout_ms: Option<Number>,
    timeout: Option<Number>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct Expect {
    status: Option<Value>,
    headers: Option<Map<String, Value>>,
    json: Option<Map<String, Value>>,
    body_contains: Option<String>,
    max_latency_ms: Option<Number>,
}

impl ApiTesterTool {
    /// The tool with its own client for `config.network`.
    #[must_use]
    pub fn new(config: &ToolsConfig) -> Self {
        Self::with_client(HttpClient::new(&config.network))
    }

    pub(crate) fn with_client(client: HttpClient) -> Self {
        let metadata = web_metadata(
            NAME,
            "Test an HTTP API: send a request and assert on the status, headers, JSON paths, body \
             text and latency; returns a pass/fail report with every assertion.",
            url_schema(
            &client,
            json!({
                "method": {"type": "string", "default": "GET"},
                "headers": {"type": "object", "additionalProperties": {"type": ["string", "number", "boolean"]}},
                "body": {"description": "sent as JSON (a string is sent as text)"},
                "auth": auth_schema(),
                "expect": {
                    "type": "object",
                    "properties": {
                        "status": {"type": ["integer", "array"], "items": {"type": "integer"}, "description": "expected status code, or a list of acceptable codes"},
                        "headers": {"type": "object", "description": "header name -> exact value, or true for present"},
                        "json": {"type": "object", "description": "JSONPath (RFC 9535, e.g. `$.user.id`) -> expected value"},
                        "body_contains": {"type": "string"},
                        "max_latency_ms": {"type": "number", "minimum": 0}
                    },
                    "additionalProperties": false
                }
            }),
            &[],
            ),
        )
        .with_result(json!({
            "type": "object",
            "properties": {
                "passed": {"type": "boolean"},
                "assertions": {"type": "array", "items": {"type": "object", "properties": {
                    "name": {"type": "string"}, "passed": {"type": "boolean"},
                    "expected": {}, "actual": {}, "message": {"type": "string"}
                }}},
                "passed_count": {"type": "integer"},
                "failed_count": {"type": "integer"},
                "request": {"type": "object"},
                "response": {"type": "object"},
                "timing": {"type": "object"}
            },
            "required": ["passed", "assertions", "response"]
        }));
        Self { metadata, client }
    }
}

#[async_trait]
impl Tool for ApiTesterTool {
    fn metadata(&self) -> &ToolMetadata {
        &self.metadata
    }

    async fn execute(&self, params: Value, _ctx: &ToolContext) -> Result<Value> {
        let p: Params = decode(NAME, params)?;
        let url = target_of(NAME, &self.client, p.url, p.input)?;
        let method_name = p.method.as_deref().unwrap_or("GET");
        let method = method_of(NAME, "method", method_name, METHODS)?;
        let timeout = timeout_of(
            NAME,
            &self.client,
            p.timeout_ms.as_ref(),
            p.timeout.as_ref(),
        )?;
        // Compile the assertions before sending anything.
        let statuses = expected_statuses(p.expect.status.as_ref())?;
        let mut paths = Vec::new();
        for (path, expected) in p.expect.json.iter().flatten() {
            let compiled = JsonPath::parse(path).map_err(|e| {
                ToolError::invalid_parameter(
                    NAME,
                    "expect",
                    format!("`{path}` is not a JSONPath: {e}"),
                )
            })?;
            paths.push((path.clone(), compiled, expected.clone()));
        }
        let max_latency = match &p.expect.max_latency_ms {
            Some(n) => Some(Duration::from_millis(
                whole(NAME, "expect", n, 0, i64::MAX)?.unsigned_abs(),
            )),
            None => None,
        };
        let mut headers = request_headers(NAME, p.headers.as_ref(), p.auth.as_ref())?;
        let body = match p.body {
            None | Some(Value::Null) => None,
            Some(Value::String(text)) => Some(text.into_bytes()),
            Some(other) => {
                headers
                    .entry(CONTENT_TYPE)
                    .or_insert(HeaderValue::from_static("application/json"));
                Some(other.to_string().into_bytes())
            }
        };
        let request = Request {
            method,
            url: url.clone(),
            headers,
            body,
            timeout,
        };
        let fetched = self.client.send(NAME, &request).await?;
        let parsed = fetched.json();
        let mut report = Vec::new();
        let status = fetched.status.as_u16();
        if let Some(expected) = statuses {
            let passed = expected.contains(&status);
            report.push(assertion(
                "status",
                passed,
                json!(if expected.len() == 1 {
                    json!(expected[0])
                } else {
                    json!(expected)
                }),
                json!(status),
                if passed {
                    "status matches".into()
                } else {
                    format!("expected status {expected:?}, got {status}")
                },
            ));
        }
        for (name, expected) in p.expect.headers.iter().flatten() {
            let actual = fetched
                .headers
                .get(name.as_str())
                .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned());
            let passed = match (expected, &actual) {
                (Value::Bool(true), Some(_)) | (Value::Bool(false), None) => true,
                (Value::String(want), Some(got)) => want == got,
                _ => false,
            };
            report.push(assertion(
                &format!("header {name}"),
                passed,
                expected.clone(),
                json!(actual),
                if passed {
                    "header matches".into()
                } else {
                    format!("header `{name}` is {actual:?}")
                },
            ));
        }
        for (path, compiled, expected) in &paths {
            let (passed, actual, message) = match &parsed {
                None => (false, Value::Null, "the body is not JSON".to_owned()),
                Some(doc) => {
                    let found: Vec<&Value> = compiled.query(doc).all();
                    match found.as_slice() {
                        [one] if *one == expected => {
                            (true, (*one).clone(), "value matches".to_owned())
                        }
                        [one] => (false, (*one).clone(), format!("`{path}` is {one}")),
                        [] => (false, Value::Null, format!("`{path}` selects nothing")),
                        many => (
                            false,
                            json!(many),
                            format!("`{path}` selects {} values, expected one", many.len()),
                        ),
                    }
                }
            };
            report.push(assertion(
                &format!("json {path}"),
                passed,
                expected.clone(),
                actual,
                message,
            ));
        }
        if let Some(needle) = &p.expect.body_contains {
            let passed = fetched.text().contains(needle.as_str());
            report.push(assertion(
                "body_contains",
                passed,
                json!(needle),
                json!(passed),
                if passed {
                    "the body contains the text".into()
                } else {
                    "the body does not contain the text".into()
                },
            ));
        }
        if let Some(max) = max_latency {
            let passed = fetched.elapsed <= max;
            report.push(assertion(
                "max_latency_ms",
                passed,
                json!(millis(max)),
                json!(millis(fetched.elapsed)),
                if passed {
                    "fast enough".into()
                } else {
                    format!("took {:.1} ms", millis(fetched.elapsed))
                },
            ));
        }
        let failed = report.iter().filter(|a| a["passed"] == false).count();
        Ok(json!({
            "passed": failed == 0,
            "passed_count": report.len() - failed,
            "failed_count": failed,
            "assertions": report,
            "request": {"method": method_name.to_ascii_uppercase(), "url": url.as_str()},
            "response": fetched.to_json(),
            "timing": {"duration_ms": millis(fetched.elapsed)},
        }))
    }
}

fn assertion(name: &str, passed: bool, expected: Value, actual: Value, message: String) -> Value {
    json!({"name": name, "passed": passed, "expected": expected, "actual": actual, "message": message})
}

/// The acceptable status codes, if any were given.
fn expected_statuses(status: Option<&Value>) -> Result<Option<Vec<u16>>> {
    let bad = || {
        ToolError::invalid_parameter(
            NAME,
            "expect",
            "`status` must be a status code (100-599) or a list of them",
        )
    };
    let code = |v: &Value| {
        v.as_u64()
            .and_then(|n| u16::try_from(n).ok())
            .filter(|n| (100..600).contains(n))
            .ok_or_else(bad)
    };
    match status {
        None => Ok(None),
        Some(Value::Array(items)) if !items.is_empty() => {
            items.iter().map(code).collect::<Result<Vec<_>>>().map(Some)
        }
        Some(v @ Value::Number(_)) => Ok(Some(vec![code(v)?])),
        Some(_) => Err(bad()),
    }
}
