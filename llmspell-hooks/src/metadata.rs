//! [`HookMetadata`]: what a hook says about itself.

use serde::{Deserialize, Serialize};

use crate::{Language, Priority};

/// Describes a hook: its name, priority, language, tags and version.
///
/// ```
/// use llmspell_hooks::{HookMetadata, Language, Priority};
/// let m = HookMetadata::new("audit")
///     .with_priority(Priority::HIGH)
///     .with_language(Language::Lua)
///     .with_tag("security")
///     .with_description("writes an audit line");
/// assert_eq!(m.name, "audit");
/// assert!(m.has_tag("security"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct HookMetadata {
    /// The hook's name (unique per point is recommended: unregistering by
    /// point + name removes every hook of that name).
    pub name: String,
    /// What the hook does.
    pub description: Option<String>,
    /// When it runs relative to other hooks at the same point.
    pub priority: Priority,
    /// The language it is written in.
    pub language: Language,
    /// Free-form tags, used by registry filters.
    pub tags: Vec<String>,
    /// The hook's version.
    pub version: String,
}

impl HookMetadata {
    /// Metadata with a name, normal priority, Rust language, no tags and
    /// version `1.0.0`.
    #[must_use]
    pub fn new(name: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            description: None,
            priority: Priority::NORMAL,
            language: crate::Language::Rust,
            tags: Vec::new(),
            version: "1.0.0".to_owned(),
        }
    }

    /// Sets the priority.
    #[must_use]
    pub fn with_priority(mut self, priority: Priority) -> Self {
        self.priority = priority;
        self
    }

    /// Sets the language.
    #[must_use]
    pub fn with_language(mut self, language: Language) -> Self {
        self.language = language;
        self
    }

    /// Adds a tag.
    #[must_use]
    pub fn with_tag(mut self, tag: impl Into<String>) -> Self {
        self.tags.push(tag.into());
        self
    }

    /// Sets the description.
    #[must_use]
    pub fn with_description(mut self, description: impl Into<String>) -> Self {
        self.description = Some(description.into());
        self
    }

    /// Sets the version.
    #[must_use]
    pub fn with_version(mut self, version: impl Into<String>) -> Self {
        self.version = version.into();
        self
    }

    /// Whether the hook carries `tag`.
    #[must_use]
    pub fn has_tag(&self, tag: &str) -> bool {
        self.tags.iter().any(|t| t == tag)
    }
}
