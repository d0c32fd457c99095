//! `service_checker`: is a TCP service reachable?

use std::time::{Duration, Instant};

use async_trait::async_trait;
use serde::Deserialize;
use serde_json::{json, Value};

use crate::config::rule;
use crate::params::{decode, millis};
use crate::{
    Result, SecurityLevel, ServicePolicy, Tool, ToolCategory, ToolContext, ToolError, ToolMetadata,
    ToolsConfig,
};

const NAME: &str = "service_checker";

/// Checks whether a TCP port accepts connections (resolving the host
/// first), reporting latency. Only hosts on the [`ServicePolicy`]
/// allow-list (loopback by default) may be probed, so the tool cannot be
/// used to scan a network.
#[derive(Debug)]
pub struct ServiceCheckerTool {
    metadata: ToolMetadata,
    policy: ServicePolicy,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Params {
    host: String,
    port: u16,
    timeout_ms: Option<serde_json::Number>,
}

/// Connect timeout when the call gives none (capped by the policy).
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(2);

impl ServiceCheckerTool {
    /// The tool with `config.service` policy.
    #[must_use]
    pub fn new(config: &ToolsConfig) -> Self {
        let max_ms = u64::try_from(config.service.max_timeout.as_millis()).unwrap_or(u64::MAX);
        let metadata = ToolMetadata::new(
            NAME,
            "Check whether a TCP service on an allowed host accepts connections; returns \
             reachability, resolved address and latency.",
            ToolCategory::System,
        )
        .with_security_level(SecurityLevel::Restricted)
        .with_parameters(json!({
            "type": "object",
            "properties": {
                "host": {"type": "string", "minLength": 1},
                "port": {"type": "integer", "minimum": 1, "maximum": 65535},
                "timeout_ms": {"type": "integer", "minimum": 1, "maximum": max_ms, "default": 2000}
            },
            "required": ["host", "port"],
            "additionalProperties": false
        }))
        .with_result(json!({
            "type": "object",
            "properties": {
                "reachable": {"type": "boolean"},
                "address": {"type": ["string", "null"]},
                "latency_ms": {"type": ["number", "null"]},
                "error": {"type": ["string", "null"]}
            },
            "required": ["reachable"]
        }));
        Self {
            metadata,
            policy: config.service.clone(),
        }
    }
}

#[async_trait]
impl Tool for ServiceCheckerTool {
    fn metadata(&self) -> &ToolMetadata {
        &self.metadata
    }

    async fn execute(&self, params: Value, _ctx: &ToolContext) -> Result<Value> {
        let p: Params = decode(NAME, params)?;
        if p.port == 0 {
            return Err(ToolError::invalid_parameter(
                NAME,
                "port",
                "must be 1 to 65535",
            ));
        }
        let host = p.host.trim_start_matches('[').trim_end_matches(']');
        if !self.policy.allow_any_host && !self.policy.allowed_hosts.contains(host) {
            return Err(ToolError::policy(
                NAME,
                rule::HOST_NOT_ALLOWED,
                format!(
                    "host `{host}` is not allow-listed; allowed: [{}]",
                    self.policy
                        .allowed_hosts
                        .iter()
                        .cloned()
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            ));
        }
        let timeout = match &p.timeout_ms {
            Some(ms) => millis(NAME, "timeout_ms", ms, self.policy.max_timeout)?,
            None => DEFAULT_TIMEOUT.min(self.policy.max_timeout),
        };
        let started = Instant::now();
        let addresses =
            match tokio::time::timeout(timeout, tokio::net::lookup_host((host, p.port))).await {
                Ok(Ok(addrs)) => addrs.collect::<Vec<_>>(),
                Ok(Err(e)) => {
                    return Ok(
                        json!({"reachable": false, "address": null, "latency_ms": null,
                                 "error": format!("cannot resolve `{host}`: {e}")}),
                    )
                }
                Err(_) => {
                    return Ok(
                        json!({"reachable": false, "address": null, "latency_ms": null,
                                 "error": "name resolution timed out"}),
                    )
                }
            };
        let mut last_error = format!("`{host}` resolved to no address");
        for address in addresses {
            let remaining = timeout.saturating_sub(started.elapsed());
            let attempt = Instant::now();
            match tokio::time::timeout(remaining, tokio::net::TcpStream::connect(address)).await {
                Ok(Ok(_stream)) => {
                    return Ok(json!({
                        "reachable": true,
                        "address": address.to_string(),
                        "latency_ms": attempt.elapsed().as_secs_f64() * 1000.0,
                        "error": null,
                    }))
                }
                Ok(Err(e)) => last_error = format!("{address}: {e}"),
                Err(_) => {
                    last_error = format!("{address}: connect timed out");
                    break;
                }
            }
        }
        Ok(json!({"reachable": false, "address": null, "latency_ms": null, "error": last_error}))
    }
}
