//! Security settings of the standard tools.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::time::Duration;

use crate::{FileSandbox, Result};

mod network;
#[cfg(feature = "network")]
pub(crate) use network::Refusal;
pub use network::{NetworkPolicy, SearchProviderConfig};
mod database;
mod email;

pub use database::DatabasePolicy;
pub use email::{EmailPolicy, SmtpSecurity, SmtpSettings};

/// The `rule` names of [`ToolError::PolicyViolation`](crate::ToolError::PolicyViolation)
/// returned by the standard tools (listed in `docs/technical/tools.md`).
pub(crate) mod rule {
    /// File access with no file roots configured.
    pub(crate) const NO_FILE_ROOTS: &str = "no_file_roots";
    /// A path with a `..` component.
    pub(crate) const PATH_TRAVERSAL: &str = "path_traversal";
    /// A path that resolves outside every file root.
    pub(crate) const PATH_OUTSIDE_ROOTS: &str = "path_outside_roots";
    /// A path through a symbolic link whose target does not exist.
    pub(crate) const DANGLING_SYMLINK: &str = "dangling_symlink";
    /// Deleting or moving a file root itself.
    pub(crate) const ROOT_PROTECTED: &str = "root_protected";
    /// A file larger than `max_file_bytes` to read into memory.
    pub(crate) const FILE_TOO_LARGE: &str = "file_too_large";
    /// A program not on the process allow-list.
    pub(crate) const PROGRAM_NOT_ALLOWED: &str = "program_not_allowed";
    /// A secret-looking environment variable.
    pub(crate) const SECRET_VARIABLE: &str = "secret_variable";
    /// A host not on the service allow-list.
    pub(crate) const HOST_NOT_ALLOWED: &str = "host_not_allowed";
    /// An archive entry with an absolute path or `..` (zip-slip).
    pub(crate) const ARCHIVE_PATH_ESCAPE: &str = "archive_path_escape";
    /// An archive entry that is a symbolic or hard link, or that would be
    /// written through or over a link in the destination.
    pub(crate) const ARCHIVE_LINK: &str = "archive_link";
    /// An archive entry of a type that is not extracted (device, FIFO, ...).
    pub(crate) const ARCHIVE_ENTRY_TYPE: &str = "archive_entry_type";
    /// More archive entries than `ArchiveLimits::max_entries`.
    pub(crate) const ARCHIVE_ENTRY_LIMIT: &str = "archive_entry_limit";
    /// An entry, a header or the whole archive larger than `ArchiveLimits`
    /// allow (a size bomb).
    pub(crate) const ARCHIVE_SIZE_LIMIT: &str = "archive_size_limit";
    /// A request to a cloud metadata service (by address or by name).
    pub(crate) const CLOUD_METADATA: &str = "cloud_metadata";
    /// A request to a loopback address.
    pub(crate) const LOOPBACK_ADDRESS: &str = "loopback_address";
    /// A request to a private (RFC 1918) or unique-local (ULA) address.
    pub(crate) const PRIVATE_ADDRESS: &str = "private_address";
    /// A request to a link-local address.
    pub(crate) const LINK_LOCAL_ADDRESS: &str = "link_local_address";
    /// A request to a carrier-grade NAT (shared, RFC 6598) address.
    pub(crate) const SHARED_ADDRESS: &str = "shared_address";
    /// A request to an unspecified, broadcast or multicast address.
    pub(crate) const UNSPECIFIED_ADDRESS: &str = "unspecified_address";
    /// A response body larger than `NetworkPolicy::max_response_bytes`.
    #[cfg_attr(not(feature = "network"), allow(dead_code))]
    pub(crate) const RESPONSE_TOO_LARGE: &str = "response_too_large";
    /// A URL whose scheme is not `http` or `https`.
    #[cfg_attr(not(feature = "network"), allow(dead_code))]
    pub(crate) const SCHEME_NOT_ALLOWED: &str = "scheme_not_allowed";
    /// A database name that is not configured in `DatabasePolicy`.
    pub(crate) const DATABASE_NOT_CONFIGURED: &str = "database_not_configured";
    /// A statement that would change data while `DatabasePolicy::allow_writes`
    /// is off.
    pub(crate) const DATABASE_READ_ONLY: &str = "database_read_only";
    /// Sending mail with no SMTP server configured.
    pub(crate) const EMAIL_NOT_CONFIGURED: &str = "email_not_configured";
    /// More recipients or attachment bytes than `EmailPolicy` allows.
    pub(crate) const EMAIL_LIMIT: &str = "email_limit";
}

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
///
/// A variable is hidden when its name or its value looks secret, unless its
/// exact name is in [`allowed_secrets`](Self::allowed_secrets):
/// - its name contains one of [`secret_markers`](Self::secret_markers)
///   (case-insensitive substrings), or one of its words (the parts between
///   characters other than ASCII letters and digits) is one of
///   [`secret_words`](Self::secret_words);
/// - or its value carries a credential (see
///   [`value_looks_secret`](Self::value_looks_secret)): a URL with a user
///   or password (`postgres://u:secret@h/db`, a Sentry DSN), a credential
///   in a URL query (`?token=`, `&password=`), an `Authorization`-style
///   value (`Bearer ...`, `Basic ...`), a private key block, a JSON Web
///   Token, or a well-known token format (GitHub, GitLab, Slack, AWS, `sk-`
///   keys).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnvironmentPolicy {
    /// Case-insensitive substrings that make a variable name look secret.
    pub secret_markers: Vec<String>,
    /// Case-insensitive whole words that make a variable name look secret
    /// (`PASS` hides `DB_PASS` but not `PASSENGERS`).
    pub secret_words: Vec<String>,
    /// Variables shown whatever their name or value (exact names).
    pub allowed_secrets: BTreeSet<String>,
}

impl Default for EnvironmentPolicy {
    /// Hides names containing KEY, SECRET, TOKEN, PASSWORD, PASSWD,
    /// PASSPHRASE, CREDENTIAL, PRIVATE, AUTH, SESSION, COOKIE, SIGNATURE or
    /// BEARER, names with a word PASS, PWD, PW, PAT, CRED, CREDS, DSN, SALT,
    /// OTP or PIN, and values that carry credentials; shows `PWD` and
    /// `OLDPWD` (the shell's working directories).
    fn default() -> Self {
        let owned = |items: &[&str]| items.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
        Self {
            secret_markers: owned(&[
                "KEY",
                "SECRET",
                "TOKEN",
                "PASSWORD",
                "PASSWD",
                "PASSPHRASE",
                "CREDENTIAL",
                "PRIVATE",
                "AUTH",
                "SESSION",
                "COOKIE",
                "SIGNATURE",
                "BEARER",
            ]),
            secret_words: owned(&[
                "PASS", "PWD", "PW", "PAT", "CRED", "CREDS", "DSN", "SALT", "OTP", "PIN",
            ]),
            allowed_secrets: ["PWD", "OLDPWD"].into_iter().map(str::to_owned).collect(),
        }
    }
}

impl EnvironmentPolicy {
    /// Whether the name `name` looks secret and is not explicitly allowed.
    /// (The value is not looked at; see [`hides_variable`](Self::hides_variable).)
    #[must_use]
    pub fn hides(&self, name: &str) -> bool {
        if self.allowed_secrets.contains(name) {
            return false;
        }
        let upper = name.to_ascii_uppercase();
        self.secret_markers
            .iter()
            .any(|m| upper.contains(&m.to_ascii_uppercase()))
            || upper
                .split(|c: char| !c.is_ascii_alphanumeric())
                .any(|word| {
                    self.secret_words
                        .iter()
                        .any(|w| w.eq_ignore_ascii_case(word))
                })
    }

    /// Whether the variable `name` with `value` is hidden: its name or its
    /// value looks secret, and its name is not explicitly allowed.
    #[must_use]
    pub fn hides_variable(&self, name: &str, value: &str) -> bool {
        self.hides(name)
            || (!self.allowed_secrets.contains(name) && Self::value_looks_secret(value))
    }

    /// Whether `value` carries a credential: a URL with user information
    /// (`scheme://user:password@host`, `scheme://key@host`), a credential
    /// parameter in a URL query, an `Authorization`-style value (`Bearer`,
    /// `Basic`, `Token`), a PEM private key, a JSON Web Token, or a
    /// well-known token format (`ghp_`, `github_pat_`, `glpat-`, `xoxb-`,
    /// `AKIA...`, `sk-...`).
    #[must_use]
    pub fn value_looks_secret(value: &str) -> bool {
        secret_values().is_match(value)
    }
}

/// The value patterns of [`EnvironmentPolicy::value_looks_secret`].
fn secret_values() -> &'static regex::RegexSet {
    static SET: std::sync::LazyLock<regex::RegexSet> = std::sync::LazyLock::new(|| {
        regex::RegexSet::new([
            // User information in a URL's authority: user:password@ or key@.
            r"[A-Za-z][A-Za-z0-9+.\-]*://[^/?#\s@]+@",
            // A credential in a URL query.
            r"(?i)[?&;](password|passwd|pwd|pass|token|access_token|refresh_token|api_?key|key|secret|client_secret|sig|signature|auth|credentials?)=[^&\s]",
            // Authorization header values.
            r"(?i)^\s*(bearer|basic|token|digest)\s+\S{8,}",
            r"-----BEGIN [A-Z0-9 ]*PRIVATE KEY( BLOCK)?-----",
            // JSON Web Tokens: header.payload.signature, the header JSON in base64url.
            r"\beyJ[A-Za-z0-9_\-]{8,}\.[A-Za-z0-9_\-]{8,}\.[A-Za-z0-9_\-]*",
            // Token formats of well-known services.
            r"\b(ghp|gho|ghu|ghs|ghr)_[A-Za-z0-9]{20,}",
            r"\bgithub_pat_[A-Za-z0-9_]{20,}",
            r"\bglpat-[A-Za-z0-9_\-]{20,}",
            r"\bxox[abposr]-[A-Za-z0-9\-]{10,}",
            r"\b(AKIA|ASIA)[0-9A-Z]{16}\b",
            r"\bsk-[A-Za-z0-9_\-]{20,}",
        ])
        .expect("the secret value patterns are valid")
    });
    &SET
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
    /// Where the web tools may send requests, and their client's limits.
    pub network: NetworkPolicy,
    /// Where `webpage_monitor` keeps its snapshots; `None`: in memory, per
    /// tool instance.
    pub monitor_store: Option<std::sync::Arc<dyn llmspell_storage::StorageBackend>>,
    /// The providers of `web_search`, the first being the default.
    pub search_providers: Vec<SearchProviderConfig>,
    /// `database_connector` policy.
    pub database: DatabasePolicy,
    /// `email_sender` policy.
    pub email: EmailPolicy,
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
    network: NetworkPolicy,
    cidrs: Vec<String>,
    monitor_store: Option<std::sync::Arc<dyn llmspell_storage::StorageBackend>>,
    search_providers: Vec<SearchProviderConfig>,
    database: DatabasePolicy,
    email: EmailPolicy,
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

    /// Lets `environment_reader` show this variable even if its name or
    /// value looks secret.
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

    /// Lets `service_checker` probe `host` and the web tools reach it
    /// whatever it resolves to. A CIDR range (`10.0.0.0/8`) is taken as
    /// [`allow_cidr`](Self::allow_cidr).
    pub fn allow_host(mut self, host: impl Into<String>) -> Self {
        let host = host.into();
        if host.contains('/') {
            return self.allow_cidr(host);
        }
        self.network.allowed_hosts.insert(host.clone());
        self.service.allowed_hosts.insert(host);
        self
    }

    /// Lets the web tools reach the address range `cidr` (`10.0.0.0/8`,
    /// `fd00::/8`, or one address); checked by [`build`](Self::build).
    pub fn allow_cidr(mut self, cidr: impl Into<String>) -> Self {
        self.cidrs.push(cidr.into());
        self
    }

    /// Replaces the whole network policy of the web tools (hosts and
    /// ranges allowed so far are kept).
    pub fn network_policy(mut self, policy: NetworkPolicy) -> Self {
        let hosts = std::mem::take(&mut self.network.allowed_hosts);
        let cidrs = std::mem::take(&mut self.network.allowed_cidrs);
        self.network = policy;
        self.network.allowed_hosts.extend(hosts);
        self.network.allowed_cidrs.extend(cidrs);
        self
    }

    /// Answers `host` with `addresses` instead of DNS for the web tools
    /// (the answers are checked by the network policy like any other).
    pub fn static_host(
        mut self,
        host: impl Into<String>,
        addresses: Vec<std::net::IpAddr>,
    ) -> Self {
        self.network
            .static_hosts
            .insert(host.into().to_ascii_lowercase(), addresses);
        self
    }

    /// Keeps `webpage_monitor` snapshots in `store` (e.g. a sled backend, so
    /// they survive restarts) instead of memory.
    pub fn monitor_store(
        mut self,
        store: std::sync::Arc<dyn llmspell_storage::StorageBackend>,
    ) -> Self {
        self.monitor_store = Some(store);
        self
    }

    /// Adds a `web_search` provider (the first added is the default).
    pub fn search_provider(mut self, provider: SearchProviderConfig) -> Self {
        self.search_providers.push(provider);
        self
    }

    /// Replaces the whole `service_checker` policy.
    pub fn service_policy(mut self, policy: ServicePolicy) -> Self {
        self.service = policy;
        self
    }

    /// Names a database for `database_connector` (see [`DatabasePolicy`]).
    pub fn database(mut self, name: impl Into<String>, url: impl Into<String>) -> Self {
        self.database.databases.insert(name.into(), url.into());
        self
    }

    /// Lets `database_connector` run statements that change data.
    pub fn allow_database_writes(mut self, allow: bool) -> Self {
        self.database.allow_writes = allow;
        self
    }

    /// Replaces the whole `database_connector` policy.
    pub fn database_policy(mut self, policy: DatabasePolicy) -> Self {
        self.database = policy;
        self
    }

    /// Lets `email_sender` send through `smtp`.
    pub fn smtp(mut self, smtp: SmtpSettings) -> Self {
        self.email.smtp = Some(smtp);
        self
    }

    /// Replaces the whole `email_sender` policy.
    pub fn email_policy(mut self, policy: EmailPolicy) -> Self {
        self.email = policy;
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
            network: {
                let mut network = self.network;
                for cidr in &self.cidrs {
                    let net = parse_cidr(cidr)?;
                    network.allowed_cidrs.push(net);
                }
                network
            },
            monitor_store: self.monitor_store,
            search_providers: self.search_providers,
            database: self.database,
            email: self.email,
        })
    }
}

/// A CIDR range, or one address as a range of one.
fn parse_cidr(text: &str) -> Result<ipnet::IpNet> {
    let text = text.trim();
    text.parse::<ipnet::IpNet>()
        .or_else(|_| text.parse::<std::net::IpAddr>().map(ipnet::IpNet::from))
        .map_err(|_| {
            crate::ToolError::Config(format!(
                "`{text}` is not an address range; write a CIDR such as `10.0.0.0/8` or \
                 `fd00::/8`, or one address"
            ))
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_names() {
        let policy = EnvironmentPolicy::default();
        for name in [
            "DB_PASS",
            "MYSQL_PWD",
            "GITHUB_PAT",
            "PASSPHRASE",
            "SENTRY_DSN",
            "BEARER",
            "AWS_SECRET_ACCESS_KEY",
            "github_token",
            "SMTP_PW",
            "GPG_PASSPHRASE_FILE",
            "VAULT_CREDS",
            "db-pass",
        ] {
            assert!(policy.hides(name), "{name} is shown");
        }
        for name in [
            "PATH",
            "HOME",
            "PWD",
            "OLDPWD",
            "PASSENGERS",
            "COMPASS_DIR",
            "SPINNER",
            "LANG",
        ] {
            assert!(!policy.hides(name), "{name} is hidden");
        }
    }

    #[test]
    fn secret_values() {
        let secret = [
            "postgres://u:secret@h/db",
            "redis://:hunter2@cache:6379/0",
            "https://abc123def456@o0.ingest.sentry.io/42",
            "amqp://guest:guest@localhost:5672/",
            "a=1,mongodb://admin:pw@db1,db2/x",
            "https://api.example.com/v1?token=abcdef",
            "https://s3.example.com/o?X-Amz-Credential=x&Signature=abc",
            "Bearer abcdefghijklmnop",
            "-----BEGIN OPENSSH PRIVATE KEY-----\nb3Bl",
            "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.sig",
            "ghp_0123456789abcdefghijABCDEFGHIJ",
            "github_pat_11AAAAAAA0123456789_abcdefghij",
            "xoxb-1234567890-abcdef",
            "AKIAIOSFODNN7EXAMPLE",
            "sk-proj-0123456789abcdefghijklmn",
        ];
        for value in secret {
            assert!(
                EnvironmentPolicy::value_looks_secret(value),
                "{value} is shown"
            );
        }
        let plain = [
            "/usr/local/bin:/usr/bin",
            "https://example.com/path?page=2",
            "postgres://db.example.com:5432/app",
            "user@example.com",
            "en_US.UTF-8",
            "xterm-256color",
            "ask-me-later",
        ];
        for value in plain {
            assert!(
                !EnvironmentPolicy::value_looks_secret(value),
                "{value} is hidden"
            );
        }
        let policy = EnvironmentPolicy::default();
        assert!(policy.hides_variable("DATABASE_URL", "postgres://u:secret@h/db"));
        assert!(!policy.hides_variable("DATABASE_URL", "postgres://h/db"));
        let mut allowed = policy.clone();
        allowed.allowed_secrets.insert("DATABASE_URL".to_owned());
        assert!(!allowed.hides_variable("DATABASE_URL", "postgres://u:secret@h/db"));
    }
}
