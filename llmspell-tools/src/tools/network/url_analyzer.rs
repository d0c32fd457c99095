//! `url_analyzer`: parse, normalise and describe a URL; optionally fetch it.

use async_trait::async_trait;
use reqwest::header::{CONTENT_LENGTH, ETAG, LAST_MODIFIED, LOCATION, SERVER};
use reqwest::Method;
use serde::Deserialize;
use serde_json::{json, Map, Number, Value};
use url::{Host, Url};

use super::client::{HttpClient, Request};
use super::{html, timeout_of, url_or_input, url_schema, web_metadata};
use crate::params::decode;
use crate::{Result, Tool, ToolContext, ToolError, ToolMetadata, ToolsConfig};

const NAME: &str = "url_analyzer";

/// Parses a URL (WHATWG rules, the `url` crate) and returns its normalised
/// form (scheme and host lower-cased, default port dropped, dot segments
/// resolved, percent-encoding normalised), its components, its query
/// parameters, and whether the host is a name or an address. With
/// `fetch_metadata`, the URL is also requested (HEAD, or GET with
/// `fetch_method = "GET"`, which also reads the page title) for status,
/// content type, length and redirect target; a fetch failure other than a
/// policy refusal is reported in `metadata_error`, not as an error.
#[derive(Debug)]
pub struct UrlAnalyzerTool {
    metadata: ToolMetadata,
    client: HttpClient,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Params {
    url: Option<String>,
    input: Option<String>,
    #[serde(default)]
    fetch_metadata: bool,
    fetch_method: Option<FetchMethod>,
    timeout_ms: Option<Number>,
    timeout: Option<Number>,
}

#[derive(Deserialize, Clone, Copy)]
#[serde(rename_all = "UPPERCASE")]
enum FetchMethod {
    Head,
    Get,
}

impl UrlAnalyzerTool {
    /// The tool with its own client for `config.network`.
    #[must_use]
    pub fn new(config: &ToolsConfig) -> Self {
        Self::with_client(HttpClient::new(&config.network))
    }

    pub(crate) fn with_client(client: HttpClient) -> Self {
        let metadata = web_metadata(
            NAME,
            "Analyse a URL: validity, normalised form, scheme, host (name or address), port, \
             path, query parameters, fragment; optionally fetch it for status, content type \
             and title.",
            url_schema(
            &client,
            json!({
                "fetch_metadata": {"type": "boolean", "default": false, "description": "also request the URL"},
                "fetch_method": {"enum": ["HEAD", "GET"], "default": "HEAD", "description": "GET also reads the page title"}
            }),
            &[],
            ),
        )
        .with_result(json!({
            "type": "object",
            "properties": {
                "valid": {"type": "boolean"},
                "original": {"type": "string"},
                "normalized": {"type": "string"},
                "scheme": {"type": "string"},
                "host": {"type": ["string", "null"]},
                "host_details": {"type": ["object", "null"]},
                "port": {"type": ["integer", "null"]},
                "effective_port": {"type": ["integer", "null"]},
                "path": {"type": "string"},
                "path_segments": {"type": "array"},
                "query": {"type": ["string", "null"]},
                "query_params": {"type": "array", "description": "[name, value] pairs in order"},
                "query_map": {"type": "object", "description": "name -> value, or list of values when repeated"},
                "fragment": {"type": ["string", "null"]},
                "username": {"type": ["string", "null"]},
                "has_password": {"type": "boolean"},
                "metadata": {"type": "object"},
                "metadata_error": {"type": "string"}
            },
            "required": ["valid", "normalized", "scheme"]
        }));
        Self { metadata, client }
    }
}

#[async_trait]
impl Tool for UrlAnalyzerTool {
    fn metadata(&self) -> &ToolMetadata {
        &self.metadata
    }

    async fn execute(&self, params: Value, _ctx: &ToolContext) -> Result<Value> {
        let p: Params = decode(NAME, params)?;
        let original = url_or_input(NAME, p.url, p.input)?;
        let url = Url::parse(original.trim()).map_err(|e| {
            ToolError::invalid_parameter(
                NAME,
                "url",
                format!("`{original}` is not an absolute URL: {e}"),
            )
        })?;
        let mut out = describe(&original, &url);
        if p.fetch_metadata {
            let timeout = timeout_of(
                NAME,
                &self.client,
                p.timeout_ms.as_ref(),
                p.timeout.as_ref(),
            )?;
            self.client.check_url(NAME, &url)?;
            let method = p.fetch_method.unwrap_or(FetchMethod::Head);
            let request = Request {
                method: match method {
                    FetchMethod::Head => Method::HEAD,
                    FetchMethod::Get => Method::GET,
                },
                ..Request::get(url.clone(), timeout)
            };
            match self.client.send(NAME, &request).await {
                Ok(fetched) => {
                    let header = |name| {
                        fetched
                            .headers
                            .get(name)
                            .and_then(|v: &reqwest::header::HeaderValue| v.to_str().ok())
                            .map(str::to_owned)
                    };
                    let mut metadata = json!({
                        "status_code": fetched.status.as_u16(),
                        "status_text": fetched.status.canonical_reason().unwrap_or(""),
                        "is_success": fetched.status.is_success(),
                        "is_redirect": fetched.status.is_redirection(),
                        "final_url": fetched.url.as_str(),
                        "content_type": fetched.content_type(),
                        "content_length": header(CONTENT_LENGTH).and_then(|v| v.parse::<u64>().ok()),
                        "server": header(SERVER),
                        "last_modified": header(LAST_MODIFIED),
                        "etag": header(ETAG),
                        "redirect_location": header(LOCATION),
                        "elapsed_ms": super::client::millis(fetched.elapsed),
                    });
                    if matches!(method, FetchMethod::Get)
                        && fetched.content_type().is_some_and(|c| c.contains("html"))
                    {
                        let doc = scraper::Html::parse_document(&fetched.text());
                        metadata["title"] = json!(html::title(&doc));
                    }
                    out["metadata"] = metadata;
                }
                Err(e @ ToolError::PolicyViolation { .. }) => return Err(e),
                Err(e) => out["metadata_error"] = json!(e.to_string()),
            }
        }
        Ok(out)
    }
}

/// The parse result.
fn describe(original: &str, url: &Url) -> Value {
    let host_details = url.host().map(|host| match host {
        Host::Domain(d) => json!({"type": "domain", "value": d, "is_ip": false}),
        Host::Ipv4(ip) => json!({"type": "ipv4", "value": ip.to_string(), "is_ip": true}),
        Host::Ipv6(ip) => json!({"type": "ipv6", "value": ip.to_string(), "is_ip": true}),
    });
    let pairs: Vec<(String, String)> = url
        .query_pairs()
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    let mut map = Map::new();
    for (k, v) in &pairs {
        match map.get_mut(k) {
            Some(Value::Array(values)) => values.push(json!(v)),
            Some(existing) => *existing = json!([existing.clone(), v]),
            None => {
                map.insert(k.clone(), json!(v));
            }
        }
    }
    json!({
        "valid": true,
        "original": original,
        "normalized": url.as_str(),
        "scheme": url.scheme(),
        "host": url.host_str(),
        "host_details": host_details,
        "port": url.port(),
        "effective_port": url.port_or_known_default(),
        "path": url.path(),
        "path_segments": url.path_segments().map(|s| s.filter(|x| !x.is_empty()).collect::<Vec<_>>()).unwrap_or_default(),
        "query": url.query(),
        "query_params": pairs,
        "query_map": map,
        "fragment": url.fragment(),
        "username": (!url.username().is_empty()).then(|| url.username()),
        "has_password": url.password().is_some(),
    })
}
