//! `environment_reader`: read environment variables, hiding secrets.

use async_trait::async_trait;
use serde::Deserialize;
use serde_json::{json, Map, Value};

use crate::params::decode;
use crate::{
    EnvironmentPolicy, Result, SecurityLevel, Tool, ToolCategory, ToolContext, ToolError,
    ToolMetadata, ToolsConfig,
};

const NAME: &str = "environment_reader";

/// Reads environment variables: `get` one, `list` (optionally by prefix),
/// `exists`, plus `cwd`/`platform` facts. Variables whose names look secret
/// (see [`EnvironmentPolicy`]) are never shown unless allowed by name: `get`
/// refuses them, `list` leaves them out and counts them.
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
        .with_result(json!({"type": "object"}));
        Self {
            metadata,
            policy: config.environment.clone(),
        }
    }
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
                if self.policy.hides(name) {
                    return Err(ToolError::security(
                        NAME,
                        format!(
                            "`{name}` looks like a secret and is hidden; allow it with \
                             ToolsConfig::builder().allow_secret_env(\"{name}\")"
                        ),
                    ));
                }
                let value = std::env::var_os(name).map(|v| v.to_string_lossy().into_owned());
                Ok(json!({"name": name, "value": value, "set": value.is_some()}))
            }
            Operation::Exists => {
                let name = name()?;
                Ok(json!({"name": name, "exists": std::env::var_os(name).is_some()}))
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
                    if self.policy.hides(&key) {
                        hidden += 1;
                        continue;
                    }
                    variables.insert(key, Value::String(value.to_string_lossy().into_owned()));
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
