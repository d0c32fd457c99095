//! [`NatsServer`]: a `nats-server -js` on a random loopback port, for tests
//! and benches.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::{EventError, Result};

/// The variable that makes a missing `nats-server` an error instead of a
/// skip (set by CI).
pub const REQUIRE_ENV: &str = "LLMSPELL_REQUIRE_NATS";
/// The variable naming the `nats-server` program (default: `nats-server`
/// on `PATH`).
pub const PROGRAM_ENV: &str = "LLMSPELL_NATS_SERVER";

/// A `nats-server` with JetStream on 127.0.0.1, its store in a fresh
/// temporary directory; killed (by pid) and its directory removed when
/// dropped.
#[derive(Debug)]
pub struct NatsServer {
    child: Option<Child>,
    dir: PathBuf,
    port: u16,
}

impl NatsServer {
    /// Starts a server on a random port. `Ok(None)` (after printing a
    /// notice on stderr) when `nats-server` is not installed, unless
    /// `LLMSPELL_REQUIRE_NATS=1`.
    ///
    /// # Errors
    /// [`EventError::Transport`] when the program is missing and required,
    /// or does not start and report its port within 10 s.
    pub fn start() -> Result<Option<Self>> {
        let dir = std::env::temp_dir().join(format!("llmspell-nats-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir)
            .map_err(|e| err(format!("cannot create {}: {e}", dir.display())))?;
        let mut server = Self {
            child: None,
            dir,
            port: 0,
        };
        match server.spawn(None) {
            Ok(()) => Ok(Some(server)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                if std::env::var(REQUIRE_ENV).is_ok_and(|v| v == "1") {
                    Err(err(format!(
                        "`{}` is not installed and {REQUIRE_ENV}=1 (install the nats-server package)",
                        program()
                    )))
                } else {
                    eprintln!(
                        "SKIPPED: `{}` is not installed (apt install nats-server); set {REQUIRE_ENV}=1 to make this an error",
                        program()
                    );
                    Ok(None)
                }
            }
            Err(e) => Err(err(e.to_string())),
        }
    }

    fn spawn(&mut self, port: Option<u16>) -> std::io::Result<()> {
        let ports = self.dir.join("ports");
        let _ = std::fs::remove_dir_all(&ports);
        std::fs::create_dir_all(&ports)?;
        let store = self.dir.join("store");
        let port_arg = port.map_or_else(|| "-1".to_owned(), |p| p.to_string());
        let child = Command::new(program())
            .args(["-a", "127.0.0.1", "-p", &port_arg, "--ports_file_dir"])
            .arg(&ports)
            .args(["-js", "-sd"])
            .arg(&store)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()?;
        self.child = Some(child);
        self.port = wait_port(&ports, Duration::from_secs(10)).map_err(|reason| {
            self.kill();
            std::io::Error::other(reason)
        })?;
        Ok(())
    }

    /// `nats://127.0.0.1:<port>`.
    #[must_use]
    pub fn url(&self) -> String {
        format!("nats://127.0.0.1:{}", self.port)
    }

    /// The port.
    #[must_use]
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Kills the server (SIGKILL) and waits for it to exit.
    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// Starts the server again on the same port with the same store.
    ///
    /// # Errors
    /// [`EventError::Transport`] when it does not come up.
    pub fn restart(&mut self) -> Result<()> {
        self.kill();
        let port = self.port;
        // The port may linger briefly after the kill.
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            match self.spawn(Some(port)) {
                Ok(()) => return Ok(()),
                Err(e) if Instant::now() < deadline => {
                    tracing::debug!(error = %e, "nats-server restart: retrying");
                    std::thread::sleep(Duration::from_millis(100));
                }
                Err(e) => return Err(err(format!("restart on port {port}: {e}"))),
            }
        }
    }
}

impl Drop for NatsServer {
    fn drop(&mut self) {
        self.kill();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn program() -> String {
    std::env::var(PROGRAM_ENV).unwrap_or_else(|_| "nats-server".to_owned())
}

fn err(reason: String) -> EventError {
    EventError::Transport {
        operation: "start nats-server".into(),
        reason,
    }
}

/// Reads the port from the ports file `nats-server` writes on start.
fn wait_port(dir: &Path, limit: Duration) -> std::result::Result<u16, String> {
    let deadline = Instant::now() + limit;
    while Instant::now() < deadline {
        if let Ok(entries) = std::fs::read_dir(dir) {
            for entry in entries.flatten() {
                let Ok(text) = std::fs::read_to_string(entry.path()) else {
                    continue;
                };
                let Ok(json) = serde_json::from_str::<serde_json::Value>(&text) else {
                    continue;
                };
                let port = json["nats"][0]
                    .as_str()
                    .and_then(|u| u.rsplit(':').next())
                    .and_then(|p| p.parse().ok());
                if let Some(p) = port {
                    return Ok(p);
                }
            }
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    Err(format!(
        "nats-server wrote no ports file in {} within {limit:?}",
        dir.display()
    ))
}
