//! `webhook_caller`: a JSON POST to a webhook, optionally signed, with
//! retries and backoff.

use async_trait::async_trait;
use hmac::{Hmac, Mac};
use reqwest::header::{HeaderName, HeaderValue, CONTENT_TYPE};
use serde::Deserialize;
use serde_json::{json, Map, Number, Value};

use super::client::{headers_from, millis, HttpClient, Request};
use super::{method_of, retries_of, target_of, timeout_of, url_schema, web_metadata};
use crate::params::decode;
use crate::{Result, Tool, ToolContext, ToolError, ToolMetadata, ToolsConfig};

const NAME: &str = "webhook_caller";
const METHODS: &[&str] = &["POST", "PUT", "PATCH"];
/// The signature header when the call names none.
const SIGNATURE_HEADER: &str = "X-Signature-256";

/// Sends a JSON payload to a webhook (POST by default). With `secret`, the
/// exact body bytes are signed with HMAC-SHA256 and the signature is sent
/// as `sha256=<hex>` in `signature_header` (`X-Signature-256` by default,
/// the GitHub convention), so the receiver can verify it. Connection
/// failures, 429 and 5xx answers are retried `max_retries` times (3 by
/// default) with exponential backoff from `retry_delay_ms`, honouring
/// `Retry-After`. The result says whether the last answer was a success.
#[derive(Debug)]
pub struct WebhookCallerTool {
    metadata: ToolMetadata,
    client: HttpClient,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Params {
    url: Option<String>,
    input: Option<String>,
    #[serde(default)]
    payload: Option<Value>,
    method: Option<String>,
    headers: Option<Map<String, Value>>,
    secret: Option<String>,
    signature_header: Option<String>,
    max_retries: Option<Number>,
    retry_delay_ms: Option<Number>,
    timeout_ms: Option<Number>,
    timeout: Option<Number>,
}

impl WebhookCallerTool {
    /// The tool with its own client for `config.network`.
    #[must_use]
    pub fn new(config: &ToolsConfig) -> Self {
        Self::with_client(HttpClient::new(&config.network))
    }

    pub(crate) fn with_client(client: HttpClient) -> Self {
        let max_retries = client.policy().max_retries;
        let metadata = web_metadata(
            NAME,
            "Call a webhook: POST (or PUT/PATCH) a JSON payload, optionally signed with \
             HMAC-SHA256, retrying failures with exponential backoff.",
            url_schema(
            &client,
            json!({
                "payload": {"description": "the JSON payload (default {})"},
                "method": {"type": "string", "default": "POST", "description": "POST, PUT or PATCH"},
                "headers": {"type": "object", "additionalProperties": {"type": ["string", "number", "boolean"]}},
                "secret": {"type": "string", "minLength": 1, "description": "HMAC-SHA256 key signing the body"},
                "signature_header": {"type": "string", "minLength": 1, "default": SIGNATURE_HEADER},
                "max_retries": {"type": "number", "minimum": 0, "maximum": max_retries, "default": 3.min(max_retries)},
                "retry_delay_ms": {"type": "number", "minimum": 0, "maximum": 60000, "default": 500}
            }),
            &[],
            ),
        )
        .with_result(json!({
            "type": "object",
            "properties": {
                "success": {"type": "boolean"},
                "webhook_url": {"type": "string"},
                "status_code": {"type": "integer"},
                "status_text": {"type": "string"},
                "response": {"type": "object"},
                "response_time_ms": {"type": "number"},
                "retry_count": {"type": "integer"},
                "signature": {"type": ["string", "null"]}
            },
            "required": ["success", "webhook_url", "status_code", "retry_count"]
        }));
        Self { metadata, client }
    }
}

#[async_trait]
impl Tool for WebhookCallerTool {
    fn metadata(&self) -> &ToolMetadata {
        &self.metadata
    }

    async fn execute(&self, params: Value, _ctx: &ToolContext) -> Result<Value> {
        let p: Params = decode(NAME, params)?;
        let url = target_of(NAME, &self.client, p.url, p.input)?;
        let method = method_of(
            NAME,
            "method",
            p.method.as_deref().unwrap_or("POST"),
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
            3.min(self.client.policy().max_retries),
        )?;
        let body = p
            .payload
            .unwrap_or_else(|| json!({}))
            .to_string()
            .into_bytes();
        let mut headers = headers_from(NAME, "headers", p.headers.as_ref())?;
        headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        let signature = match &p.secret {
            Some(secret) => {
                let mut mac = Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes())
                    .map_err(|e| ToolError::invalid_parameter(NAME, "secret", e.to_string()))?;
                mac.update(&body);
                let signature = format!("sha256={}", hex::encode(mac.finalize().into_bytes()));
                let name = p.signature_header.as_deref().unwrap_or(SIGNATURE_HEADER);
                let header = HeaderName::from_bytes(name.as_bytes()).map_err(|_| {
                    ToolError::invalid_parameter(
                        NAME,
                        "signature_header",
                        format!("`{name}` is not a header name"),
                    )
                })?;
                let value = HeaderValue::from_str(&signature)
                    .map_err(|e| ToolError::execution(NAME, e.to_string()))?;
                headers.insert(header, value);
                Some(signature)
            }
            None => None,
        };
        let request = Request {
            method,
            url: url.clone(),
            headers,
            body: Some(body),
            timeout,
        };
        let (fetched, attempts) = self
            .client
            .send_with_retries(NAME, &request, max_retries, delay)
            .await?;
        let response = fetched.to_json();
        Ok(json!({
            "success": fetched.status.is_success(),
            "webhook_url": url.as_str(),
            "status_code": fetched.status.as_u16(),
            "status_text": fetched.status.canonical_reason().unwrap_or(""),
            "response": {
                "body": response["body"],
                "headers": response["headers"],
                "body_is_json": response["body_is_json"],
            },
            "response_time_ms": millis(fetched.elapsed),
            "retry_count": attempts - 1,
            "signature": signature,
        }))
    }
}
