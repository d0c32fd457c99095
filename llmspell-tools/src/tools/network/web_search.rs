//! `web_search`: search the web through a configured provider.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use reqwest::header::{HeaderName, HeaderValue, ACCEPT};
use serde::{Deserialize, Serialize};
use serde_json::{json, Number, Value};

use super::client::{HttpClient, Request};
use super::{timeout_of, web_metadata};
use crate::params::{decode, whole};
use crate::{
    Result, SearchProviderConfig, Tool, ToolContext, ToolError, ToolMetadata, ToolsConfig,
};

const NAME: &str = "web_search";
/// Most results a call may ask for.
const MAX_RESULTS: i64 = 50;

/// One search request handed to a [`SearchProvider`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct SearchQuery {
    /// The search terms.
    pub query: String,
    /// Most results wanted.
    pub max_results: usize,
    /// Time the provider has.
    pub timeout: Duration,
}

/// One search hit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SearchResult {
    /// The page title.
    pub title: String,
    /// The page URL.
    pub url: String,
    /// A text snippet of the page.
    pub snippet: String,
    /// The engine or source that found it, when the provider says.
    pub source: Option<String>,
}

/// A search backend of `web_search`. Two ship: SearXNG and Brave Search
/// (configured with [`SearchProviderConfig`]); an application can add its
/// own with [`WebSearchTool::with_providers`].
#[async_trait]
pub trait SearchProvider: Send + Sync + fmt::Debug {
    /// The name the `provider` parameter selects it by.
    fn name(&self) -> &str;

    /// Runs the search.
    ///
    /// # Errors
    /// Whatever stopped the search; the standard providers return
    /// [`ToolError::PolicyViolation`] for a refused address and
    /// [`ToolError::Execution`] for an API error, quoting it.
    async fn search(&self, query: &SearchQuery) -> Result<Vec<SearchResult>>;
}

/// A SearXNG instance's JSON API.
#[derive(Debug)]
struct SearXng {
    client: HttpClient,
    base_url: String,
}

/// The Brave Search API.
#[derive(Debug)]
struct Brave {
    client: HttpClient,
    base_url: String,
    api_key: String,
}

/// `{base}/{path}` as a URL checked by the policy.
fn endpoint(client: &HttpClient, base: &str, path: &str) -> Result<url::Url> {
    client.target(
        NAME,
        "provider",
        &format!("{}/{path}", base.trim_end_matches('/')),
    )
}

/// The JSON body of a successful answer, or an error quoting the API.
fn answer(provider: &str, fetched: &super::client::Fetched) -> Result<Value> {
    if !fetched.status.is_success() {
        let text = fetched.text();
        return Err(ToolError::execution(
            NAME,
            format!(
                "{provider} answered {}: {}",
                fetched.status,
                text.chars().take(300).collect::<String>()
            ),
        ));
    }
    fetched
        .json()
        .ok_or_else(|| ToolError::execution(NAME, format!("{provider} did not answer with JSON")))
}

fn text_of(v: &Value, key: &str) -> String {
    v.get(key)
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned()
}

#[async_trait]
impl SearchProvider for SearXng {
    fn name(&self) -> &str {
        "searxng"
    }

    async fn search(&self, query: &SearchQuery) -> Result<Vec<SearchResult>> {
        let mut url = endpoint(&self.client, &self.base_url, "search")?;
        url.query_pairs_mut()
            .append_pair("q", &query.query)
            .append_pair("format", "json")
            .append_pair("pageno", "1");
        let mut request = Request::get(url, query.timeout);
        request
            .headers
            .insert(ACCEPT, HeaderValue::from_static("application/json"));
        let fetched = self.client.send(NAME, &request).await?;
        let body = answer("SearXNG", &fetched)?;
        let results = body["results"].as_array().cloned().unwrap_or_default();
        Ok(results
            .iter()
            .filter(|r| r.get("url").and_then(Value::as_str).is_some())
            .take(query.max_results)
            .map(|r| SearchResult {
                title: text_of(r, "title"),
                url: text_of(r, "url"),
                snippet: text_of(r, "content"),
                source: r.get("engine").and_then(Value::as_str).map(str::to_owned),
            })
            .collect())
    }
}

#[async_trait]
impl SearchProvider for Brave {
    fn name(&self) -> &str {
        "brave"
    }

    async fn search(&self, query: &SearchQuery) -> Result<Vec<SearchResult>> {
        let mut url = endpoint(&self.client, &self.base_url, "res/v1/web/search")?;
        url.query_pairs_mut()
            .append_pair("q", &query.query)
            .append_pair("count", &query.max_results.min(20).to_string());
        let mut request = Request::get(url, query.timeout);
        request
            .headers
            .insert(ACCEPT, HeaderValue::from_static("application/json"));
        let mut key = HeaderValue::from_str(&self.api_key).map_err(|_| {
            ToolError::Config("the Brave API key has characters HTTP headers do not allow".into())
        })?;
        key.set_sensitive(true);
        request
            .headers
            .insert(HeaderName::from_static("x-subscription-token"), key);
        let fetched = self.client.send(NAME, &request).await?;
        let body = answer("Brave Search", &fetched)?;
        let results = body["web"]["results"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        Ok(results
            .iter()
            .filter(|r| r.get("url").and_then(Value::as_str).is_some())
            .take(query.max_results)
            .map(|r| SearchResult {
                title: text_of(r, "title"),
                url: text_of(r, "url"),
                snippet: text_of(r, "description"),
                source: Some("brave".to_owned()),
            })
            .collect())
    }
}

/// Searches the web through a [`SearchProvider`]: the one named by
/// `provider`, or the first configured. With no provider configured a call
/// is a [`ToolError::Config`] saying how to configure one.
#[derive(Debug)]
pub struct WebSearchTool {
    metadata: ToolMetadata,
    client: HttpClient,
    providers: Vec<Arc<dyn SearchProvider>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Params {
    query: Option<String>,
    input: Option<String>,
    provider: Option<String>,
    max_results: Option<Number>,
    timeout_ms: Option<Number>,
    timeout: Option<Number>,
}

impl WebSearchTool {
    /// The tool with the providers of `config.search_providers` and its own
    /// client for `config.network`.
    #[must_use]
    pub fn new(config: &ToolsConfig) -> Self {
        Self::with_client(HttpClient::new(&config.network), config)
    }

    /// The tool with `providers` (the first is the default) and a client
    /// for `config.network`.
    #[must_use]
    pub fn with_providers(config: &ToolsConfig, providers: Vec<Arc<dyn SearchProvider>>) -> Self {
        Self::build(HttpClient::new(&config.network), providers)
    }

    pub(crate) fn with_client(client: HttpClient, config: &ToolsConfig) -> Self {
        let providers = config
            .search_providers
            .iter()
            .map(|p| -> Arc<dyn SearchProvider> {
                match p {
                    SearchProviderConfig::SearXng { base_url } => Arc::new(SearXng {
                        client: client.clone(),
                        base_url: base_url.clone(),
                    }),
                    SearchProviderConfig::Brave { base_url, api_key } => Arc::new(Brave {
                        client: client.clone(),
                        base_url: base_url.clone(),
                        api_key: api_key.clone(),
                    }),
                }
            })
            .collect();
        Self::build(client, providers)
    }

    fn build(client: HttpClient, providers: Vec<Arc<dyn SearchProvider>>) -> Self {
        let max_ms = u64::try_from(client.policy().timeout.as_millis()).unwrap_or(u64::MAX);
        let metadata = web_metadata(
            NAME,
            "Search the web through a configured provider (SearXNG or Brave Search); returns \
             titles, URLs and snippets.",
            json!({
            "type": "object",
            "properties": {
                "query": {"type": "string", "minLength": 1},
                "input": {"type": "string", "minLength": 1, "description": "synonym of `query` (rs-llmspell)"},
                "provider": {"type": "string", "description": "provider name (`searxng`, `brave`, ...); default the first configured"},
                "max_results": {"type": "number", "minimum": 1, "maximum": MAX_RESULTS, "default": 10},
                "timeout_ms": {"type": "number", "minimum": 1, "maximum": max_ms},
                "timeout": {"type": "number", "minimum": 1, "description": "seconds (rs-llmspell)"}
            },
            "additionalProperties": false
        }),
        )
        .with_result(json!({
            "type": "object",
            "properties": {
                "query": {"type": "string"},
                "provider": {"type": "string"},
                "count": {"type": "integer"},
                "results": {"type": "array", "items": {"type": "object", "properties": {
                    "title": {"type": "string"}, "url": {"type": "string"},
                    "snippet": {"type": "string"}, "source": {"type": ["string", "null"]}
                }}}
            },
            "required": ["query", "provider", "count", "results"]
        }));
        Self {
            metadata,
            client,
            providers,
        }
    }
}

#[async_trait]
impl Tool for WebSearchTool {
    fn metadata(&self) -> &ToolMetadata {
        &self.metadata
    }

    async fn execute(&self, params: Value, _ctx: &ToolContext) -> Result<Value> {
        let p: Params = decode(NAME, params)?;
        let query = match (p.query, p.input) {
            (Some(q), None) | (None, Some(q)) => q,
            (Some(_), Some(_)) => {
                return Err(ToolError::invalid_parameter(
                    NAME,
                    "input",
                    "`input` is a synonym of `query`; give one of them, not both",
                ))
            }
            (None, None) => {
                return Err(ToolError::invalid_parameter(
                    NAME,
                    "query",
                    "missing: give the search terms as `query`",
                ))
            }
        };
        if query.trim().is_empty() {
            return Err(ToolError::invalid_parameter(
                NAME,
                "query",
                "must not be blank",
            ));
        }
        let max_results = match &p.max_results {
            Some(n) => {
                usize::try_from(whole(NAME, "max_results", n, 1, MAX_RESULTS)?).unwrap_or(10)
            }
            None => 10,
        };
        let timeout = timeout_of(
            NAME,
            &self.client,
            p.timeout_ms.as_ref(),
            p.timeout.as_ref(),
        )?;
        let names = || {
            self.providers
                .iter()
                .map(|p| p.name().to_owned())
                .collect::<Vec<_>>()
                .join(", ")
        };
        let provider = match &p.provider {
            None => self.providers.first().ok_or_else(|| {
                ToolError::Config(
                    "web_search has no provider; configure one with \
                     `ToolsConfig::builder().search_provider(SearchProviderConfig::searxng(url))` \
                     (or `brave(api_key)`)"
                        .into(),
                )
            })?,
            Some(name) => self
                .providers
                .iter()
                .find(|p| p.name().eq_ignore_ascii_case(name))
                .ok_or_else(|| {
                    ToolError::invalid_parameter(
                        NAME,
                        "provider",
                        format!(
                            "no provider `{name}` is configured; configured: [{}]",
                            names()
                        ),
                    )
                })?,
        };
        let results = provider
            .search(&SearchQuery {
                query: query.clone(),
                max_results,
                timeout,
            })
            .await?;
        Ok(json!({
            "query": query,
            "provider": provider.name(),
            "count": results.len(),
            "results": results,
        }))
    }
}
