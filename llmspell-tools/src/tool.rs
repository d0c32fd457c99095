//! The `Tool` trait and the metadata every tool declares.

use std::fmt;
use std::str::FromStr;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::{Result, Synonyms, ToolContext};

/// What kind of job a tool does; used to list tools by category.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum ToolCategory {
    /// Pure computations on their input (encoding, hashing, text, dates...).
    Utility,
    /// Structured data: JSON, CSV, validation.
    Data,
    /// Reads or writes files inside the configured roots.
    Filesystem,
    /// Looks at or acts on the host: processes, environment, services.
    System,
    /// A category defined by the application.
    Custom(String),
}

impl ToolCategory {
    /// The category's string form: `utility`, `data`, `filesystem`, `system`,
    /// or the custom name.
    #[must_use]
    pub fn as_str(&self) -> &str {
        match self {
            Self::Utility => "utility",
            Self::Data => "data",
            Self::Filesystem => "filesystem",
            Self::System => "system",
            Self::Custom(name) => name,
        }
    }
}

impl fmt::Display for ToolCategory {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for ToolCategory {
    type Err = std::convert::Infallible;

    /// Parses the string form; any name other than the four built-in ones
    /// is a [`ToolCategory::Custom`] category.
    fn from_str(s: &str) -> std::result::Result<Self, Self::Err> {
        Ok(match s {
            "utility" => Self::Utility,
            "data" => Self::Data,
            "filesystem" => Self::Filesystem,
            "system" => Self::System,
            other => Self::Custom(other.to_owned()),
        })
    }
}

/// How much a tool can affect the host; applications may refuse tools above
/// a level for untrusted scripts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum SecurityLevel {
    /// No access outside its input.
    Safe,
    /// Reads or writes host state inside a configured sandbox.
    Restricted,
    /// Runs programs or otherwise acts on the host under an allow-list.
    Privileged,
}

/// A tool's self-description: name, purpose, category, security level and
/// the JSON Schemas of its parameter object and of its result.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ToolMetadata {
    name: String,
    description: String,
    category: ToolCategory,
    security_level: SecurityLevel,
    parameters: Value,
    result: Value,
    #[serde(default, skip_serializing_if = "Synonyms::is_empty")]
    synonyms: Synonyms,
}

impl ToolMetadata {
    /// Metadata with a permissive parameter schema (`{"type": "object"}`),
    /// an unconstrained result schema and [`SecurityLevel::Safe`].
    #[must_use]
    pub fn new(
        name: impl Into<String>,
        description: impl Into<String>,
        category: ToolCategory,
    ) -> Self {
        Self {
            name: name.into(),
            description: description.into(),
            category,
            security_level: SecurityLevel::Safe,
            parameters: serde_json::json!({"type": "object"}),
            result: serde_json::json!({}),
            synonyms: Synonyms::new(),
        }
    }

    /// Sets the security level.
    #[must_use]
    pub fn with_security_level(mut self, level: SecurityLevel) -> Self {
        self.security_level = level;
        self
    }

    /// Sets the JSON Schema of the parameter object.
    #[must_use]
    pub fn with_parameters(mut self, schema: Value) -> Self {
        self.parameters = schema;
        self
    }

    /// Declares other names of parameters and values (see [`Synonyms`]),
    /// resolved by the registry before validation, and documents them in
    /// the parameter schema. Call it after
    /// [`with_parameters`](Self::with_parameters).
    #[must_use]
    pub fn with_synonyms(mut self, synonyms: Synonyms) -> Self {
        synonyms.annotate(&mut self.parameters);
        self.synonyms = synonyms;
        self
    }

    /// The synonyms of parameter names and values.
    #[must_use]
    pub fn synonyms(&self) -> &Synonyms {
        &self.synonyms
    }

    /// Sets the JSON Schema of the result.
    #[must_use]
    pub fn with_result(mut self, schema: Value) -> Self {
        self.result = schema;
        self
    }

    /// The tool's unique name, e.g. `calculator`.
    #[must_use]
    pub fn name(&self) -> &str {
        &self.name
    }

    /// A one-paragraph description for humans and LLMs.
    #[must_use]
    pub fn description(&self) -> &str {
        &self.description
    }

    /// The category.
    #[must_use]
    pub fn category(&self) -> &ToolCategory {
        &self.category
    }

    /// The security level.
    #[must_use]
    pub fn security_level(&self) -> SecurityLevel {
        self.security_level
    }

    /// JSON Schema of the parameter object.
    #[must_use]
    pub fn parameters(&self) -> &Value {
        &self.parameters
    }

    /// JSON Schema of the result.
    #[must_use]
    pub fn result(&self) -> &Value {
        &self.result
    }
}

/// A tool: something with a name and a schema that turns one JSON parameter
/// object into one JSON result.
///
/// `execute` gets the parameter object as the caller (or a hook) gave it;
/// callers going through a [`ToolRegistry`](crate::ToolRegistry) have
/// already checked it against [`ToolMetadata::parameters`], and every
/// standard tool checks it again when it decodes it, so a direct call with
/// bad input is an [`InvalidParameter`](crate::ToolError::InvalidParameter)
/// error, never a panic.
#[async_trait]
pub trait Tool: Send + Sync + fmt::Debug {
    /// The tool's metadata.
    fn metadata(&self) -> &ToolMetadata;

    /// Runs the tool on one parameter object.
    async fn execute(&self, params: Value, ctx: &ToolContext) -> Result<Value>;

    /// Runs the tool on a borrowed parameter object: what
    /// [`execute`](Self::execute) returns for a copy of `params`.
    ///
    /// Callers that must keep their parameters (the hooked tool path when
    /// its caller lends them, e.g. a workflow stage whose after-stage hooks
    /// still see the step's input) call this instead of copying them for
    /// `execute`. The provided implementation does exactly that copy and
    /// calls `execute`, so implementing it is optional: a tool overrides it
    /// only when it can read its parameters in place (the standard tools
    /// that take large strings do, e.g. `hash_calculator`), and the
    /// override must behave as `execute` does.
    async fn execute_ref(&self, params: &Value, ctx: &ToolContext) -> Result<Value> {
        self.execute(params.clone(), ctx).await
    }
}
