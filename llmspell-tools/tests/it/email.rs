//! email_sender against a real SMTP listener on loopback (a small SMTP
//! server written for these tests) that captures what it receives.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use base64::Engine;
use llmspell_tools::{SmtpSecurity, SmtpSettings, ToolRegistry, ToolsConfig};
use serde_json::{json, Value};
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;
use tokio::sync::mpsc;

use crate::common::{assert_invalid, assert_policy, call_in};

/// One message as the server saw it.
#[derive(Debug, Default, Clone)]
struct Captured {
    auth: Option<String>,
    mail_from: String,
    rcpt_to: Vec<String>,
    data: String,
    tls: bool,
}

enum Next<S> {
    StartTls(S),
    Done,
}

/// Speaks enough SMTP for one client: EHLO, optional STARTTLS, AUTH PLAIN,
/// MAIL, RCPT, DATA, QUIT.
async fn session<S: AsyncRead + AsyncWrite + Unpin>(
    stream: S,
    greet: bool,
    offer_starttls: bool,
    captured: &mut Captured,
    out: &mpsc::UnboundedSender<Captured>,
) -> std::io::Result<Next<S>> {
    let mut s = BufReader::new(stream);
    if greet {
        s.get_mut().write_all(b"220 test ESMTP\r\n").await?;
    }
    let mut line = String::new();
    loop {
        line.clear();
        if s.read_line(&mut line).await? == 0 {
            return Ok(Next::Done);
        }
        let upper = line.trim_end().to_ascii_uppercase();
        let reply: &[u8] = if upper.starts_with("EHLO") || upper.starts_with("HELO") {
            if offer_starttls {
                b"250-test\r\n250-STARTTLS\r\n250-AUTH PLAIN LOGIN\r\n250 8BITMIME\r\n"
            } else {
                b"250-test\r\n250-AUTH PLAIN LOGIN\r\n250 8BITMIME\r\n"
            }
        } else if upper == "STARTTLS" {
            s.get_mut().write_all(b"220 go ahead\r\n").await?;
            return Ok(Next::StartTls(s.into_inner()));
        } else if upper.starts_with("AUTH PLAIN") {
            let b64 = line.trim_end()[10..].trim();
            let raw = base64::engine::general_purpose::STANDARD
                .decode(b64)
                .unwrap_or_default();
            captured.auth = Some(String::from_utf8_lossy(&raw).replace('\0', "|"));
            b"235 2.7.0 accepted\r\n"
        } else if upper.starts_with("MAIL FROM:") {
            captured.mail_from = line.trim_end()[10..].to_owned();
            b"250 ok\r\n"
        } else if upper.starts_with("RCPT TO:") {
            captured.rcpt_to.push(line.trim_end()[8..].to_owned());
            b"250 ok\r\n"
        } else if upper == "DATA" {
            s.get_mut().write_all(b"354 end with .\r\n").await?;
            let mut data = String::new();
            loop {
                line.clear();
                if s.read_line(&mut line).await? == 0 {
                    return Ok(Next::Done);
                }
                if line == ".\r\n" {
                    break;
                }
                data.push_str(&line);
            }
            captured.data = data;
            let _ = out.send(captured.clone());
            b"250 2.0.0 queued as T1\r\n"
        } else if upper == "QUIT" {
            s.get_mut().write_all(b"221 bye\r\n").await?;
            return Ok(Next::Done);
        } else {
            b"250 ok\r\n"
        };
        s.get_mut().write_all(reply).await?;
    }
}

/// A server on a random loopback port; every message it accepts is sent
/// on the returned channel. With `tls`, it offers STARTTLS with that
/// acceptor.
async fn smtp_server(
    tls: Option<tokio_rustls::TlsAcceptor>,
) -> (
    u16,
    mpsc::UnboundedReceiver<Captured>,
    tokio::task::JoinHandle<()>,
) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let (tx, rx) = mpsc::unbounded_channel();
    let task = tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let tx = tx.clone();
            let tls = tls.clone();
            tokio::spawn(async move {
                let mut captured = Captured::default();
                let next = session(tcp, true, tls.is_some(), &mut captured, &tx).await;
                if let (Ok(Next::StartTls(tcp)), Some(acceptor)) = (next, tls) {
                    if let Ok(stream) = acceptor.accept(tcp).await {
                        captured.tls = true;
                        let _ = session(stream, false, false, &mut captured, &tx).await;
                    }
                }
            });
        }
    });
    (port, rx, task)
}

fn registry(dir: &Path, smtp: Option<SmtpSettings>) -> ToolRegistry {
    let mut b = ToolsConfig::builder().file_root(dir);
    if let Some(smtp) = smtp {
        b = b.smtp(smtp);
    }
    ToolRegistry::with_standard_tools(&b.build().unwrap()).unwrap()
}

async fn send(r: &ToolRegistry, params: Value) -> llmspell_tools::Result<Value> {
    call_in(r, "email_sender", params).await
}

async fn next(rx: &mut mpsc::UnboundedReceiver<Captured>) -> Captured {
    tokio::time::timeout(Duration::from_secs(10), rx.recv())
        .await
        .expect("the SMTP server got no message")
        .unwrap()
}

#[tokio::test]
async fn sends_plain_html_and_attachments_with_auth() {
    let (port, mut rx, server) = smtp_server(None).await;
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("report.csv"), "a,b\n1,2\n").unwrap();
    let mut smtp = SmtpSettings::new("127.0.0.1", port);
    smtp.security = SmtpSecurity::None;
    smtp.credentials = Some(("bot".into(), "s3cret".into()));
    let r = registry(dir.path(), Some(smtp));
    let out = send(
        &r,
        json!({
            "from": "Bot <bot@example.com>",
            "to": ["ada@example.com", "bob@example.com"],
            "cc": "cy@example.com",
            "subject": "Weekly report",
            "body": "Plain text here.",
            "html": "<p>HTML <b>here</b></p>",
            "attachments": ["report.csv"]
        }),
    )
    .await
    .unwrap();
    assert_eq!(out["sent"], true);
    assert_eq!(out["smtp_code"], "250");
    assert_eq!(out["recipients"].as_array().unwrap().len(), 3);
    let got = next(&mut rx).await;
    assert_eq!(got.auth.as_deref(), Some("|bot|s3cret"));
    assert_eq!(got.mail_from, "<bot@example.com>");
    assert_eq!(got.rcpt_to.len(), 3);
    assert!(got.data.contains("Subject: Weekly report"), "{}", got.data);
    assert!(got.data.contains("multipart/alternative"));
    assert!(got.data.contains("Plain text here."));
    assert!(got.data.contains("<b>here</b>"));
    assert!(got.data.contains("filename=\"report.csv\""));
    assert!(got.data.contains("text/csv"));
    server.abort();
}

#[tokio::test]
async fn starttls_with_a_test_ca() {
    use rcgen::{BasicConstraints, CertificateParams, IsCa, Issuer, KeyPair};
    let ca_key = KeyPair::generate().unwrap();
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca_cert = ca_params.self_signed(&ca_key).unwrap();
    let issuer = Issuer::new(ca_params, ca_key);
    let leaf_key = KeyPair::generate().unwrap();
    let leaf = CertificateParams::new(vec!["localhost".to_owned()])
        .unwrap()
        .signed_by(&leaf_key, &issuer)
        .unwrap();
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(
            vec![leaf.der().clone()],
            rustls::pki_types::PrivateKeyDer::try_from(leaf_key.serialize_der()).unwrap(),
        )
        .unwrap();
    let (port, mut rx, server) =
        smtp_server(Some(tokio_rustls::TlsAcceptor::from(Arc::new(config)))).await;
    let dir = tempfile::tempdir().unwrap();
    let mut smtp = SmtpSettings::new("localhost", port);
    smtp.security = SmtpSecurity::StartTls;
    smtp.root_certificates = vec![ca_cert.pem()];
    smtp.credentials = Some(("bot".into(), "pw".into()));
    let r = registry(dir.path(), Some(smtp.clone()));
    let out = send(
        &r,
        json!({"from": "bot@example.com", "to": "ada@example.com",
                               "subject": "over TLS", "body": "hi"}),
    )
    .await
    .unwrap();
    assert_eq!(out["sent"], true);
    let got = next(&mut rx).await;
    assert!(got.tls, "the message went over the upgraded connection");
    assert_eq!(got.auth.as_deref(), Some("|bot|pw"));
    // Without the test CA the server's certificate is not trusted: no mail.
    smtp.root_certificates.clear();
    let r = registry(dir.path(), Some(smtp));
    let err = send(
        &r,
        json!({"from": "bot@example.com", "to": "ada@example.com",
                               "subject": "x", "body": "y"}),
    )
    .await
    .unwrap_err();
    assert!(err.to_string().contains("sending failed"), "{err}");
    server.abort();
}

#[tokio::test]
async fn dry_run_returns_the_message_without_a_server() {
    let dir = tempfile::tempdir().unwrap();
    let r = registry(dir.path(), None);
    let out = send(
        &r,
        json!({"from": "a@example.com", "to": "b@example.com",
                               "subject": "Hello", "body": "Just testing", "dry_run": true}),
    )
    .await
    .unwrap();
    assert_eq!(out["sent"], false);
    let text = out["message"].as_str().unwrap();
    assert!(text.contains("To: b@example.com") && text.contains("Subject: Hello"));
    assert!(text.contains("Just testing"));
    // Sending for real needs a configured server.
    assert_policy(
        send(
            &r,
            json!({"from": "a@example.com", "to": "b@example.com", "subject": "x", "body": "y"}),
        )
        .await,
        "email_not_configured",
    );
}

#[tokio::test]
async fn bad_input_and_limits_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let r = registry(dir.path(), None);
    assert_invalid(
        send(&r, json!({"from": "a@example.com", "to": "not an address", "subject": "x", "body": "y", "dry_run": true})).await,
        "to",
    );
    assert_invalid(
        send(
            &r,
            json!({"to": "b@example.com", "subject": "x", "dry_run": true}),
        )
        .await,
        "params",
    );
    assert_invalid(
        send(
            &r,
            json!({"to": "b@example.com", "subject": "x", "body": "y", "dry_run": true}),
        )
        .await,
        "from",
    );
    assert_policy(
        send(
            &r,
            json!({"from": "a@example.com", "to": "b@example.com", "subject": "x", "body": "y",
                        "attachments": ["../etc/passwd"], "dry_run": true}),
        )
        .await,
        "path_traversal",
    );
    let many: Vec<String> = (0..51).map(|i| format!("u{i}@example.com")).collect();
    assert_policy(
        send(&r, json!({"from": "a@example.com", "to": many, "subject": "x", "body": "y", "dry_run": true})).await,
        "email_limit",
    );
}
