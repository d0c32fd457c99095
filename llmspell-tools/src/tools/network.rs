//! The web tools (feature `network`): nine tools sharing one HTTP client
//! ([`client`]) under the [`NetworkPolicy`](crate::NetworkPolicy).
//!
//! Parameters shared by several tools, with the names rs-llmspell scripts
//! use accepted beside them:
//! - `url`, or its synonym `input` (one of the two; both at once is an
//!   error naming `input`);
//! - `timeout_ms`, or `timeout` in seconds (capped by the policy's
//!   `timeout`);
//! - `headers` (an object of strings) and `auth`
//!   (`{type = "bearer", token}` or `{type = "basic", username, password}`).

use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use reqwest::header::{HeaderMap, HeaderValue, AUTHORIZATION};
use reqwest::Method;
use serde::Deserialize;
use serde_json::{json, Number, Value};

use url::Url;

use crate::params::whole;
use crate::{Result, SecurityLevel, Tool, ToolCategory, ToolError, ToolMetadata, ToolsConfig};

mod api_tester;
mod client;
mod graphql_query;
mod html;
mod http_request;
mod sitemap_crawler;
mod url_analyzer;
mod web_scraper;
mod web_search;
mod webhook_caller;
mod webpage_monitor;

pub use api_tester::ApiTesterTool;
pub use graphql_query::GraphqlQueryTool;
pub use http_request::HttpRequestTool;
pub use sitemap_crawler::SitemapCrawlerTool;
pub use url_analyzer::UrlAnalyzerTool;
pub use web_scraper::WebScraperTool;
pub use web_search::{SearchProvider, SearchQuery, SearchResult, WebSearchTool};
pub use webhook_caller::WebhookCallerTool;
pub use webpage_monitor::WebpageMonitorTool;

pub(crate) use client::HttpClient;

/// The nine web tools, sharing one client built from `config.network`.
pub(crate) fn network_tools(config: &ToolsConfig) -> Vec<Arc<dyn Tool>> {
    let client = HttpClient::new(&config.network);
    vec![
        Arc::new(HttpRequestTool::with_client(client.clone())),
        Arc::new(GraphqlQueryTool::with_client(client.clone())),
        Arc::new(ApiTesterTool::with_client(client.clone())),
        Arc::new(WebhookCallerTool::with_client(client.clone())),
        Arc::new(UrlAnalyzerTool::with_client(client.clone())),
        Arc::new(WebScraperTool::with_client(client.clone())),
        Arc::new(SitemapCrawlerTool::with_client(client.clone())),
        Arc::new(WebpageMonitorTool::with_client(client.clone(), config)),
        Arc::new(WebSearchTool::with_client(client, config)),
    ]
}

/// The URL given as `url` or as its synonym `input`.
pub(crate) fn url_or_input(
    tool: &str,
    url: Option<String>,
    input: Option<String>,
) -> Result<String> {
    match (url, input) {
        (Some(url), None) | (None, Some(url)) => Ok(url),
        (Some(_), Some(_)) => Err(ToolError::invalid_parameter(
            tool,
            "input",
            "`input` is a synonym of `url`; give one of them, not both",
        )),
        (None, None) => Err(ToolError::invalid_parameter(
            tool,
            "url",
            "missing: give the URL as `url` (or `input`)",
        )),
    }
}

/// The metadata every web tool starts from: its name and description,
/// the category `web`, the security level `Restricted` and its parameter
/// schema (from [`url_schema`]).
pub(crate) fn web_metadata(name: &str, description: &str, parameters: Value) -> ToolMetadata {
    ToolMetadata::new(name, description, ToolCategory::Custom("web".into()))
        .with_security_level(SecurityLevel::Restricted)
        .with_parameters(parameters)
}

/// The call's target: the URL given as `url` or `input` ([`url_or_input`]),
/// parsed and checked against the network policy (errors name `url`).
pub(crate) fn target_of(
    tool: &str,
    client: &HttpClient,
    url: Option<String>,
    input: Option<String>,
) -> Result<Url> {
    let url = url_or_input(tool, url, input)?;
    client.target(tool, "url", &url)
}

/// The call's target ([`target_of`]) and then its timeout ([`timeout_of`]),
/// checked in that order.
pub(crate) fn target_and_timeout(
    tool: &str,
    client: &HttpClient,
    url: Option<String>,
    input: Option<String>,
    timeout_ms: Option<&Number>,
    timeout_secs: Option<&Number>,
) -> Result<(Url, Duration)> {
    let url = target_of(tool, client, url, input)?;
    let timeout = timeout_of(tool, client, timeout_ms, timeout_secs)?;
    Ok((url, timeout))
}

/// The retry settings of a call: `max_retries` (0 to the policy's
/// `max_retries`, default `default_retries`) and `retry_delay_ms`, the
/// first wait (0 to 60000 ms, default 500 ms).
pub(crate) fn retries_of(
    tool: &str,
    client: &HttpClient,
    max_retries: Option<&Number>,
    retry_delay_ms: Option<&Number>,
    default_retries: u32,
) -> Result<(u32, Duration)> {
    let policy_max = client.policy().max_retries;
    let max_retries = match max_retries {
        Some(n) => {
            u32::try_from(whole(tool, "max_retries", n, 0, i64::from(policy_max))?).unwrap_or(0)
        }
        None => default_retries,
    };
    let delay = match retry_delay_ms {
        Some(n) => {
            Duration::from_millis(whole(tool, "retry_delay_ms", n, 0, 60_000)?.unsigned_abs())
        }
        None => Duration::from_millis(500),
    };
    Ok((max_retries, delay))
}

/// The request headers of a call: `headers` ([`client::headers_from`],
/// errors name `headers`), then the `Authorization` header of `auth`.
pub(crate) fn request_headers(
    tool: &str,
    headers: Option<&serde_json::Map<String, Value>>,
    auth: Option<&Auth>,
) -> Result<HeaderMap> {
    let mut map = client::headers_from(tool, "headers", headers)?;
    if let Some(auth) = auth {
        auth.apply(tool, &mut map)?;
    }
    Ok(map)
}

/// The call's timeout: `timeout_ms`, or `timeout` in seconds, or the
/// policy's; never longer than the policy's.
pub(crate) fn timeout_of(
    tool: &str,
    client: &HttpClient,
    timeout_ms: Option<&Number>,
    timeout_secs: Option<&Number>,
) -> Result<Duration> {
    let max_ms = i64::try_from(client.policy().timeout.as_millis()).unwrap_or(i64::MAX);
    let requested = match (timeout_ms, timeout_secs) {
        (Some(_), Some(_)) => {
            return Err(ToolError::invalid_parameter(
                tool,
                "timeout",
                "give `timeout_ms` or `timeout` (seconds), not both",
            ))
        }
        (Some(ms), None) => Some(Duration::from_millis(
            whole(tool, "timeout_ms", ms, 1, max_ms)?.unsigned_abs(),
        )),
        (None, Some(secs)) => Some(Duration::from_secs(
            whole(tool, "timeout", secs, 1, (max_ms / 1000).max(1))?.unsigned_abs(),
        )),
        (None, None) => None,
    };
    Ok(client.timeout(requested))
}

/// A request method from its name (case-insensitive).
pub(crate) fn method_of(
    tool: &str,
    parameter: &str,
    name: &str,
    allowed: &[&str],
) -> Result<Method> {
    let upper = name.to_ascii_uppercase();
    if !allowed.contains(&upper.as_str()) {
        return Err(ToolError::invalid_parameter(
            tool,
            parameter,
            format!(
                "`{name}` is not a supported method; use one of {}",
                allowed.join(", ")
            ),
        ));
    }
    Method::from_bytes(upper.as_bytes()).map_err(|_| {
        ToolError::invalid_parameter(tool, parameter, format!("`{name}` is not a method"))
    })
}

/// Request authentication.
#[derive(Debug, Deserialize)]
#[serde(tag = "type", rename_all = "lowercase", deny_unknown_fields)]
pub(crate) enum Auth {
    /// `Authorization: Bearer <token>`.
    Bearer { token: String },
    /// `Authorization: Basic base64(username:password)`.
    Basic {
        username: String,
        #[serde(default)]
        password: String,
    },
}

impl Auth {
    /// Sets the `Authorization` header.
    pub(crate) fn apply(&self, tool: &str, headers: &mut HeaderMap) -> Result<()> {
        let value = match self {
            Self::Bearer { token } => format!("Bearer {token}"),
            Self::Basic { username, password } => format!(
                "Basic {}",
                base64::engine::general_purpose::STANDARD.encode(format!("{username}:{password}"))
            ),
        };
        let mut value = HeaderValue::from_str(&value).map_err(|_| {
            ToolError::invalid_parameter(tool, "auth", "has characters HTTP headers do not allow")
        })?;
        value.set_sensitive(true);
        headers.insert(AUTHORIZATION, value);
        Ok(())
    }
}

/// The JSON Schema of `auth`.
pub(crate) fn auth_schema() -> Value {
    json!({
        "description": "`{type = \"bearer\", token}` or `{type = \"basic\", username, password}`",
        "type": "object",
        "properties": {
            "type": {"enum": ["bearer", "basic"]},
            "token": {"type": "string"},
            "username": {"type": "string"},
            "password": {"type": "string"}
        },
        "required": ["type"],
        "additionalProperties": false
    })
}

/// The JSON Schema properties every URL-taking tool has: `url`, `input`,
/// `timeout_ms`, `timeout`.
pub(crate) fn url_properties(max_ms: u64) -> serde_json::Map<String, Value> {
    let Value::Object(map) = json!({
        "url": {"type": "string", "minLength": 1, "description": "absolute http(s) URL"},
        "input": {"type": "string", "minLength": 1, "description": "synonym of `url` (rs-llmspell)"},
        "timeout_ms": {"type": "number", "minimum": 1, "maximum": max_ms, "description": "request timeout"},
        "timeout": {"type": "number", "minimum": 1, "description": "request timeout in seconds (rs-llmspell)"}
    }) else {
        unreachable!("a JSON object literal")
    };
    map
}

/// A parameter schema: `extra` properties beside the URL ones, with
/// `additionalProperties: false`.
pub(crate) fn url_schema(client: &HttpClient, extra: Value, required: &[&str]) -> Value {
    let max_ms = u64::try_from(client.policy().timeout.as_millis()).unwrap_or(u64::MAX);
    let mut properties = url_properties(max_ms);
    if let Value::Object(extra) = extra {
        properties.extend(extra);
    }
    json!({
        "type": "object",
        "properties": properties,
        "required": required,
        "additionalProperties": false
    })
}
