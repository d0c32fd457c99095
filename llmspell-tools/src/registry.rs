//! The tool registry: tools by name and by category.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use arc_swap::ArcSwap;
use serde_json::Value;

use crate::{
    ParameterValidator, Result, Tool, ToolCategory, ToolContext, ToolError, ToolMetadata,
    ToolsConfig,
};

/// A registered tool with its compiled parameter schema. Cheap to clone
/// (one reference count).
#[derive(Debug, Clone)]
pub struct RegisteredTool {
    inner: Arc<Registered>,
}

#[derive(Debug)]
struct Registered {
    tool: Arc<dyn Tool>,
    validator: ParameterValidator,
}

impl RegisteredTool {
    /// The tool.
    #[must_use]
    pub fn tool(&self) -> &Arc<dyn Tool> {
        &self.inner.tool
    }

    /// The tool's metadata.
    #[must_use]
    pub fn metadata(&self) -> &ToolMetadata {
        self.inner.tool.metadata()
    }

    /// The tool's name.
    #[must_use]
    pub fn name(&self) -> &str {
        self.inner.tool.metadata().name()
    }

    /// Checks `params` against the tool's parameter schema, as given (no
    /// synonyms resolved; see [`prepare`](Self::prepare)).
    ///
    /// # Errors
    /// [`ToolError::InvalidParameter`] naming the offending parameter.
    pub fn validate(&self, params: &Value) -> Result<()> {
        self.inner.validator.validate(params)
    }

    /// Resolves the tool's [`Synonyms`](crate::Synonyms) in `params` (in
    /// place), then checks them against the parameter schema: what every
    /// caller does before running the tool.
    ///
    /// # Errors
    /// [`ToolError::InvalidParameter`] naming the offending parameter (both
    /// names when a synonym and its canonical name are given together).
    #[inline]
    pub fn prepare(&self, params: &mut Value) -> Result<()> {
        let synonyms = self.inner.tool.metadata().synonyms();
        if !synonyms.is_empty() {
            synonyms.resolve(self.name(), params)?;
        }
        self.inner.validator.validate(params)
    }

    /// Validates `params`, then runs the tool — with no hooks, events,
    /// breaker or timeout. Components should call tools through the hooked
    /// execution path instead; this is the raw call it wraps.
    ///
    /// # Errors
    /// A validation error, or whatever the tool returns.
    pub async fn call(&self, mut params: Value, ctx: &ToolContext) -> Result<Value> {
        self.prepare(&mut params)?;
        self.inner.tool.execute(params, ctx).await
    }
}

/// Tools by name, listable by category.
///
/// Lookups read a lock-free snapshot ([`arc_swap`]); registration copies the
/// map (tool sets are small and change rarely) under a writer-only mutex.
#[derive(Debug, Default)]
pub struct ToolRegistry {
    tools: ArcSwap<BTreeMap<String, RegisteredTool>>,
    /// Other names of tools (`web-scraper` for `web_scraper`), looked at
    /// only when a name is not a tool's.
    aliases: ArcSwap<BTreeMap<String, String>>,
    writer: Mutex<()>,
    /// Bumped (Release) after every change of `tools`: a reader that sees
    /// a generation also sees the map stored before it.
    generation: AtomicU64,
}

impl ToolRegistry {
    /// An empty registry.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// A registry holding every standard tool, configured by `config`.
    ///
    /// # Errors
    /// Only if a standard tool's schema failed to compile (a bug).
    pub fn with_standard_tools(config: &ToolsConfig) -> Result<Self> {
        let registry = Self::new();
        for tool in crate::standard_tools(config) {
            let name = tool.metadata().name().to_owned();
            registry.register_arc(tool)?;
            // The hyphenated spelling rs-llmspell scripts use (`url-analyzer`).
            if name.contains('_') {
                registry.register_alias(name.replace('_', "-"), &name)?;
            }
        }
        Ok(registry)
    }

    /// Registers `tool` under its metadata name, compiling its parameter
    /// schema.
    ///
    /// # Errors
    /// [`ToolError::AlreadyRegistered`] if the name is taken,
    /// [`ToolError::InvalidSchema`] if the schema does not compile.
    pub fn register<T: Tool + 'static>(&self, tool: T) -> Result<()> {
        self.register_arc(Arc::new(tool))
    }

    /// [`register`](Self::register) for a shared tool.
    ///
    /// # Errors
    /// As [`register`](Self::register).
    pub fn register_arc(&self, tool: Arc<dyn Tool>) -> Result<()> {
        let name = tool.metadata().name().to_owned();
        let validator = ParameterValidator::new(&name, tool.metadata().parameters())?;
        let _guard = self
            .writer
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let current = self.tools.load_full();
        if current.contains_key(&name) {
            return Err(ToolError::AlreadyRegistered { name });
        }
        let mut next = (*current).clone();
        next.insert(
            name,
            RegisteredTool {
                inner: Arc::new(Registered { tool, validator }),
            },
        );
        self.tools.store(Arc::new(next));
        self.generation.fetch_add(1, Ordering::Release);
        Ok(())
    }

    /// Makes `alias` another name of the registered tool `target`: lookups
    /// ([`get`](Self::get), [`require`](Self::require),
    /// [`contains`](Self::contains), the hooked path) of `alias` find
    /// `target`. Aliases are not listed by [`names`](Self::names); a tool
    /// registered later under the alias's name takes precedence.
    ///
    /// # Errors
    /// [`ToolError::NotFound`] if `target` is not registered,
    /// [`ToolError::AlreadyRegistered`] if `alias` is a tool's name.
    pub fn register_alias(&self, alias: impl Into<String>, target: &str) -> Result<()> {
        let alias = alias.into();
        let _guard = self
            .writer
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let tools = self.tools.load();
        if tools.contains_key(&alias) {
            return Err(ToolError::AlreadyRegistered { name: alias });
        }
        if !tools.contains_key(target) {
            return Err(ToolError::NotFound {
                name: target.to_owned(),
                available: tools.keys().cloned().collect::<Vec<_>>().join(", "),
            });
        }
        let mut next = (*self.aliases.load_full()).clone();
        next.insert(alias, target.to_owned());
        self.aliases.store(Arc::new(next));
        self.generation.fetch_add(1, Ordering::Release);
        Ok(())
    }

    /// `(alias, tool name)` pairs, sorted by alias.
    #[must_use]
    pub fn aliases(&self) -> Vec<(String, String)> {
        self.aliases
            .load()
            .iter()
            .map(|(a, t)| (a.clone(), t.clone()))
            .collect()
    }

    /// The tool a name or alias stands for.
    #[cold]
    fn by_alias(&self, name: &str) -> Option<RegisteredTool> {
        let target = self.aliases.load().get(name).cloned()?;
        self.tools.load().get(&target).cloned()
    }

    /// Removes a tool; returns it if it was registered.
    pub fn unregister(&self, name: &str) -> Option<Arc<dyn Tool>> {
        let _guard = self
            .writer
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let current = self.tools.load_full();
        let mut next = (*current).clone();
        let removed = next.remove(name)?;
        self.tools.store(Arc::new(next));
        self.generation.fetch_add(1, Ordering::Release);
        Some(Arc::clone(&removed.inner.tool))
    }

    /// A number that changes whenever a tool is registered or removed, for
    /// callers that cache lookups (the tool runtime does).
    #[must_use]
    #[inline]
    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    /// The tool named `name`. A hyphenated spelling (`text-manipulator`,
    /// as rs-llmspell's scripts write some names) finds the tool
    /// registered with underscores when no tool has the hyphenated name.
    #[must_use]
    pub fn get(&self, name: &str) -> Option<RegisteredTool> {
        let tools = self.tools.load();
        if let Some(tool) = tools.get(name) {
            return Some(tool.clone());
        }
        if let Some(tool) = self.by_alias(name) {
            return Some(tool);
        }
        if name.contains('-') {
            return tools.get(&name.replace('-', "_")).cloned();
        }
        None
    }

    /// The tool named `name`, or [`ToolError::NotFound`] listing the
    /// registered names.
    ///
    /// # Errors
    /// [`ToolError::NotFound`].
    pub fn require(&self, name: &str) -> Result<RegisteredTool> {
        self.get(name).ok_or_else(|| ToolError::NotFound {
            name: name.to_owned(),
            available: self.names().join(", "),
        })
    }

    /// Whether a tool named `name` (or, for a hyphenated name, its
    /// underscore spelling) is registered.
    #[must_use]
    pub fn contains(&self, name: &str) -> bool {
        self.get(name).is_some()
    }

    /// Registered names, sorted.
    #[must_use]
    pub fn names(&self) -> Vec<String> {
        self.tools.load().keys().cloned().collect()
    }

    /// Metadata of every registered tool, sorted by name.
    #[must_use]
    pub fn list(&self) -> Vec<ToolMetadata> {
        self.tools
            .load()
            .values()
            .map(|t| t.metadata().clone())
            .collect()
    }

    /// The tools of one category, sorted by name.
    #[must_use]
    pub fn by_category(&self, category: &ToolCategory) -> Vec<RegisteredTool> {
        self.tools
            .load()
            .values()
            .filter(|t| t.metadata().category() == category)
            .cloned()
            .collect()
    }

    /// Number of registered tools.
    #[must_use]
    pub fn len(&self) -> usize {
        self.tools.load().len()
    }

    /// Whether no tool is registered.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.tools.load().is_empty()
    }

    /// Checks `params` against the named tool's schema, its synonyms
    /// resolved.
    ///
    /// # Errors
    /// [`ToolError::NotFound`] or [`ToolError::InvalidParameter`].
    pub fn validate(&self, name: &str, params: &Value) -> Result<()> {
        let tool = self.require(name)?;
        if !tool.metadata().synonyms().appear_in(params) {
            return tool.validate(params);
        }
        tool.prepare(&mut params.clone())
    }
}
