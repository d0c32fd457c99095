//! `webpage_monitor`: has a page changed since it was last checked?

use std::sync::Arc;

use async_trait::async_trait;
use llmspell_storage::{MemoryBackend, StorageBackend, StorageExt};
use serde::Deserialize;
use serde_json::{json, Number, Value};
use similar::{DiffTag, TextDiff};

use super::client::HttpClient;
use super::{html, target_and_timeout, url_schema, web_metadata};
use crate::params::decode;
use crate::{Result, Tool, ToolContext, ToolError, ToolMetadata, ToolsConfig};

const NAME: &str = "webpage_monitor";
/// Key prefix of the snapshots in the store.
const PREFIX: &str = "tools/webpage_monitor/";

/// Fetches a page, takes its readable text (or the text of the elements a
/// CSS `selector` matches, one per line), and compares it line by line
/// with the last snapshot kept under `key` (default: the URL and the
/// selector) in the monitor store (`ToolsConfig::monitor_store`, memory by
/// default): the result lists the added, removed and modified lines and a
/// unified diff. The first check of a key has no changes and stores the
/// snapshot; every check replaces it (`store = false` compares without
/// storing). `previous_content` compares against the given text instead
/// (the rs-llmspell way).
#[derive(Debug)]
pub struct WebpageMonitorTool {
    metadata: ToolMetadata,
    client: HttpClient,
    store: Arc<dyn StorageBackend>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Params {
    url: Option<String>,
    input: Option<String>,
    selector: Option<String>,
    key: Option<String>,
    previous_content: Option<String>,
    ignore_whitespace: Option<bool>,
    store: Option<bool>,
    timeout_ms: Option<Number>,
    timeout: Option<Number>,
}

impl WebpageMonitorTool {
    /// The tool with its own client for `config.network`, keeping
    /// snapshots in `config.monitor_store` (or in memory).
    #[must_use]
    pub fn new(config: &ToolsConfig) -> Self {
        Self::with_client(HttpClient::new(&config.network), config)
    }

    pub(crate) fn with_client(client: HttpClient, config: &ToolsConfig) -> Self {
        let store = config
            .monitor_store
            .clone()
            .unwrap_or_else(|| Arc::new(MemoryBackend::new()));
        let metadata = web_metadata(
            NAME,
            "Check a web page (or the elements a CSS selector matches) for changes since the \
             last check: returns whether it changed, the changed lines and a unified diff; the \
             snapshot is kept in storage.",
            url_schema(
            &client,
            json!({
                "selector": {"type": "string", "minLength": 1, "description": "monitor only what this CSS selector matches"},
                "key": {"type": "string", "minLength": 1, "description": "snapshot name (default: URL + selector)"},
                "previous_content": {"type": "string", "description": "compare against this text instead of the stored snapshot"},
                "ignore_whitespace": {"type": "boolean", "default": true},
                "store": {"type": "boolean", "default": true, "description": "keep this check as the new snapshot"}
            }),
            &[],
            ),
        )
        .with_result(json!({
            "type": "object",
            "properties": {
                "url": {"type": "string"},
                "key": {"type": "string"},
                "first_check": {"type": "boolean"},
                "has_changes": {"type": "boolean"},
                "change_count": {"type": "integer"},
                "changes": {"type": "array"},
                "diff": {"type": "string"},
                "current_content": {"type": "string"},
                "previous_content": {"type": ["string", "null"]},
                "checked_at": {"type": "string"},
                "previous_checked_at": {"type": ["string", "null"]}
            },
            "required": ["url", "key", "first_check", "has_changes", "changes", "current_content"]
        }));
        Self {
            metadata,
            client,
            store,
        }
    }
}

#[async_trait]
impl Tool for WebpageMonitorTool {
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
        let selector = match &p.selector {
            Some(css) => Some(html::selector(NAME, "selector", css)?),
            None => None,
        };
        let ignore_whitespace = p.ignore_whitespace.unwrap_or(true);
        let key = p.key.clone().unwrap_or_else(|| match &p.selector {
            Some(css) => format!("{url} {css}"),
            None => url.to_string(),
        });
        let fetched = self.client.get_success(NAME, &url, timeout).await?;
        let current = {
            let doc = scraper::Html::parse_document(&fetched.text());
            match &selector {
                Some(sel) => {
                    let parts: Vec<String> = doc.select(sel).map(html::element_text).collect();
                    if parts.is_empty() {
                        return Err(ToolError::execution(
                            NAME,
                            format!(
                                "the selector `{}` matches nothing on `{url}`",
                                p.selector.as_deref().unwrap_or_default()
                            ),
                        ));
                    }
                    parts.join("\n")
                }
                None => html::readable_text(&doc),
            }
        };
        let store_key = format!("{PREFIX}{key}");
        let stored: Option<Value> =
            self.store
                .get_json(store_key.as_bytes())
                .await
                .map_err(|e| {
                    ToolError::execution(NAME, format!("reading the snapshot `{key}`: {e}"))
                })?;
        let (previous, previous_at) = match (&p.previous_content, &stored) {
            (Some(given), _) => (Some(given.clone()), None),
            (None, Some(snap)) => (
                snap["content"].as_str().map(str::to_owned),
                snap["checked_at"].as_str().map(str::to_owned),
            ),
            (None, None) => (None, None),
        };
        let checked_at = chrono::Utc::now().to_rfc3339();
        if p.store.unwrap_or(true) {
            self.store
                .set_json(
                    store_key.as_bytes(),
                    &json!({"url": url.as_str(), "content": current, "checked_at": checked_at}),
                )
                .await
                .map_err(|e| {
                    ToolError::execution(NAME, format!("storing the snapshot `{key}`: {e}"))
                })?;
        }
        let (changes, diff) = match &previous {
            Some(old) => compare(old, &current, ignore_whitespace),
            None => (Vec::new(), String::new()),
        };
        Ok(json!({
            "url": url.as_str(),
            "key": key,
            "first_check": previous.is_none(),
            "has_changes": !changes.is_empty(),
            "change_count": changes.len(),
            "changes": changes,
            "diff": diff,
            "current_content": current,
            "previous_content": previous,
            "checked_at": checked_at,
            "previous_checked_at": previous_at,
            "selector_used": p.selector,
            "ignore_whitespace": ignore_whitespace,
        }))
    }
}

/// Line changes and a unified diff from `old` to `new`.
fn compare(old: &str, new: &str, ignore_whitespace: bool) -> (Vec<Value>, String) {
    // Every line ends with a newline, so a last line compares equal to
    // the same line followed by more.
    let norm = |s: &str| {
        let mut text = if ignore_whitespace {
            s.lines()
                .map(html::collapse)
                .filter(|l| !l.is_empty())
                .collect::<Vec<_>>()
                .join("\n")
        } else {
            s.to_owned()
        };
        if !text.is_empty() && !text.ends_with('\n') {
            text.push('\n');
        }
        text
    };
    let (old, new) = (norm(old), norm(new));
    let diff = TextDiff::from_lines(&old, &new);
    let old_lines: Vec<&str> = old.lines().collect();
    let new_lines: Vec<&str> = new.lines().collect();
    let mut changes = Vec::new();
    for op in diff.ops() {
        let (o, n) = (op.old_range(), op.new_range());
        match op.tag() {
            DiffTag::Equal => {}
            DiffTag::Delete => {
                for i in o {
                    changes.push(
                        json!({"type": "deletion", "old_line": i + 1, "content": old_lines.get(i)}),
                    );
                }
            }
            DiffTag::Insert => {
                for i in n {
                    changes.push(
                        json!({"type": "addition", "new_line": i + 1, "content": new_lines.get(i)}),
                    );
                }
            }
            DiffTag::Replace => {
                let len = o.len().max(n.len());
                for k in 0..len {
                    let (oi, ni) = (o.start + k, n.start + k);
                    let (old_line, new_line) =
                        (o.contains(&oi).then_some(oi), n.contains(&ni).then_some(ni));
                    changes.push(match (old_line, new_line) {
                        (Some(oi), Some(ni)) => json!({"type": "modification", "old_line": oi + 1, "new_line": ni + 1,
                            "old_content": old_lines.get(oi), "new_content": new_lines.get(ni)}),
                        (Some(oi), None) => json!({"type": "deletion", "old_line": oi + 1, "content": old_lines.get(oi)}),
                        (None, Some(ni)) => json!({"type": "addition", "new_line": ni + 1, "content": new_lines.get(ni)}),
                        (None, None) => continue,
                    });
                }
            }
        }
    }
    let unified = if changes.is_empty() {
        String::new()
    } else {
        diff.unified_diff()
            .header("previous", "current")
            .to_string()
    };
    (changes, unified)
}
