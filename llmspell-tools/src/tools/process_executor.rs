//! `process_executor`: run an allow-listed program with a timeout and an
//! output cap.

use std::process::Stdio;
use std::time::Instant;

use async_trait::async_trait;
use serde::Deserialize;
use serde_json::{json, Value};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};

use crate::config::rule;
use crate::params::{decode, millis};
use crate::{
    FileSandbox, ProcessPolicy, Result, SecurityLevel, Synonyms, Tool, ToolCategory, ToolContext,
    ToolError, ToolMetadata, ToolsConfig,
};

const NAME: &str = "process_executor";

/// Runs one program from the allow-list (no shell) with arguments, optional
/// stdin and a working directory inside the file roots.
///
/// The child gets a clean environment (only `PATH`, `HOME`, `LANG`), is
/// killed when the timeout passes (a [`ToolError::Timeout`]), and only the
/// first `max_output_bytes` of each of stdout and stderr are kept.
#[derive(Debug)]
pub struct ProcessExecutorTool {
    metadata: ToolMetadata,
    policy: ProcessPolicy,
    sandbox: FileSandbox,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Params {
    program: String,
    #[serde(default)]
    args: Vec<String>,
    working_dir: Option<String>,
    stdin: Option<String>,
    timeout_ms: Option<serde_json::Number>,
}

impl ProcessExecutorTool {
    /// The tool with `config.process` policy; working directories are
    /// confined to `config.files`.
    #[must_use]
    pub fn new(config: &ToolsConfig) -> Self {
        let allowed: Vec<&String> = config.process.allowed_programs.iter().collect();
        let max_ms = u64::try_from(config.process.timeout.as_millis()).unwrap_or(u64::MAX);
        let metadata = ToolMetadata::new(
            NAME,
            "Run an allow-listed program (no shell) with arguments and optional stdin; returns \
             exit code, stdout and stderr. Time and output are capped.",
            ToolCategory::System,
        )
        .with_security_level(SecurityLevel::Privileged)
        .with_parameters(json!({
            "type": "object",
            "properties": {
                "program": {"type": "string", "minLength": 1,
                            "description": format!("one of {allowed:?}")},
                "args": {"type": "array", "items": {"type": "string"}, "maxItems": 1024},
                "working_dir": {"type": "string", "minLength": 1},
                "stdin": {"type": "string"},
                "timeout_ms": {"type": "integer", "minimum": 1, "maximum": max_ms}
            },
            "required": ["program"],
            "additionalProperties": false
        }))
        .with_synonyms(synonyms())
        .with_result(json!({
            "type": "object",
            "properties": {
                "exit_code": {"type": ["integer", "null"]},
                "success": {"type": "boolean"},
                "stdout": {"type": "string"},
                "stderr": {"type": "string"},
                "stdout_truncated": {"type": "boolean"},
                "stderr_truncated": {"type": "boolean"},
                "duration_ms": {"type": "integer"}
            },
            "required": ["exit_code", "success", "stdout", "stderr"]
        }));
        Self {
            metadata,
            policy: config.process.clone(),
            sandbox: config.files.clone(),
        }
    }
}

/// Reads all of `reader`, keeping the first `cap` bytes.
async fn read_capped<R: AsyncRead + Unpin>(mut reader: R, cap: usize) -> (Vec<u8>, bool) {
    let mut kept = Vec::new();
    let mut truncated = false;
    let mut buf = [0u8; 8192];
    loop {
        match reader.read(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                let room = cap.saturating_sub(kept.len());
                if n > room {
                    truncated = true;
                }
                kept.extend_from_slice(&buf[..n.min(room)]);
            }
        }
    }
    (kept, truncated)
}

#[async_trait]
impl Tool for ProcessExecutorTool {
    fn metadata(&self) -> &ToolMetadata {
        &self.metadata
    }

    async fn execute(&self, params: Value, _ctx: &ToolContext) -> Result<Value> {
        let p: Params = decode(NAME, params)?;
        if !self.policy.allowed_programs.contains(&p.program) {
            return Err(ToolError::policy(
                NAME,
                rule::PROGRAM_NOT_ALLOWED,
                format!(
                    "program `{}` is not allow-listed; allowed: [{}]",
                    p.program,
                    self.policy
                        .allowed_programs
                        .iter()
                        .cloned()
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            ));
        }
        let timeout = match &p.timeout_ms {
            Some(ms) => millis(NAME, "timeout_ms", ms, self.policy.timeout)?,
            None => self.policy.timeout,
        };
        let mut command = tokio::process::Command::new(&p.program);
        command
            .args(&p.args)
            .env_clear()
            .stdin(if p.stdin.is_some() {
                Stdio::piped()
            } else {
                Stdio::null()
            })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        for key in ["PATH", "HOME", "LANG"] {
            if let Some(value) = std::env::var_os(key) {
                command.env(key, value);
            }
        }
        if let Some(dir) = &p.working_dir {
            command.current_dir(self.sandbox.resolve(NAME, dir)?);
        }
        let started = Instant::now();
        let mut child = command
            .spawn()
            .map_err(|e| ToolError::io(NAME, format!("starting `{}`", p.program), e))?;
        let stdin = child.stdin.take();
        let stdout = child.stdout.take();
        let stderr = child.stderr.take();
        let cap = self.policy.max_output_bytes;
        let input = p.stdin;
        let run = async {
            let feed = async {
                if let (Some(mut pipe), Some(text)) = (stdin, input) {
                    // A child that exits without reading gives EPIPE: fine.
                    let _ = pipe.write_all(text.as_bytes()).await;
                }
            };
            let out = async {
                match stdout {
                    Some(s) => read_capped(s, cap).await,
                    None => (Vec::new(), false),
                }
            };
            let err = async {
                match stderr {
                    Some(s) => read_capped(s, cap).await,
                    None => (Vec::new(), false),
                }
            };
            let ((), out, err) = tokio::join!(feed, out, err);
            let status = child.wait().await;
            (status, out, err)
        };
        let Ok((status, (out, out_cut), (err, err_cut))) = tokio::time::timeout(timeout, run).await
        else {
            // Dropping `run` dropped the child: kill_on_drop kills it.
            return Err(ToolError::Timeout {
                tool: NAME.to_owned(),
                timeout,
            });
        };
        let status =
            status.map_err(|e| ToolError::io(NAME, format!("waiting for `{}`", p.program), e))?;
        Ok(json!({
            "exit_code": status.code(),
            "success": status.success(),
            "stdout": String::from_utf8_lossy(&out),
            "stderr": String::from_utf8_lossy(&err),
            "stdout_truncated": out_cut,
            "stderr_truncated": err_cut,
            "duration_ms": u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
        }))
    }
}

/// The names rs-llmspell's scripts use (see `Synonyms`).
fn synonyms() -> Synonyms {
    Synonyms::new()
        .parameter("executable", "program")
        .parameter("command", "program")
        .parameter("arguments", "args")
}
