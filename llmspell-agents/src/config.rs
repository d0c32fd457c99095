//! [`AgentConfig`]: what an agent is made from.

use std::path::PathBuf;
use std::time::Duration;

use llmspell_hooks::{BreakerConfig, SlidingWindow};
use serde_json::{Map, Value};

use crate::provider::{ProviderConfig, RetryPolicy};
use crate::{AgentError, Result};

/// Default most model turns of one execution.
pub const DEFAULT_MAX_TURNS: u32 = 8;

/// The keys [`AgentConfig::from_json`] accepts.
pub const CONFIG_KEYS: &[&str] = &[
    "name",
    "model",
    "provider",
    "system_prompt",
    "temperature",
    "max_tokens",
    "tools",
    "max_turns",
    "base_url",
    "api_key_env",
    "timeout_ms",
    "transcript",
    "record_to",
    "description",
];

/// An agent's configuration.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct AgentConfig {
    /// Its name (unique in a registry).
    pub name: String,
    /// What it does (informational).
    pub description: Option<String>,
    /// The provider and its settings (`model` is `provider/model`).
    pub provider: ProviderConfig,
    /// The system prompt, sent first in every conversation.
    pub system_prompt: Option<String>,
    /// Sampling temperature.
    pub temperature: Option<f64>,
    /// Most tokens of each answer.
    pub max_tokens: Option<u32>,
    /// The tools offered to the model (names in the tool registry).
    pub tools: Vec<String>,
    /// Most model turns of one execution (each tool round is a turn).
    /// Default [`DEFAULT_MAX_TURNS`].
    pub max_turns: u32,
    /// The agent's circuit breaker over provider failures.
    pub breaker: BreakerConfig,
}

/// The default breaker of an agent: opens when half of the last 20 calls
/// (at least 5) failed, waits 5 s (doubling to 60 s) and lets one trial
/// through. Slow calls never open it: a model call is slow by nature (its
/// timeout bounds it).
#[must_use]
pub fn default_agent_breaker() -> BreakerConfig {
    BreakerConfig::default()
        .window(SlidingWindow::Count(20))
        .failure_rate_threshold(0.5)
        .slow_call_rate_threshold(1.0)
        .slow_call_duration(Duration::from_secs(24 * 3600))
        .minimum_calls(5)
        .open_wait(Duration::from_secs(5), Duration::from_secs(60))
        .half_open_trials(1)
}

impl AgentConfig {
    /// A configuration named `name` for `model` (`provider/model`).
    pub fn new(name: impl Into<String>, model: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            description: None,
            provider: ProviderConfig::new(model),
            system_prompt: None,
            temperature: None,
            max_tokens: None,
            tools: Vec::new(),
            max_turns: DEFAULT_MAX_TURNS,
            breaker: default_agent_breaker(),
        }
    }

    /// Sets the system prompt.
    #[must_use]
    pub fn system_prompt(mut self, prompt: impl Into<String>) -> Self {
        self.system_prompt = Some(prompt.into());
        self
    }

    /// Sets the temperature.
    #[must_use]
    pub fn temperature(mut self, t: f64) -> Self {
        self.temperature = Some(t);
        self
    }

    /// Sets the most tokens per answer.
    #[must_use]
    pub fn max_tokens(mut self, n: u32) -> Self {
        self.max_tokens = Some(n);
        self
    }

    /// Offers these tools to the model.
    #[must_use]
    pub fn tools<I, S>(mut self, tools: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.tools = tools.into_iter().map(Into::into).collect();
        self
    }

    /// Sets the most turns.
    #[must_use]
    pub fn max_turns(mut self, n: u32) -> Self {
        self.max_turns = n;
        self
    }

    /// Sets the provider's base URL.
    #[must_use]
    pub fn base_url(mut self, url: impl Into<String>) -> Self {
        self.provider.base_url = Some(url.into());
        self
    }

    /// Names the variable holding the API key.
    #[must_use]
    pub fn api_key_env(mut self, var: impl Into<String>) -> Self {
        self.provider.api_key_env = Some(var.into());
        self
    }

    /// Sets the request timeout.
    #[must_use]
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.provider.timeout = timeout;
        self
    }

    /// Sets the rate-limit retry.
    #[must_use]
    pub fn retry(mut self, retry: RetryPolicy) -> Self {
        self.provider.retry = retry;
        self
    }

    /// Answers from this transcript (`replay/…` models).
    #[must_use]
    pub fn transcript(mut self, path: impl Into<PathBuf>) -> Self {
        self.provider.transcript = Some(path.into());
        self
    }

    /// Records the provider's exchanges to this transcript.
    #[must_use]
    pub fn record_to(mut self, path: impl Into<PathBuf>) -> Self {
        self.provider.record_to = Some(path.into());
        self
    }

    /// Sets the circuit breaker.
    #[must_use]
    pub fn breaker(mut self, breaker: BreakerConfig) -> Self {
        self.breaker = breaker;
        self
    }

    /// Checks the values.
    ///
    /// # Errors
    /// [`AgentError::Config`] naming the bad field.
    pub fn validate(&self) -> Result<()> {
        if self.name.trim().is_empty() {
            return Err(AgentError::Config("`name` must not be empty".into()));
        }
        self.provider.split()?;
        if self.max_turns == 0 {
            return Err(AgentError::Config("`max_turns` must be at least 1".into()));
        }
        if let Some(t) = self.temperature {
            if !(0.0..=2.0).contains(&t) {
                return Err(AgentError::Config(format!(
                    "`temperature` {t} is out of range (0 to 2)"
                )));
            }
        }
        if self.max_tokens == Some(0) {
            return Err(AgentError::Config("`max_tokens` must be at least 1".into()));
        }
        if self.provider.timeout.is_zero() {
            return Err(AgentError::Config("`timeout_ms` must be positive".into()));
        }
        self.breaker
            .validate()
            .map_err(|e| AgentError::Config(format!("breaker: {e}")))
    }

    /// A configuration from its JSON form, the shape scripts pass to
    /// `Agent.create`: `{name, model = "provider/model", system_prompt,
    /// temperature, max_tokens, tools = [names], max_turns, base_url,
    /// api_key_env, timeout_ms, transcript, record_to, description}`.
    /// `provider = "openai", model = "gpt-4o"` is accepted as
    /// `model = "openai/gpt-4o"`.
    ///
    /// # Errors
    /// [`AgentError::Config`] for a missing name or model, an unknown key
    /// (the message lists the valid ones) or a value of the wrong type.
    pub fn from_json(v: &Value) -> Result<Self> {
        let Value::Object(map) = v else {
            return Err(AgentError::Config(format!(
                "expected a table of options, got {}",
                kind(v)
            )));
        };
        if let Some(k) = map.keys().find(|k| !CONFIG_KEYS.contains(&k.as_str())) {
            return Err(AgentError::Config(format!(
                "unknown option `{k}`; valid options: {}",
                CONFIG_KEYS.join(", ")
            )));
        }
        let name =
            string(map, "name")?.ok_or_else(|| AgentError::Config("`name` is required".into()))?;
        let mut model = string(map, "model")?.ok_or_else(|| {
            AgentError::Config("`model` is required, e.g. `openai/gpt-4o-mini`".into())
        })?;
        if let Some(p) = string(map, "provider")? {
            if !model.contains('/') {
                model = format!("{p}/{model}");
            }
        }
        let mut c = Self::new(name, model);
        c.description = string(map, "description")?;
        c.system_prompt = string(map, "system_prompt")?;
        c.temperature = number(map, "temperature")?;
        c.max_tokens = integer(map, "max_tokens")?;
        if let Some(n) = integer(map, "max_turns")? {
            c.max_turns = n;
        }
        c.provider.base_url = string(map, "base_url")?;
        c.provider.api_key_env = string(map, "api_key_env")?;
        if let Some(ms) = integer::<u64>(map, "timeout_ms")? {
            c.provider.timeout = Duration::from_millis(ms);
        }
        c.provider.transcript = string(map, "transcript")?.map(PathBuf::from);
        c.provider.record_to = string(map, "record_to")?.map(PathBuf::from);
        match map.get("tools") {
            None | Some(Value::Null) => {}
            Some(Value::Array(items)) => {
                c.tools = items
                    .iter()
                    .map(|t| {
                        t.as_str().map(str::to_owned).ok_or_else(|| {
                            AgentError::Config(format!(
                                "`tools` must be a list of tool names, found {}",
                                kind(t)
                            ))
                        })
                    })
                    .collect::<Result<_>>()?;
            }
            // An empty Lua table converts to an empty object.
            Some(Value::Object(o)) if o.is_empty() => {}
            Some(other) => {
                return Err(AgentError::Config(format!(
                    "`tools` must be a list of tool names, got {}",
                    kind(other)
                )))
            }
        }
        c.validate()?;
        Ok(c)
    }
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "nil",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "a table",
    }
}

fn string(map: &Map<String, Value>, key: &str) -> Result<Option<String>> {
    match map.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(other) => Err(AgentError::Config(format!(
            "`{key}` must be a string, got {}",
            kind(other)
        ))),
    }
}

fn number(map: &Map<String, Value>, key: &str) -> Result<Option<f64>> {
    match map.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => Ok(n.as_f64()),
        Some(other) => Err(AgentError::Config(format!(
            "`{key}` must be a number, got {}",
            kind(other)
        ))),
    }
}

fn integer<T: TryFrom<u64>>(map: &Map<String, Value>, key: &str) -> Result<Option<T>> {
    let bad = || AgentError::Config(format!("`{key}` must be a positive whole number"));
    match map.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => {
            let v = match n.as_u64() {
                Some(v) => v,
                // Lua numbers may arrive as floats (3.0).
                None => match n.as_f64() {
                    Some(f) if f >= 0.0 && f.fract() == 0.0 && f < 1e15 => {
                        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
                        let v = f as u64;
                        v
                    }
                    _ => return Err(bad()),
                },
            };
            T::try_from(v).map(Some).map_err(|_| bad())
        }
        Some(_) => Err(bad()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_script_shape_parses() {
        let c = AgentConfig::from_json(&json!({
            "name": "writer", "model": "openai/gpt-4o-mini", "system_prompt": "be brief",
            "temperature": 0.2, "max_tokens": 100.0, "tools": ["calculator"], "max_turns": 3,
            "base_url": "http://127.0.0.1:1/v1", "api_key_env": "K", "timeout_ms": 500
        }))
        .unwrap();
        assert_eq!(c.name, "writer");
        assert_eq!(c.provider.model, "openai/gpt-4o-mini");
        assert_eq!(c.max_tokens, Some(100));
        assert_eq!(c.tools, ["calculator"]);
        assert_eq!(c.max_turns, 3);
        assert_eq!(c.provider.timeout, Duration::from_millis(500));
        let c = AgentConfig::from_json(
            &json!({"name": "a", "provider": "ollama", "model": "llama3.2", "tools": {}}),
        )
        .unwrap();
        assert_eq!(c.provider.model, "ollama/llama3.2");
        assert_eq!(c.max_turns, DEFAULT_MAX_TURNS);
    }

    #[test]
    fn bad_shapes_say_what_is_wrong() {
        let cases = [
            (json!({"model": "openai/x"}), "`name` is required"),
            (json!({"name": "a"}), "`model` is required"),
            (
                json!({"name": "a", "model": "openai/x", "colour": 1}),
                "unknown option `colour`; valid options: name, model",
            ),
            (
                json!({"name": "a", "model": "openai/x", "tools": "calculator"}),
                "`tools` must be a list",
            ),
            (
                json!({"name": "a", "model": "openai/x", "tools": [1]}),
                "`tools` must be a list of tool names, found a number",
            ),
            (
                json!({"name": "a", "model": "openai/x", "max_turns": 0}),
                "`max_turns` must be at least 1",
            ),
            (
                json!({"name": "a", "model": "openai/x", "max_turns": -1}),
                "`max_turns` must be a positive whole number",
            ),
            (
                json!({"name": "a", "model": "openai/x", "temperature": 9}),
                "out of range",
            ),
            (json!({"name": "a", "model": "gpt"}), "provider/model"),
            (json!("x"), "expected a table"),
        ];
        for (v, msg) in cases {
            let e = AgentConfig::from_json(&v).unwrap_err().to_string();
            assert!(e.contains(msg), "{v}: {e}");
        }
    }
}
