//! Command hooks: an external program as a hook (the Claude Code model).
//!
//! The program gets the hook context as one JSON object on stdin (the
//! [`JsonHookAdapter`] form: `point`, `component_id`, `correlation_id`,
//! `data`, `metadata`, ...) and answers by exit code and stdout:
//!
//! | answer | result |
//! |---|---|
//! | exit 0, empty stdout | `Continue` |
//! | exit 0, a JSON result on stdout (`{"type": "modified", "data": {...}}`, every shape scripts return) | that result |
//! | exit 2 | `Cancel`, with stderr (trimmed) as the reason |
//! | any other exit, a timeout, unparsable stdout, more output than `max_output_bytes`, a program that cannot start | a hook failure |
//!
//! A failure is fail-open (logged, the operation goes on) unless the hook
//! is registered fail-closed, and is counted by the hook's breaker like any
//! other. The program runs without a shell unless `shell` is set (then
//! `sh -c <command>`); a program still running at the time limit is
//! killed.
//!
//! ```no_run
//! # async fn demo() -> llmspell_hooks::Result<()> {
//! use std::time::Duration;
//! use llmspell_hooks::builtin::CommandHook;
//! use llmspell_hooks::{HookPoint, Hooks};
//!
//! let hooks = Hooks::new();
//! let guard = CommandHook::builder("./guard.sh")
//!     .matcher("file_.*|process_executor")?
//!     .timeout(Duration::from_secs(5))
//!     .build();
//! let options = guard.register_options();
//! hooks.register_with(HookPoint::BeforeToolExecution, std::sync::Arc::new(guard), options)?;
//! # Ok(()) }
//! ```

use std::fmt;
use std::process::Stdio;
use std::time::Duration;

use async_trait::async_trait;
use regex::Regex;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};
use tokio::process::Command;

use crate::{
    Hook, HookAdapter, HookContext, HookError, HookMetadata, HookResult, JsonHookAdapter, Language,
    Priority, RegisterOptions, Result,
};

/// An external program run as a hook; see the module docs.
#[derive(Clone)]
pub struct CommandHook {
    command: String,
    args: Vec<String>,
    shell: bool,
    matcher: Option<Regex>,
    timeout: Duration,
    max_output_bytes: usize,
    fail_closed: bool,
    metadata: HookMetadata,
}

impl fmt::Debug for CommandHook {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CommandHook")
            .field("command", &self.command)
            .field("args", &self.args)
            .field("shell", &self.shell)
            .field("matcher", &self.matcher.as_ref().map(Regex::as_str))
            .field("timeout", &self.timeout)
            .field("max_output_bytes", &self.max_output_bytes)
            .field("fail_closed", &self.fail_closed)
            .field("name", &self.metadata.name)
            .finish()
    }
}

/// Builds a [`CommandHook`].
#[derive(Debug, Clone)]
#[must_use]
pub struct CommandHookBuilder {
    hook: CommandHook,
}

impl CommandHook {
    /// Default time limit of one run: 10 s.
    pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);
    /// Default bytes read of stdout and of stderr: 1 MiB.
    pub const DEFAULT_MAX_OUTPUT_BYTES: usize = 1 << 20;

    /// A builder for `command` (a program name or path; with
    /// [`shell`](CommandHookBuilder::shell), a shell command line).
    pub fn builder(command: impl Into<String>) -> CommandHookBuilder {
        let command = command.into();
        CommandHookBuilder {
            hook: CommandHook {
                metadata: HookMetadata::new(format!("command:{command}"))
                    .with_language(Language::Command)
                    .with_description(format!("command hook `{command}`")),
                command,
                args: Vec::new(),
                shell: false,
                matcher: None,
                timeout: Self::DEFAULT_TIMEOUT,
                max_output_bytes: Self::DEFAULT_MAX_OUTPUT_BYTES,
                fail_closed: false,
            },
        }
    }

    /// The registration options this hook asks for: fail-closed as set,
    /// and an executor timeout a little past the command's own, so the
    /// command's limit (which kills it) is the one that applies.
    pub fn register_options(&self) -> RegisterOptions {
        RegisterOptions::new()
            .fail_closed(self.fail_closed)
            .timeout(self.timeout + Duration::from_millis(500))
    }

    fn failure(&self, message: impl Into<String>) -> HookError {
        HookError::Execution {
            hook: self.metadata.name.clone(),
            message: message.into(),
            source: None,
        }
    }

    async fn run(&self, input: Vec<u8>) -> Result<HookResult> {
        let mut cmd = if self.shell {
            let mut c = Command::new("sh");
            c.arg("-c").arg(&self.command);
            c
        } else {
            let mut c = Command::new(&self.command);
            c.args(&self.args);
            c
        };
        cmd.stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        // Its own process group, so a timeout kills what it started too
        // (the `sh -c` of a shell command and its children).
        #[cfg(unix)]
        cmd.process_group(0);
        let mut child = cmd
            .spawn()
            .map_err(|e| self.failure(format!("cannot start `{}`: {e}", self.command)))?;
        let mut stdin = child.stdin.take();
        let stdout = child.stdout.take();
        let stderr = child.stderr.take();
        let pid = child.id();
        let limit = self.max_output_bytes;
        let work = async {
            let write = async {
                if let Some(mut s) = stdin.take() {
                    // A program that does not read its input closes the
                    // pipe early; that is not an error.
                    let _ = s.write_all(&input).await;
                    let _ = s.shutdown().await;
                }
            };
            let (_, out, err, status) = futures::join!(
                write,
                read_bounded(stdout, limit),
                read_bounded(stderr, limit),
                child.wait()
            );
            (out, err, status)
        };
        let Ok((out, err, status)) = tokio::time::timeout(self.timeout, work).await else {
            // `child` is dropped with kill_on_drop (the program is killed);
            // the rest of its process group is killed here.
            kill_group(pid).await;
            return Err(HookError::Timeout {
                hook: self.metadata.name.clone(),
                timeout: self.timeout,
            });
        };
        let status = status.map_err(|e| self.failure(format!("waiting for the command: {e}")))?;
        let (out, err) = match (out, err) {
            (Some(o), Some(e)) => (o, e),
            _ => {
                return Err(self.failure(format!(
                    "the command wrote more than {limit} bytes on stdout or stderr"
                )))
            }
        };
        let stderr = String::from_utf8_lossy(&err).trim().to_owned();
        match status.code() {
            Some(0) => {
                let text = String::from_utf8_lossy(&out);
                let text = text.trim();
                if text.is_empty() {
                    return Ok(HookResult::Continue);
                }
                let value: serde_json::Value = serde_json::from_str(text).map_err(|e| {
                    self.failure(format!(
                        "stdout is not a JSON hook result ({e}): {text:.200}"
                    ))
                })?;
                JsonHookAdapter::new(Language::Command)
                    .adapt_result(value)
                    .map_err(|e| self.failure(e.to_string()))
            }
            Some(2) => Ok(HookResult::Cancel(if stderr.is_empty() {
                format!("cancelled by command hook `{}`", self.command)
            } else {
                stderr
            })),
            Some(code) => Err(self.failure(format!(
                "the command exited with status {code}{}",
                if stderr.is_empty() {
                    String::new()
                } else {
                    format!(": {stderr}")
                }
            ))),
            None => Err(self.failure("the command was killed by a signal")),
        }
    }
}

/// Kills process group `pid` (the command's; see `process_group(0)`).
async fn kill_group(pid: Option<u32>) {
    #[cfg(unix)]
    if let Some(pid) = pid {
        let _ = Command::new("kill")
            .args(["-KILL", "--", &format!("-{pid}")])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .await;
    }
    #[cfg(not(unix))]
    let _ = pid;
}

/// Reads all of `r`, or `None` past `limit` bytes.
async fn read_bounded<R: AsyncRead + Unpin>(r: Option<R>, limit: usize) -> Option<Vec<u8>> {
    let Some(r) = r else {
        return Some(Vec::new());
    };
    let mut buf = Vec::new();
    let cap = u64::try_from(limit).unwrap_or(u64::MAX).saturating_add(1);
    let mut take = r.take(cap);
    if take.read_to_end(&mut buf).await.is_err() {
        return Some(buf);
    }
    if buf.len() > limit {
        None
    } else {
        Some(buf)
    }
}

impl CommandHookBuilder {
    /// Arguments of the program (ignored with `shell`).
    pub fn args<I, S>(mut self, args: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.hook.args = args.into_iter().map(Into::into).collect();
        self
    }

    /// Runs the command with `sh -c`.
    pub fn shell(mut self, shell: bool) -> Self {
        self.hook.shell = shell;
        self
    }

    /// Runs only for components whose name matches `pattern` (a regular
    /// expression, anchored at both ends: `file_.*|process_executor`).
    ///
    /// # Errors
    /// [`HookError::InvalidConfig`] for a bad expression.
    pub fn matcher(mut self, pattern: &str) -> Result<Self> {
        let re = Regex::new(&format!("^(?:{pattern})$")).map_err(|e| HookError::InvalidConfig {
            field: "matcher",
            reason: format!("`{pattern}` is not a valid regular expression: {e}"),
        })?;
        self.hook.matcher = Some(re);
        Ok(self)
    }

    /// Time limit of one run (default 10 s); the program is killed then.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.hook.timeout = timeout;
        self
    }

    /// Bytes read of stdout and of stderr (default 1 MiB); more is a
    /// failure.
    pub fn max_output_bytes(mut self, bytes: usize) -> Self {
        self.hook.max_output_bytes = bytes;
        self
    }

    /// A failure cancels the operation instead of being skipped.
    pub fn fail_closed(mut self, fail_closed: bool) -> Self {
        self.hook.fail_closed = fail_closed;
        self
    }

    /// The hook's name (default `command:<command>`).
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.hook.metadata.name = name.into();
        self
    }

    /// The hook's priority.
    pub fn priority(mut self, priority: Priority) -> Self {
        self.hook.metadata = self.hook.metadata.with_priority(priority);
        self
    }

    /// The hook.
    #[must_use]
    pub fn build(self) -> CommandHook {
        self.hook
    }
}

#[async_trait]
impl Hook for CommandHook {
    async fn execute(&self, ctx: &mut HookContext) -> Result<HookResult> {
        if let Some(m) = &self.matcher {
            if !m.is_match(&ctx.component.name) {
                return Ok(HookResult::Continue);
            }
        }
        let input = serde_json::to_vec(&JsonHookAdapter::context_to_json(ctx))
            .map_err(|e| HookError::Serialization(std::sync::Arc::new(e)))?;
        self.run(input).await
    }

    fn metadata(&self) -> HookMetadata {
        self.metadata.clone()
    }
}
