//! The one HTTP client the web tools share: the network policy enforced
//! after DNS resolution and on every redirect, timeouts, a response size
//! cap, a redirect cap, the user agent, and bounded retries.
//!
//! Mechanism: the client resolves host names through [`PolicyResolver`],
//! which refuses a name whose addresses the [`NetworkPolicy`] does not
//! allow (so the addresses checked are the addresses connected to: a name
//! cannot resolve to a public address for the check and to `127.0.0.1`
//! for the connection). Address literals never reach a resolver, so
//! [`HttpClient::check_url`] checks them before a request and the redirect
//! policy checks every redirect target (scheme, metadata names, address
//! literals) before it is followed; redirect targets with names go through
//! the resolver again. Proxies are off: a proxy would resolve names itself.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use reqwest::header::{HeaderMap, HeaderName, HeaderValue, CONTENT_TYPE, RETRY_AFTER};
use reqwest::{Method, StatusCode};
use serde_json::{json, Map, Value};
use url::Url;

use crate::config::{rule, Refusal};
use crate::{NetworkPolicy, Result, ToolError};

/// The shared client of the web tools, built once per [`ToolsConfig`](crate::ToolsConfig).
#[derive(Debug, Clone)]
pub(crate) struct HttpClient {
    /// The client, or why it could not be built (reported by every call).
    client: std::result::Result<reqwest::Client, String>,
    policy: Arc<NetworkPolicy>,
}

/// One request to send.
#[derive(Debug, Clone)]
pub(crate) struct Request {
    pub(crate) method: Method,
    pub(crate) url: Url,
    pub(crate) headers: HeaderMap,
    pub(crate) body: Option<Vec<u8>>,
    pub(crate) timeout: Duration,
}

impl Request {
    /// A GET of `url` with the policy's timeout.
    pub(crate) fn get(url: Url, timeout: Duration) -> Self {
        Self {
            method: Method::GET,
            url,
            headers: HeaderMap::new(),
            body: None,
            timeout,
        }
    }
}

/// A response read to the end (within the size cap).
#[derive(Debug, Clone)]
pub(crate) struct Fetched {
    pub(crate) status: StatusCode,
    pub(crate) headers: HeaderMap,
    /// The URL after redirects.
    pub(crate) url: Url,
    pub(crate) body: Vec<u8>,
    pub(crate) elapsed: Duration,
}

impl Fetched {
    /// The `Content-Type` header, if any.
    pub(crate) fn content_type(&self) -> Option<&str> {
        self.headers.get(CONTENT_TYPE).and_then(|v| v.to_str().ok())
    }

    /// The body as text (invalid UTF-8 replaced).
    pub(crate) fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// The body parsed as JSON, if it is JSON.
    pub(crate) fn json(&self) -> Option<Value> {
        if self.body.is_empty() {
            return None;
        }
        serde_json::from_slice(&self.body).ok()
    }

    /// Response headers as a JSON object (lower-case names; repeated
    /// headers joined with `, `).
    pub(crate) fn headers_json(&self) -> Value {
        let mut map = Map::new();
        for (name, value) in &self.headers {
            let value = String::from_utf8_lossy(value.as_bytes()).into_owned();
            match map.get_mut(name.as_str()) {
                Some(Value::String(existing)) => {
                    existing.push_str(", ");
                    existing.push_str(&value);
                }
                _ => {
                    map.insert(name.as_str().to_owned(), Value::String(value));
                }
            }
        }
        Value::Object(map)
    }

    /// The common response object: `status_code`, `status_text`,
    /// `success`, `headers`, `body` (parsed JSON when it is JSON, else
    /// text), `body_is_json`, `content_type`, `url`, `elapsed_ms`.
    pub(crate) fn to_json(&self) -> Value {
        let parsed = self.json();
        json!({
            "status_code": self.status.as_u16(),
            "status_text": self.status.canonical_reason().unwrap_or(""),
            "success": self.status.is_success(),
            "headers": self.headers_json(),
            "body_is_json": parsed.is_some(),
            "body": parsed.unwrap_or_else(|| Value::String(self.text())),
            "content_type": self.content_type(),
            "url": self.url.as_str(),
            "elapsed_ms": millis(self.elapsed),
        })
    }
}

/// A duration in (fractional) milliseconds.
pub(crate) fn millis(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// A redirect chain longer than the policy allows.
#[derive(Debug)]
struct TooManyRedirects(usize);

impl std::fmt::Display for TooManyRedirects {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "more than {} redirects (`max_redirects` of the network policy)",
            self.0
        )
    }
}

impl std::error::Error for TooManyRedirects {}

/// Resolves names and refuses those whose addresses the policy refuses.
#[derive(Debug)]
struct PolicyResolver {
    policy: Arc<NetworkPolicy>,
}

impl Resolve for PolicyResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let policy = Arc::clone(&self.policy);
        let host = name.as_str().to_owned();
        Box::pin(async move {
            policy.check_name(&host)?;
            let fixed = policy.static_hosts.get(&host.to_ascii_lowercase()).cloned();
            let addresses: Vec<SocketAddr> = match fixed {
                Some(ips) => ips.into_iter().map(|ip| SocketAddr::new(ip, 0)).collect(),
                None => tokio::net::lookup_host((host.as_str(), 0)).await?.collect(),
            };
            // Every address must pass: the connection may use any of them.
            for address in &addresses {
                policy.check_ip(&host, address.ip())?;
            }
            Ok(Box::new(addresses.into_iter()) as Addrs)
        })
    }
}

/// Checks a URL's scheme, metadata host names and address literals.
fn check_target(policy: &NetworkPolicy, url: &Url) -> std::result::Result<(), Refusal> {
    if !matches!(url.scheme(), "http" | "https") {
        return Err(Refusal {
            rule: rule::SCHEME_NOT_ALLOWED,
            detail: format!(
                "`{url}` uses the scheme `{}`; only http and https are allowed",
                url.scheme()
            ),
        });
    }
    match url.host() {
        Some(url::Host::Domain(name)) => policy.check_name(name),
        Some(url::Host::Ipv4(ip)) => policy.check_ip(&ip.to_string(), ip.into()),
        Some(url::Host::Ipv6(ip)) => policy.check_ip(&ip.to_string(), ip.into()),
        None => Err(Refusal {
            rule: rule::SCHEME_NOT_ALLOWED,
            detail: format!("`{url}` has no host"),
        }),
    }
}

impl HttpClient {
    /// The client for `policy`. A failure to set TLS up is kept and
    /// reported by every call rather than failing the tool set.
    pub(crate) fn new(policy: &NetworkPolicy) -> Self {
        let policy = Arc::new(policy.clone());
        let client = build(&policy);
        Self { client, policy }
    }

    /// The policy.
    pub(crate) fn policy(&self) -> &NetworkPolicy {
        &self.policy
    }

    /// Parses `text` as an absolute http(s) URL for parameter `parameter`,
    /// and checks it against the policy.
    ///
    /// # Errors
    /// [`ToolError::InvalidParameter`] if it is not a URL,
    /// [`ToolError::PolicyViolation`] if the policy refuses it.
    pub(crate) fn target(&self, tool: &str, parameter: &str, text: &str) -> Result<Url> {
        let url = Url::parse(text.trim()).map_err(|e| {
            ToolError::invalid_parameter(
                tool,
                parameter,
                format!(
                    "`{text}` is not an absolute URL ({e}); write e.g. `https://example.com/page`"
                ),
            )
        })?;
        self.check_url(tool, &url)?;
        Ok(url)
    }

    /// Checks an already parsed URL against the policy.
    ///
    /// # Errors
    /// [`ToolError::PolicyViolation`].
    pub(crate) fn check_url(&self, tool: &str, url: &Url) -> Result<()> {
        check_target(&self.policy, url).map_err(|r| ToolError::policy(tool, r.rule, r.detail))
    }

    /// The timeout of a call: `requested` (from a parameter) or the
    /// policy's, never longer than the policy's.
    pub(crate) fn timeout(&self, requested: Option<Duration>) -> Duration {
        requested.map_or(self.policy.timeout, |t| t.min(self.policy.timeout))
    }

    /// Sends `request` once and reads the body (within
    /// `max_response_bytes`).
    ///
    /// # Errors
    /// [`ToolError::PolicyViolation`] (a refused address, also after DNS
    /// or on a redirect; `response_too_large`), [`ToolError::Timeout`],
    /// [`ToolError::Execution`] for other transport failures.
    pub(crate) async fn send(&self, tool: &str, request: &Request) -> Result<Fetched> {
        let client = self
            .client
            .as_ref()
            .map_err(|e| ToolError::execution(tool, format!("the HTTP client is unusable: {e}")))?;
        self.check_url(tool, &request.url)?;
        let started = Instant::now();
        let mut builder = client
            .request(request.method.clone(), request.url.clone())
            .headers(request.headers.clone())
            .timeout(request.timeout);
        if let Some(body) = &request.body {
            builder = builder.body(body.clone());
        }
        let mut response = builder
            .send()
            .await
            .map_err(|e| transport_error(tool, &request.url, request.timeout, &e))?;
        let status = response.status();
        let headers = response.headers().clone();
        let url = response.url().clone();
        let cap = self.policy.max_response_bytes;
        let too_large = || {
            ToolError::policy(
                tool,
                rule::RESPONSE_TOO_LARGE,
                format!(
                    "the response of `{url}` is larger than {cap} bytes (`max_response_bytes` of \
                     the network policy)"
                ),
            )
        };
        if response.content_length().is_some_and(|n| n > cap) {
            return Err(too_large());
        }
        let mut body = Vec::new();
        while let Some(chunk) = response
            .chunk()
            .await
            .map_err(|e| transport_error(tool, &url, request.timeout, &e))?
        {
            if (body.len() + chunk.len()) as u64 > cap {
                return Err(too_large());
            }
            body.extend_from_slice(&chunk);
        }
        Ok(Fetched {
            status,
            headers,
            url,
            body,
            elapsed: started.elapsed(),
        })
    }

    /// A GET of `url` that must answer 2xx: any other status is an
    /// execution error "`<url>` answered <status>".
    ///
    /// # Errors
    /// As [`send`](Self::send), and the non-2xx answer.
    pub(crate) async fn get_success(
        &self,
        tool: &str,
        url: &Url,
        timeout: Duration,
    ) -> Result<Fetched> {
        let fetched = self.send(tool, &Request::get(url.clone(), timeout)).await?;
        if !fetched.status.is_success() {
            return Err(ToolError::execution(
                tool,
                format!("`{url}` answered {}", fetched.status),
            ));
        }
        Ok(fetched)
    }

    /// Sends `request`, retrying up to `max_retries` times (capped by the
    /// policy) on 429 and 5xx answers and on connection failures. A
    /// `Retry-After` (seconds or an HTTP date) sets the wait; otherwise
    /// it doubles from `base_delay`. A wait longer than `max_retry_wait`
    /// ends the retries. Returns the last response and the attempts made.
    ///
    /// # Errors
    /// As [`send`](Self::send), for the last attempt; policy refusals are
    /// never retried.
    pub(crate) async fn send_with_retries(
        &self,
        tool: &str,
        request: &Request,
        max_retries: u32,
        base_delay: Duration,
    ) -> Result<(Fetched, u32)> {
        let max_retries = max_retries.min(self.policy.max_retries);
        let mut attempt = 0u32;
        loop {
            attempt += 1;
            let outcome = self.send(tool, request).await;
            let retries_left = attempt <= max_retries;
            let backoff = base_delay.saturating_mul(1 << (attempt - 1).min(16));
            let wait = match &outcome {
                Ok(fetched) if retryable_status(fetched.status) && retries_left => {
                    retry_after(&fetched.headers).unwrap_or(backoff)
                }
                Err(ToolError::Execution { .. }) if retries_left => backoff,
                _ => return outcome.map(|f| (f, attempt)),
            };
            if wait > self.policy.max_retry_wait {
                return outcome.map(|f| (f, attempt));
            }
            tokio::time::sleep(wait).await;
        }
    }
}

/// 429 and 5xx answers are worth another try.
fn retryable_status(status: StatusCode) -> bool {
    status == StatusCode::TOO_MANY_REQUESTS || status.is_server_error()
}

/// The wait a `Retry-After` header asks for: seconds or an HTTP date.
pub(crate) fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let value = headers.get(RETRY_AFTER)?.to_str().ok()?.trim();
    if let Ok(secs) = value.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let when = httpdate::parse_http_date(value).ok()?;
    Some(
        when.duration_since(SystemTime::now())
            .unwrap_or(Duration::ZERO),
    )
}

/// Maps a transport error: a policy refusal found in its causes (from the
/// resolver or the redirect policy) becomes the refusal.
fn transport_error(tool: &str, url: &Url, timeout: Duration, e: &reqwest::Error) -> ToolError {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(e);
    let mut chain = Vec::new();
    while let Some(err) = source {
        if let Some(refusal) = err.downcast_ref::<Refusal>() {
            return ToolError::policy(tool, refusal.rule, refusal.detail.clone());
        }
        let text = err.to_string();
        if !chain.iter().any(|c: &String| c.contains(&text)) {
            chain.push(text);
        }
        source = err.source();
    }
    if e.is_timeout() {
        return ToolError::Timeout {
            tool: tool.to_owned(),
            timeout,
        };
    }
    ToolError::execution(
        tool,
        format!("request to `{url}` failed: {}", chain.join(": ")),
    )
}

/// The reqwest client: rustls on the ring provider given to this client
/// only (no process-wide default), the policy's resolver and redirect
/// check, no proxy.
fn build(policy: &Arc<NetworkPolicy>) -> std::result::Result<reqwest::Client, String> {
    use rustls_platform_verifier::BuilderVerifierExt;
    let tls = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .map_err(|e| format!("TLS setup: {e}"))?
    .with_platform_verifier()
    .map_err(|e| format!("TLS certificate verifier: {e}"))?
    .with_no_client_auth();
    let redirects = Arc::clone(policy);
    reqwest::Client::builder()
        .tls_backend_preconfigured(tls)
        .user_agent(policy.user_agent.clone())
        .no_proxy()
        .timeout(policy.timeout)
        .connect_timeout(policy.timeout.min(Duration::from_secs(10)))
        .dns_resolver(Arc::new(PolicyResolver {
            policy: Arc::clone(policy),
        }))
        .redirect(reqwest::redirect::Policy::custom(move |attempt| {
            if attempt.previous().len() > redirects.max_redirects {
                let max = redirects.max_redirects;
                return attempt.error(TooManyRedirects(max));
            }
            match check_target(&redirects, attempt.url()) {
                Ok(()) => attempt.follow(),
                Err(refusal) => attempt.error(refusal),
            }
        }))
        .build()
        .map_err(|e| format!("HTTP client: {e}"))
}

/// Request headers from a JSON object of strings (numbers and booleans are
/// written as text).
///
/// # Errors
/// [`ToolError::InvalidParameter`] naming `parameter`.
pub(crate) fn headers_from(
    tool: &str,
    parameter: &str,
    headers: Option<&Map<String, Value>>,
) -> Result<HeaderMap> {
    let mut map = HeaderMap::new();
    for (name, value) in headers.into_iter().flatten() {
        let text = match value {
            Value::String(s) => s.clone(),
            Value::Number(n) => n.to_string(),
            Value::Bool(b) => b.to_string(),
            other => {
                return Err(ToolError::invalid_parameter(
                    tool,
                    parameter,
                    format!("header `{name}` must be a string, number or boolean; got {other}"),
                ))
            }
        };
        let header = HeaderName::from_bytes(name.as_bytes()).map_err(|_| {
            ToolError::invalid_parameter(tool, parameter, format!("`{name}` is not a header name"))
        })?;
        let value = HeaderValue::from_str(&text).map_err(|_| {
            ToolError::invalid_parameter(
                tool,
                parameter,
                format!("the value of header `{name}` has characters HTTP does not allow"),
            )
        })?;
        map.append(header, value);
    }
    Ok(map)
}
