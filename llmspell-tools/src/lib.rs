//! Tools for llmspell: the [`Tool`] trait, the [`ToolRegistry`], the one
//! hooked execution path ([`ToolRuntime`]) and the standard tools.
//!
//! # Concepts
//!
//! - [`Tool`]: metadata ([`ToolMetadata`]: name, description,
//!   [`ToolCategory`], [`SecurityLevel`], JSON Schemas of the parameter
//!   object and of the result) and `async execute(params, &ToolContext)`.
//! - [`ToolRegistry`]: tools by name and by category; compiles each tool's
//!   parameter schema once and validates calls against it
//!   ([`ToolError::InvalidParameter`] names the offending parameter).
//! - [`ToolRuntime`]: the one execution path for Rust callers, scripts,
//!   agents and workflows. It fires the tool hook points
//!   (`BeforeToolDiscovery`, `AfterToolDiscovery`, `ToolValidation`,
//!   `BeforeToolExecution`, `AfterToolExecution`, `ToolError`) through a
//!   [`llmspell_hooks::HookExecutor`], acts on every `HookResult`, runs the
//!   tool under a per-tool circuit breaker and a per-call timeout, and
//!   publishes `tool.execution.started` / `.completed` / `.failed` on an
//!   optional [`llmspell_events::EventBus`].
//! - [`ToolsConfig`]: the security settings of the standard tools, fixed
//!   when they are built. The default is locked down: file tools refuse
//!   every path until a root is configured.
//!
//! # The standard tools
//!
//! | category | tools |
//! |---|---|
//! | utility | `base64_encoder`, `calculator`, `date_time_handler`, `diff_calculator`, `hash_calculator`, `template_engine`, `text_manipulator`, `uuid_generator` |
//! | data | `csv_analyzer`, `data_validation`, `database_connector`, `json_processor` |
//! | filesystem | `archive_handler`, `file_converter`, `file_operations`, `file_search`, `file_watcher` |
//! | system | `environment_reader`, `process_executor`, `service_checker`, `system_monitor` |
//! | web (feature `network`) | `api_tester`, `graphql_query`, `http_request`, `sitemap_crawler`, `url_analyzer`, `web_scraper`, `web_search`, `webhook_caller`, `webpage_monitor` |
//!
//! Each standard tool also answers to its hyphenated name (`web-scraper`).
//!
//! Security defaults: file tools are confined to [`FileSandbox`] roots
//! (`..` and symlink escapes refused); `process_executor` runs only
//! allow-listed programs, without a shell, with a clean environment, a
//! timeout and an output cap; `environment_reader` hides variables whose
//! names or values look secret unless allowed by name; `archive_handler`
//! refuses zip-slip entries, links and size bombs and extracts all or
//! nothing; `service_checker` probes loopback only unless more hosts are
//! allowed; the web tools refuse loopback, private, link-local and
//! cloud-metadata addresses ([`NetworkPolicy`]), checked on the addresses a
//! name resolves to and on every redirect. Each refusal is a [`ToolError::PolicyViolation`] naming its
//! rule.
//!
//! Scripts written for rs-llmspell call tools with other parameter names
//! (`input` for `expression`, ...): each tool declares them as
//! [`Synonyms`], which the registry resolves before validation.
//!
//! Hostile inputs are bounded before work starts (JSONPath nesting and
//! evaluation cost, template tag depth, replacement growth, integer
//! overflow, durations), and work that can take long runs on the tools'
//! own worker threads, so the runtime's per-call timeout holds for it.
//!
//! # Example
//!
//! ```
//! use std::sync::Arc;
//! use llmspell_hooks::{hook_fn, HookExecutor, HookPoint, HookRegistry, HookResult};
//! use llmspell_tools::{ToolRegistry, ToolRuntime, ToolsConfig};
//! use serde_json::json;
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> llmspell_tools::Result<()> {
//! let dir = tempfile::tempdir().unwrap();
//! let config = ToolsConfig::builder().file_root(dir.path()).build()?;
//! let tools = Arc::new(ToolRegistry::with_standard_tools(&config)?);
//!
//! let hooks = Arc::new(HookRegistry::new());
//! // Every tool call is audited; this one rewrites the parameters.
//! hooks
//!     .register(
//!         HookPoint::BeforeToolExecution,
//!         hook_fn("double-check", |ctx| {
//!             let mut data = ctx.data.clone();
//!             if ctx.data["tool_name"] == "calculator" {
//!                 data.insert("parameters".into(), json!({"expression": "(2 + 2) * 10"}));
//!             }
//!             Ok(HookResult::Modified(data))
//!         }),
//!     )
//!     .unwrap();
//! let runtime = ToolRuntime::new(tools, Arc::new(HookExecutor::new(hooks)));
//!
//! let out = runtime.invoke("calculator", json!({"expression": "2 + 2"})).await?;
//! assert_eq!(out["result"], 40);
//!
//! runtime
//!     .invoke("file_operations", json!({"operation": "write", "path": "a.txt", "content": "hi"}))
//!     .await?;
//! let read = runtime
//!     .invoke("file_operations", json!({"operation": "read", "path": "a.txt"}))
//!     .await?;
//! assert_eq!(read["content"], "hi");
//!
//! // Outside the roots: refused.
//! let err = runtime
//!     .invoke("file_operations", json!({"operation": "read", "path": "../etc/passwd"}))
//!     .await
//!     .unwrap_err();
//! assert!(matches!(err, llmspell_tools::ToolError::PolicyViolation { .. }));
//! # Ok(())
//! # }
//! ```
//!
//! # Feature flags
//!
//! All on by default (the standard set has every tool):
//! `archive` (`archive_handler`: zip, tar, flate2), `file-watcher`
//! (`file_watcher`: notify), `system-monitor` (`system_monitor`: sysinfo),
//! `database` (`database_connector`: rusqlite with bundled SQLite,
//! tokio-postgres), `network` (the nine web tools: reqwest, scraper,
//! roxmltree). Off by default: `testing` (`testing::WebServer`, a loopback
//! web server for tests of the web tools).
//!
//! See `docs/technical/tools.md` for the hook result table, the sandbox
//! rules and the performance budget.

mod blocking;
mod config;
mod context;
mod error;
mod params;
mod registry;
mod runtime;
mod sandbox;
mod schema;
mod synonyms;
mod tool;
mod tools;

#[cfg(feature = "testing")]
pub mod testing;

pub use config::{
    ArchiveLimits, DatabasePolicy, EmailPolicy, EnvironmentPolicy, NetworkPolicy, ProcessPolicy,
    SearchProviderConfig, ServicePolicy, SmtpSecurity, SmtpSettings, ToolsConfig,
    ToolsConfigBuilder,
};
pub use context::ToolContext;
pub use error::{Result, ToolError};
pub use registry::{RegisteredTool, ToolRegistry};
pub use runtime::{
    ForkResult, InvokeOptions, ResultSource, ToolInvocation, ToolRuntime, ToolRuntimeBuilder,
    DEFAULT_TOOL_TIMEOUT, EVENT_COMPLETED, EVENT_FAILED, EVENT_STARTED, TOOL_POINTS,
};
pub use sandbox::FileSandbox;
pub use schema::ParameterValidator;
pub use synonyms::Synonyms;
pub use tool::{SecurityLevel, Tool, ToolCategory, ToolMetadata};
pub use tools::*;
