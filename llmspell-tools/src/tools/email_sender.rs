//! `email_sender`: plain and HTML mail with attachments over SMTP
//! (lettre: TLS, STARTTLS, AUTH), or a dry run that returns the message.

use async_trait::async_trait;
use lettre::message::header::ContentType;
use lettre::message::{Attachment, Mailbox, MultiPart, SinglePart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use serde::Deserialize;
use serde_json::{json, Value};

use crate::config::rule;
use crate::params::decode;
use crate::{
    EmailPolicy, FileSandbox, Result, SecurityLevel, SmtpSecurity, SmtpSettings, Synonyms, Tool,
    ToolCategory, ToolContext, ToolError, ToolMetadata, ToolsConfig,
};

const NAME: &str = "email_sender";

/// Sends one email through the configured SMTP server ([`EmailPolicy`]):
/// `to` (and `cc`, `bcc`: an address or a list), `subject`, a plain
/// `body` and/or an `html` body (both make a `multipart/alternative`
/// message), `attachments` (files inside the file roots, their type
/// guessed from the extension), `from` (or the policy's default),
/// `reply_to`. `dry_run = true` builds the message and returns its RFC
/// 5322 text without sending (no server needed).
///
/// The server and its credentials are the application's (scripts cannot
/// point the tool at another server); the connection is TLS or STARTTLS
/// unless the policy says `SmtpSecurity::None`. Limits: recipients and
/// attachment bytes per message (`EmailPolicy`); refusals are
/// `PolicyViolation`s (`email_not_configured`, `email_limit`, the file
/// rules for attachments).
#[derive(Debug)]
pub struct EmailSenderTool {
    metadata: ToolMetadata,
    files: FileSandbox,
    policy: EmailPolicy,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum Addresses {
    One(String),
    Many(Vec<String>),
}

impl Addresses {
    fn list(self) -> Vec<String> {
        match self {
            Self::One(a) => vec![a],
            Self::Many(v) => v,
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Params {
    to: Addresses,
    #[serde(default)]
    cc: Option<Addresses>,
    #[serde(default)]
    bcc: Option<Addresses>,
    from: Option<String>,
    reply_to: Option<String>,
    subject: String,
    body: Option<String>,
    html: Option<String>,
    #[serde(default)]
    attachments: Vec<String>,
    #[serde(default)]
    dry_run: bool,
}

impl EmailSenderTool {
    /// The tool, with the email policy and file roots of `config`.
    #[must_use]
    pub fn new(config: &ToolsConfig) -> Self {
        let address = json!({"type": "string", "minLength": 3});
        let addresses =
            json!({"oneOf": [address, {"type": "array", "items": address, "minItems": 1}]});
        let metadata = ToolMetadata::new(
            NAME,
            "Send an email (plain text and/or HTML, attachments from the allowed files) through \
             the configured SMTP server, or build it without sending (dry_run).",
            ToolCategory::Custom("communication".to_owned()),
        )
        .with_security_level(SecurityLevel::Restricted)
        .with_parameters(json!({
            "type": "object",
            "properties": {
                "to": addresses,
                "cc": addresses,
                "bcc": addresses,
                "from": address,
                "reply_to": address,
                "subject": {"type": "string", "maxLength": 998},
                "body": {"type": "string", "description": "the plain-text body"},
                "html": {"type": "string", "description": "the HTML body"},
                "attachments": {"type": "array", "items": {"type": "string", "minLength": 1},
                                "maxItems": 100, "description": "files inside the file roots"},
                "dry_run": {"type": "boolean", "default": false,
                            "description": "return the message instead of sending it"}
            },
            "required": ["to", "subject"],
            "anyOf": [{"required": ["body"]}, {"required": ["html"]}],
            "additionalProperties": false
        }))
        .with_synonyms(
            Synonyms::new()
                .parameter("html_body", "html")
                .parameter("text", "body"),
        )
        .with_result(json!({"type": "object"}));
        Self {
            metadata,
            files: config.files.clone(),
            policy: config.email.clone(),
        }
    }

    async fn build(&self, p: Params) -> Result<(Message, Vec<String>)> {
        let from_text = p
            .from
            .or_else(|| self.policy.default_from.clone())
            .ok_or_else(|| {
                ToolError::invalid_parameter(
                    NAME,
                    "from",
                    "required (no default sender is configured)",
                )
            })?;
        let mut builder = Message::builder()
            .from(mailbox("from", &from_text)?)
            .subject(p.subject);
        if let Some(r) = &p.reply_to {
            builder = builder.reply_to(mailbox("reply_to", r)?);
        }
        let mut recipients = Vec::new();
        for a in p.to.list() {
            builder = builder.to(mailbox("to", &a)?);
            recipients.push(a);
        }
        for a in p.cc.map(Addresses::list).unwrap_or_default() {
            builder = builder.cc(mailbox("cc", &a)?);
            recipients.push(a);
        }
        for a in p.bcc.map(Addresses::list).unwrap_or_default() {
            builder = builder.bcc(mailbox("bcc", &a)?);
            recipients.push(a);
        }
        if recipients.len() > self.policy.max_recipients {
            return Err(ToolError::policy(
                NAME,
                rule::EMAIL_LIMIT,
                format!(
                    "{} recipients, more than the {} allowed (EmailPolicy::max_recipients)",
                    recipients.len(),
                    self.policy.max_recipients
                ),
            ));
        }
        let text = match (p.body, p.html) {
            (Some(plain), Some(html)) => MultiPart::alternative_plain_html(plain, html),
            (Some(plain), None) => MultiPart::mixed().singlepart(SinglePart::plain(plain)),
            (None, Some(html)) => MultiPart::mixed().singlepart(SinglePart::html(html)),
            (None, None) => {
                return Err(ToolError::invalid_parameter(
                    NAME,
                    "body",
                    "give a plain `body`, an `html` body or both",
                ))
            }
        };
        let mut total = 0u64;
        let mut parts = Vec::new();
        for path in &p.attachments {
            let resolved = self.files.resolve(NAME, path)?;
            let meta = tokio::fs::metadata(&resolved)
                .await
                .map_err(|e| ToolError::io(NAME, format!("attachment {path}"), e))?;
            total = total.saturating_add(meta.len());
            if total > self.policy.max_attachment_bytes {
                return Err(ToolError::policy(
                    NAME,
                    rule::EMAIL_LIMIT,
                    format!(
                        "the attachments exceed {} bytes (EmailPolicy::max_attachment_bytes)",
                        self.policy.max_attachment_bytes
                    ),
                ));
            }
            let bytes = tokio::fs::read(&resolved)
                .await
                .map_err(|e| ToolError::io(NAME, format!("attachment {path}"), e))?;
            let file_name = resolved.file_name().map_or_else(
                || "attachment".to_owned(),
                |n| n.to_string_lossy().into_owned(),
            );
            let content_type =
                ContentType::parse(content_type_of(&file_name)).unwrap_or(ContentType::TEXT_PLAIN);
            parts.push(Attachment::new(file_name).body(bytes, content_type));
        }
        let body = if parts.is_empty() {
            text
        } else {
            let mut mixed = MultiPart::mixed().multipart(text);
            for part in parts {
                mixed = mixed.singlepart(part);
            }
            mixed
        };
        let message = builder.multipart(body).map_err(|e| {
            ToolError::invalid_parameter(NAME, "to", format!("cannot build the message: {e}"))
        })?;
        Ok((message, recipients))
    }
}

fn mailbox(parameter: &str, text: &str) -> Result<Mailbox> {
    text.parse().map_err(|e| {
        ToolError::invalid_parameter(
            NAME,
            parameter,
            format!("`{text}` is not an email address (`a@b.c` or `Name <a@b.c>`): {e}"),
        )
    })
}

/// A MIME type from a file name's extension.
fn content_type_of(name: &str) -> &'static str {
    let ext = name.rsplit_once('.').map(|(_, e)| e.to_ascii_lowercase());
    match ext.as_deref() {
        Some("txt" | "md" | "log") => "text/plain",
        Some("csv") => "text/csv",
        Some("html" | "htm") => "text/html",
        Some("json") => "application/json",
        Some("pdf") => "application/pdf",
        Some("png") => "image/png",
        Some("jpg" | "jpeg") => "image/jpeg",
        Some("gif") => "image/gif",
        Some("zip") => "application/zip",
        _ => "application/octet-stream",
    }
}

/// The transport for `smtp`.
fn transport(smtp: &SmtpSettings) -> Result<AsyncSmtpTransport<Tokio1Executor>> {
    let tls = || -> Result<TlsParameters> {
        let mut b = TlsParameters::builder(smtp.host.clone());
        for pem in &smtp.root_certificates {
            let cert = Certificate::from_pem(pem.as_bytes())
                .map_err(|e| ToolError::Config(format!("email_sender: a root certificate: {e}")))?;
            b = b.add_root_certificate(cert);
        }
        b.build_rustls()
            .map_err(|e| ToolError::Config(format!("email_sender: TLS settings: {e}")))
    };
    let mode = match smtp.security {
        SmtpSecurity::Tls => Tls::Wrapper(tls()?),
        SmtpSecurity::StartTls => Tls::Required(tls()?),
        SmtpSecurity::None => Tls::None,
    };
    let mut b = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(smtp.host.clone())
        .port(smtp.port)
        .tls(mode)
        .timeout(Some(smtp.timeout));
    if let Some((user, password)) = &smtp.credentials {
        b = b.credentials(Credentials::new(user.clone(), password.clone()));
    }
    Ok(b.build())
}

#[async_trait]
impl Tool for EmailSenderTool {
    fn metadata(&self) -> &ToolMetadata {
        &self.metadata
    }

    async fn execute(&self, params: Value, _ctx: &ToolContext) -> Result<Value> {
        let p: Params = decode(NAME, params)?;
        let dry_run = p.dry_run;
        let (message, recipients) = self.build(p).await?;
        if dry_run {
            let text = String::from_utf8_lossy(&message.formatted()).into_owned();
            return Ok(
                json!({"sent": false, "dry_run": true, "recipients": recipients, "message": text}),
            );
        }
        let smtp = self.policy.smtp.as_ref().ok_or_else(|| {
            ToolError::policy(
                NAME,
                rule::EMAIL_NOT_CONFIGURED,
                "no SMTP server is configured (ToolsConfigBuilder::smtp); dry_run works without one",
            )
        })?;
        let response = transport(smtp)?
            .send(message)
            .await
            .map_err(|e| ToolError::execution(NAME, format!("sending failed: {e}")))?;
        Ok(json!({
            "sent": true,
            "recipients": recipients,
            "smtp_code": response.code().to_string(),
            "smtp_response": response.message().collect::<Vec<_>>().join(" "),
        }))
    }
}
