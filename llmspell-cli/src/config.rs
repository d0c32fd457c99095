//! `llmspell.toml`: the configuration of `llmspell run`.
//!
//! Loaded with [figment](https://docs.rs/figment) from, lowest precedence
//! first: the defaults ([`Config::default`]), the file (`--config <path>`,
//! else `llmspell.toml` in the current directory if there is one), and
//! environment variables `LLMSPELL_<SECTION>__<KEY>` (a double underscore
//! between path segments: `LLMSPELL_TOOLS__ALLOWED_PROGRAMS='["git"]'`,
//! `LLMSPELL_LIMITS__MEMORY_MIB=512`). Command-line flags of `llmspell run`
//! come last. Only variables with a `__` are read, so `LLMSPELL_LOG` and
//! other `LLMSPELL_` variables are not configuration.
//!
//! Every section denies unknown keys: a typo is an error naming the key and
//! the file (or variable) it came from. The reference with every key is
//! `docs/user-guide/configuration.md`; `llmspell config init` writes
//! [`DEFAULT_FILE`], a commented file with every key at its default.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use figment::providers::{Env, Format, Serialized, Toml};
use figment::value::Value as FValue;
use figment::{Figment, Metadata};
use llmspell_agents::ProviderFactory;
use llmspell_hooks::builtin::{BuiltinHook, ModelPricing, PricingTable};
use llmspell_storage::StorageConfig;
use llmspell_tools::{ProcessPolicy, ServicePolicy, ToolsConfig};
use serde::{Deserialize, Serialize};

use crate::error::{CliError, Result};

/// The file looked for in the current directory.
pub const FILE_NAME: &str = "llmspell.toml";

/// The prefix of environment overrides.
pub const ENV_PREFIX: &str = "LLMSPELL_";

/// What `llmspell config init` writes: every key at its default, commented.
pub const DEFAULT_FILE: &str = include_str!("default_config.toml");

/// The whole configuration.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
#[non_exhaustive]
pub struct Config {
    /// `[tools]`: the security policy of the standard tools.
    pub tools: ToolsSection,
    /// `[providers]`: defaults for agents' model providers.
    pub providers: ProvidersSection,
    /// `[store]`: where events and state are kept.
    pub store: StoreSection,
    /// `[limits]`: script memory and time, hook time.
    pub limits: LimitsSection,
    /// `[hooks]`: built-in hooks and command hooks.
    pub hooks: HooksSection,
    /// `[pricing]`: the price table of `cost_tracking`.
    pub pricing: PricingSection,
    /// `[telemetry]`: OTLP trace export and Prometheus metrics.
    pub telemetry: TelemetrySection,
}

/// `[tools]`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
#[non_exhaustive]
pub struct ToolsSection {
    /// Directories the file tools may use (none: file tools refuse every
    /// path). Relative paths are relative to the current directory.
    pub file_roots: Vec<PathBuf>,
    /// Largest file a tool reads into memory (default 10 MiB).
    pub max_file_bytes: Option<u64>,
    /// Programs `process_executor` may run, besides the harmless defaults
    /// (`echo`, `uname`, `whoami`, `true`, `false`).
    pub allowed_programs: Vec<String>,
    /// Longest run of one process, in milliseconds (default 30000).
    pub process_timeout_ms: Option<u64>,
    /// Bytes kept of a process's stdout and of its stderr (default 1 MiB).
    pub max_output_bytes: Option<usize>,
    /// Secret-looking environment variables `environment_reader` may show.
    pub allowed_env: Vec<String>,
    /// Hosts `service_checker` may probe, besides loopback.
    pub allowed_hosts: Vec<String>,
    /// Let `service_checker` probe any host.
    pub allow_any_host: bool,
    /// Longest connect timeout a service check may ask for, in milliseconds
    /// (default 10000).
    pub service_timeout_ms: Option<u64>,
    /// A SearXNG instance `web_search` uses (its default provider when
    /// set), e.g. `https://searx.example.org`.
    pub searxng_url: Option<String>,
    /// The environment variable holding a Brave Search API key; when it is
    /// set, `web_search` can use Brave (`provider = "brave"`).
    pub brave_api_key_env: Option<String>,
}

/// `[providers]`: one table per provider.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
#[non_exhaustive]
pub struct ProvidersSection {
    /// `[providers.openai]` (`OPENAI_BASE_URL`, `OPENAI_API_KEY`).
    pub openai: ProviderSection,
    /// `[providers.anthropic]` (`ANTHROPIC_BASE_URL`, `ANTHROPIC_API_KEY`).
    pub anthropic: ProviderSection,
    /// `[providers.ollama]` (`OLLAMA_HOST`, `OLLAMA_API_KEY`).
    pub ollama: ProviderSection,
}

/// One provider's defaults; the environment variable of the same meaning,
/// when set, wins.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
#[non_exhaustive]
pub struct ProviderSection {
    /// The API base URL.
    pub base_url: Option<String>,
    /// The environment variable holding the API key.
    pub api_key_env: Option<String>,
}

/// `[store]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
#[non_exhaustive]
pub struct StoreSection {
    /// Where `llmspell run` persists events: `memory` or `sled:<path>`.
    pub events: String,
    /// Where state and sessions are kept: `memory` or `sled:<path>`.
    pub state: String,
}

impl Default for StoreSection {
    fn default() -> Self {
        Self {
            events: "sled:.llmspell/events".to_owned(),
            state: crate::cli::DEFAULT_STATE_STORE.to_owned(),
        }
    }
}

/// `[limits]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
#[non_exhaustive]
pub struct LimitsSection {
    /// Memory limit of the script state in MiB.
    pub memory_mib: usize,
    /// Stop the script after this many seconds (unset: no limit).
    pub script_timeout_secs: Option<f64>,
    /// Longest run of one script hook or callback call, in milliseconds.
    pub hook_timeout_ms: u64,
}

impl Default for LimitsSection {
    fn default() -> Self {
        Self {
            memory_mib: 256,
            script_timeout_secs: None,
            hook_timeout_ms: 5000,
        }
    }
}

/// `[hooks]`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
#[non_exhaustive]
pub struct HooksSection {
    /// `[hooks.builtin.<name>]`: the options of each enabled built-in hook
    /// (`logging`, `metrics`, `debugging`, `security`, `caching`,
    /// `rate_limit`, `retry`, `cost_tracking`), plus `points`, `match`,
    /// `priority`, `enabled`.
    pub builtin: BTreeMap<String, serde_json::Value>,
    /// `[[hooks.command]]`: command hooks.
    pub command: Vec<CommandHookSection>,
}

/// One `[[hooks.command]]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct CommandHookSection {
    /// The hook point (`BeforeToolExecution`, ...).
    pub point: String,
    /// A regular expression on the component name (unset: every component).
    #[serde(default)]
    pub matcher: Option<String>,
    /// The program (or, with `shell = true`, the shell command line).
    pub command: String,
    /// Arguments of the program (not with `shell = true`).
    #[serde(default)]
    pub args: Vec<String>,
    /// Run `command` with `sh -c`.
    #[serde(default)]
    pub shell: bool,
    /// Time limit of one run, in milliseconds.
    #[serde(default = "default_command_timeout")]
    pub timeout_ms: u64,
    /// A failure (bad exit, timeout, bad output) cancels the operation
    /// instead of being logged and skipped.
    #[serde(default)]
    pub fail_closed: bool,
    /// Bytes read of stdout and of stderr; more is a failure.
    #[serde(default = "default_command_output")]
    pub max_output_bytes: usize,
    /// The hook's name in `Hook.list` (default: the command).
    #[serde(default)]
    pub name: Option<String>,
    /// Run order: `highest` .. `lowest` or an integer.
    #[serde(default)]
    pub priority: Option<String>,
}

fn default_command_timeout() -> u64 {
    10_000
}

fn default_command_output() -> usize {
    1 << 20
}

impl CommandHookSection {
    /// A section for `command` at `point` with the defaults.
    #[must_use]
    pub fn new(point: impl Into<String>, command: impl Into<String>) -> Self {
        Self {
            point: point.into(),
            matcher: None,
            command: command.into(),
            args: Vec::new(),
            shell: false,
            timeout_ms: default_command_timeout(),
            fail_closed: false,
            max_output_bytes: default_command_output(),
            name: None,
            priority: None,
        }
    }
}

/// `[pricing]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
#[non_exhaustive]
pub struct PricingSection {
    /// Start from the shipped list prices (see the configuration reference
    /// for their date).
    pub defaults: bool,
    /// `[pricing.models."<model or prefix>"]`: USD per million tokens.
    pub models: BTreeMap<String, PriceSection>,
    /// The price of models the table does not know.
    pub fallback: Option<PriceSection>,
}

impl Default for PricingSection {
    fn default() -> Self {
        Self {
            defaults: true,
            models: BTreeMap::new(),
            fallback: None,
        }
    }
}

/// A price in USD per million tokens.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct PriceSection {
    /// USD per million input tokens.
    pub input_per_million: f64,
    /// USD per million output tokens.
    pub output_per_million: f64,
}

/// `[telemetry]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
#[non_exhaustive]
pub struct TelemetrySection {
    /// OTLP/HTTP endpoint traces are exported to (e.g.
    /// `http://127.0.0.1:4318`); `OTEL_EXPORTER_OTLP_ENDPOINT` sets it too.
    pub otlp_endpoint: Option<String>,
    /// The OTLP/HTTP encoding: `http/protobuf` or `http/json`
    /// (`OTEL_EXPORTER_OTLP_PROTOCOL` sets it too).
    pub protocol: String,
    /// The `service.name` of exported spans.
    pub service_name: String,
    /// Serve Prometheus metrics on this address (`--metrics-addr`).
    pub metrics_addr: Option<SocketAddr>,
}

impl Default for TelemetrySection {
    fn default() -> Self {
        Self {
            otlp_endpoint: None,
            protocol: "http/protobuf".to_owned(),
            service_name: "llmspell".to_owned(),
            metrics_addr: None,
        }
    }
}

/// Where the configuration comes from.
#[derive(Debug, Clone, Default)]
pub struct ConfigSource {
    /// `--config <path>`: must exist.
    pub file: Option<PathBuf>,
    /// Directory searched for `llmspell.toml` when `file` is not given
    /// (default: the current directory).
    pub dir: Option<PathBuf>,
}

/// A loaded configuration with the figment it came from (for origins).
#[derive(Debug)]
pub struct Loaded {
    /// The effective configuration.
    pub config: Config,
    /// The file read, if any.
    pub file: Option<PathBuf>,
    figment: Figment,
}

impl ConfigSource {
    fn figment(&self) -> Result<(Figment, Option<PathBuf>)> {
        let mut figment = Figment::from(Serialized::defaults(Config::default()));
        let file = match &self.file {
            Some(f) => {
                if !f.is_file() {
                    return Err(CliError::Config(format!(
                        "the configuration file `{}` given with --config does not exist",
                        f.display()
                    )));
                }
                Some(f.clone())
            }
            None => {
                let dir = self.dir.clone().unwrap_or_else(|| PathBuf::from("."));
                let f = dir.join(FILE_NAME);
                f.is_file().then_some(f)
            }
        };
        if let Some(f) = &file {
            figment = figment.merge(Toml::file_exact(f));
        }
        // Only `LLMSPELL_<SECTION>__<KEY>`: other `LLMSPELL_` variables
        // (`LLMSPELL_LOG`, ...) are not configuration.
        figment = figment.merge(
            Env::prefixed(ENV_PREFIX)
                .filter(|k| k.as_str().contains("__"))
                .split("__"),
        );
        Ok((figment, file))
    }

    /// Loads and validates the configuration.
    ///
    /// # Errors
    /// [`CliError::Config`] for a missing `--config` file, a syntax error,
    /// an unknown key or a bad value (naming the key and where it came
    /// from), or invalid built-in hook options.
    pub fn load(&self) -> Result<Loaded> {
        let (figment, file) = self.figment()?;
        let config: Config = figment.extract().map_err(|e| config_error(&figment, e))?;
        let loaded = Loaded {
            config,
            file,
            figment,
        };
        loaded.validate()?;
        Ok(loaded)
    }
}

/// Where a metadata says a value came from, for humans.
fn origin(meta: &Metadata, key: &str) -> String {
    match &meta.source {
        Some(figment::Source::File(p)) => p.display().to_string(),
        Some(figment::Source::Code(_)) => "default".to_owned(),
        Some(other) => other.to_string(),
        None if meta.name.contains("environment") => {
            let var = format!(
                "{ENV_PREFIX}{}",
                key.split('.')
                    .map(str::to_ascii_uppercase)
                    .collect::<Vec<_>>()
                    .join("__")
            );
            format!("environment variable {var}")
        }
        None if meta.name.contains("Serialized") => "default".to_owned(),
        None => meta.name.to_string(),
    }
}

fn config_error(figment: &Figment, e: figment::Error) -> CliError {
    let mut out = String::new();
    for err in e {
        let key = err.path.join(".");
        let place = err
            .metadata
            .as_ref()
            .map(|m| origin(m, &key))
            .or_else(|| figment.find_metadata(&key).map(|m| origin(m, &key)))
            .unwrap_or_else(|| "the configuration".to_owned());
        if !out.is_empty() {
            out.push('\n');
        }
        let what = match &err.kind {
            figment::error::Kind::UnknownField(field, expected) => format!(
                "unknown key `{}` (valid keys here: {})",
                if key.is_empty() { field } else { &key },
                expected.join(", ")
            ),
            _ if key.is_empty() => err.kind.to_string(),
            other => format!("key `{key}`: {other}"),
        };
        let _ = write!(out, "{what} in {place}");
    }
    CliError::Config(out)
}

impl Loaded {
    fn origin_of(&self, key: &str) -> String {
        self.figment
            .find_metadata(key)
            .map_or_else(|| "default".to_owned(), |m| origin(m, key))
    }

    fn validate(&self) -> Result<()> {
        let c = &self.config;
        for (name, options) in &c.hooks.builtin {
            let key = format!("hooks.builtin.{name}");
            BuiltinHook::from_options(name, options, &PricingTable::empty()).map_err(|e| {
                CliError::Config(format!("`{key}`: {e} (in {})", self.origin_of(&key)))
            })?;
        }
        for (i, hook) in c.hooks.command.iter().enumerate() {
            crate::command_hooks::validate(hook).map_err(|e| {
                CliError::Config(format!(
                    "`hooks.command[{i}]`: {e} (in {})",
                    self.origin_of("hooks.command")
                ))
            })?;
        }
        for (key, value) in [
            ("store.events", &c.store.events),
            ("store.state", &c.store.state),
        ] {
            value.parse::<StorageConfig>().map_err(|e| {
                CliError::Config(format!("`{key}`: {e} (in {})", self.origin_of(key)))
            })?;
        }
        if let Some(s) = c.limits.script_timeout_secs {
            if !(s.is_finite() && s > 0.0) {
                return Err(CliError::Config(format!(
                    "`limits.script_timeout_secs` must be a positive number of seconds, got {s} (in {})",
                    self.origin_of("limits.script_timeout_secs")
                )));
            }
        }
        if !matches!(c.telemetry.protocol.as_str(), "http/protobuf" | "http/json") {
            return Err(CliError::Config(format!(
                "`telemetry.protocol` must be \"http/protobuf\" or \"http/json\", got `{}` (in {})",
                c.telemetry.protocol,
                self.origin_of("telemetry.protocol")
            )));
        }
        if c.limits.hook_timeout_ms == 0 {
            return Err(CliError::Config(format!(
                "`limits.hook_timeout_ms` must be positive (in {})",
                self.origin_of("limits.hook_timeout_ms")
            )));
        }
        let prices = c
            .pricing
            .models
            .iter()
            .map(|(m, p)| (format!("pricing.models.{m}"), *p));
        for (key, p) in prices.chain(
            c.pricing
                .fallback
                .map(|p| ("pricing.fallback".to_owned(), p)),
        ) {
            let ok = |v: f64| v.is_finite() && v >= 0.0;
            if !ok(p.input_per_million) || !ok(p.output_per_million) {
                return Err(CliError::Config(format!(
                    "`{key}`: prices must be non-negative USD per million tokens (in {})",
                    self.origin_of(&key)
                )));
            }
        }
        Ok(())
    }

    /// `llmspell config show`: every effective value with where it came
    /// from, as TOML lines `key = value  # origin`.
    #[must_use]
    pub fn show(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "# effective configuration; file: {}",
            self.file
                .as_ref()
                .map_or_else(|| "none".to_owned(), |f| f.display().to_string())
        );
        let value = FValue::serialize(&self.config)
            .unwrap_or_else(|_| FValue::from(figment::value::Dict::new()));
        let mut lines = Vec::new();
        leaves(&value, String::new(), &mut lines);
        for (key, v) in lines {
            let origin = self.origin_of(&key);
            let _ = writeln!(out, "{key} = {v}  # {origin}");
        }
        out
    }
}

impl Loaded {
    /// `llmspell config show --json`: `{"file": path or null, "values":
    /// [{"key", "value", "origin"}]}`, the values as TOML text as in
    /// [`show`](Self::show).
    #[must_use]
    pub fn show_json(&self) -> serde_json::Value {
        let value = FValue::serialize(&self.config)
            .unwrap_or_else(|_| FValue::from(figment::value::Dict::new()));
        let mut lines = Vec::new();
        leaves(&value, String::new(), &mut lines);
        let values: Vec<serde_json::Value> = lines
            .into_iter()
            .map(|(key, v)| {
                let origin = self.origin_of(&key);
                serde_json::json!({"key": key, "value": v, "origin": origin})
            })
            .collect();
        serde_json::json!({
            "file": self.file.as_ref().map(|f| f.display().to_string()),
            "values": values,
        })
    }
}

/// Flattens `value` into `(dotted.key, rendered value)` leaves; lists of
/// tables (`hooks.command`) and free-form tables stay inline.
fn leaves(value: &FValue, prefix: String, out: &mut Vec<(String, String)>) {
    match value {
        FValue::Dict(_, dict) if !dict.is_empty() && !prefix.starts_with("hooks.builtin.") => {
            for (k, v) in dict {
                let key = if prefix.is_empty() {
                    k.clone()
                } else {
                    format!("{prefix}.{k}")
                };
                leaves(v, key, out);
            }
        }
        FValue::Empty(..) => out.push((prefix, "# (unset)".to_owned())),
        other => out.push((prefix, render(other))),
    }
}

fn render(value: &FValue) -> String {
    match value {
        FValue::String(_, s) => format!("{s:?}"),
        FValue::Char(_, c) => format!("\"{c}\""),
        FValue::Bool(_, b) => b.to_string(),
        FValue::Num(..) => serde_json::to_string(value).unwrap_or_default(),
        FValue::Empty(..) => "\"\"".to_owned(),
        FValue::Array(_, items) => format!(
            "[{}]",
            items.iter().map(render).collect::<Vec<_>>().join(", ")
        ),
        FValue::Dict(_, dict) => format!(
            "{{ {} }}",
            dict.iter()
                .filter(|(_, v)| !matches!(v, FValue::Empty(..)))
                .map(|(k, v)| format!("{k} = {}", render(v)))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

/// The command-line policy switches of `llmspell run` (added to the
/// configuration's lists).
#[derive(Debug, Clone, Default)]
pub struct PolicyFlags {
    /// `--allow-dir`.
    pub dirs: Vec<PathBuf>,
    /// `--allow-program`.
    pub programs: Vec<String>,
    /// `--allow-env`.
    pub env: Vec<String>,
    /// `--allow-host`.
    pub hosts: Vec<String>,
}

impl Config {
    /// The standard tools' policy: `[tools]` plus the command-line
    /// switches.
    ///
    /// # Errors
    /// [`CliError::Config`] when a file root does not exist.
    pub fn tools_config(&self, flags: &PolicyFlags) -> Result<ToolsConfig> {
        let t = &self.tools;
        let mut process = ProcessPolicy::default();
        if let Some(ms) = t.process_timeout_ms {
            process.timeout = Duration::from_millis(ms);
        }
        if let Some(n) = t.max_output_bytes {
            process.max_output_bytes = n;
        }
        let mut service = ServicePolicy {
            allow_any_host: t.allow_any_host,
            ..ServicePolicy::default()
        };
        if let Some(ms) = t.service_timeout_ms {
            service.max_timeout = Duration::from_millis(ms);
        }
        let mut b = ToolsConfig::builder()
            .process_policy(process)
            .service_policy(service);
        if let Some(n) = t.max_file_bytes {
            b = b.max_file_bytes(n);
        }
        for d in t.file_roots.iter().chain(&flags.dirs) {
            b = b.file_root(d.clone());
        }
        for p in t.allowed_programs.iter().chain(&flags.programs) {
            b = b.allow_program(p.clone());
        }
        for e in t.allowed_env.iter().chain(&flags.env) {
            b = b.allow_secret_env(e.clone());
        }
        for h in t.allowed_hosts.iter().chain(&flags.hosts) {
            b = b.allow_host(h.clone());
        }
        if let Some(url) = &t.searxng_url {
            b = b.search_provider(llmspell_tools::SearchProviderConfig::searxng(url.clone()));
        }
        if let Some(var) = &t.brave_api_key_env {
            if let Some(key) = std::env::var(var).ok().filter(|k| !k.is_empty()) {
                b = b.search_provider(llmspell_tools::SearchProviderConfig::brave(key));
            }
        }
        b.build()
            .map_err(|e| CliError::Config(format!("`tools.file_roots` / --allow-dir: {e}")))
    }

    /// The price table `cost_tracking` starts from.
    #[must_use]
    pub fn pricing_table(&self) -> PricingTable {
        let p = &self.pricing;
        let mut table = if p.defaults {
            PricingTable::default()
        } else {
            PricingTable::empty()
        };
        for (model, price) in &p.models {
            table = table.set(
                model.clone(),
                ModelPricing::new(price.input_per_million, price.output_per_million),
            );
        }
        if let Some(f) = p.fallback {
            table = table.fallback(ModelPricing::new(f.input_per_million, f.output_per_million));
        }
        table
    }

    /// Agents' provider factory: the process environment, with
    /// `[providers]` filling what it does not set (`base_url`) and naming
    /// the key variables (`api_key_env`).
    #[must_use]
    pub fn provider_factory(&self) -> ProviderFactory {
        let p = self.providers.clone();
        ProviderFactory::new().with_env(move |name| {
            let env = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
            let (section, base_var, key_var) = match name {
                "OPENAI_BASE_URL" | "OPENAI_API_KEY" => {
                    (&p.openai, "OPENAI_BASE_URL", "OPENAI_API_KEY")
                }
                "ANTHROPIC_BASE_URL" | "ANTHROPIC_API_KEY" => {
                    (&p.anthropic, "ANTHROPIC_BASE_URL", "ANTHROPIC_API_KEY")
                }
                "OLLAMA_HOST" | "OLLAMA_API_KEY" => (&p.ollama, "OLLAMA_HOST", "OLLAMA_API_KEY"),
                other => return env(other),
            };
            if name == base_var {
                env(name).or_else(|| section.base_url.clone())
            } else if name == key_var {
                section
                    .api_key_env
                    .as_deref()
                    .map_or_else(|| env(name), env)
            } else {
                env(name)
            }
        })
    }

    /// Every built-in hook of `[hooks.builtin]`, built.
    ///
    /// # Errors
    /// [`CliError::Config`] for invalid options (already checked at load).
    pub fn builtin_hooks(&self) -> Result<Vec<BuiltinHook>> {
        let pricing = self.pricing_table();
        self.hooks
            .builtin
            .iter()
            .map(|(name, options)| {
                BuiltinHook::from_options(name, options, &pricing)
                    .map_err(|e| CliError::Config(format!("`hooks.builtin.{name}`: {e}")))
            })
            .collect()
    }

    /// The events store.
    ///
    /// # Errors
    /// [`CliError::Config`] for a bad `store.events`.
    pub fn events_store(&self) -> Result<StorageConfig> {
        self.store
            .events
            .parse()
            .map_err(|e| CliError::Config(format!("`store.events`: {e}")))
    }

    /// The state store.
    ///
    /// # Errors
    /// [`CliError::Config`] for a bad `store.state`.
    pub fn state_store(&self) -> Result<StorageConfig> {
        self.store
            .state
            .parse()
            .map_err(|e| CliError::Config(format!("`store.state`: {e}")))
    }
}

/// Every key path of the configuration types (`tools.file_roots`,
/// `hooks.command.point`, ...), from serialising a value with every
/// optional key set: what the reference and the default file must cover.
#[must_use]
pub fn key_paths() -> Vec<String> {
    let mut c = Config::default();
    c.tools.max_file_bytes = Some(0);
    c.tools.process_timeout_ms = Some(0);
    c.tools.max_output_bytes = Some(0);
    c.tools.service_timeout_ms = Some(0);
    c.tools.searxng_url = Some(String::new());
    c.tools.brave_api_key_env = Some(String::new());
    for p in [
        &mut c.providers.openai,
        &mut c.providers.anthropic,
        &mut c.providers.ollama,
    ] {
        p.base_url = Some(String::new());
        p.api_key_env = Some(String::new());
    }
    c.limits.script_timeout_secs = Some(1.0);
    let mut cmd = CommandHookSection::new("", "");
    cmd.matcher = Some(String::new());
    cmd.name = Some(String::new());
    cmd.priority = Some(String::new());
    c.hooks.command.push(cmd);
    let price = PriceSection {
        input_per_million: 0.0,
        output_per_million: 0.0,
    };
    c.pricing.fallback = Some(price);
    c.telemetry.otlp_endpoint = Some(String::new());
    c.telemetry.metrics_addr = Some(SocketAddr::from(([127, 0, 0, 1], 0)));
    let json = serde_json::to_value(&c).unwrap_or_default();
    let mut out = Vec::new();
    json_paths(&json, "", &mut out);
    out
}

fn json_paths(v: &serde_json::Value, prefix: &str, out: &mut Vec<String>) {
    use serde_json::Value as J;
    let free_form = prefix == "hooks.builtin" || prefix == "pricing.models";
    match v {
        J::Object(o) if !free_form => {
            for (k, v) in o {
                let key = if prefix.is_empty() {
                    k.clone()
                } else {
                    format!("{prefix}.{k}")
                };
                json_paths(v, &key, out);
            }
        }
        J::Array(items) if items.first().is_some_and(J::is_object) => {
            out.push(prefix.to_owned());
            json_paths(&items[0], prefix, out);
        }
        _ => out.push(prefix.to_owned()),
    }
}

/// Writes [`DEFAULT_FILE`] to `path`, refusing to overwrite unless `force`.
///
/// # Errors
/// [`CliError::Config`] when the file exists; [`CliError::Output`] for an
/// I/O error.
pub fn init(path: &Path, force: bool) -> Result<()> {
    if path.exists() && !force {
        return Err(CliError::Config(format!(
            "`{}` already exists; pass --force to overwrite it",
            path.display()
        )));
    }
    std::fs::write(path, DEFAULT_FILE)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_file_loads_to_the_defaults_and_names_every_key() {
        let parsed: Config = Figment::from(Toml::string(DEFAULT_FILE)).extract().unwrap();
        assert_eq!(parsed, Config::default());
        for key in key_paths() {
            let last = key.rsplit('.').next().unwrap();
            let section = key.split('.').next().unwrap();
            assert!(
                DEFAULT_FILE.contains(&format!("{last} ="))
                    || DEFAULT_FILE.contains(&format!("[{key}")),
                "`{key}` is not in the default file"
            );
            assert!(DEFAULT_FILE.contains(&format!("[{section}")), "{section}");
        }
    }

    #[test]
    fn tools_section_configures_the_network_policy_and_search() {
        let mut c = Config::default();
        c.tools.allowed_hosts = vec!["10.0.0.0/8".into(), "intranet.local".into()];
        c.tools.searxng_url = Some("https://searx.example.org".into());
        c.tools.brave_api_key_env = Some("LLMSPELL_TEST_UNSET_BRAVE_KEY".into());
        let flags = PolicyFlags {
            hosts: vec!["127.0.0.1".into()],
            ..PolicyFlags::default()
        };
        let tools = c.tools_config(&flags).unwrap();
        let net = &tools.network;
        assert!(net.host_allowed("intranet.local") && net.host_allowed("127.0.0.1"));
        assert_eq!(net.refusing_rule("10.1.2.3".parse().unwrap()), None);
        assert_eq!(
            net.refusing_rule("192.168.0.1".parse().unwrap()),
            Some("private_address")
        );
        // The Brave key's variable is unset: only SearXNG is configured.
        assert_eq!(tools.search_providers.len(), 1);
        assert_eq!(tools.search_providers[0].name(), "searxng");
    }

    #[test]
    fn key_paths_cover_nested_and_listed_keys() {
        let keys = key_paths();
        for k in [
            "tools.file_roots",
            "providers.ollama.api_key_env",
            "hooks.builtin",
            "hooks.command",
            "hooks.command.fail_closed",
            "pricing.models",
            "pricing.fallback.input_per_million",
            "telemetry.metrics_addr",
        ] {
            assert!(keys.iter().any(|x| x == k), "{k} missing from {keys:?}");
        }
    }
}

#[cfg(test)]
mod reference {
    use super::key_paths;

    const REFERENCE: &str = include_str!("../../docs/user-guide/configuration.md");

    #[test]
    fn the_reference_names_every_key() {
        for key in key_paths() {
            let mut parts = key.split('.');
            let section = parts.next().unwrap();
            let last = key.rsplit('.').next().unwrap();
            assert!(
                REFERENCE.contains(&format!("`[{section}")),
                "section `[{section}]` is not in docs/user-guide/configuration.md"
            );
            assert!(
                REFERENCE.contains(&format!("| `{last}` |"))
                    || REFERENCE.contains(&format!("`[{key}")),
                "`{key}` is not in docs/user-guide/configuration.md"
            );
        }
    }
}
