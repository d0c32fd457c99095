//! `graphql_query`: a GraphQL query or mutation over HTTP POST.

use async_trait::async_trait;
use reqwest::header::{HeaderValue, ACCEPT, CONTENT_TYPE};
use reqwest::Method;
use serde::Deserialize;
use serde_json::{json, Map, Number, Value};

use super::client::{HttpClient, Request};
use super::{auth_schema, request_headers, timeout_of, url_schema, web_metadata, Auth};
use crate::params::decode;
use crate::{Result, Tool, ToolContext, ToolError, ToolMetadata, ToolsConfig};

const NAME: &str = "graphql_query";

/// Sends a GraphQL document with variables and an operation name
/// (`POST {"query", "variables", "operationName"}`) and returns `data`.
///
/// GraphQL errors are surfaced: an answer with `errors` and no `data` (or
/// any non-2xx answer without `data`) is a [`ToolError::Execution`] quoting
/// the error messages; an answer with both `data` and `errors` (a partial
/// result) is a result whose `errors` lists them, unless `fail_on_errors`
/// is set.
#[derive(Debug)]
pub struct GraphqlQueryTool {
    metadata: ToolMetadata,
    client: HttpClient,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Params {
    endpoint: Option<String>,
    url: Option<String>,
    input: Option<String>,
    query: String,
    variables: Option<Map<String, Value>>,
    operation_name: Option<String>,
    headers: Option<Map<String, Value>>,
    auth: Option<Auth>,
    #[serde(default)]
    fail_on_errors: bool,
    timeout_ms: Option<Number>,
    timeout: Option<Number>,
}

impl GraphqlQueryTool {
    /// The tool with its own client for `config.network`.
    #[must_use]
    pub fn new(config: &ToolsConfig) -> Self {
        Self::with_client(HttpClient::new(&config.network))
    }

    pub(crate) fn with_client(client: HttpClient) -> Self {
        let metadata = web_metadata(
            NAME,
            "Run a GraphQL query or mutation (query, variables, operation name) against an \
             endpoint; returns `data`, and `errors` for partial results. GraphQL errors without \
             data fail the call with their messages.",
            url_schema(
            &client,
            json!({
                "endpoint": {"type": "string", "minLength": 1, "description": "the GraphQL endpoint URL (or `url`)"},
                "query": {"type": "string", "minLength": 1, "description": "the GraphQL document"},
                "variables": {"type": "object"},
                "operation_name": {"type": "string"},
                "headers": {"type": "object", "additionalProperties": {"type": ["string", "number", "boolean"]}},
                "auth": auth_schema(),
                "fail_on_errors": {"type": "boolean", "default": false, "description": "fail even when errors come with partial data"}
            }),
            &["query"],
            ),
        )
        .with_result(json!({
            "type": "object",
            "properties": {
                "data": {},
                "errors": {"type": "array"},
                "has_errors": {"type": "boolean"},
                "extensions": {},
                "status_code": {"type": "integer"},
                "elapsed_ms": {"type": "number"}
            },
            "required": ["data", "has_errors", "status_code"]
        }));
        Self { metadata, client }
    }
}

#[async_trait]
impl Tool for GraphqlQueryTool {
    fn metadata(&self) -> &ToolMetadata {
        &self.metadata
    }

    async fn execute(&self, params: Value, _ctx: &ToolContext) -> Result<Value> {
        let p: Params = decode(NAME, params)?;
        let endpoint = match (p.endpoint, p.url, p.input) {
            (Some(e), None, None) | (None, Some(e), None) | (None, None, Some(e)) => e,
            (None, None, None) => {
                return Err(ToolError::invalid_parameter(
                    NAME,
                    "endpoint",
                    "missing: give the GraphQL endpoint as `endpoint` (or `url`)",
                ))
            }
            _ => {
                return Err(ToolError::invalid_parameter(
                    NAME,
                    "endpoint",
                    "`endpoint`, `url` and `input` are synonyms; give one of them",
                ))
            }
        };
        let url = self.client.target(NAME, "endpoint", &endpoint)?;
        let timeout = timeout_of(
            NAME,
            &self.client,
            p.timeout_ms.as_ref(),
            p.timeout.as_ref(),
        )?;
        let mut headers = request_headers(NAME, p.headers.as_ref(), p.auth.as_ref())?;
        headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        headers.entry(ACCEPT).or_insert(HeaderValue::from_static(
            "application/graphql-response+json, application/json",
        ));
        let mut body = json!({"query": p.query});
        if let Some(variables) = p.variables {
            body["variables"] = Value::Object(variables);
        }
        if let Some(op) = p.operation_name {
            body["operationName"] = json!(op);
        }
        let request = Request {
            method: Method::POST,
            url,
            headers,
            body: Some(body.to_string().into_bytes()),
            timeout,
        };
        let fetched = self.client.send(NAME, &request).await?;
        let status = fetched.status;
        let Some(Value::Object(answer)) = fetched.json() else {
            return Err(ToolError::execution(
                NAME,
                format!(
                    "the endpoint answered {status} without a GraphQL JSON body: {}",
                    snippet(&fetched.text())
                ),
            ));
        };
        let data = answer.get("data").cloned().unwrap_or(Value::Null);
        let errors = match answer.get("errors") {
            Some(Value::Array(errors)) if !errors.is_empty() => errors.clone(),
            _ => Vec::new(),
        };
        if !errors.is_empty() && (data.is_null() || p.fail_on_errors) {
            let messages: Vec<String> = errors
                .iter()
                .map(|e| {
                    e.get("message")
                        .and_then(Value::as_str)
                        .map_or_else(|| e.to_string(), str::to_owned)
                })
                .collect();
            return Err(ToolError::execution(
                NAME,
                format!("GraphQL errors (HTTP {status}): {}", messages.join("; ")),
            ));
        }
        if data.is_null() && !status.is_success() {
            return Err(ToolError::execution(
                NAME,
                format!(
                    "the endpoint answered {status}: {}",
                    snippet(&fetched.text())
                ),
            ));
        }
        Ok(json!({
            "data": data,
            "errors": errors,
            "has_errors": !errors.is_empty(),
            "extensions": answer.get("extensions").cloned().unwrap_or(Value::Null),
            "status_code": status.as_u16(),
            "elapsed_ms": super::client::millis(fetched.elapsed),
        }))
    }
}

/// The start of a body, for error messages.
fn snippet(text: &str) -> String {
    let mut s: String = text.chars().take(200).collect();
    if s.len() < text.len() {
        s.push_str("...");
    }
    s
}
