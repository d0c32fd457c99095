//! Building providers from `provider/model` strings and the environment.

use std::collections::HashMap;
use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use super::{AnthropicProvider, LlmProvider, OpenAiProvider, RecordingProvider, ReplayProvider};
use crate::{AgentError, Result};

/// Default timeout of one provider request (and, when streaming, of the
/// wait for each next piece).
pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(120);

/// The bounded retry of rate-limited requests (HTTP 429, or 503 with a
/// `Retry-After`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct RetryPolicy {
    /// Most retries of one request. Default 2; 0 never retries.
    pub max_retries: u32,
    /// The longest wait honoured: a provider asking for more fails the
    /// request at once (the error carries the wait asked for). Default 30 s.
    pub max_wait: Duration,
    /// The first wait when the provider names none; doubled per retry,
    /// capped at 8 s. Default 500 ms.
    pub base_backoff: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_retries: 2,
            max_wait: Duration::from_secs(30),
            base_backoff: Duration::from_millis(500),
        }
    }
}

impl RetryPolicy {
    /// No retries.
    #[must_use]
    pub fn none() -> Self {
        Self {
            max_retries: 0,
            ..Self::default()
        }
    }

    /// Sets the most retries.
    #[must_use]
    pub fn max_retries(mut self, n: u32) -> Self {
        self.max_retries = n;
        self
    }

    /// Sets the longest wait honoured.
    #[must_use]
    pub fn max_wait(mut self, wait: Duration) -> Self {
        self.max_wait = wait;
        self
    }

    pub(crate) fn backoff(&self, retry: u32) -> Duration {
        self.base_backoff
            .saturating_mul(2_u32.saturating_pow(retry))
            .min(Duration::from_secs(8))
    }
}

/// What a provider is built from: the `provider/model` string and the
/// per-agent overrides.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct ProviderConfig {
    /// `openai/<model>`, `ollama/<model>`, `anthropic/<model>` or
    /// `replay/<model>`.
    pub model: String,
    /// Overrides the provider's base URL (`OPENAI_BASE_URL`, `OLLAMA_HOST`,
    /// `ANTHROPIC_BASE_URL`).
    pub base_url: Option<String>,
    /// Names the environment variable holding the API key (instead of
    /// `OPENAI_API_KEY` / `ANTHROPIC_API_KEY`).
    pub api_key_env: Option<String>,
    /// Timeout of one request. Default [`DEFAULT_REQUEST_TIMEOUT`].
    pub timeout: Duration,
    /// The rate-limit retry.
    pub retry: RetryPolicy,
    /// The transcript a `replay/…` provider answers from.
    pub transcript: Option<PathBuf>,
    /// Records every exchange of the (live) provider to this transcript.
    pub record_to: Option<PathBuf>,
}

impl ProviderConfig {
    /// A configuration for `model` (`provider/model`) with defaults.
    pub fn new(model: impl Into<String>) -> Self {
        Self {
            model: model.into(),
            base_url: None,
            api_key_env: None,
            timeout: DEFAULT_REQUEST_TIMEOUT,
            retry: RetryPolicy::default(),
            transcript: None,
            record_to: None,
        }
    }

    /// Sets the base URL.
    #[must_use]
    pub fn base_url(mut self, url: impl Into<String>) -> Self {
        self.base_url = Some(url.into());
        self
    }

    /// Sets the variable holding the API key.
    #[must_use]
    pub fn api_key_env(mut self, var: impl Into<String>) -> Self {
        self.api_key_env = Some(var.into());
        self
    }

    /// Sets the request timeout.
    #[must_use]
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Sets the rate-limit retry.
    #[must_use]
    pub fn retry(mut self, retry: RetryPolicy) -> Self {
        self.retry = retry;
        self
    }

    /// Sets the transcript of a `replay/…` provider.
    #[must_use]
    pub fn transcript(mut self, path: impl Into<PathBuf>) -> Self {
        self.transcript = Some(path.into());
        self
    }

    /// Records the provider's exchanges to `path`.
    #[must_use]
    pub fn record_to(mut self, path: impl Into<PathBuf>) -> Self {
        self.record_to = Some(path.into());
        self
    }

    /// Splits `model` into provider and model name.
    ///
    /// # Errors
    /// [`AgentError::Config`] when it is not `provider/model`.
    pub fn split(&self) -> Result<(&str, &str)> {
        match self.model.split_once('/') {
            Some((p, m)) if !p.is_empty() && !m.is_empty() => Ok((p, m)),
            _ => Err(AgentError::Config(format!(
                "model `{}` must be written `provider/model`, e.g. `openai/gpt-4o-mini`, `ollama/llama3.2`, `anthropic/claude-3-5-haiku-latest`, `replay/demo`",
                self.model
            ))),
        }
    }
}

/// Makes a provider from a configuration (a custom provider prefix).
pub type ProviderConstructor =
    Arc<dyn Fn(&ProviderConfig) -> Result<Arc<dyn LlmProvider>> + Send + Sync>;

type EnvLookup = Arc<dyn Fn(&str) -> Option<String> + Send + Sync>;

/// Builds providers from `provider/model` strings.
///
/// | provider | base URL (default) | API key |
/// |---|---|---|
/// | `openai` | `OPENAI_BASE_URL` (`https://api.openai.com/v1`) | `OPENAI_API_KEY` (required unless a base URL is set) |
/// | `ollama` | `OLLAMA_HOST` (`http://127.0.0.1:11434`), its OpenAI-compatible `/v1` API | none (or `api_key_env`) |
/// | `anthropic` | `ANTHROPIC_BASE_URL` (`https://api.anthropic.com`) | `ANTHROPIC_API_KEY` (required) |
/// | `replay` | answers from the `transcript` file | none |
///
/// A configuration's `base_url` and `api_key_env` override the
/// environment. Applications add their own prefixes with
/// [`register`](Self::register). The environment is read through a lookup
/// function ([`with_env`](Self::with_env) replaces it, e.g. in tests).
#[derive(Clone)]
pub struct ProviderFactory {
    env: EnvLookup,
    custom: HashMap<String, ProviderConstructor>,
    record_replays: Option<String>,
}

impl fmt::Debug for ProviderFactory {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut custom: Vec<_> = self.custom.keys().collect();
        custom.sort();
        f.debug_struct("ProviderFactory")
            .field("custom", &custom)
            .field("record_replays", &self.record_replays)
            .finish_non_exhaustive()
    }
}

impl Default for ProviderFactory {
    fn default() -> Self {
        Self::new()
    }
}

impl ProviderFactory {
    /// A factory reading the process environment.
    #[must_use]
    pub fn new() -> Self {
        Self {
            env: Arc::new(|k| std::env::var(k).ok().filter(|v| !v.is_empty())),
            custom: HashMap::new(),
            record_replays: None,
        }
    }

    /// Reads variables through `lookup` instead of the process environment.
    #[must_use]
    pub fn with_env(
        mut self,
        lookup: impl Fn(&str) -> Option<String> + Send + Sync + 'static,
    ) -> Self {
        self.env = Arc::new(lookup);
        self
    }

    /// Makes `prefix/<model>` build providers with `constructor` (replacing
    /// a built-in prefix of the same name).
    #[must_use]
    pub fn register(mut self, prefix: impl Into<String>, constructor: ProviderConstructor) -> Self {
        self.custom.insert(prefix.into(), constructor);
        self
    }

    /// Re-records transcripts: a `replay/…` configuration is served live
    /// by `model` (`provider/model`, with the configuration's base URL, key
    /// variable and timeout) and every exchange is written to its
    /// `transcript`. The environment variable `LLMSPELL_RECORD_REPLAYS`
    /// does the same when this is not set (e.g.
    /// `LLMSPELL_RECORD_REPLAYS=openai/gpt-4o-mini llmspell run
    /// examples/lua/agent_basics.lua` refreshes that example's transcript).
    #[must_use]
    pub fn record_replays(mut self, model: impl Into<String>) -> Self {
        self.record_replays = Some(model.into());
        self
    }

    fn var(&self, name: &str) -> Option<String> {
        (self.env)(name)
    }

    /// The provider `config` names, wrapped in a recorder when
    /// `record_to` is set.
    ///
    /// # Errors
    /// [`AgentError::Config`] for a malformed model string or base URL,
    /// [`AgentError::UnknownProvider`], [`AgentError::MissingApiKey`],
    /// [`AgentError::Replay`] for an unreadable transcript.
    pub fn create(&self, config: &ProviderConfig) -> Result<Arc<dyn LlmProvider>> {
        let provider = self.create_inner(config)?;
        match &config.record_to {
            Some(path) => Ok(Arc::new(RecordingProvider::new(provider, path.clone()))),
            None => Ok(provider),
        }
    }

    fn create_inner(&self, config: &ProviderConfig) -> Result<Arc<dyn LlmProvider>> {
        let (provider, model) = config.split()?;
        if let Some(custom) = self.custom.get(provider) {
            return custom(config);
        }
        let key = |default_env: &str, required: bool| -> Result<Option<String>> {
            let env = config.api_key_env.as_deref().unwrap_or(default_env);
            match self.var(env) {
                Some(k) => Ok(Some(k)),
                None if required || config.api_key_env.is_some() => {
                    Err(AgentError::MissingApiKey {
                        provider: provider.to_owned(),
                        env: env.to_owned(),
                    })
                }
                None => Ok(None),
            }
        };
        match provider {
            "openai" => {
                let base = config
                    .base_url
                    .clone()
                    .or_else(|| self.var("OPENAI_BASE_URL"));
                // A custom server (vLLM, llama.cpp, LM Studio) often needs
                // no key; the public endpoint always does.
                let api_key = key("OPENAI_API_KEY", base.is_none())?;
                let base = base.unwrap_or_else(|| "https://api.openai.com/v1".into());
                Ok(Arc::new(OpenAiProvider::new(
                    "openai",
                    model,
                    &check_url(&base)?,
                    api_key,
                    config.timeout,
                    config.retry,
                )?))
            }
            "ollama" => {
                let host = config
                    .base_url
                    .clone()
                    .or_else(|| self.var("OLLAMA_HOST"))
                    .unwrap_or_else(|| "http://127.0.0.1:11434".into());
                let host = check_url(&ollama_url(&host))?;
                let base = if host.ends_with("/v1") {
                    host
                } else {
                    format!("{host}/v1")
                };
                let api_key = key("OLLAMA_API_KEY", false)?;
                Ok(Arc::new(OpenAiProvider::new(
                    "ollama",
                    model,
                    &base,
                    api_key,
                    config.timeout,
                    config.retry,
                )?))
            }
            "anthropic" => {
                let base = config
                    .base_url
                    .clone()
                    .or_else(|| self.var("ANTHROPIC_BASE_URL"))
                    .unwrap_or_else(|| "https://api.anthropic.com".into());
                let api_key = key("ANTHROPIC_API_KEY", true)?.unwrap_or_default();
                Ok(Arc::new(AnthropicProvider::new(
                    model,
                    &check_url(&base)?,
                    api_key,
                    config.timeout,
                    config.retry,
                )?))
            }
            "replay" => {
                let Some(path) = &config.transcript else {
                    return Err(AgentError::Config(format!(
                        "model `{}` answers from a recorded transcript: give its file as `transcript`",
                        config.model
                    )));
                };
                let live = self
                    .record_replays
                    .clone()
                    .or_else(|| self.var("LLMSPELL_RECORD_REPLAYS"));
                if let Some(live) = live {
                    if live.starts_with("replay/") {
                        return Err(AgentError::Config(
                            "LLMSPELL_RECORD_REPLAYS must name a live model, not replay/…".into(),
                        ));
                    }
                    let mut live_config = config.clone();
                    live_config.model = live;
                    live_config.transcript = None;
                    live_config.record_to = None;
                    let inner = self.create_inner(&live_config)?;
                    return Ok(Arc::new(RecordingProvider::new(inner, path.clone())));
                }
                Ok(Arc::new(ReplayProvider::open(model, path)?))
            }
            other => Err(AgentError::UnknownProvider {
                provider: other.to_owned(),
                model: config.model.clone(),
            }),
        }
    }
}

/// `OLLAMA_HOST` may be `host`, `host:port` or a URL.
fn ollama_url(host: &str) -> String {
    let host = host.trim().trim_end_matches('/');
    if host.contains("://") {
        host.to_owned()
    } else if host.contains(':') {
        format!("http://{host}")
    } else {
        format!("http://{host}:11434")
    }
}

/// Checks `url` is http(s) and drops a trailing slash.
fn check_url(url: &str) -> Result<String> {
    let url = url.trim().trim_end_matches('/');
    let parsed = reqwest::Url::parse(url)
        .map_err(|e| AgentError::Config(format!("base URL `{url}` is not a URL: {e}")))?;
    if !matches!(parsed.scheme(), "http" | "https") {
        return Err(AgentError::Config(format!(
            "base URL `{url}` must start with http:// or https://"
        )));
    }
    Ok(url.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn factory(vars: &[(&str, &str)]) -> ProviderFactory {
        let vars: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        ProviderFactory::new().with_env(move |k| vars.get(k).cloned())
    }

    #[test]
    fn model_strings_are_checked() {
        let f = factory(&[]);
        for bad in ["gpt-4o", "/x", "openai/", ""] {
            let e = f.create(&ProviderConfig::new(bad)).unwrap_err();
            assert!(e.to_string().contains("provider/model"), "{e}");
        }
        let e = f.create(&ProviderConfig::new("nope/x")).unwrap_err();
        assert!(matches!(e, AgentError::UnknownProvider { .. }));
        assert!(e.to_string().contains("openai, ollama, anthropic, replay"));
    }

    #[test]
    fn keys_come_from_the_environment_or_the_named_variable() {
        let f = factory(&[("OPENAI_API_KEY", "k"), ("MY_KEY", "m")]);
        let p = f
            .create(&ProviderConfig::new("openai/gpt-4o-mini"))
            .unwrap();
        assert_eq!((p.name(), p.model()), ("openai", "gpt-4o-mini"));
        let e = factory(&[])
            .create(&ProviderConfig::new("openai/gpt"))
            .unwrap_err();
        assert!(e.to_string().contains("OPENAI_API_KEY"), "{e}");
        let e = f
            .create(&ProviderConfig::new("anthropic/claude").api_key_env("NOPE"))
            .unwrap_err();
        assert!(matches!(e, AgentError::MissingApiKey { ref env, .. } if env == "NOPE"));
        f.create(&ProviderConfig::new("anthropic/claude").api_key_env("MY_KEY"))
            .unwrap();
        // A custom OpenAI-compatible server needs no key.
        factory(&[("OPENAI_BASE_URL", "http://127.0.0.1:1/v1")])
            .create(&ProviderConfig::new("openai/local"))
            .unwrap();
        factory(&[])
            .create(&ProviderConfig::new("ollama/llama3.2"))
            .unwrap();
    }

    #[test]
    fn urls_are_checked_and_ollama_hosts_normalised() {
        assert_eq!(ollama_url("localhost"), "http://localhost:11434");
        assert_eq!(ollama_url("0.0.0.0:9999"), "http://0.0.0.0:9999");
        assert_eq!(ollama_url("https://h/"), "https://h");
        let e = factory(&[])
            .create(&ProviderConfig::new("openai/x").base_url("ftp://h"))
            .unwrap_err();
        assert!(e.to_string().contains("http://"), "{e}");
    }

    #[test]
    fn replay_needs_a_transcript() {
        let e = factory(&[])
            .create(&ProviderConfig::new("replay/demo"))
            .unwrap_err();
        assert!(e.to_string().contains("transcript"), "{e}");
    }

    #[test]
    fn backoff_doubles_and_is_capped() {
        let r = RetryPolicy::default();
        assert_eq!(r.backoff(0), Duration::from_millis(500));
        assert_eq!(r.backoff(1), Duration::from_secs(1));
        assert_eq!(r.backoff(10), Duration::from_secs(8));
    }
}
