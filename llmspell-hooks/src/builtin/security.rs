//! [`SecurityHook`]: audit log, parameter validation, secret redaction and
//! optional blocking.

use std::collections::VecDeque;
use std::fmt;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use parking_lot::Mutex;
use regex::Regex;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use uuid::Uuid;

use super::{component_label, parameters, point_label, user_of};
use crate::redact::Redactor;
use crate::{Hook, HookContext, HookError, HookMetadata, HookResult, Priority, Result};

/// One rule a context broke.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[non_exhaustive]
pub enum Violation {
    /// The serialised parameters are larger than allowed.
    ParametersTooLarge {
        /// Their size in bytes.
        bytes: usize,
        /// The limit.
        limit: usize,
    },
    /// A string value is longer than allowed.
    StringTooLong {
        /// Where (a JSON pointer into the parameters).
        path: String,
        /// Its length in bytes.
        len: usize,
        /// The limit.
        limit: usize,
    },
    /// A string value is on the deny list.
    DeniedValue {
        /// Where (a JSON pointer into the parameters).
        path: String,
    },
    /// A string value matches a denied pattern.
    DeniedPattern {
        /// Where (a JSON pointer into the parameters).
        path: String,
        /// The pattern it matched.
        pattern: String,
    },
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Violation::ParametersTooLarge { bytes, limit } => {
                write!(f, "parameters are {bytes} bytes, the limit is {limit}")
            }
            Violation::StringTooLong { path, len, limit } => {
                write!(f, "string at `{path}` is {len} bytes, the limit is {limit}")
            }
            Violation::DeniedValue { path } => write!(f, "value at `{path}` is denied"),
            Violation::DeniedPattern { path, pattern } => {
                write!(f, "value at `{path}` matches denied pattern `{pattern}`")
            }
        }
    }
}

/// One audit log line: who did what where, with secrets redacted.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct AuditEntry {
    /// When the hook saw the context.
    pub timestamp: DateTime<Utc>,
    /// The hook point.
    pub point: String,
    /// The component (`type:name`).
    pub component: String,
    /// The context's correlation id.
    pub correlation_id: Uuid,
    /// The user, from metadata `user_id` / `user`.
    pub user: Option<String>,
    /// The operation parameters, redacted.
    pub parameters: Value,
    /// The rules the parameters broke.
    pub violations: Vec<Violation>,
    /// Whether the hook cancelled the operation.
    pub blocked: bool,
}

/// Configuration of a [`SecurityHook`].
#[derive(Debug, Clone)]
#[must_use]
pub struct SecurityConfig {
    max_parameter_bytes: usize,
    max_string_bytes: usize,
    denied_values: Vec<String>,
    denied_patterns: Vec<Regex>,
    block_on_violation: bool,
    redact_context: bool,
    audit_capacity: usize,
    redactor: Redactor,
}

impl Default for SecurityConfig {
    /// Parameters up to 1 MiB, strings up to 256 KiB, no deny lists,
    /// blocking on violation, context left unredacted (only outputs are
    /// redacted), 1000 audit entries kept.
    fn default() -> Self {
        Self {
            max_parameter_bytes: 1 << 20,
            max_string_bytes: 256 << 10,
            denied_values: Vec::new(),
            denied_patterns: Vec::new(),
            block_on_violation: true,
            redact_context: false,
            audit_capacity: 1000,
            redactor: Redactor::new(),
        }
    }
}

impl SecurityConfig {
    /// The defaults.
    pub fn new() -> Self {
        Self::default()
    }

    /// The largest serialised parameters allowed, in bytes.
    pub fn max_parameter_bytes(mut self, n: usize) -> Self {
        self.max_parameter_bytes = n;
        self
    }

    /// The longest string value allowed anywhere in the parameters, in bytes.
    pub fn max_string_bytes(mut self, n: usize) -> Self {
        self.max_string_bytes = n;
        self
    }

    /// Denies a string value (exact match, anywhere in the parameters).
    pub fn deny_value(mut self, value: impl Into<String>) -> Self {
        self.denied_values.push(value.into());
        self
    }

    /// Denies string values matching `pattern` (`regex` crate syntax).
    ///
    /// # Errors
    /// [`HookError::InvalidConfig`] when the pattern does not compile.
    pub fn deny_pattern(mut self, pattern: &str) -> Result<Self> {
        let re = Regex::new(pattern).map_err(|e| HookError::InvalidConfig {
            field: "denied pattern",
            reason: format!("`{pattern}` is not a valid regular expression: {e}"),
        })?;
        self.denied_patterns.push(re);
        Ok(self)
    }

    /// Whether a violation cancels the operation (`true`) or is only
    /// audited (`false`).
    pub fn block_on_violation(mut self, yes: bool) -> Self {
        self.block_on_violation = yes;
        self
    }

    /// Whether secret values in the context data are also replaced for the
    /// hooks and the operation that follow (returns `Modified`). Off by
    /// default: the operation usually needs its credentials.
    pub fn redact_context(mut self, yes: bool) -> Self {
        self.redact_context = yes;
        self
    }

    /// How many audit entries are kept (oldest dropped first).
    pub fn audit_capacity(mut self, n: usize) -> Self {
        self.audit_capacity = n;
        self
    }

    /// The redaction rules.
    pub fn redactor(mut self, redactor: Redactor) -> Self {
        self.redactor = redactor;
        self
    }

    /// The hook.
    pub fn build(self) -> SecurityHook {
        SecurityHook {
            audit: Mutex::new(VecDeque::with_capacity(self.audit_capacity.min(1024))),
            config: self,
        }
    }
}

/// Validates operation parameters, audits every call and can block.
///
/// Each call appends an [`AuditEntry`] (parameters redacted) to a bounded
/// log and emits it as a `tracing` event with target
/// `llmspell_hooks::audit` (WARN with violations, DEBUG without).
/// Parameters are checked against the size limits and deny lists; on a
/// violation the hook returns `Cancel` with the reasons (or, with blocking
/// off, `Continue`).
///
/// ```
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// use llmspell_hooks::builtin::SecurityConfig;
/// use llmspell_hooks::{ComponentId, ComponentType, Hook, HookContext, HookPoint};
/// use serde_json::json;
///
/// let hook = SecurityConfig::new().deny_pattern(r"rm\s+-rf").unwrap().build();
/// let mut ctx = HookContext::builder(HookPoint::BeforeToolExecution,
///         ComponentId::new(ComponentType::Tool, "shell"))
///     .data("parameters", json!({"cmd": "rm -rf /", "api_key": "k"}))
///     .build();
/// assert!(hook.execute(&mut ctx).await.unwrap().is_cancel());
/// assert_eq!(hook.audit_log()[0].parameters["api_key"], "[REDACTED]");
/// # });
/// ```
#[derive(Debug)]
pub struct SecurityHook {
    config: SecurityConfig,
    audit: Mutex<VecDeque<AuditEntry>>,
}

impl Default for SecurityHook {
    fn default() -> Self {
        SecurityConfig::default().build()
    }
}

impl SecurityHook {
    /// A security hook with the default configuration.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// The audit log, oldest first.
    #[must_use]
    pub fn audit_log(&self) -> Vec<AuditEntry> {
        self.audit.lock().iter().cloned().collect()
    }

    /// Empties the audit log.
    pub fn clear_audit_log(&self) {
        self.audit.lock().clear();
    }

    /// The rules `params` breaks.
    #[must_use]
    pub fn validate(&self, params: &Value) -> Vec<Violation> {
        let mut out = Vec::new();
        let mut counter = ByteCounter(0);
        let bytes = serde_json::to_writer(&mut counter, params).map_or(0, |()| counter.0);
        if bytes > self.config.max_parameter_bytes {
            out.push(Violation::ParametersTooLarge {
                bytes,
                limit: self.config.max_parameter_bytes,
            });
        }
        self.walk(params, &mut String::new(), &mut out);
        out
    }

    fn walk(&self, v: &Value, path: &mut String, out: &mut Vec<Violation>) {
        match v {
            Value::String(s) => {
                if s.len() > self.config.max_string_bytes {
                    out.push(Violation::StringTooLong {
                        path: path.clone(),
                        len: s.len(),
                        limit: self.config.max_string_bytes,
                    });
                }
                if self.config.denied_values.iter().any(|d| d == s) {
                    out.push(Violation::DeniedValue { path: path.clone() });
                }
                for re in &self.config.denied_patterns {
                    if re.is_match(s) {
                        out.push(Violation::DeniedPattern {
                            path: path.clone(),
                            pattern: re.as_str().to_owned(),
                        });
                    }
                }
            }
            Value::Array(items) => {
                for (i, item) in items.iter().enumerate() {
                    let len = path.len();
                    path.push('/');
                    path.push_str(&i.to_string());
                    self.walk(item, path, out);
                    path.truncate(len);
                }
            }
            Value::Object(map) => {
                for (k, item) in map {
                    let len = path.len();
                    path.push('/');
                    // JSON pointer escaping (RFC 6901).
                    path.push_str(&k.replace('~', "~0").replace('/', "~1"));
                    self.walk(item, path, out);
                    path.truncate(len);
                }
            }
            _ => {}
        }
    }

    fn record(&self, entry: AuditEntry) {
        // Violations are warnings; clean calls are audited at DEBUG so a
        // default INFO subscriber is not flooded (the in-memory log keeps
        // both).
        macro_rules! audit {
            ($mac:ident) => {
                tracing::$mac!(
                    target: "llmspell_hooks::audit",
                    hook_point = %entry.point,
                    component = %entry.component,
                    correlation_id = %entry.correlation_id,
                    user = entry.user.as_deref().unwrap_or(""),
                    parameters = %entry.parameters,
                    violations = entry.violations.len(),
                    blocked = entry.blocked,
                    "audit"
                )
            };
        }
        if entry.violations.is_empty() {
            audit!(debug);
        } else {
            audit!(warn);
        }
        if self.config.audit_capacity == 0 {
            return;
        }
        let mut log = self.audit.lock();
        while log.len() >= self.config.audit_capacity {
            log.pop_front();
        }
        log.push_back(entry);
    }
}

#[async_trait]
impl Hook for SecurityHook {
    async fn execute(&self, ctx: &mut HookContext) -> Result<HookResult> {
        let params = parameters(ctx).cloned().unwrap_or(Value::Null);
        let violations = self.validate(&params);
        let blocked = self.config.block_on_violation && !violations.is_empty();
        let reason = (!violations.is_empty()).then(|| {
            let parts: Vec<String> = violations.iter().map(ToString::to_string).collect();
            format!("security policy violated: {}", parts.join("; "))
        });
        self.record(AuditEntry {
            timestamp: Utc::now(),
            point: point_label(&ctx.point),
            component: component_label(ctx),
            correlation_id: ctx.correlation_id,
            user: user_of(ctx).map(str::to_owned),
            parameters: self.config.redactor.redact_owned(params),
            violations,
            blocked,
        });
        if let Some(reason) = reason {
            ctx.insert_metadata("security.violation", reason.clone());
            if blocked {
                return Ok(HookResult::Cancel(reason));
            }
        }
        if self.config.redact_context {
            let mut data = Value::Object(std::mem::take(&mut ctx.data));
            let n = self.config.redactor.redact_value(&mut data);
            if let Value::Object(map) = data {
                ctx.data = map;
            }
            if n > 0 {
                return Ok(HookResult::Modified(ctx.data.clone()));
            }
        }
        Ok(HookResult::Continue)
    }

    fn metadata(&self) -> HookMetadata {
        HookMetadata::new("builtin.security")
            .with_priority(Priority::HIGHEST)
            .with_tag("builtin")
            .with_tag("security")
            .with_description("audits calls, validates parameters, redacts secrets, can block")
    }
}

/// Counts the bytes written to it (the serialised size without the buffer).
struct ByteCounter(usize);

impl std::io::Write for ByteCounter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0 += buf.len();
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}
