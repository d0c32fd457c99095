//! [`LoggingHook`]: one `tracing` event per hook call.

use async_trait::async_trait;
use serde_json::Value;
use tracing::Level;

use super::{component_label, error_message};
use crate::redact::Redactor;
use crate::{Hook, HookContext, HookMetadata, HookResult, Priority, Result};

/// Configuration of a [`LoggingHook`].
#[derive(Debug, Clone)]
#[must_use]
pub struct LoggingConfig {
    level: Level,
    include_data: bool,
    include_metadata: bool,
    max_data_bytes: usize,
    redactor: Redactor,
}

impl Default for LoggingConfig {
    /// `INFO`, data and metadata included, capped at 1024 bytes, default
    /// redaction.
    fn default() -> Self {
        Self {
            level: Level::INFO,
            include_data: true,
            include_metadata: true,
            max_data_bytes: 1024,
            redactor: Redactor::new(),
        }
    }
}

impl LoggingConfig {
    /// The defaults.
    pub fn new() -> Self {
        Self::default()
    }

    /// The level of the events.
    pub fn level(mut self, level: Level) -> Self {
        self.level = level;
        self
    }

    /// Whether the context data is logged (as JSON, redacted and capped).
    pub fn include_data(mut self, yes: bool) -> Self {
        self.include_data = yes;
        self
    }

    /// Whether the context metadata is logged (redacted).
    pub fn include_metadata(mut self, yes: bool) -> Self {
        self.include_metadata = yes;
        self
    }

    /// The most bytes of data JSON logged; longer data is cut at a character
    /// boundary and marked `…(+N bytes)`.
    pub fn max_data_bytes(mut self, n: usize) -> Self {
        self.max_data_bytes = n;
        self
    }

    /// The redaction rules ([`Redactor::none`] turns redaction off).
    pub fn redactor(mut self, redactor: Redactor) -> Self {
        self.redactor = redactor;
        self
    }

    /// The hook.
    pub fn build(self) -> LoggingHook {
        LoggingHook { config: self }
    }
}

/// Emits one `tracing` event (target `llmspell_hooks::logging`) per call,
/// with fields `hook_point`, `component`, `correlation_id`, `language`, and
/// optionally `data` and `metadata` (JSON, secrets redacted, data capped),
/// and `error` when the operation failed. Always returns `Continue`.
///
/// ```
/// use llmspell_hooks::builtin::LoggingConfig;
/// let hook = LoggingConfig::new().level(tracing::Level::DEBUG).max_data_bytes(256).build();
/// ```
#[derive(Debug, Clone)]
pub struct LoggingHook {
    config: LoggingConfig,
}

impl Default for LoggingHook {
    fn default() -> Self {
        LoggingConfig::default().build()
    }
}

impl LoggingHook {
    /// A logging hook with the default configuration.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// The configuration.
    pub fn config(&self) -> &LoggingConfig {
        &self.config
    }

    fn render_data(&self, ctx: &HookContext) -> String {
        if !self.config.include_data {
            return String::new();
        }
        let data = self
            .config
            .redactor
            .redact_owned(Value::Object(ctx.data.clone()));
        let mut s = data.to_string();
        let max = self.config.max_data_bytes;
        if s.len() > max {
            let mut cut = max;
            while !s.is_char_boundary(cut) {
                cut -= 1;
            }
            let dropped = s.len() - cut;
            s.truncate(cut);
            s.push_str(&format!("…(+{dropped} bytes)"));
        }
        s
    }

    fn render_metadata(&self, ctx: &HookContext) -> String {
        if !self.config.include_metadata || ctx.metadata.is_empty() {
            return String::new();
        }
        let mut pairs: Vec<(&String, &String)> = ctx.metadata.iter().collect();
        pairs.sort();
        let map: serde_json::Map<String, Value> = pairs
            .into_iter()
            .map(|(k, v)| (k.clone(), Value::String(v.clone())))
            .collect();
        self.config
            .redactor
            .redact_owned(Value::Object(map))
            .to_string()
    }
}

macro_rules! log_at {
    ($level:expr, $($fields:tt)*) => {
        match $level {
            Level::ERROR => tracing::error!(target: "llmspell_hooks::logging", $($fields)*),
            Level::WARN => tracing::warn!(target: "llmspell_hooks::logging", $($fields)*),
            Level::INFO => tracing::info!(target: "llmspell_hooks::logging", $($fields)*),
            Level::DEBUG => tracing::debug!(target: "llmspell_hooks::logging", $($fields)*),
            Level::TRACE => tracing::trace!(target: "llmspell_hooks::logging", $($fields)*),
        }
    };
}

impl LoggingHook {
    /// The hook's work: it never waits, so it runs without a future
    /// ([`Hook::execute_now`]).
    fn run_now(&self, ctx: &mut HookContext) -> Result<HookResult> {
        let data = self.render_data(ctx);
        let metadata = self.render_metadata(ctx);
        let error = error_message(ctx)
            .map(|e| self.config.redactor.redact_str(&e).into_owned())
            .unwrap_or_default();
        log_at!(
            self.config.level,
            hook_point = %ctx.point,
            component = %component_label(ctx),
            correlation_id = %ctx.correlation_id,
            language = %ctx.language,
            data = %data,
            metadata = %metadata,
            error = %error,
            "hook point reached"
        );
        Ok(HookResult::Continue)
    }
}

#[async_trait]
impl Hook for LoggingHook {
    async fn execute(&self, ctx: &mut HookContext) -> Result<HookResult> {
        self.run_now(ctx)
    }

    fn execute_now(&self, ctx: &mut HookContext) -> Option<Result<HookResult>> {
        Some(self.run_now(ctx))
    }

    fn metadata(&self) -> HookMetadata {
        HookMetadata::new("builtin.logging")
            .with_priority(Priority::LOW)
            .with_tag("builtin")
            .with_tag("observability")
            .with_description("logs every hook point through tracing")
    }

    fn should_execute(&self, _ctx: &HookContext) -> bool {
        // Skip all the rendering when nobody listens at this level.
        match self.config.level {
            Level::ERROR => tracing::enabled!(target: "llmspell_hooks::logging", Level::ERROR),
            Level::WARN => tracing::enabled!(target: "llmspell_hooks::logging", Level::WARN),
            Level::INFO => tracing::enabled!(target: "llmspell_hooks::logging", Level::INFO),
            Level::DEBUG => tracing::enabled!(target: "llmspell_hooks::logging", Level::DEBUG),
            Level::TRACE => tracing::enabled!(target: "llmspell_hooks::logging", Level::TRACE),
        }
    }
}
