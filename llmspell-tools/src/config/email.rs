//! `email_sender` policy.

use std::fmt;
use std::time::Duration;

/// How `email_sender` reaches its SMTP server.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum SmtpSecurity {
    /// TLS from the first byte (SMTPS, usually port 465).
    Tls,
    /// A plain connection upgraded with `STARTTLS`, which must succeed
    /// (usually port 587).
    #[default]
    StartTls,
    /// No encryption at all: for a relay on the same host or in tests;
    /// credentials travel in clear text.
    None,
}

/// The SMTP server `email_sender` sends through.
#[derive(Clone, PartialEq, Eq)]
pub struct SmtpSettings {
    /// Host name (also the name the server's certificate must carry).
    pub host: String,
    /// Port.
    pub port: u16,
    /// Transport security.
    pub security: SmtpSecurity,
    /// `(user, password)` for `AUTH`, if the server wants it.
    pub credentials: Option<(String, String)>,
    /// Extra trusted root certificates (PEM), e.g. a company CA; the
    /// system's roots are trusted too.
    pub root_certificates: Vec<String>,
    /// Connect and command timeout.
    pub timeout: Duration,
}

impl SmtpSettings {
    /// `host:port` with STARTTLS, no credentials, 30 s.
    #[must_use]
    pub fn new(host: impl Into<String>, port: u16) -> Self {
        Self {
            host: host.into(),
            port,
            security: SmtpSecurity::StartTls,
            credentials: None,
            root_certificates: Vec::new(),
            timeout: Duration::from_secs(30),
        }
    }
}

impl fmt::Debug for SmtpSettings {
    /// Without the password.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SmtpSettings")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("security", &self.security)
            .field("user", &self.credentials.as_ref().map(|(u, _)| u))
            .field("root_certificates", &self.root_certificates.len())
            .field("timeout", &self.timeout)
            .finish()
    }
}

/// What `email_sender` may send, and through which server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmailPolicy {
    /// The server; without one only `dry_run` calls work.
    pub smtp: Option<SmtpSettings>,
    /// `From` when a call gives none.
    pub default_from: Option<String>,
    /// Most recipients (to + cc + bcc) of one message.
    pub max_recipients: usize,
    /// Most bytes of all attachments of one message together.
    pub max_attachment_bytes: u64,
}

impl Default for EmailPolicy {
    /// No server, no default sender, 50 recipients, 10 MiB of attachments.
    fn default() -> Self {
        Self {
            smtp: None,
            default_from: None,
            max_recipients: 50,
            max_attachment_bytes: 10 << 20,
        }
    }
}
