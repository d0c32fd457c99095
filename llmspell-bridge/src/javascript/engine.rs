//! [`JsEngine`]: the handle on one JavaScript engine and its thread.

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use llmspell_events::Language;
use serde_json::Value;
use tokio::sync::{mpsc, oneshot};

use super::config::JsConfig;
use super::runtime::{self, Setup};
use crate::context::GlobalContext;
use crate::error::{BridgeError, Result};
use crate::event_bridge::EventBridge;
use crate::hook_bridge::HookBridge;
use crate::host::ScriptHost;
use crate::scope::CallerScope;

/// Stack of an engine thread: boa's interpreter does not recurse for
/// JavaScript calls, but native calls (and Lua hooks a JavaScript tool
/// call runs on this thread) do.
const THREAD_STACK: usize = 16 << 20;

/// A JavaScript engine (boa_engine) with the globals of a
/// [`GlobalContext`].
///
/// A boa `Context` is not `Send`, so each engine owns an OS thread with a
/// current-thread tokio runtime and serves requests from a channel; this
/// handle is `Send + Sync` and cheap to clone. Every call returns when the
/// engine has served it, while hooks the script registered keep firing
/// from any thread (each hook call is a request to the engine thread too).
/// Dropping the last handle unregisters the engine's hooks and
/// subscriptions at once and stops the thread.
#[derive(Clone)]
pub struct JsEngine {
    shared: Arc<Shared>,
}

/// What the handles (strongly) and the engine's hooks (weakly) share.
pub(crate) struct Shared {
    inbox: mpsc::UnboundedSender<Request>,
    host: Arc<ScriptHost>,
    callback_errors: Arc<AtomicU64>,
    config: JsConfig,
}

impl Drop for Shared {
    fn drop(&mut self) {
        // Synchronously, so that the registry and bus are clean when the
        // last handle is gone; the thread stops when it reads this.
        self.host.hooks().unregister_all();
        self.host.events().unsubscribe_all();
        let _ = self.inbox.send(Request::Shutdown);
    }
}

impl Shared {
    /// Sends `request` to the engine thread.
    pub(crate) fn send(&self, request: Request) -> Result<()> {
        self.inbox
            .send(request)
            .map_err(|_| BridgeError::EngineDropped {
                language: "JavaScript",
            })
    }
}

/// A request to the engine thread.
pub(crate) enum Request {
    /// Run something to the end (one at a time, in order).
    Run(RunRequest),
    /// Call a kept function (boxed: the largest request by far).
    Hook(Box<HookRequest>),
    /// Stop the thread.
    Shutdown,
}

/// A run: its kind and where the outcome goes.
pub(crate) struct RunRequest {
    pub(crate) kind: RunKind,
    pub(crate) reply: oneshot::Sender<Result<Value>>,
}

/// What a run does.
pub(crate) enum RunKind {
    /// Evaluate an ES module; the outcome is its default export.
    Module {
        source: String,
        name: String,
        args: Vec<String>,
    },
    /// Evaluate a classic script; the outcome is its completion value
    /// (awaited when it is a promise).
    Script { source: String, name: String },
    /// Call a global function with one argument (awaited when it returns
    /// a promise).
    Call { function: String, arg: Value },
    /// Only run queued event callbacks.
    Drain,
}

/// A call of a kept script function (a hook, a migration function, a
/// workflow function) from any thread, with one JSON argument.
pub(crate) struct HookRequest {
    pub(crate) fn_id: u64,
    /// The argument (a hook's context in JSON form).
    pub(crate) ctx: Value,
    pub(crate) caller: CallerScope,
    pub(crate) deadline: tokio::time::Instant,
    pub(crate) limit: Duration,
    /// What is called, for errors and reports (``hook `name` ``).
    pub(crate) what: String,
    /// The `resource` of the `ResourceLimitExceeded` report when the call
    /// overruns its time limit (`hook_time`, `call_time`).
    pub(crate) resource: &'static str,
    /// The call is made while a limit is being reported.
    pub(crate) reporting: bool,
    /// A workflow function's call: `ctx` is `{input, state, context}`, the
    /// function gets them as three arguments, under the main script's
    /// loop limit, and the reply is `{output, state}` (the state object as
    /// the function left it).
    pub(crate) step: bool,
    pub(crate) reply: oneshot::Sender<Result<Value>>,
}

impl fmt::Debug for JsEngine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JsEngine")
            .field("config", &self.shared.config)
            .field("host", &self.shared.host)
            .finish_non_exhaustive()
    }
}

impl JsEngine {
    /// Starts the engine thread, builds the context with the sandbox and
    /// limits, and injects every global of `context`.
    ///
    /// # Errors
    /// [`BridgeError::Setup`] when the thread or the engine cannot be
    /// started or a global cannot be injected.
    pub fn new(context: GlobalContext, config: JsConfig) -> Result<Self> {
        let host = Arc::new(ScriptHost::new(
            context,
            Language::JavaScript,
            config.call_timeout,
        ));
        let (tx, rx) = mpsc::unbounded_channel();
        let callback_errors = Arc::new(AtomicU64::new(0));
        let shared = Arc::new(Shared {
            inbox: tx,
            host: Arc::clone(&host),
            callback_errors: Arc::clone(&callback_errors),
            config: config.clone(),
        });
        let (ready_tx, ready_rx) = std::sync::mpsc::channel();
        let setup = Setup {
            host,
            config,
            shared: Arc::downgrade(&shared),
            callback_errors,
            inbox: rx,
            ready: ready_tx,
        };
        std::thread::Builder::new()
            .name("llmspell-js".to_owned())
            .stack_size(THREAD_STACK)
            .spawn(move || runtime::main(setup))
            .map_err(|e| BridgeError::Setup(format!("cannot start the engine thread: {e}")))?;
        match ready_rx.recv() {
            Ok(Ok(())) => Ok(JsEngine { shared }),
            Ok(Err(e)) => Err(e),
            Err(_) => Err(BridgeError::Setup(
                "the engine thread ended during setup".to_owned(),
            )),
        }
    }

    /// The configuration.
    pub fn config(&self) -> &JsConfig {
        &self.shared.config
    }

    /// The shared context.
    #[must_use]
    pub fn context(&self) -> &GlobalContext {
        self.shared.host.context()
    }

    /// The engine's event bridge.
    #[must_use]
    pub fn events(&self) -> &EventBridge {
        self.shared.host.events()
    }

    /// The engine's hook bridge.
    #[must_use]
    pub fn hooks(&self) -> &HookBridge {
        self.shared.host.hooks()
    }

    /// Event callbacks that failed (threw, rejected or hit a limit).
    #[must_use]
    pub fn callback_errors(&self) -> u64 {
        self.shared.callback_errors.load(Ordering::Relaxed)
    }

    async fn run(&self, kind: RunKind) -> Result<Value> {
        let (reply, rx) = oneshot::channel();
        self.shared.send(Request::Run(RunRequest { kind, reply }))?;
        rx.await.map_err(|_| BridgeError::EngineDropped {
            language: "JavaScript",
        })?
    }

    /// Runs a script as an ES module named `name` (its path: `import` of
    /// files under its directory works; top-level `await` works). The
    /// script sees `[name, ...args]` as the globals `arg` and
    /// `scriptArgs`. Returns the module's default export as JSON (`null`
    /// when it has none), after its top-level awaits and the event
    /// callbacks queued by then have run.
    ///
    /// # Errors
    /// [`BridgeError::Script`] with the JavaScript stack when the script
    /// throws or its promise rejects, [`BridgeError::Timeout`] past the
    /// script time limit, [`BridgeError::ResourceLimit`] when a loop or
    /// recursion limit stops it, [`BridgeError::Conversion`] when the
    /// default export has no JSON form.
    pub async fn run_script(&self, source: &str, name: &str, args: &[String]) -> Result<Value> {
        self.run(RunKind::Module {
            source: source.to_owned(),
            name: name.to_owned(),
            args: args.to_vec(),
        })
        .await
    }

    /// Evaluates a classic script (not a module: no `import`, top-level
    /// declarations become globals) and returns its completion value as
    /// JSON — awaited when it is a promise, so
    /// `(async () => { ... })()` works.
    ///
    /// # Errors
    /// As [`JsEngine::run_script`].
    pub async fn eval(&self, source: &str) -> Result<Value> {
        self.run(RunKind::Script {
            source: source.to_owned(),
            name: "eval".to_owned(),
        })
        .await
    }

    /// Calls the global function `name` (e.g. `globalThis.check = ...`)
    /// with one JSON argument and returns its result (awaited when it is a
    /// promise) as JSON, running event callbacks that arrive meanwhile.
    ///
    /// # Errors
    /// [`BridgeError::InvalidArgument`] when `name` is not a global
    /// function; otherwise as [`JsEngine::run_script`].
    pub async fn call_function(&self, name: &str, arg: &Value) -> Result<Value> {
        self.run(RunKind::Call {
            function: name.to_owned(),
            arg: arg.clone(),
        })
        .await
    }

    /// Runs the queued callbacks of the script's callback subscriptions
    /// until the queues are empty or the drain limit passes. `run_script`
    /// does this when the script ends; an embedding application calls it
    /// to deliver events published later.
    pub async fn run_pending_callbacks(&self) {
        let _ = self.run(RunKind::Drain).await;
    }
}
