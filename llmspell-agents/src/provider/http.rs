//! The HTTP layer shared by the providers: one pooled client, request
//! timeouts, error mapping that keeps the status and the provider's
//! message, the bounded `Retry-After` retry, and SSE parsing.

use std::sync::{Arc, OnceLock};
use std::time::{Duration, SystemTime};

use eventsource_stream::{Event, Eventsource};
use futures::{Stream, StreamExt};
use reqwest::header::{HeaderMap, HeaderName, HeaderValue, RETRY_AFTER};
use serde_json::Value;

use super::stream::{fold_sse, SseFold};
use super::{CompletionStream, RetryPolicy};
use crate::{AgentError, Result};

/// The process-wide client: connection pools are shared by every agent.
fn shared_client() -> std::result::Result<reqwest::Client, String> {
    static CLIENT: OnceLock<std::result::Result<reqwest::Client, String>> = OnceLock::new();
    CLIENT
        .get_or_init(|| {
            use rustls_platform_verifier::BuilderVerifierExt;
            // The ring provider is given to this client only; no
            // process-wide default is installed.
            let tls = rustls::ClientConfig::builder_with_provider(Arc::new(
                rustls::crypto::ring::default_provider(),
            ))
            .with_safe_default_protocol_versions()
            .map_err(|e| format!("TLS setup: {e}"))?
            .with_platform_verifier()
            .map_err(|e| format!("TLS certificate verifier: {e}"))?
            .with_no_client_auth();
            reqwest::Client::builder()
                .tls_backend_preconfigured(tls)
                .user_agent(concat!("llmspell/", env!("CARGO_PKG_VERSION")))
                .build()
                .map_err(|e| format!("HTTP client: {e}"))
        })
        .clone()
}

/// An HTTP client for one provider with its timeout and retry policy.
#[derive(Debug, Clone)]
pub(crate) struct HttpClient {
    client: reqwest::Client,
    provider: String,
    timeout: Duration,
    retry: RetryPolicy,
}

impl HttpClient {
    pub(crate) fn new(provider: &str, timeout: Duration, retry: RetryPolicy) -> Result<Self> {
        let client = shared_client().map_err(|message| AgentError::Connection {
            provider: provider.to_owned(),
            message,
        })?;
        Ok(Self {
            client,
            provider: provider.to_owned(),
            timeout,
            retry,
        })
    }

    /// POSTs `body` as JSON; a 429 (or a 503 with `Retry-After`) is retried
    /// after the wait the provider asks for, at most `retry.max_retries`
    /// times and only when that wait is at most `retry.max_wait`. Any other
    /// status outside 2xx is an [`AgentError::Api`].
    pub(crate) async fn post(
        &self,
        url: &str,
        headers: &[(HeaderName, String)],
        body: &Value,
    ) -> Result<reqwest::Response> {
        let mut header_map = HeaderMap::new();
        for (name, value) in headers {
            let value = HeaderValue::from_str(value).map_err(|_| {
                AgentError::Config(format!(
                    "{}: header {name} has characters HTTP does not allow",
                    self.provider
                ))
            })?;
            header_map.insert(name.clone(), value);
        }
        let mut retries = 0;
        loop {
            let send = self
                .client
                .post(url)
                .headers(header_map.clone())
                .json(body)
                .send();
            let response = match tokio::time::timeout(self.timeout, send).await {
                Err(_) => return Err(self.timeout_error()),
                Ok(Err(e)) => return Err(self.transport_error(&e)),
                Ok(Ok(r)) => r,
            };
            let status = response.status();
            if status.is_success() {
                return Ok(response);
            }
            let retry_after = retry_after(response.headers());
            let body = tokio::time::timeout(self.timeout, response.bytes())
                .await
                .ok()
                .and_then(std::result::Result::ok)
                .unwrap_or_default();
            let error = AgentError::Api {
                provider: self.provider.clone(),
                status: status.as_u16(),
                message: error_message(&body, status.canonical_reason()),
                retry_after,
            };
            let retryable =
                status.as_u16() == 429 || (status.as_u16() == 503 && retry_after.is_some());
            if !retryable || retries >= self.retry.max_retries {
                return Err(error);
            }
            let wait = retry_after.unwrap_or_else(|| self.retry.backoff(retries));
            if wait > self.retry.max_wait {
                return Err(error);
            }
            tracing::debug!(provider = %self.provider, status = status.as_u16(), ?wait, "retrying after rate limit");
            tokio::time::sleep(wait).await;
            retries += 1;
        }
    }

    /// POSTs `body` ([`post`](Self::post)) and reads the JSON answer
    /// ([`json`](Self::json)): a non-streaming completion request.
    pub(crate) async fn post_json(
        &self,
        url: &str,
        headers: &[(HeaderName, String)],
        body: &Value,
    ) -> Result<Value> {
        let response = self.post(url, headers, body).await?;
        self.json(response).await
    }

    /// POSTs `body` ([`post`](Self::post)) and reads the answer's SSE
    /// events ([`sse`](Self::sse)) with `fold`: a streaming completion
    /// request.
    pub(crate) async fn post_stream<F: SseFold>(
        &self,
        url: &str,
        headers: &[(HeaderName, String)],
        body: &Value,
        fold: F,
    ) -> Result<CompletionStream> {
        let response = self.post(url, headers, body).await?;
        Ok(fold_sse(self.sse(response), fold))
    }

    /// Reads a JSON answer within the timeout.
    pub(crate) async fn json(&self, response: reqwest::Response) -> Result<Value> {
        let bytes = match tokio::time::timeout(self.timeout, response.bytes()).await {
            Err(_) => return Err(self.timeout_error()),
            Ok(Err(e)) => return Err(self.transport_error(&e)),
            Ok(Ok(b)) => b,
        };
        serde_json::from_slice(&bytes).map_err(|e| AgentError::InvalidResponse {
            provider: self.provider.clone(),
            message: format!("the body is not JSON ({e}): {}", snippet(&bytes)),
        })
    }

    /// The SSE events of `response`; waiting longer than the timeout for
    /// the next piece is an [`AgentError::Timeout`], a connection that
    /// drops an [`AgentError::Connection`].
    pub(crate) fn sse(
        &self,
        response: reqwest::Response,
    ) -> impl Stream<Item = Result<Event>> + Send + 'static {
        let provider = self.provider.clone();
        let timeout = self.timeout;
        let events = response.bytes_stream().eventsource();
        futures::stream::unfold(
            (Box::pin(events), provider, false),
            move |(mut events, provider, failed)| async move {
                if failed {
                    return None;
                }
                match tokio::time::timeout(timeout, events.next()).await {
                    Err(_) => Some((
                        Err(AgentError::Timeout {
                            provider: provider.clone(),
                            timeout,
                        }),
                        (events, provider, true),
                    )),
                    Ok(None) => None,
                    Ok(Some(Ok(event))) => Some((Ok(event), (events, provider, false))),
                    Ok(Some(Err(e))) => Some((
                        Err(AgentError::Connection {
                            provider: provider.clone(),
                            message: format!("the stream broke off: {e}"),
                        }),
                        (events, provider, true),
                    )),
                }
            },
        )
    }

    fn timeout_error(&self) -> AgentError {
        AgentError::Timeout {
            provider: self.provider.clone(),
            timeout: self.timeout,
        }
    }

    fn transport_error(&self, e: &reqwest::Error) -> AgentError {
        if e.is_timeout() {
            return self.timeout_error();
        }
        let mut message = e.to_string();
        let mut source = std::error::Error::source(e);
        while let Some(s) = source {
            message.push_str(": ");
            message.push_str(&s.to_string());
            source = s.source();
        }
        AgentError::Connection {
            provider: self.provider.clone(),
            message,
        }
    }
}

/// The wait a `Retry-After` (seconds or HTTP date) or `retry-after-ms`
/// header asks for.
pub(crate) fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    if let Some(ms) = headers
        .get("retry-after-ms")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<f64>().ok())
        .filter(|ms| ms.is_finite() && *ms >= 0.0)
    {
        return Some(Duration::from_secs_f64(ms / 1000.0));
    }
    let value = headers.get(RETRY_AFTER)?.to_str().ok()?.trim();
    if let Ok(secs) = value.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let at = httpdate::parse_http_date(value).ok()?;
    Some(at.duration_since(SystemTime::now()).unwrap_or_default())
}

/// The provider's error message from an error body: `error.message`
/// (OpenAI, Anthropic), `error` as a string (Ollama), `message`, or the
/// body's text.
pub(crate) fn error_message(body: &[u8], reason: Option<&str>) -> String {
    if let Ok(v) = serde_json::from_slice::<Value>(body) {
        if let Some(m) = v.pointer("/error/message").and_then(Value::as_str) {
            return m.to_owned();
        }
        if let Some(m) = v.get("error").and_then(Value::as_str) {
            return m.to_owned();
        }
        if let Some(m) = v.get("message").and_then(Value::as_str) {
            return m.to_owned();
        }
    }
    let text = snippet(body);
    if text.is_empty() {
        reason.unwrap_or("no message").to_owned()
    } else {
        text
    }
}

fn snippet(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let text = text.trim();
    match text.char_indices().nth(500) {
        Some((i, _)) => format!("{}…", &text[..i]),
        None => text.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_forms() {
        let mut h = HeaderMap::new();
        assert_eq!(retry_after(&h), None);
        h.insert(RETRY_AFTER, HeaderValue::from_static("3"));
        assert_eq!(retry_after(&h), Some(Duration::from_secs(3)));
        h.insert(
            RETRY_AFTER,
            HeaderValue::from_static("Wed, 21 Oct 2015 07:28:00 GMT"),
        );
        assert_eq!(retry_after(&h), Some(Duration::ZERO));
        h.insert("retry-after-ms", HeaderValue::from_static("250"));
        assert_eq!(retry_after(&h), Some(Duration::from_millis(250)));
        h.insert("retry-after-ms", HeaderValue::from_static("soon"));
        h.insert(RETRY_AFTER, HeaderValue::from_static("soon"));
        assert_eq!(retry_after(&h), None);
    }

    #[test]
    fn error_messages_of_each_provider_shape() {
        assert_eq!(
            error_message(
                br#"{"error":{"message":"Incorrect API key","type":"invalid_request_error"}}"#,
                None
            ),
            "Incorrect API key"
        );
        assert_eq!(
            error_message(br#"{"error":"model not found"}"#, None),
            "model not found"
        );
        assert_eq!(error_message(b"upstream down", None), "upstream down");
        assert_eq!(error_message(b"", Some("Bad Gateway")), "Bad Gateway");
        assert_eq!(error_message(&[b'x'; 600], None).chars().count(), 501);
    }
}
