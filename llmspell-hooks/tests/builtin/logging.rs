//! LoggingHook: events at the configured level, capped, redacted.

use std::io::Write;
use std::sync::Arc;

use llmspell_hooks::builtin::{LoggingConfig, LoggingHook};
use parking_lot::Mutex;
use serde_json::json;
use tracing::Level;

use crate::{Call, Harness};

/// A `MakeWriter` that appends to a shared buffer.
#[derive(Clone, Default)]
pub(crate) struct Captured(Arc<Mutex<Vec<u8>>>);

impl Captured {
    pub(crate) fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock()).into_owned()
    }
}

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Captured {
    type Writer = Captured;
    fn make_writer(&'a self) -> Captured {
        self.clone()
    }
}

/// Installs a subscriber at `level` for the current thread.
pub(crate) fn capture(level: Level) -> (Captured, tracing::subscriber::DefaultGuard) {
    let out = Captured::default();
    let sub = tracing_subscriber::fmt()
        .with_max_level(level)
        .with_ansi(false)
        .with_writer(out.clone())
        .finish();
    let guard = tracing::subscriber::set_default(sub);
    (out, guard)
}

#[tokio::test]
async fn logs_each_point_with_fields_and_without_secrets() {
    let (out, _g) = capture(Level::INFO);
    let h = Harness::new("mailer");
    h.attach(Arc::new(LoggingHook::new()));
    let r = h
        .call(
            json!({"to": "ann@example.test", "password": "hunter2"}),
            Some("ann"),
            |_| Ok(json!("sent")),
        )
        .await;
    assert!(matches!(r, Call::Ran(_)));
    let text = out.text();
    assert_eq!(text.matches("hook point reached").count(), 2, "{text}");
    assert!(text.contains("hook_point=BeforeToolExecution"), "{text}");
    assert!(text.contains("hook_point=AfterToolExecution"), "{text}");
    assert!(text.contains("component=tool:mailer"), "{text}");
    assert!(text.contains("ann@example.test"), "{text}");
    assert!(!text.contains("hunter2"), "{text}");
    assert!(text.contains("[REDACTED]"), "{text}");
}

#[tokio::test]
async fn respects_level_and_caps_data() {
    let (out, _g) = capture(Level::INFO);
    let h = Harness::new("big");
    h.attach(Arc::new(LoggingConfig::new().level(Level::DEBUG).build()));
    h.call(json!({}), None, |_| Ok(json!(1))).await;
    assert!(
        !out.text().contains("hook point reached"),
        "DEBUG events are filtered at INFO"
    );

    let (out, _g2) = capture(Level::DEBUG);
    let h = Harness::new("big");
    h.attach(Arc::new(
        LoggingConfig::new()
            .level(Level::DEBUG)
            .max_data_bytes(64)
            .build(),
    ));
    h.call(json!({"blob": "z".repeat(5000)}), None, |_| Ok(json!(1)))
        .await;
    let text = out.text();
    assert!(text.contains("DEBUG"), "{text}");
    assert!(text.contains("…(+"), "{text}");
    assert!(!text.contains(&"z".repeat(100)), "{text}");
}
