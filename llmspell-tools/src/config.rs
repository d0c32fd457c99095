//! Security settings of the standard tools.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::time::Duration;

use crate::{FileSandbox, Result};

/// Which programs `process_executor` may run, for how long, with how much
/// output.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProcessPolicy {
    /// Program names (looked up on `PATH`) or absolute paths that may run.
    pub allowed_programs: BTreeSet<String>,
    /// Default and maximum run time of one process.
    pub timeout: Duration,
    /// Bytes kept of each of stdout and stderr; the rest is discarded and
    /// the result says it was truncated.
    pub max_output_bytes: usize,
}

impl Default for ProcessPolicy {
    /// Programs that cannot change the host whatever their arguments:
    /// `echo`, `uname`, `whoami`, `true`, `false`; 30 s; 1 MiB per stream.
    /// (`date` and `hostname` are left out on purpose: with arguments, run
    /// as root, they set the clock and the host name.)
    fn default() -> Self {
        Self {
            allowed_programs: ["echo", "uname", "whoami", "true", "false"]
                .into_iter()
                .map(str::to_owned)
                .collect(),
            timeout: Duration::from_secs(30),
            max_output_bytes: 1 << 20,
        }
    }
}

/// Which environment variables `environment_reader` hides.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnvironmentPolicy {
    /// Case-insensitive substrings that make a variable name look secret.
    pub secret_markers: Vec<String>,
    /// Secret-looking variables that may be read anyway (exact names).
    pub allowed_secrets: BTreeSet<String>,
}

impl Default for EnvironmentPolicy {
    /// Hides names containing KEY, SECRET, TOKEN, PASSWORD, PASSWD, PWD
    /// (but not the plain `PWD`/`OLDPWD`), CREDENTIAL, PRIVATE, AUTH,
    /// SESSION, COOKIE or SIGNATURE.
    fn default() -> Self {
        Self {
            secret_markers: [
                "KEY",
                "SECRET",
                "TOKEN",
                "PASSWORD",
                "PASSWD",
                "PASS_",
                "CREDENTIAL",
                "PRIVATE",
                "AUTH",
                "SESSION",
                "COOKIE",
                "SIGNATURE",
            ]
            .into_iter()
            .map(str::to_owned)
            .collect(),
            allowed_secrets: BTreeSet::new(),
        }
    }
}

impl EnvironmentPolicy {
    /// Whether `name` looks secret and is not explicitly allowed.
    #[must_use]
    pub fn hides(&self, name: &str) -> bool {
        if self.allowed_secrets.contains(name) {
            return false;
        }
        let upper = name.to_ascii_uppercase();
        self.secret_markers
            .iter()
            .any(|m| upper.contains(&m.to_ascii_uppercase()))
    }
}

/// Limits on archive extraction (zip-slip is always refused).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ArchiveLimits {
    /// Most entries an archive may have.
    pub max_entries: usize,
    /// Most bytes one extracted entry may have.
    pub max_entry_bytes: u64,
    /// Most bytes all extracted entries together may have.
    pub max_total_bytes: u64,
}

impl Default for ArchiveLimits {
    /// 10,000 entries, 100 MiB per entry, 1 GiB in total.
    fn default() -> Self {
        Self {
            max_entries: 10_000,
            max_entry_bytes: 100 << 20,
            max_total_bytes: 1 << 30,
        }
    }
}

/// Which hosts `service_checker` may probe.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServicePolicy {
    /// Host names or IP addresses that may be checked.
    pub allowed_hosts: BTreeSet<String>,
    /// Allow every host (turns the allow-list off).
    pub allow_any_host: bool,
    /// Longest connect timeout a call may ask for.
    pub max_timeout: Duration,
}

impl Default for ServicePolicy {
    /// Loopback only (`localhost`, `127.0.0.1`, `::1`), at most 10 s.
    fn default() -> Self {
        Self {
            allowed_hosts: ["localhost", "127.0.0.1", "::1"]
                .into_iter()
                .map(str::to_owned)
                .collect(),
            allow_any_host: false,
            max_timeout: Duration::from_secs(10),
        }
    }
}

/// Security settings for the standard tools, fixed when they are built.
///
/// The default is locked down: no file roots (file tools refuse every path),
/// a short harmless program allow-list, secret-looking environment variables
/// hidden, archive size caps, loopback-only service checks.
#[derive(Debug, Clone, Default)]
pub struct ToolsConfig {
    /// Where file tools may read and write.
    pub files: FileSandbox,
    /// Largest file a tool reads into memory.
    pub max_file_bytes: u64,
    /// `process_executor` policy.
    pub process: ProcessPolicy,
    /// `environment_reader` policy.
    pub environment: EnvironmentPolicy,
    /// `archive_handler` extraction limits.
    pub archive: ArchiveLimits,
    /// `service_checker` policy.
    pub service: ServicePolicy,
}

impl ToolsConfig {
    /// Default largest file read into memory: 10 MiB.
    pub const DEFAULT_MAX_FILE_BYTES: u64 = 10 << 20;

    /// A builder starting from the locked-down defaults.
    pub fn builder() -> ToolsConfigBuilder {
        ToolsConfigBuilder::default()
    }

    /// The largest file read into memory.
    #[must_use]
    pub(crate) fn file_limit(&self) -> u64 {
        if self.max_file_bytes == 0 {
            Self::DEFAULT_MAX_FILE_BYTES
        } else {
            self.max_file_bytes
        }
    }
}

/// Builds a [`ToolsConfig`].
#[derive(Debug, Clone, Default)]
#[must_use]
pub struct ToolsConfigBuilder {
    roots: Vec<PathBuf>,
    max_file_bytes: Option<u64>,
    process: ProcessPolicy,
    environment: EnvironmentPolicy,
    archive: ArchiveLimits,
    service: ServicePolicy,
}

impl ToolsConfigBuilder {
    /// Lets file tools use `dir` (must exist when [`build`](Self::build)
    /// runs). The first root is the base of relative paths.
    pub fn file_root(mut self, dir: impl Into<PathBuf>) -> Self {
        self.roots.push(dir.into());
        self
    }

    /// Largest file a tool reads into memory.
    pub fn max_file_bytes(mut self, bytes: u64) -> Self {
        self.max_file_bytes = Some(bytes);
        self
    }

    /// Adds a program to the `process_executor` allow-list.
    pub fn allow_program(mut self, program: impl Into<String>) -> Self {
        self.process.allowed_programs.insert(program.into());
        self
    }

    /// Replaces the whole `process_executor` policy.
    pub fn process_policy(mut self, policy: ProcessPolicy) -> Self {
        self.process = policy;
        self
    }

    /// Lets `environment_reader` show this secret-looking variable.
    pub fn allow_secret_env(mut self, name: impl Into<String>) -> Self {
        self.environment.allowed_secrets.insert(name.into());
        self
    }

    /// Replaces the whole `environment_reader` policy.
    pub fn environment_policy(mut self, policy: EnvironmentPolicy) -> Self {
        self.environment = policy;
        self
    }

    /// Sets the archive extraction limits.
    pub fn archive_limits(mut self, limits: ArchiveLimits) -> Self {
        self.archive = limits;
        self
    }

    /// Lets `service_checker` probe `host`.
    pub fn allow_host(mut self, host: impl Into<String>) -> Self {
        self.service.allowed_hosts.insert(host.into());
        self
    }

    /// Replaces the whole `service_checker` policy.
    pub fn service_policy(mut self, policy: ServicePolicy) -> Self {
        self.service = policy;
        self
    }

    /// The configuration.
    ///
    /// # Errors
    /// [`ToolError::Config`](crate::ToolError::Config) if a file root does
    /// not exist or is not a directory.
    pub fn build(self) -> Result<ToolsConfig> {
        Ok(ToolsConfig {
            files: FileSandbox::new(&self.roots)?,
            max_file_bytes: self
                .max_file_bytes
                .unwrap_or(ToolsConfig::DEFAULT_MAX_FILE_BYTES),
            process: self.process,
            environment: self.environment,
            archive: self.archive,
            service: self.service,
        })
    }
}
