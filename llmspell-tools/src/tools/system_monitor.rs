//! `system_monitor`: CPU, memory, disk and host information (sysinfo).

use async_trait::async_trait;
use serde::Deserialize;
use serde_json::{json, Map, Value};
use sysinfo::{CpuRefreshKind, Disks, MemoryRefreshKind, RefreshKind, System};

use crate::params::decode;
use crate::{Result, SecurityLevel, Tool, ToolCategory, ToolContext, ToolError, ToolMetadata};

const NAME: &str = "system_monitor";

/// Reports host resource usage: `cpu` (count, usage % measured over
/// ~200 ms, load averages), `memory` (total/used/available, swap), `disk`
/// (per mount: total/available), `system` (OS, kernel, host name, uptime).
#[derive(Debug)]
pub struct SystemMonitorTool {
    metadata: ToolMetadata,
}

#[derive(Deserialize, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
enum Metric {
    Cpu,
    Memory,
    Disk,
    System,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Params {
    #[serde(default = "all")]
    metrics: Vec<Metric>,
}

fn all() -> Vec<Metric> {
    vec![Metric::Cpu, Metric::Memory, Metric::Disk, Metric::System]
}

impl Default for SystemMonitorTool {
    fn default() -> Self {
        Self::new()
    }
}

impl SystemMonitorTool {
    /// The tool.
    #[must_use]
    pub fn new() -> Self {
        let metadata = ToolMetadata::new(
            NAME,
            "Report CPU usage and load, memory and swap, disk space per mount, and OS/host facts.",
            ToolCategory::System,
        )
        .with_security_level(SecurityLevel::Restricted)
        .with_parameters(json!({
            "type": "object",
            "properties": {
                "metrics": {
                    "type": "array",
                    "items": {"enum": ["cpu", "memory", "disk", "system"]},
                    "uniqueItems": true,
                    "default": ["cpu", "memory", "disk", "system"]
                }
            },
            "additionalProperties": false
        }))
        .with_result(json!({"type": "object"}));
        Self { metadata }
    }
}

#[async_trait]
impl Tool for SystemMonitorTool {
    fn metadata(&self) -> &ToolMetadata {
        &self.metadata
    }

    async fn execute(&self, params: Value, _ctx: &ToolContext) -> Result<Value> {
        let p: Params = decode(NAME, params)?;
        let wants = |m: Metric| p.metrics.contains(&m);
        let mut out = Map::new();
        if wants(Metric::Cpu) || wants(Metric::Memory) {
            let mut sys = System::new_with_specifics(
                RefreshKind::nothing()
                    .with_cpu(CpuRefreshKind::nothing().with_usage())
                    .with_memory(MemoryRefreshKind::everything()),
            )
            .map_err(|e| {
                ToolError::execution(NAME, format!("cannot read system information: {e}"))
            })?;
            if wants(Metric::Cpu) {
                // Usage is a difference between two samples.
                tokio::time::sleep(sysinfo::MINIMUM_CPU_UPDATE_INTERVAL).await;
                sys.refresh_cpu_usage();
                let load = System::load_average().ok();
                out.insert(
                    "cpu".into(),
                    json!({
                        "count": sys.cpus().len(),
                        "usage_percent": sys.global_cpu_usage(),
                        "per_cpu_percent": sys.cpus().iter().map(sysinfo::Cpu::usage).collect::<Vec<_>>(),
                        "load_average": load.map(|l| json!({"one": l.one, "five": l.five, "fifteen": l.fifteen})),
                    }),
                );
            }
            if wants(Metric::Memory) {
                out.insert(
                    "memory".into(),
                    json!({
                        "total_bytes": sys.total_memory(),
                        "used_bytes": sys.used_memory(),
                        "available_bytes": sys.available_memory(),
                        "swap_total_bytes": sys.total_swap(),
                        "swap_used_bytes": sys.used_swap(),
                    }),
                );
            }
        }
        if wants(Metric::Disk) {
            let disks = crate::blocking::run(NAME, |_| {
                Ok(Disks::new_with_refreshed_list().map(|disks| {
                    disks
                        .iter()
                        .map(|d| {
                            json!({
                                "mount_point": d.mount_point().display().to_string(),
                                "file_system": d.file_system().to_string_lossy(),
                                "total_bytes": d.total_space(),
                                "available_bytes": d.available_space(),
                                "removable": d.is_removable(),
                            })
                        })
                        .collect::<Vec<_>>()
                }))
            })
            .await?
            .map_err(|e| ToolError::execution(NAME, format!("cannot list disks: {e}")))?;
            out.insert("disks".into(), Value::Array(disks));
        }
        if wants(Metric::System) {
            out.insert(
                "system".into(),
                json!({
                    "os": System::name().ok(),
                    "os_version": System::os_version().ok(),
                    "kernel_version": System::kernel_version().ok(),
                    "host_name": System::host_name().ok(),
                    "uptime_seconds": System::uptime().ok(),
                    "boot_time": System::boot_time().ok(),
                }),
            );
        }
        Ok(Value::Object(out))
    }
}
