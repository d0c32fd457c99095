//! `sitemap_crawler`: the URLs of a sitemap, following sitemap indexes.

use std::collections::{HashSet, VecDeque};
use std::io::Read as _;

use async_trait::async_trait;
use serde::Deserialize;
use serde_json::{json, Number, Value};
use url::Url;

use super::client::HttpClient;
use super::{target_and_timeout, url_schema, web_metadata};
use crate::params::{decode, whole};
use crate::{Result, Tool, ToolContext, ToolError, ToolMetadata, ToolsConfig};

const NAME: &str = "sitemap_crawler";
/// Most URLs a call may ask for.
const MAX_URLS: i64 = 50_000;
/// Most sitemap files a call may ask to read.
const MAX_SITEMAPS: i64 = 500;

/// Reads a sitemap (`<urlset>`) or sitemap index (`<sitemapindex>`, whose
/// child sitemaps are followed breadth-first unless `follow_sitemaps` is
/// false), plain or gzip-compressed (`.xml.gz`, detected by its magic
/// bytes), and returns each URL with its `lastmod`, `changefreq` and
/// `priority`. `max_urls` (default 1000) and `max_sitemaps` (default 50)
/// bound the work; `truncated` says a limit was hit. A child sitemap that
/// cannot be read is listed in `errors`; the first one failing fails the
/// call, and so does any policy refusal.
#[derive(Debug)]
pub struct SitemapCrawlerTool {
    metadata: ToolMetadata,
    client: HttpClient,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Params {
    url: Option<String>,
    input: Option<String>,
    follow_sitemaps: Option<bool>,
    max_urls: Option<Number>,
    max_sitemaps: Option<Number>,
    timeout_ms: Option<Number>,
    timeout: Option<Number>,
}

/// What one sitemap file holds.
enum Parsed {
    Urls(Vec<Value>),
    Index(Vec<String>),
}

impl SitemapCrawlerTool {
    /// The tool with its own client for `config.network`.
    #[must_use]
    pub fn new(config: &ToolsConfig) -> Self {
        Self::with_client(HttpClient::new(&config.network))
    }

    pub(crate) fn with_client(client: HttpClient) -> Self {
        let metadata = web_metadata(
            NAME,
            "Read a sitemap.xml or sitemap index (plain or gzip), following child sitemaps, and \
             list its URLs with lastmod, changefreq and priority, within URL and sitemap limits.",
            url_schema(
            &client,
            json!({
                "follow_sitemaps": {"type": "boolean", "default": true},
                "max_urls": {"type": "number", "minimum": 1, "maximum": MAX_URLS, "default": 1000},
                "max_sitemaps": {"type": "number", "minimum": 1, "maximum": MAX_SITEMAPS, "default": 50}
            }),
            &[],
            ),
        )
        .with_result(json!({
            "type": "object",
            "properties": {
                "sitemap_url": {"type": "string"},
                "urls_found": {"type": "integer"},
                "urls": {"type": "array", "items": {"type": "object", "properties": {
                    "url": {"type": "string"}, "lastmod": {"type": ["string", "null"]},
                    "changefreq": {"type": ["string", "null"]}, "priority": {"type": ["number", "null"]}
                }}},
                "sitemaps": {"type": "array", "items": {"type": "string"}},
                "truncated": {"type": "boolean"},
                "errors": {"type": "array"},
                "stats": {"type": "object"}
            },
            "required": ["sitemap_url", "urls_found", "urls", "truncated"]
        }));
        Self { metadata, client }
    }
}

#[async_trait]
impl Tool for SitemapCrawlerTool {
    fn metadata(&self) -> &ToolMetadata {
        &self.metadata
    }

    async fn execute(&self, params: Value, _ctx: &ToolContext) -> Result<Value> {
        let p: Params = decode(NAME, params)?;
        let (start, timeout) = target_and_timeout(
            NAME,
            &self.client,
            p.url,
            p.input,
            p.timeout_ms.as_ref(),
            p.timeout.as_ref(),
        )?;
        let limit = |n: &Option<Number>, name, default: i64, max| -> Result<usize> {
            match n {
                Some(n) => Ok(usize::try_from(whole(NAME, name, n, 1, max)?).unwrap_or(1)),
                None => Ok(usize::try_from(default).unwrap_or(1)),
            }
        };
        let max_urls = limit(&p.max_urls, "max_urls", 1000, MAX_URLS)?;
        let max_sitemaps = limit(&p.max_sitemaps, "max_sitemaps", 50, MAX_SITEMAPS)?;
        let follow = p.follow_sitemaps.unwrap_or(true);
        let cap = self.client.policy().max_response_bytes;

        let mut queue = VecDeque::from([start.clone()]);
        let mut seen = HashSet::from([start.to_string()]);
        let mut sitemaps = Vec::new();
        let mut urls: Vec<Value> = Vec::new();
        let mut errors = Vec::new();
        let mut indexes = 0usize;
        let mut discovered = 0usize;
        let mut truncated = false;
        while let Some(sitemap) = queue.pop_front() {
            if urls.len() >= max_urls {
                truncated = true;
                break;
            }
            if sitemaps.len() >= max_sitemaps {
                truncated = true;
                break;
            }
            let first = sitemaps.is_empty();
            sitemaps.push(sitemap.to_string());
            let parsed = match self.read(&sitemap, timeout, cap).await {
                Ok(parsed) => parsed,
                Err(e @ ToolError::PolicyViolation { .. }) => return Err(e),
                Err(e) if first => return Err(e),
                Err(e) => {
                    errors.push(json!({"sitemap": sitemap.as_str(), "error": e.to_string()}));
                    continue;
                }
            };
            match parsed {
                Parsed::Urls(found) => {
                    discovered += found.len();
                    for entry in found {
                        if urls.len() >= max_urls {
                            truncated = true;
                            break;
                        }
                        urls.push(entry);
                    }
                }
                Parsed::Index(children) => {
                    indexes += 1;
                    if !follow {
                        continue;
                    }
                    for child in children {
                        match sitemap.join(&child) {
                            Ok(child) if seen.insert(child.to_string()) => queue.push_back(child),
                            Ok(_) => {}
                            Err(e) => errors.push(
                                json!({"sitemap": child, "error": format!("not a URL: {e}")}),
                            ),
                        }
                    }
                }
            }
        }
        if !queue.is_empty() {
            truncated = true;
        }
        let with_metadata = urls
            .iter()
            .filter(|u| {
                !u["lastmod"].is_null() || !u["changefreq"].is_null() || !u["priority"].is_null()
            })
            .count();
        Ok(json!({
            "sitemap_url": start.as_str(),
            "urls_found": urls.len(),
            "urls": urls,
            "sitemaps": sitemaps,
            "truncated": truncated,
            "follow_sitemaps": follow,
            "max_urls": max_urls,
            "errors": errors,
            "stats": {
                "sitemaps_processed": sitemaps.len(),
                "index_files_found": indexes,
                "total_urls_discovered": discovered,
                "urls_with_metadata": with_metadata,
            },
        }))
    }
}

impl SitemapCrawlerTool {
    /// Fetches, decompresses and parses one sitemap file.
    async fn read(&self, url: &Url, timeout: std::time::Duration, cap: u64) -> Result<Parsed> {
        let fetched = self.client.get_success(NAME, url, timeout).await?;
        let bytes = if fetched.body.starts_with(&[0x1f, 0x8b]) {
            // gzip: decompressed within the same size cap (a gzip bomb stops there).
            let mut out = Vec::new();
            flate2::read::GzDecoder::new(fetched.body.as_slice())
                .take(cap + 1)
                .read_to_end(&mut out)
                .map_err(|e| {
                    ToolError::execution(NAME, format!("`{url}` is not valid gzip: {e}"))
                })?;
            if out.len() as u64 > cap {
                return Err(ToolError::policy(
                    NAME,
                    crate::config::rule::RESPONSE_TOO_LARGE,
                    format!("`{url}` decompresses to more than {cap} bytes (`max_response_bytes`)"),
                ));
            }
            out
        } else {
            fetched.body
        };
        let text = String::from_utf8(bytes)
            .map_err(|_| ToolError::execution(NAME, format!("`{url}` is not UTF-8 XML")))?;
        parse(&text)
            .map_err(|e| ToolError::execution(NAME, format!("`{url}` is not a sitemap: {e}")))
    }
}

/// Parses `<urlset>` or `<sitemapindex>` (namespaces ignored).
fn parse(xml: &str) -> std::result::Result<Parsed, String> {
    let doc = roxmltree::Document::parse(xml).map_err(|e| e.to_string())?;
    let root = doc.root_element();
    let child_text = |node: roxmltree::Node<'_, '_>, name: &str| {
        node.children()
            .find(|c| c.is_element() && c.tag_name().name() == name)
            .and_then(|c| c.text())
            .map(|t| t.trim().to_owned())
            .filter(|t| !t.is_empty())
    };
    match root.tag_name().name() {
        "urlset" => Ok(Parsed::Urls(
            root.children()
                .filter(|c| c.is_element() && c.tag_name().name() == "url")
                .filter_map(|u| {
                    let loc = child_text(u, "loc")?;
                    Some(json!({
                        "url": loc,
                        "lastmod": child_text(u, "lastmod"),
                        "changefreq": child_text(u, "changefreq"),
                        "priority": child_text(u, "priority").and_then(|p| p.parse::<f64>().ok()),
                    }))
                })
                .collect(),
        )),
        "sitemapindex" => Ok(Parsed::Index(
            root.children()
                .filter(|c| c.is_element() && c.tag_name().name() == "sitemap")
                .filter_map(|s| child_text(s, "loc"))
                .collect(),
        )),
        other => Err(format!(
            "the root element is <{other}>, expected <urlset> or <sitemapindex>"
        )),
    }
}
