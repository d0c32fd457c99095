//! HTML helpers of the web tools: title, readable text, links, CSS
//! selection. `scraper`'s documents are not `Send`, so every function here
//! parses and finishes synchronously (never across an `.await`).

use scraper::{ElementRef, Html, Node, Selector};
use serde_json::{json, Value};
use url::Url;

use crate::{Result, ToolError};

/// Elements whose content is never readable text.
const SKIPPED: &[&str] = &[
    "script", "style", "noscript", "template", "nav", "header", "footer", "aside", "form", "svg",
    "iframe", "head", "button", "select",
];

/// Elements that end a line of text.
const BLOCKS: &[&str] = &[
    "p",
    "div",
    "br",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "li",
    "ul",
    "ol",
    "section",
    "article",
    "main",
    "tr",
    "table",
    "pre",
    "blockquote",
    "dd",
    "dt",
    "figcaption",
    "hr",
];

/// A CSS selector from a parameter.
///
/// # Errors
/// [`ToolError::InvalidParameter`] naming `parameter`.
pub(crate) fn selector(tool: &str, parameter: &str, css: &str) -> Result<Selector> {
    Selector::parse(css).map_err(|e| {
        ToolError::invalid_parameter(
            tool,
            parameter,
            format!("`{css}` is not a CSS selector: {e}"),
        )
    })
}

/// A selector written in this file (always valid).
fn fixed(css: &str) -> Option<Selector> {
    Selector::parse(css).ok()
}

/// The document's `<title>`, trimmed.
pub(crate) fn title(doc: &Html) -> Option<String> {
    let sel = fixed("title")?;
    let text = doc.select(&sel).next()?.text().collect::<String>();
    let text = collapse(&text);
    (!text.is_empty()).then_some(text)
}

/// Whitespace runs collapsed to one space, trimmed.
pub(crate) fn collapse(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The text of an element, whitespace collapsed.
pub(crate) fn element_text(el: ElementRef<'_>) -> String {
    collapse(&el.text().collect::<String>())
}

/// The readable text of a page: the content of `<article>`, `<main>` or
/// `<body>` without scripts, styles, navigation, headers, footers and
/// forms, one line per block element.
pub(crate) fn readable_text(doc: &Html) -> String {
    let root = ["article", "main", "[role=main]", "body"]
        .iter()
        .filter_map(|css| fixed(css))
        .find_map(|sel| doc.select(&sel).next())
        .unwrap_or_else(|| doc.root_element());
    let mut out = String::new();
    walk(root, &mut out);
    out.lines()
        .map(collapse)
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join("\n")
}

fn walk(el: ElementRef<'_>, out: &mut String) {
    for child in el.children() {
        match child.value() {
            Node::Text(text) => out.push_str(text),
            Node::Element(e) => {
                let name = e.name();
                if SKIPPED.contains(&name) {
                    continue;
                }
                let block = BLOCKS.contains(&name);
                if block {
                    out.push('\n');
                }
                if let Some(child_el) = ElementRef::wrap(child) {
                    walk(child_el, out);
                }
                if block {
                    out.push('\n');
                } else {
                    out.push(' ');
                }
            }
            _ => {}
        }
    }
}

/// Links of the page: `{href (absolute), text}` for each `<a href>`.
pub(crate) fn links(doc: &Html, base: &Url) -> Vec<Value> {
    let Some(sel) = fixed("a[href]") else {
        return Vec::new();
    };
    doc.select(&sel)
        .filter_map(|a| {
            let href = a.value().attr("href")?;
            let absolute = base
                .join(href)
                .map_or_else(|_| href.to_owned(), |u| u.to_string());
            Some(json!({"href": absolute, "text": element_text(a)}))
        })
        .collect()
}

/// Images of the page: `{src (absolute), alt}` for each `<img src>`.
pub(crate) fn images(doc: &Html, base: &Url) -> Vec<Value> {
    let Some(sel) = fixed("img[src]") else {
        return Vec::new();
    };
    doc.select(&sel)
        .filter_map(|img| {
            let src = img.value().attr("src")?;
            let absolute = base
                .join(src)
                .map_or_else(|_| src.to_owned(), |u| u.to_string());
            Some(json!({"src": absolute, "alt": img.value().attr("alt")}))
        })
        .collect()
}

/// `<meta name|property content>` pairs and the description.
pub(crate) fn meta(doc: &Html) -> Value {
    let Some(sel) = fixed("meta[content]") else {
        return json!({});
    };
    let mut tags = serde_json::Map::new();
    for m in doc.select(&sel) {
        let key = m
            .value()
            .attr("name")
            .or_else(|| m.value().attr("property"));
        if let (Some(key), Some(content)) = (key, m.value().attr("content")) {
            tags.insert(key.to_owned(), json!(content));
        }
    }
    json!({"description": tags.get("description").cloned(), "meta_tags": tags})
}
