//! `web_scraper`: fetch a page and extract content with CSS selectors.

use async_trait::async_trait;
use serde::Deserialize;
use serde_json::{json, Map, Number, Value};

use super::client::HttpClient;
use super::{html, target_and_timeout, url_schema, web_metadata};
use crate::params::decode;
use crate::{Result, Tool, ToolContext, ToolError, ToolMetadata, ToolsConfig};

const NAME: &str = "web_scraper";

/// Fetches an HTML page and extracts: the title, the readable text (the
/// article, main or body content without scripts, navigation, headers,
/// footers and forms), named CSS selections (`selectors`: name → selector,
/// or name → `{selector, attribute, all}`), one selection (`selector`,
/// optional `attribute`), links and images made absolute, and meta tags.
/// A non-2xx answer is an error naming the status.
#[derive(Debug)]
pub struct WebScraperTool {
    metadata: ToolMetadata,
    client: HttpClient,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Params {
    url: Option<String>,
    input: Option<String>,
    selectors: Option<Map<String, Value>>,
    selector: Option<String>,
    attribute: Option<String>,
    #[serde(default)]
    extract_links: bool,
    #[serde(default)]
    extract_images: bool,
    #[serde(default)]
    extract_meta: bool,
    extract_text: Option<bool>,
    timeout_ms: Option<Number>,
    timeout: Option<Number>,
}

/// One named extraction.
struct Extraction {
    name: String,
    selector: scraper::Selector,
    attribute: Option<String>,
    /// Always a list (otherwise a single match is returned as itself).
    all: bool,
}

impl WebScraperTool {
    /// The tool with its own client for `config.network`.
    #[must_use]
    pub fn new(config: &ToolsConfig) -> Self {
        Self::with_client(HttpClient::new(&config.network))
    }

    pub(crate) fn with_client(client: HttpClient) -> Self {
        let metadata = web_metadata(
            NAME,
            "Fetch a web page and extract its title, readable text, CSS selections (text or \
             attributes), links, images and meta tags.",
            url_schema(
            &client,
            json!({
                "selectors": {"type": "object", "description": "name -> CSS selector, or name -> {selector, attribute, all}",
                    "additionalProperties": {"oneOf": [
                        {"type": "string", "minLength": 1},
                        {"type": "object", "properties": {
                            "selector": {"type": "string", "minLength": 1},
                            "attribute": {"type": "string", "minLength": 1},
                            "all": {"type": "boolean"}
                        }, "required": ["selector"], "additionalProperties": false}
                    ]}},
                "selector": {"type": "string", "minLength": 1, "description": "one CSS selector; matches go to `selected_content`"},
                "attribute": {"type": "string", "minLength": 1, "description": "with `selector`: take this attribute instead of the text"},
                "extract_links": {"type": "boolean", "default": false},
                "extract_images": {"type": "boolean", "default": false},
                "extract_meta": {"type": "boolean", "default": false},
                "extract_text": {"type": "boolean", "description": "readable text; default true unless selectors are given"}
            }),
            &[],
            ),
        )
        .with_result(json!({
            "type": "object",
            "properties": {
                "url": {"type": "string"},
                "final_url": {"type": "string"},
                "status_code": {"type": "integer"},
                "title": {"type": ["string", "null"]},
                "text": {"type": "string"},
                "content": {"type": "object"},
                "selected_content": {"type": "array"},
                "links": {"type": "array"},
                "images": {"type": "array"},
                "metadata": {"type": "object"}
            },
            "required": ["url", "final_url", "status_code", "title"]
        }));
        Self { metadata, client }
    }
}

#[async_trait]
impl Tool for WebScraperTool {
    fn metadata(&self) -> &ToolMetadata {
        &self.metadata
    }

    async fn execute(&self, params: Value, _ctx: &ToolContext) -> Result<Value> {
        let p: Params = decode(NAME, params)?;
        let (url, timeout) = target_and_timeout(
            NAME,
            &self.client,
            p.url,
            p.input,
            p.timeout_ms.as_ref(),
            p.timeout.as_ref(),
        )?;
        // Selectors are checked before anything is fetched.
        let mut extractions = Vec::new();
        for (name, spec) in p.selectors.iter().flatten() {
            let (css, attribute, all) = match spec {
                Value::String(css) => (css.as_str(), None, false),
                Value::Object(o) => (
                    o.get("selector")
                        .and_then(Value::as_str)
                        .unwrap_or_default(),
                    o.get("attribute")
                        .and_then(Value::as_str)
                        .map(str::to_owned),
                    o.get("all").and_then(Value::as_bool).unwrap_or(false),
                ),
                _ => {
                    return Err(ToolError::invalid_parameter(
                        NAME,
                        "selectors",
                        format!("`{name}` must be a CSS selector or {{selector, attribute, all}}"),
                    ))
                }
            };
            extractions.push(Extraction {
                name: name.clone(),
                selector: html::selector(NAME, "selectors", css)?,
                attribute,
                all,
            });
        }
        let single = match &p.selector {
            Some(css) => Some(html::selector(NAME, "selector", css)?),
            None => None,
        };
        let fetched = self.client.get_success(NAME, &url, timeout).await?;
        let body = fetched.text();
        let final_url = fetched.url.clone();
        let extract_text = p
            .extract_text
            .unwrap_or(extractions.is_empty() && single.is_none());
        // Parsed and queried without an await: the document is not Send.
        let doc = scraper::Html::parse_document(&body);
        let pick = |el: scraper::ElementRef<'_>, attribute: Option<&str>| -> Value {
            match attribute {
                Some(a) => json!(el.value().attr(a)),
                None => json!(html::element_text(el)),
            }
        };
        let mut out = json!({
            "url": url.as_str(),
            "final_url": final_url.as_str(),
            "status_code": fetched.status.as_u16(),
            "content_type": fetched.content_type(),
            "title": html::title(&doc),
        });
        if extract_text {
            out["text"] = json!(html::readable_text(&doc));
        }
        if !extractions.is_empty() {
            let mut content = Map::new();
            for e in &extractions {
                let values: Vec<Value> = doc
                    .select(&e.selector)
                    .map(|el| pick(el, e.attribute.as_deref()))
                    .collect();
                let value = match (e.all, values.len()) {
                    (false, 0) => Value::Null,
                    (false, 1) => values.into_iter().next().unwrap_or(Value::Null),
                    _ => Value::Array(values),
                };
                content.insert(e.name.clone(), value);
            }
            out["content"] = Value::Object(content);
        }
        if let Some(sel) = &single {
            let values: Vec<Value> = doc
                .select(sel)
                .map(|el| pick(el, p.attribute.as_deref()))
                .collect();
            out["selected_content"] = Value::Array(values);
        }
        if p.extract_links {
            out["links"] = json!(html::links(&doc, &final_url));
        }
        if p.extract_images {
            out["images"] = json!(html::images(&doc, &final_url));
        }
        if p.extract_meta {
            out["metadata"] = html::meta(&doc);
        }
        Ok(out)
    }
}
