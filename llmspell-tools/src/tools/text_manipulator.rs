//! `text_manipulator`: case changes, trimming, regex replace, splitting.

use std::borrow::Cow;

use async_trait::async_trait;
use heck::{ToKebabCase, ToLowerCamelCase, ToSnakeCase, ToTitleCase, ToUpperCamelCase};
use serde::Deserialize;
use serde_json::{json, Value};

use crate::blocking;
use crate::params::{decode, decode_ref};
use crate::{Result, Synonyms, Tool, ToolCategory, ToolContext, ToolError, ToolMetadata};

const NAME: &str = "text_manipulator";
/// Compiled-size cap for user regexes (the `regex` crate runs in linear
/// time; this bounds memory).
const REGEX_SIZE_LIMIT: usize = 1 << 20;
/// Texts up to this many bytes are processed inline; longer ones on a
/// worker thread (so the per-call timeout holds).
const INLINE_LIMIT: usize = 256 * 1024;
/// How much longer than the text a `replace` result may be, in bytes (a
/// long replacement at every position would otherwise need terabytes).
const MAX_REPLACE_GROWTH: usize = 16 << 20;

/// Text operations: `uppercase`, `lowercase`, `reverse`, `trim`, `length`,
/// `replace` (literal or regex), `split`, `substring` (by characters),
/// `snake_case`, `camel_case`, `pascal_case`, `kebab_case`, `title_case`,
/// `word_count`. A `replace` result may be at most 16 MiB longer than the
/// text.
#[derive(Debug)]
pub struct TextManipulatorTool {
    metadata: ToolMetadata,
}

#[derive(Deserialize)]
#[serde(rename_all = "snake_case")]
enum Operation {
    Uppercase,
    Lowercase,
    Reverse,
    Trim,
    Length,
    Replace,
    Split,
    Substring,
    SnakeCase,
    CamelCase,
    PascalCase,
    KebabCase,
    TitleCase,
    WordCount,
}

/// The parameters; `text` points into a borrowed parameter object
/// (`execute_ref`) or is the owned object's string, moved (`execute`).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Params<'a> {
    operation: Operation,
    #[serde(borrow)]
    text: Cow<'a, str>,
    pattern: Option<String>,
    replacement: Option<String>,
    #[serde(default)]
    regex: bool,
    delimiter: Option<String>,
    start: Option<usize>,
    end: Option<usize>,
}

const OPERATIONS: [&str; 14] = [
    "uppercase",
    "lowercase",
    "reverse",
    "trim",
    "length",
    "replace",
    "split",
    "substring",
    "snake_case",
    "camel_case",
    "pascal_case",
    "kebab_case",
    "title_case",
    "word_count",
];

impl Default for TextManipulatorTool {
    fn default() -> Self {
        Self::new()
    }
}

impl TextManipulatorTool {
    /// The tool.
    #[must_use]
    pub fn new() -> Self {
        let metadata = ToolMetadata::new(
            NAME,
            "Transform text: change case, trim, reverse, replace (literal or regex), split, \
             take a substring, count words and characters.",
            ToolCategory::Utility,
        )
        .with_parameters(json!({
            "type": "object",
            "properties": {
                "operation": {"enum": OPERATIONS},
                "text": {"type": "string"},
                "pattern": {"type": "string"},
                "replacement": {"type": "string"},
                "regex": {"type": "boolean", "default": false},
                "delimiter": {"type": "string"},
                "start": {"type": "integer", "minimum": 0},
                "end": {"type": "integer", "minimum": 0}
            },
            "required": ["operation", "text"],
            "additionalProperties": false,
            "allOf": [
                {"if": {"properties": {"operation": {"const": "replace"}}},
                 "then": {"required": ["pattern", "replacement"]}}
            ]
        }))
        .with_synonyms(synonyms())
        .with_result(json!({
            "type": "object",
            "properties": {"result": {}},
            "required": ["result"]
        }));
        Self { metadata }
    }
}

#[async_trait]
impl Tool for TextManipulatorTool {
    fn metadata(&self) -> &ToolMetadata {
        &self.metadata
    }

    async fn execute(&self, params: Value, _ctx: &ToolContext) -> Result<Value> {
        let p: Params<'static> = decode(NAME, params)?;
        run(p).await
    }

    /// Works on the borrowed text in place (no copy of it, up to the
    /// inline limit); the same result as `execute`.
    async fn execute_ref(&self, params: &Value, _ctx: &ToolContext) -> Result<Value> {
        let p: Params<'_> = decode_ref(NAME, params)?;
        run(p).await
    }
}

/// One operation inline, or (long texts, owned for the hand-over) on a
/// worker thread so that the timeout holds.
async fn run(p: Params<'_>) -> Result<Value> {
    if p.text.len() <= INLINE_LIMIT {
        return manipulate(p);
    }
    let p = Params {
        operation: p.operation,
        text: Cow::<'static, str>::Owned(p.text.into_owned()),
        pattern: p.pattern,
        replacement: p.replacement,
        regex: p.regex,
        delimiter: p.delimiter,
        start: p.start,
        end: p.end,
    };
    blocking::run(NAME, move |_| manipulate(p)).await
}

/// One operation.
fn manipulate(p: Params<'_>) -> Result<Value> {
    let text: &str = &p.text;
    let result = match p.operation {
        Operation::Uppercase => json!(text.to_uppercase()),
        Operation::Lowercase => json!(text.to_lowercase()),
        Operation::Reverse => json!(text.chars().rev().collect::<String>()),
        Operation::Trim => json!(text.trim()),
        Operation::Length => json!({
            "chars": text.chars().count(),
            "bytes": text.len(),
            "words": text.split_whitespace().count(),
            "lines": text.lines().count(),
        }),
        Operation::WordCount => json!(text.split_whitespace().count()),
        Operation::SnakeCase => json!(text.to_snake_case()),
        Operation::CamelCase => json!(text.to_lower_camel_case()),
        Operation::PascalCase => json!(text.to_upper_camel_case()),
        Operation::KebabCase => json!(text.to_kebab_case()),
        Operation::TitleCase => json!(text.to_title_case()),
        Operation::Replace => {
            let pattern = p.pattern.ok_or_else(|| {
                ToolError::invalid_parameter(NAME, "pattern", "required for `replace`")
            })?;
            let replacement = p.replacement.ok_or_else(|| {
                ToolError::invalid_parameter(NAME, "replacement", "required for `replace`")
            })?;
            if p.regex {
                let re = regex::RegexBuilder::new(&pattern)
                    .size_limit(REGEX_SIZE_LIMIT)
                    .build()
                    .map_err(|e| {
                        ToolError::invalid_parameter(NAME, "pattern", format!("bad regex: {e}"))
                    })?;
                json!(replace_regex(&re, text, &replacement)?)
            } else if pattern.is_empty() {
                return Err(ToolError::invalid_parameter(
                    NAME,
                    "pattern",
                    "must not be empty",
                ));
            } else {
                json!(replace_literal(text, &pattern, &replacement)?)
            }
        }
        Operation::Split => match p.delimiter.as_deref() {
            None | Some("") => json!(text.split_whitespace().collect::<Vec<_>>()),
            Some(d) => json!(text.split(d).collect::<Vec<_>>()),
        },
        Operation::Substring => {
            let len = text.chars().count();
            let start = p.start.unwrap_or(0);
            let end = p.end.unwrap_or(len).min(len);
            if start > end {
                return Err(ToolError::invalid_parameter(
                    NAME,
                    "start",
                    format!("start {start} is after end {end} (text has {len} characters)"),
                ));
            }
            json!(text
                .chars()
                .skip(start)
                .take(end - start)
                .collect::<String>())
        }
    };
    Ok(json!({"result": result}))
}

fn too_long() -> ToolError {
    ToolError::invalid_parameter(
        NAME,
        "replacement",
        format!("the result would be more than {MAX_REPLACE_GROWTH} bytes longer than the text"),
    )
}

/// `text` with every `pattern` replaced, refused before it is built if it
/// would outgrow the text by more than [`MAX_REPLACE_GROWTH`].
fn replace_literal(text: &str, pattern: &str, replacement: &str) -> Result<String> {
    if replacement.len() > pattern.len() {
        let growth =
            (replacement.len() - pattern.len()).saturating_mul(text.matches(pattern).count());
        if growth > MAX_REPLACE_GROWTH {
            return Err(too_long());
        }
    }
    Ok(text.replace(pattern, replacement))
}

/// `text` with every match of `re` replaced by the expanded `replacement`
/// (`$1`, `${name}`), built piece by piece: each expansion is bounded
/// before it is made (a reference expands to at most the whole match).
fn replace_regex(re: &regex::Regex, text: &str, replacement: &str) -> Result<String> {
    let limit = text.len().saturating_add(MAX_REPLACE_GROWTH);
    let references = replacement.bytes().filter(|&b| b == b'$').count();
    let mut out = String::new();
    let mut last = 0;
    for caps in re.captures_iter(text) {
        let whole = caps.get(0).map_or(0..0, |m| m.range());
        let most = replacement
            .len()
            .saturating_add(references.saturating_mul(whole.len()));
        if out.len() + (whole.start - last) + most > limit {
            return Err(too_long());
        }
        out.push_str(&text[last..whole.start]);
        caps.expand(replacement, &mut out);
        last = whole.end;
    }
    out.push_str(&text[last..]);
    if out.len() > limit {
        return Err(too_long());
    }
    Ok(out)
}

/// The names rs-llmspell's scripts use (see `Synonyms`).
fn synonyms() -> Synonyms {
    Synonyms::new()
        .parameter("input", "text")
        .parameter("options.from", "pattern")
        .parameter("options.to", "replacement")
        .parameter("options.start", "start")
        .parameter("options.end", "end")
        .parameter("options.delimiter", "delimiter")
}
