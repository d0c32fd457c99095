//! `template_engine`: Jinja2-style templates (minijinja, sandboxed).

use async_trait::async_trait;
use minijinja::{AutoEscape, Environment, UndefinedBehavior};
use serde::Deserialize;
use serde_json::{json, Value};

use crate::blocking;
use crate::params::decode;
use crate::{Result, Synonyms, Tool, ToolCategory, ToolContext, ToolError, ToolMetadata};

const NAME: &str = "template_engine";
/// Longest template accepted, in bytes.
const MAX_TEMPLATE_BYTES: usize = 256 * 1024;
/// Instructions a render may run (minijinja fuel); stops runaway loops.
const FUEL: u64 = 1_000_000;
/// Longest rendered output, in bytes.
const MAX_OUTPUT_BYTES: usize = 4 << 20;
/// Most operators, brackets, filters and postfix steps one `{{ }}` or
/// `{% %}` tag may hold. minijinja builds (and later walks) a tree as deep
/// as an expression's chain of them, recursively, without a limit of its
/// own: `{{ ` + 30,000 × `-` + `1 }}` overflows the stack. 256 nest far
/// within a worker thread's stack, in debug builds too.
const MAX_TAG_OPERATORS: usize = 256;

/// Renders a Jinja2-style template (`{{ name }}`, `{% for %}`, filters)
/// against a JSON context. Templates cannot include files or reach the host;
/// execution is bounded by a fuel limit and output size, and each tag by
/// 256 operators, brackets and filters (checked before parsing). Rendering
/// runs on the tools' worker threads, so the per-call timeout holds.
#[derive(Debug)]
pub struct TemplateEngineTool {
    metadata: ToolMetadata,
}

#[derive(Deserialize)]
#[serde(rename_all = "snake_case")]
enum Escape {
    None,
    Html,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Params {
    template: String,
    #[serde(default)]
    engine: Engine,
    #[serde(default = "empty")]
    context: Value,
    #[serde(default = "no_escape")]
    autoescape: Escape,
    #[serde(default)]
    strict: bool,
}

/// The template syntax asked for. Every template is rendered by minijinja
/// (Jinja2 syntax, which Tera shares); `handlebars` is accepted for the
/// `{{ name }}` / `{{ a.b }}` substitutions the two syntaxes share, and a
/// Handlebars block (`{{#if}}`, `{{/if}}`, `{{> partial}}`) is refused.
#[derive(Deserialize, Default, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
enum Engine {
    #[default]
    Jinja,
    Minijinja,
    Tera,
    Handlebars,
}

fn empty() -> Value {
    json!({})
}
fn no_escape() -> Escape {
    Escape::None
}

impl Default for TemplateEngineTool {
    fn default() -> Self {
        Self::new()
    }
}

impl TemplateEngineTool {
    /// The tool.
    #[must_use]
    pub fn new() -> Self {
        let metadata = ToolMetadata::new(
            NAME,
            "Render a Jinja2-style template with a JSON context ({{ var }}, {% for %}, filters).",
            ToolCategory::Utility,
        )
        .with_parameters(json!({
            "type": "object",
            "properties": {
                "template": {"type": "string", "maxLength": MAX_TEMPLATE_BYTES},
                "engine": {"enum": ["jinja", "minijinja", "tera", "handlebars"], "default": "jinja",
                           "description": "all render with minijinja (Jinja2 syntax); handlebars only for plain {{ name }} substitutions"},
                "context": {"type": "object", "default": {}},
                "autoescape": {"enum": ["none", "html"], "default": "none"},
                "strict": {"type": "boolean", "default": false,
                           "description": "fail on undefined variables"}
            },
            "required": ["template"],
            "additionalProperties": false
        }))
        .with_synonyms(synonyms())
        .with_result(json!({
            "type": "object",
            "properties": {"output": {"type": "string"}},
            "required": ["output"]
        }));
        Self { metadata }
    }
}

#[async_trait]
impl Tool for TemplateEngineTool {
    fn metadata(&self) -> &ToolMetadata {
        &self.metadata
    }

    async fn execute(&self, params: Value, _ctx: &ToolContext) -> Result<Value> {
        let p: Params = decode(NAME, params)?;
        if p.template.len() > MAX_TEMPLATE_BYTES {
            return Err(ToolError::invalid_parameter(
                NAME,
                "template",
                format!("longer than {MAX_TEMPLATE_BYTES} bytes"),
            ));
        }
        if !p.context.is_object() {
            return Err(ToolError::invalid_parameter(
                NAME,
                "context",
                "must be an object",
            ));
        }
        if p.engine == Engine::Handlebars {
            for block in ["{{#", "{{/", "{{>", "{{else"] {
                if p.template.contains(block) {
                    return Err(ToolError::invalid_parameter(
                        NAME,
                        "template",
                        format!(
                            "Handlebars blocks (`{block}`) are not supported: templates render \
                             with Jinja2 syntax; write `{{% if x %}}...{{% endif %}}` instead"
                        ),
                    ));
                }
            }
        }
        check_tags(&p.template)
            .map_err(|message| ToolError::invalid_parameter(NAME, "template", message))?;
        blocking::run(NAME, move |_| render(&p)).await
    }
}

/// Compiles and renders (on a worker thread).
fn render(p: &Params) -> Result<Value> {
    let mut env = Environment::new();
    env.set_fuel(Some(FUEL));
    env.set_recursion_limit(64);
    match p.autoescape {
        Escape::None => env.set_auto_escape_callback(|_| AutoEscape::None),
        Escape::Html => env.set_auto_escape_callback(|_| AutoEscape::Html),
    }
    if p.strict {
        env.set_undefined_behavior(UndefinedBehavior::Strict);
    }
    let template = env.template_from_str(&p.template).map_err(render_error)?;
    // The output is bounded while it is written, not after.
    let mut out = CappedWriter::default();
    match template.render_captured_to(minijinja::value::Serde(&p.context), &mut out) {
        Ok(_) => {}
        Err(_) if out.overflowed => {
            return Err(ToolError::execution(
                NAME,
                format!("rendered output is larger than {MAX_OUTPUT_BYTES} bytes"),
            ))
        }
        Err(e) => return Err(render_error(e)),
    }
    let output = String::from_utf8(out.buf)
        .map_err(|_| ToolError::execution(NAME, "rendered output is not UTF-8"))?;
    Ok(json!({"output": output}))
}

/// Refuses a template with a tag holding more than [`MAX_TAG_OPERATORS`]
/// operators, brackets, filters and postfix steps (each can add a level to
/// the expression tree; names, literals and commas cannot). String
/// literals and comments are skipped, and so is the body of a
/// `{% raw %}` block.
fn check_tags(template: &str) -> std::result::Result<(), String> {
    let b = template.as_bytes();
    let mut i = 0;
    while i + 1 < b.len() {
        if b[i] != b'{' {
            i += 1;
            continue;
        }
        let close: &[u8] = match b[i + 1] {
            b'{' => b"}}",
            b'%' => b"%}",
            b'#' => {
                i = find(b, i + 2, b"#}").map_or(b.len(), |e| e + 2);
                continue;
            }
            _ => {
                i += 1;
                continue;
            }
        };
        let start = i;
        let (end, operators) = scan_tag(b, i + 2, close);
        if operators > MAX_TAG_OPERATORS {
            let line = 1 + b[..start].iter().filter(|&&c| c == b'\n').count();
            return Err(format!(
                "the tag at line {line} holds more than {MAX_TAG_OPERATORS} operators, \
                 brackets and filters; split the expression (for example with `{{% set %}}`)"
            ));
        }
        i = end;
        let body = &b[start + 2..end.saturating_sub(2).max(start + 2)];
        let is_marker = |c: &u8| matches!(c, b'-' | b'+') || c.is_ascii_whitespace();
        let first = body
            .iter()
            .position(|c| !is_marker(c))
            .unwrap_or(body.len());
        let last = body
            .iter()
            .rposition(|c| !is_marker(c))
            .map_or(first, |p| p + 1);
        if close == b"%}" && &body[first..last] == b"raw" {
            // Skip to the end of `{% endraw %}`.
            i = find(b, i, b"endraw")
                .and_then(|e| find(b, e, b"%}"))
                .map_or(b.len(), |e| e + 2);
        }
    }
    Ok(())
}

/// Scans a tag from `i` to just past `close`; returns that position and the
/// operators counted.
fn scan_tag(b: &[u8], mut i: usize, close: &[u8]) -> (usize, usize) {
    let mut operators = 0usize;
    while i < b.len() {
        if b[i..].starts_with(close) {
            return (i + close.len(), operators);
        }
        match b[i] {
            q @ (b'\'' | b'"') => {
                i += 1;
                while i < b.len() && b[i] != q {
                    i += if b[i] == b'\\' { 2 } else { 1 };
                }
                i += 1;
            }
            c if c.is_ascii_alphabetic() || c == b'_' => {
                let s = i;
                while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'_') {
                    i += 1;
                }
                if matches!(
                    &b[s..i],
                    b"not" | b"and" | b"or" | b"is" | b"in" | b"if" | b"else"
                ) {
                    operators += 1;
                }
            }
            b'+' | b'-' | b'*' | b'/' | b'%' | b'~' | b'.' | b'[' | b'(' | b'{' | b'|' | b'<'
            | b'>' | b'=' | b'!' => {
                operators += 1;
                i += 1;
            }
            _ => i += 1,
        }
    }
    (b.len(), operators)
}

/// The first position of `needle` in `b` at or after `from`.
fn find(b: &[u8], from: usize, needle: &[u8]) -> Option<usize> {
    b.get(from..)?
        .windows(needle.len())
        .position(|w| w == needle)
        .map(|p| p + from)
}

fn render_error(e: minijinja::Error) -> ToolError {
    let parameter = match e.kind() {
        minijinja::ErrorKind::UndefinedError => "context",
        _ => "template",
    };
    ToolError::invalid_parameter(NAME, parameter, format!("cannot render: {e}"))
}

/// Collects output up to [`MAX_OUTPUT_BYTES`], then fails the write.
#[derive(Default)]
struct CappedWriter {
    buf: Vec<u8>,
    overflowed: bool,
}

impl std::io::Write for CappedWriter {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        if self.buf.len() + data.len() > MAX_OUTPUT_BYTES {
            self.overflowed = true;
            return Err(std::io::Error::other("template output limit reached"));
        }
        self.buf.extend_from_slice(data);
        Ok(data.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// The names rs-llmspell's scripts use (see `Synonyms`).
fn synonyms() -> Synonyms {
    Synonyms::new().parameter("input", "template")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_are_bounded_before_parsing() {
        let deep = format!("{{{{ {}1 }}}}", "-".repeat(30_000));
        assert!(check_tags(&deep).is_err());
        let at_limit = format!("{{{{ 1{} }}}}", " + 1".repeat(MAX_TAG_OPERATORS));
        assert!(check_tags(&at_limit).is_ok());
        let over = format!("{{{{ 1{} }}}}", " + 1".repeat(MAX_TAG_OPERATORS + 1));
        let err = check_tags(&format!("a\nb\n{over}")).unwrap_err();
        assert!(err.contains("line 3"), "{err}");
        // Many tags are fine; each is counted on its own.
        let many = "{{ a.b | upper ~ '-' ~ c[0] }}".repeat(1000);
        assert!(check_tags(&many).is_ok());
        // Operators inside strings, comments and raw blocks do not count.
        let quoted = format!("{{{{ '{}' }}}}", "-".repeat(1000));
        assert!(check_tags(&quoted).is_ok());
        let comment = format!("{{# {} #}}", "-".repeat(1000));
        assert!(check_tags(&comment).is_ok());
        let raw = format!("{{%- raw %}}{{{{ {} }}}}{{% endraw %}}", "-".repeat(1000));
        assert!(check_tags(&raw).is_ok());
        let after_raw = format!("{{% raw %}}x{{% endraw %}}{deep}");
        assert!(check_tags(&after_raw).is_err());
        // A statement tag counts the same way.
        let stmt = format!("{{% if {}x %}}y{{% endif %}}", "not ".repeat(300));
        assert!(check_tags(&stmt).is_err());
        // Unclosed tags and multi-byte text do not trip the scanner.
        assert!(check_tags("{{ é").is_ok());
        assert!(check_tags("{% ré").is_ok());
        assert!(check_tags("é{").is_ok());
    }
}
