//! [`ComponentId`] and [`ComponentType`]: which component a hook runs for.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use uuid::Uuid;

/// The kind of component an operation belongs to.
///
/// String form: `agent`, `tool`, `workflow`, `system`, or `custom:<kind>`.
///
/// ```
/// use llmspell_hooks::ComponentType;
/// assert_eq!("tool".parse::<ComponentType>().unwrap(), ComponentType::Tool);
/// assert_eq!(ComponentType::Custom("bridge".into()).to_string(), "custom:bridge");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ComponentType {
    /// An agent.
    Agent,
    /// A tool.
    Tool,
    /// A workflow.
    Workflow,
    /// The system itself (startup, configuration, resources).
    System,
    /// Anything else, named by the application.
    Custom(String),
}

impl fmt::Display for ComponentType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ComponentType::Agent => f.write_str("agent"),
            ComponentType::Tool => f.write_str("tool"),
            ComponentType::Workflow => f.write_str("workflow"),
            ComponentType::System => f.write_str("system"),
            ComponentType::Custom(kind) => write!(f, "custom:{kind}"),
        }
    }
}

/// The error for a component type name that is not recognised.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "unknown component type `{0}`; valid types are agent, tool, workflow, system, custom:<kind>"
)]
pub struct ParseComponentTypeError(pub String);

impl FromStr for ComponentType {
    type Err = ParseComponentTypeError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "agent" => Ok(ComponentType::Agent),
            "tool" => Ok(ComponentType::Tool),
            "workflow" => Ok(ComponentType::Workflow),
            "system" => Ok(ComponentType::System),
            other => match other.strip_prefix("custom:") {
                Some(kind) if !kind.is_empty() => Ok(ComponentType::Custom(kind.to_owned())),
                _ => Err(ParseComponentTypeError(s.to_owned())),
            },
        }
    }
}

impl Serialize for ComponentType {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for ComponentType {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let s = std::borrow::Cow::<'de, str>::deserialize(deserializer)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// Identifies one component instance: its type, its name (what hook matchers
/// glob against, e.g. `file_reader`) and a unique id.
///
/// ```
/// use llmspell_hooks::{ComponentId, ComponentType};
/// let id = ComponentId::new(ComponentType::Tool, "calculator");
/// assert_eq!(id.name, "calculator");
/// assert_eq!(id.to_string(), format!("tool:calculator:{}", id.id));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ComponentId {
    /// The component's kind.
    pub component_type: ComponentType,
    /// The component's name.
    pub name: String,
    /// A unique id for this instance.
    pub id: Uuid,
}

impl ComponentId {
    /// A component id with a fresh random uuid.
    #[must_use]
    pub fn new(component_type: ComponentType, name: impl Into<String>) -> Self {
        Self::with_id(component_type, name, Uuid::new_v4())
    }

    /// A component id with a given uuid.
    #[must_use]
    pub fn with_id(component_type: ComponentType, name: impl Into<String>, id: Uuid) -> Self {
        Self {
            component_type,
            name: name.into(),
            id,
        }
    }

    /// The id of the system itself, for system-level points.
    #[must_use]
    pub fn system() -> Self {
        Self::with_id(ComponentType::System, "system", Uuid::nil())
    }
}

impl fmt::Display for ComponentId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}", self.component_type, self.name, self.id)
    }
}
