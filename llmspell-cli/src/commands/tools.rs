//! `llmspell tools list|describe`: the built-in tools of `llmspell run`.

use std::io::Write;

use llmspell_tools::{ToolMetadata, ToolRegistry, ToolsConfig};
use serde_json::{json, Value};

use crate::error::{CliError, Result};
use crate::output::{truncate, Output, Table};

/// The standard tools, as `llmspell run` registers them (the policy of the
/// configuration does not change which tools exist, only what they may
/// touch).
fn registry() -> Result<ToolRegistry> {
    ToolRegistry::with_standard_tools(&ToolsConfig::default())
        .map_err(|e| CliError::Usage(format!("cannot build the tool registry: {e}")))
}

fn to_json_text(value: &Value) -> Result<String> {
    serde_json::to_string_pretty(value).map_err(|e| CliError::Usage(e.to_string()))
}

fn security(meta: &ToolMetadata) -> String {
    serde_json::to_value(meta.security_level())
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_else(|| format!("{:?}", meta.security_level()).to_lowercase())
}

/// `tools list [--category C]`: name, category, security level and the
/// description (cut at 80 characters), sorted by name.
pub(crate) fn list(
    category: Option<&str>,
    as_json: bool,
    style: &Output,
    out: &mut (dyn Write + Send),
) -> Result<()> {
    let mut tools = registry()?.list();
    tools.sort_by(|a, b| a.name().cmp(b.name()));
    if let Some(c) = category {
        let mut known: Vec<String> = tools.iter().map(|t| t.category().to_string()).collect();
        known.sort();
        known.dedup();
        if !known.iter().any(|k| k == c) {
            return Err(CliError::Usage(format!(
                "no tool category `{c}`; categories: {}",
                known.join(", ")
            )));
        }
        tools.retain(|t| t.category().as_str() == c);
    }
    if as_json {
        let value = serde_json::to_value(&tools).map_err(|e| CliError::Usage(e.to_string()))?;
        writeln!(out, "{}", to_json_text(&value)?)?;
        return Ok(());
    }
    let mut table = Table::new(&["NAME", "CATEGORY", "SECURITY", "DESCRIPTION"]);
    for t in &tools {
        table.row(vec![
            t.name().to_owned(),
            t.category().to_string(),
            security(t),
            truncate(t.description(), 80),
        ]);
    }
    write!(out, "{}", table.render(style))?;
    Ok(())
}

/// One parameter of a tool's schema.
struct Param {
    name: String,
    kind: String,
    required: bool,
    default: Option<Value>,
    synonyms: Vec<String>,
    description: String,
    example: Value,
}

/// The type of a property schema as text: `string`, `integer|string`,
/// `"a"|"b"` for an enum, `array of string`.
fn type_of(schema: &Value) -> String {
    if let Some(values) = schema.get("enum").and_then(Value::as_array) {
        return values
            .iter()
            .map(Value::to_string)
            .collect::<Vec<_>>()
            .join("|");
    }
    match schema.get("type") {
        Some(Value::String(t)) if t == "array" => match schema.get("items") {
            Some(items) => format!("array of {}", type_of(items)),
            None => "array".to_owned(),
        },
        Some(Value::String(t)) => t.clone(),
        Some(Value::Array(ts)) => ts
            .iter()
            .filter_map(Value::as_str)
            .collect::<Vec<_>>()
            .join("|"),
        _ => {
            for key in ["oneOf", "anyOf"] {
                if let Some(options) = schema.get(key).and_then(Value::as_array) {
                    return options.iter().map(type_of).collect::<Vec<_>>().join("|");
                }
            }
            "any".to_owned()
        }
    }
}

/// A value of the schema for the example call: its default, first enum
/// value or first example, else a placeholder of its type.
fn example_of(schema: &Value) -> Value {
    if let Some(v) = schema.get("default") {
        return v.clone();
    }
    if let Some(v) = schema
        .get("enum")
        .and_then(Value::as_array)
        .and_then(|a| a.first())
    {
        return v.clone();
    }
    if let Some(v) = schema
        .get("examples")
        .and_then(Value::as_array)
        .and_then(|a| a.first())
    {
        return v.clone();
    }
    let kind = match schema.get("type") {
        Some(Value::String(t)) => t.as_str(),
        Some(Value::Array(ts)) => ts.first().and_then(Value::as_str).unwrap_or("string"),
        _ => "string",
    };
    match kind {
        "integer" | "number" => json!(1),
        "boolean" => json!(true),
        "array" => json!([]),
        "object" => json!({}),
        _ => json!("..."),
    }
}

/// The synonyms a property schema names (`synonyms`, `x-synonyms` or
/// `aliases`), plus those the object schema maps to it (`x-synonyms` /
/// `synonyms` as `{name: [synonym, ...]}` at the top level).
fn synonyms_of(root: &Value, name: &str, schema: &Value) -> Vec<String> {
    let mut out = Vec::new();
    for key in ["synonyms", "x-synonyms", "aliases", "x-aliases"] {
        if let Some(list) = schema.get(key).and_then(Value::as_array) {
            out.extend(list.iter().filter_map(Value::as_str).map(str::to_owned));
        }
        if let Some(list) = root
            .get(key)
            .and_then(|m| m.get(name))
            .and_then(Value::as_array)
        {
            out.extend(list.iter().filter_map(Value::as_str).map(str::to_owned));
        }
    }
    out.sort();
    out.dedup();
    out
}

fn params_of(schema: &Value) -> Vec<Param> {
    let required: Vec<&str> = schema
        .get("required")
        .and_then(Value::as_array)
        .map(|r| r.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let Some(properties) = schema.get("properties").and_then(Value::as_object) else {
        return Vec::new();
    };
    properties
        .iter()
        .map(|(name, p)| Param {
            name: name.clone(),
            kind: type_of(p),
            required: required.contains(&name.as_str()),
            default: p.get("default").cloned(),
            synonyms: synonyms_of(schema, name, p),
            description: p
                .get("description")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned(),
            example: example_of(p),
        })
        .collect()
}

/// A JSON value written as a Lua literal.
fn lua_literal(value: &Value) -> String {
    match value {
        Value::Null => "nil".to_owned(),
        Value::Bool(_) | Value::Number(_) | Value::String(_) => value.to_string(),
        Value::Array(items) => format!(
            "{{{}}}",
            items.iter().map(lua_literal).collect::<Vec<_>>().join(", ")
        ),
        Value::Object(map) => format!(
            "{{{}}}",
            map.iter()
                .map(|(k, v)| format!("{k} = {}", lua_literal(v)))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

/// The example call of a tool: its required parameters (every parameter
/// when none is required) with example values.
fn example_call(name: &str, params: &[Param]) -> String {
    let any_required = params.iter().any(|p| p.required);
    let fields: Vec<String> = params
        .iter()
        .filter(|p| p.required || !any_required)
        .take(4)
        .map(|p| format!("{} = {}", p.name, lua_literal(&p.example)))
        .collect();
    format!("Tool.invoke(\"{name}\", {{{}}})", fields.join(", "))
}

/// `tools describe <name>`.
pub(crate) fn describe(
    name: &str,
    as_json: bool,
    style: &Output,
    out: &mut (dyn Write + Send),
) -> Result<()> {
    let registry = registry()?;
    let Some(tool) = registry.get(name) else {
        let mut names = registry.names();
        names.sort();
        return Err(CliError::Usage(format!(
            "no tool named `{name}`; tools: {}",
            names.join(", ")
        )));
    };
    let meta = tool.metadata();
    let params = params_of(meta.parameters());
    let example = example_call(meta.name(), &params);
    if as_json {
        let mut value = serde_json::to_value(meta).map_err(|e| CliError::Usage(e.to_string()))?;
        if let Some(obj) = value.as_object_mut() {
            obj.insert("example".to_owned(), json!(example));
        }
        writeln!(out, "{}", to_json_text(&value)?)?;
        return Ok(());
    }
    writeln!(out, "{}", style.bold(meta.name()))?;
    writeln!(
        out,
        "category: {}    security: {}",
        meta.category(),
        security(meta)
    )?;
    writeln!(out)?;
    writeln!(out, "{}", meta.description())?;
    writeln!(out)?;
    if params.is_empty() {
        writeln!(out, "parameters: none")?;
    } else {
        let mut table = Table::new(&[
            "PARAMETER",
            "TYPE",
            "REQUIRED",
            "DEFAULT",
            "SYNONYMS",
            "DESCRIPTION",
        ]);
        for p in &params {
            table.row(vec![
                p.name.clone(),
                truncate(&p.kind, 40),
                if p.required { "yes" } else { "no" }.to_owned(),
                p.default
                    .as_ref()
                    .map_or_else(|| "-".to_owned(), Value::to_string),
                if p.synonyms.is_empty() {
                    "-".to_owned()
                } else {
                    p.synonyms.join(", ")
                },
                p.description.clone(),
            ]);
        }
        write!(out, "{}", table.render(style))?;
    }
    writeln!(out)?;
    writeln!(out, "example:")?;
    writeln!(out, "  {example}")?;
    Ok(())
}
