//! `template_engine`: Jinja2-style templates (minijinja, sandboxed).

use async_trait::async_trait;
use minijinja::{AutoEscape, Environment, UndefinedBehavior};
use serde::Deserialize;
use serde_json::{json, Value};

use crate::params::decode;
use crate::{Result, Tool, ToolCategory, ToolContext, ToolError, ToolMetadata};

const NAME: &str = "template_engine";
/// Longest template accepted, in bytes.
const MAX_TEMPLATE_BYTES: usize = 256 * 1024;
/// Instructions a render may run (minijinja fuel); stops runaway loops.
const FUEL: u64 = 1_000_000;
/// Longest rendered output, in bytes.
const MAX_OUTPUT_BYTES: usize = 4 << 20;

/// Renders a Jinja2-style template (`{{ name }}`, `{% for %}`, filters)
/// against a JSON context. Templates cannot include files or reach the host;
/// execution is bounded by a fuel limit and output size.
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
    #[serde(default = "empty")]
    context: Value,
    #[serde(default = "no_escape")]
    autoescape: Escape,
    #[serde(default)]
    strict: bool,
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
                "context": {"type": "object", "default": {}},
                "autoescape": {"enum": ["none", "html"], "default": "none"},
                "strict": {"type": "boolean", "default": false,
                           "description": "fail on undefined variables"}
            },
            "required": ["template"],
            "additionalProperties": false
        }))
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
