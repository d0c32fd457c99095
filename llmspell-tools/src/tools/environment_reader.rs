//! `environment_reader`: read environment variables, hiding secrets.

use async_trait::async_trait;
use serde::Deserialize;
use serde_json::{json, Map, Value};

use crate::config::rule;
use crate::params::decode;
use crate::{
    EnvironmentPolicy, Result, SecurityLevel, Synonyms, Tool, ToolCategory, ToolContext, ToolError,
    ToolMetadata, ToolsConfig,
};

const NAME: &str = "environment_reader";

/// Reads environment variables: `get` one, `list` (optionally by prefix),
/// `exists`, plus `cwd`/`platform` facts. Variables whose names or values
/// look secret (see [`EnvironmentPolicy`]) are never shown unless allowed by
/// name: `get` and `exists` refuse them
/// ([`ToolError::PolicyViolation`], rule `secret_variable`; for a
/// secret-looking name whether or not it is set, so `exists` does not
/// confirm it), `list` leaves them out and counts them.
#[derive(Debug)]
pub struct EnvironmentReaderTool {
    metadata: ToolMetadata,
    policy: EnvironmentPolicy,
}

#[derive(Deserialize)]
#[serde(rename_all = "snake_case")]
enum Operation {
    Get,
    List,
    Exists,
    System,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Params {
    operation: Operation,
    name: Option<String>,
    prefix: Option<String>,
}

impl EnvironmentReaderTool {
    /// The tool with `config.environment` policy.
    #[must_use]
    pub fn new(config: &ToolsConfig) -> Self {
        let metadata = ToolMetadata::new(
            NAME,
            "Read environment variables (get, list by prefix, exists) and basic platform facts; \
             secret-looking variables are hidden.",
            ToolCategory::System,
        )
        .with_security_level(SecurityLevel::Restricted)
        .with_parameters(json!({
            "type": "object",
            "properties": {
                "operation": {"enum": ["get", "list", "exists", "system"]},
                "name": {"type": "string", "minLength": 1},
                "prefix": {"type": "string"}
            },
            "required": ["operation"],
            "additionalProperties": false,
            "if": {"properties": {"operation": {"enum": ["get", "exists"]}}},
            "then": {"required": ["name"]}
        }))
        .with_synonyms(synonyms())
        .with_result(json!({"type": "object"}));
        Self {
            metadata,
            policy: config.environment.clone(),
        }
    }
}

impl EnvironmentReaderTool {
    /// The value of `name`, or a refusal if the name or the value looks
    /// secret. A secret-looking name is refused before the variable is
    /// looked up, so the answer does not tell whether it is set.
    fn read(&self, name: &str) -> Result<Option<String>> {
        if self.policy.hides(name) {
            return Err(hidden(name, "its name looks like a secret"));
        }
        let value = std::env::var_os(name).map(|v| v.to_string_lossy().into_owned());
        if let Some(v) = &value {
            if self.policy.hides_variable(name, v) {
                return Err(hidden(name, "its value carries a credential"));
            }
        }
        Ok(value)
    }
}

fn hidden(name: &str, why: &str) -> ToolError {
    ToolError::policy(
        NAME,
        rule::SECRET_VARIABLE,
        format!(
            "`{name}` is hidden: {why}; allow it with \
             ToolsConfig::builder().allow_secret_env(\"{name}\")"
        ),
    )
}

#[async_trait]
impl Tool for EnvironmentReaderTool {
    fn metadata(&self) -> &ToolMetadata {
        &self.metadata
    }

    async fn execute(&self, params: Value, _ctx: &ToolContext) -> Result<Value> {
        let p: Params = decode(NAME, params)?;
        let name = || {
            p.name
                .as_deref()
                .ok_or_else(|| ToolError::invalid_parameter(NAME, "name", "required"))
        };
        match p.operation {
            Operation::Get => {
                let name = name()?;
                let value = self.read(name)?;
                Ok(json!({"name": name, "value": value, "set": value.is_some()}))
            }
            Operation::Exists => {
                let name = name()?;
                let exists = self.read(name)?.is_some();
                Ok(json!({"name": name, "exists": exists}))
            }
            Operation::List => {
                let prefix = p.prefix.as_deref().unwrap_or("");
                let mut variables = Map::new();
                let mut hidden = 0usize;
                for (key, value) in std::env::vars_os() {
                    let key = key.to_string_lossy().into_owned();
                    if !key.starts_with(prefix) {
                        continue;
                    }
                    let value = value.to_string_lossy();
                    if self.policy.hides_variable(&key, &value) {
                        hidden += 1;
                        continue;
                    }
                    variables.insert(key, Value::String(value.into_owned()));
                }
                Ok(json!({"variables": variables, "hidden": hidden}))
            }
            Operation::System => Ok(json!({
                "os": std::env::consts::OS,
                "family": std::env::consts::FAMILY,
                "arch": std::env::consts::ARCH,
                "cwd": std::env::current_dir().ok().map(|d| d.display().to_string()),
            })),
        }
    }
}

/// The names rs-llmspell's scripts use (see `Synonyms`).
fn synonyms() -> Synonyms {
    Synonyms::new().parameter("variable_name", "name")
}
