//! `http_request`: one HTTP request with headers, a body, authentication
//! and bounded retries.

use async_trait::async_trait;
use reqwest::header::{HeaderValue, CONTENT_TYPE};
use serde::Deserialize;
use serde_json::{json, Map, Number, Value};

use super::client::{HttpClient, Request};
use super::{
    auth_schema, method_of, request_headers, retries_of, target_of, timeout_of, url_schema,
    web_metadata, Auth,
};
use crate::params::decode;
use crate::{Result, Tool, ToolContext, ToolError, ToolMetadata, ToolsConfig};

const NAME: &str = "http_request";
const METHODS: &[&str] = &["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"];

/// Sends one HTTP request (GET, POST, PUT, PATCH, DELETE, HEAD, OPTIONS)
/// with headers, query parameters, a JSON, form or raw body, bearer or
/// basic authentication, and retries on 429 and 5xx answers that honour
/// `Retry-After`. Any answer is a result (check `success`); only transport
/// failures and policy refusals are errors.
#[derive(Debug)]
pub struct HttpRequestTool {
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
    query: Option<Map<String, Value>>,
    body: Option<Value>,
    body_type: Option<BodyType>,
    auth: Option<Auth>,
    max_retries: Option<Number>,
    retry_delay_ms: Option<Number>,
    timeout_ms: Option<Number>,
    timeout: Option<Number>,
}

#[derive(Deserialize, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
enum BodyType {
    Json,
    Form,
    Text,
    Raw,
}

impl HttpRequestTool {
    /// The tool with its own client for `config.network`.
    #[must_use]
    pub fn new(config: &ToolsConfig) -> Self {
        Self::with_client(HttpClient::new(&config.network))
    }

    pub(crate) fn with_client(client: HttpClient) -> Self {
        let max_retries = client.policy().max_retries;
        let metadata = web_metadata(
            NAME,
            "Send an HTTP request (GET, POST, PUT, PATCH, DELETE, HEAD, OPTIONS) with headers, query \
             parameters, a JSON/form/raw body and bearer or basic auth; retries 429 and 5xx \
             answers honouring Retry-After. Returns status, headers and body (parsed when JSON).",
            url_schema(
            &client,
            json!({
                "method": {"type": "string", "enum": METHODS.iter().flat_map(|m| [m.to_string(), m.to_ascii_lowercase()]).collect::<Vec<_>>(), "default": "GET"},
                "headers": {"type": "object", "additionalProperties": {"type": ["string", "number", "boolean"]}},
                "query": {"type": "object", "additionalProperties": {"type": ["string", "number", "boolean"]}, "description": "query parameters added to the URL"},
                "body": {"description": "request body: JSON (object, array, ...), a form object, or text"},
                "body_type": {"enum": ["json", "form", "text", "raw"], "description": "how `body` is sent; default json, or text when `body` is a string"},
                "auth": auth_schema(),
                "max_retries": {"type": "number", "minimum": 0, "maximum": max_retries, "default": 0, "description": "retries on 429, 5xx and connection failures"},
                "retry_delay_ms": {"type": "number", "minimum": 0, "maximum": 60000, "default": 500, "description": "first retry wait without Retry-After; doubles each time"}
            }),
            &[],
            ),
        )
        .with_result(json!({
            "type": "object",
            "properties": {
                "status_code": {"type": "integer"},
                "status_text": {"type": "string"},
                "success": {"type": "boolean"},
                "headers": {"type": "object"},
                "body": {},
                "body_is_json": {"type": "boolean"},
                "content_type": {"type": ["string", "null"]},
                "url": {"type": "string"},
                "elapsed_ms": {"type": "number"},
                "attempts": {"type": "integer"}
            },
            "required": ["status_code", "success", "headers", "body", "url", "attempts"]
        }));
        Self { metadata, client }
    }
}

#[async_trait]
impl Tool for HttpRequestTool {
    fn metadata(&self) -> &ToolMetadata {
        &self.metadata
    }

    async fn execute(&self, params: Value, _ctx: &ToolContext) -> Result<Value> {
        let p: Params = decode(NAME, params)?;
        let mut url = target_of(NAME, &self.client, p.url, p.input)?;
        let method = method_of(
            NAME,
            "method",
            p.method.as_deref().unwrap_or("GET"),
            METHODS,
        )?;
        let timeout = timeout_of(
            NAME,
            &self.client,
            p.timeout_ms.as_ref(),
            p.timeout.as_ref(),
        )?;
        let (max_retries, delay) = retries_of(
            NAME,
            &self.client,
            p.max_retries.as_ref(),
            p.retry_delay_ms.as_ref(),
            0,
        )?;
        if let Some(query) = &p.query {
            let mut pairs = url.query_pairs_mut();
            for (k, v) in query {
                pairs.append_pair(k, &scalar(NAME, "query", k, v)?);
            }
        }
        let mut headers = request_headers(NAME, p.headers.as_ref(), p.auth.as_ref())?;
        let body = match &p.body {
            None | Some(Value::Null) => None,
            Some(body) => {
                let kind = p.body_type.unwrap_or(if body.is_string() {
                    BodyType::Text
                } else {
                    BodyType::Json
                });
                let (bytes, content_type) = encode_body(kind, body)?;
                if !headers.contains_key(CONTENT_TYPE) {
                    headers.insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
                }
                Some(bytes)
            }
        };
        let request = Request {
            method,
            url,
            headers,
            body,
            timeout,
        };
        let (fetched, attempts) = self
            .client
            .send_with_retries(NAME, &request, max_retries, delay)
            .await?;
        let mut out = fetched.to_json();
        out["attempts"] = json!(attempts);
        Ok(out)
    }
}

/// A query or form value as text.
pub(super) fn scalar(tool: &str, parameter: &str, key: &str, value: &Value) -> Result<String> {
    match value {
        Value::String(s) => Ok(s.clone()),
        Value::Number(n) => Ok(n.to_string()),
        Value::Bool(b) => Ok(b.to_string()),
        other => Err(ToolError::invalid_parameter(
            tool,
            parameter,
            format!("`{key}` must be a string, number or boolean; got {other}"),
        )),
    }
}

/// The body bytes and their content type.
fn encode_body(kind: BodyType, body: &Value) -> Result<(Vec<u8>, &'static str)> {
    match kind {
        BodyType::Json => Ok((body.to_string().into_bytes(), "application/json")),
        BodyType::Form => {
            let Value::Object(fields) = body else {
                return Err(ToolError::invalid_parameter(
                    NAME,
                    "body",
                    "a form body must be an object of strings, numbers or booleans",
                ));
            };
            let mut form = url::form_urlencoded::Serializer::new(String::new());
            for (k, v) in fields {
                form.append_pair(k, &scalar(NAME, "body", k, v)?);
            }
            Ok((
                form.finish().into_bytes(),
                "application/x-www-form-urlencoded",
            ))
        }
        BodyType::Text | BodyType::Raw => match body {
            Value::String(s) => Ok((
                s.clone().into_bytes(),
                if kind == BodyType::Text {
                    "text/plain; charset=utf-8"
                } else {
                    "application/octet-stream"
                },
            )),
            _ => Err(ToolError::invalid_parameter(
                NAME,
                "body",
                "a text or raw body must be a string",
            )),
        },
    }
}
