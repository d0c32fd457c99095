//! Remote hooks over NATS request/reply (cargo feature `nats`).
//!
//! A [`HookServer`] serves chosen hook points of a [`Hooks`] on subjects
//! `<prefix>.hooks.<point>` (prefix `llmspell` by default; a queue group,
//! so several servers share the load). A [`RemoteHook`] registered in
//! another process sends the operation's context as a signed
//! [`DistributedHookContext`], and the server runs its hooks for that point
//! and answers with a signed [`RemoteHookReply`] bound to the request (it
//! carries the request's signature). The calling side verifies the reply
//! and applies the result: `Modified` data, `Cancel`, `Replace`, ... as if
//! a local hook had returned it.
//!
//! A timeout, no server, an unverifiable (forged, altered, replayed) reply
//! or a refused request is a hook failure: fail-open (the operation goes
//! on) unless the hook is registered fail-closed
//! ([`RemoteHook::register_options`]), and counted by the hook's circuit
//! breaker like any other failure.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use futures::StreamExt;
use serde::{Deserialize, Serialize};
use tokio::task::JoinHandle;
use uuid::Uuid;

use crate::{
    ContextSigner, DistributedHookContext, Hook, HookContext, HookData, HookError, HookMetadata,
    HookOutcome, HookPoint, HookResult, Hooks, PropagationFlags, RegisterOptions, Result,
};

/// The reply format version written and accepted.
pub const REMOTE_REPLY_VERSION: u32 = 1;

/// The default name a [`HookServer`] answers to (the
/// `remote_agent_id` of the contexts it accepts).
pub const DEFAULT_SERVICE: &str = "llmspell-hooks";

/// The subject a point is served on: `<prefix>.hooks.<point>` (the point's
/// name encoded like an event type).
#[must_use]
pub fn hook_subject(prefix: &str, point: &HookPoint) -> String {
    llmspell_events::nats::subject_for(&format!("{prefix}.hooks"), &point.to_string())
}

/// A server's answer to one remote hook call, signed with the shared key.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct RemoteHookReply {
    /// Format version.
    pub version: u32,
    /// The signature of the request this answers (so a reply cannot be
    /// replayed for another call).
    pub request_signature: String,
    /// The operation's correlation id.
    pub correlation_id: Uuid,
    /// The hooks' result (`None` when the request was refused).
    pub result: Option<HookResult>,
    /// The context data after the server's hooks ran.
    pub data: Option<HookData>,
    /// Why the request was refused (an unverifiable context, a point not
    /// served).
    pub error: Option<String>,
    /// The answering server's service name.
    pub served_by: String,
    /// When it was signed.
    pub issued_at: DateTime<Utc>,
    /// Hex HMAC-SHA256 over the canonical JSON of the other fields.
    pub signature: Option<String>,
}

fn sign_reply(signer: &ContextSigner, mut reply: RemoteHookReply) -> Vec<u8> {
    reply.signature = None;
    let value = serde_json::to_value(&reply).unwrap_or_default();
    reply.signature = Some(signer.signature_of(&value));
    serde_json::to_vec(&reply).unwrap_or_default()
}

/// How a [`HookServer`] is reached.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct HookServerConfig {
    /// Subject prefix (default `llmspell`).
    pub prefix: String,
    /// The name the server answers to (default [`DEFAULT_SERVICE`]).
    pub service: String,
    /// The NATS queue group (servers of one group share the calls).
    pub queue_group: String,
    /// How many calls run at once (default 64).
    pub concurrency: usize,
}

impl Default for HookServerConfig {
    fn default() -> Self {
        Self {
            prefix: llmspell_events::nats::DEFAULT_PREFIX.to_owned(),
            service: DEFAULT_SERVICE.to_owned(),
            queue_group: DEFAULT_SERVICE.to_owned(),
            concurrency: 64,
        }
    }
}

impl HookServerConfig {
    /// The defaults.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets the subject prefix.
    #[must_use]
    pub fn prefix(mut self, prefix: impl Into<String>) -> Self {
        self.prefix = prefix.into();
        self
    }

    /// Sets the service name.
    #[must_use]
    pub fn service(mut self, service: impl Into<String>) -> Self {
        self.service = service.into();
        self
    }
}

/// Serves hook points of a [`Hooks`] over NATS; stops when dropped.
pub struct HookServer {
    tasks: Vec<JoinHandle<()>>,
    subjects: Vec<String>,
}

impl fmt::Debug for HookServer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HookServer")
            .field("subjects", &self.subjects)
            .finish_non_exhaustive()
    }
}

impl Drop for HookServer {
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
    }
}

impl HookServer {
    /// Subscribes to each point's subject and answers calls with the
    /// outcome of `hooks` at that point.
    ///
    /// # Errors
    /// [`HookError::InvalidConfig`] without points or outside a tokio
    /// runtime; [`HookError::Execution`] when a subscription fails.
    pub async fn serve(
        client: async_nats::Client,
        signer: ContextSigner,
        hooks: Hooks,
        points: Vec<HookPoint>,
        config: HookServerConfig,
    ) -> Result<Self> {
        if points.is_empty() {
            return Err(HookError::InvalidConfig {
                field: "points",
                reason: "no hook point to serve; name at least one (e.g. BeforeToolExecution)"
                    .into(),
            });
        }
        tokio::runtime::Handle::try_current().map_err(|_| HookError::InvalidConfig {
            field: "runtime",
            reason: "a hook server must be started inside a tokio runtime".into(),
        })?;
        let mut tasks = Vec::new();
        let mut subjects = Vec::new();
        let shared = Arc::new((signer, hooks, config));
        for point in points {
            let subject = hook_subject(&shared.2.prefix, &point);
            let sub = client
                .queue_subscribe(subject.clone(), shared.2.queue_group.clone())
                .await
                .map_err(|e| HookError::Execution {
                    hook: "hook server".into(),
                    message: format!("cannot subscribe to `{subject}`: {e}"),
                    source: None,
                })?;
            let client = client.clone();
            let shared = Arc::clone(&shared);
            let concurrency = shared.2.concurrency.max(1);
            tasks.push(tokio::spawn(async move {
                sub.for_each_concurrent(concurrency, |msg| {
                    let client = client.clone();
                    let shared = Arc::clone(&shared);
                    let point = point.clone();
                    async move {
                        let Some(reply_to) = msg.reply else { return };
                        let (signer, hooks, config) = &*shared;
                        let body = answer(signer, hooks, config, &point, &msg.payload).await;
                        if let Err(e) = client.publish(reply_to, body.into()).await {
                            tracing::warn!(error = %e, "hook server: cannot send a reply");
                        }
                    }
                })
                .await;
            }));
            subjects.push(subject);
        }
        client.flush().await.map_err(|e| HookError::Execution {
            hook: "hook server".into(),
            message: format!("cannot flush the subscriptions: {e}"),
            source: None,
        })?;
        Ok(Self { tasks, subjects })
    }

    /// The subjects served.
    #[must_use]
    pub fn subjects(&self) -> &[String] {
        &self.subjects
    }
}

/// Verifies a request, runs the point's hooks and signs the answer.
async fn answer(
    signer: &ContextSigner,
    hooks: &Hooks,
    config: &HookServerConfig,
    point: &HookPoint,
    payload: &[u8],
) -> Vec<u8> {
    let mut reply = RemoteHookReply {
        version: REMOTE_REPLY_VERSION,
        request_signature: String::new(),
        correlation_id: Uuid::nil(),
        result: None,
        data: None,
        error: None,
        served_by: config.service.clone(),
        issued_at: Utc::now(),
        signature: None,
    };
    let request = match signer.verify_json(payload) {
        Ok(r) => r,
        Err(e) => {
            reply.error = Some(format!("request refused: {e}"));
            return sign_reply(signer, reply);
        }
    };
    reply.request_signature = request.signature.clone().unwrap_or_default();
    reply.correlation_id = request.correlation_id;
    if request.remote_agent_id != config.service {
        reply.error = Some(format!(
            "request refused: it is for `{}`, this server is `{}`",
            request.remote_agent_id, config.service
        ));
        return sign_reply(signer, reply);
    }
    if &request.context.point != point {
        reply.error = Some(format!(
            "request refused: its context is for point {} but was sent to the subject of {point}",
            request.context.point
        ));
        return sign_reply(signer, reply);
    }
    let mut ctx = request.to_local_context();
    let before = ctx.data.clone();
    let outcome = hooks.fire(&mut ctx).await;
    let result = match outcome {
        HookOutcome::Continue if ctx.data != before => HookResult::Modified(ctx.data.clone()),
        HookOutcome::Cancelled { reason, .. } => HookResult::Cancel(reason),
        HookOutcome::Redirect { target, .. } => HookResult::Redirect(target),
        HookOutcome::Replace { value, .. } => HookResult::Replace(value),
        HookOutcome::Retry {
            delay,
            max_attempts,
            ..
        } => HookResult::Retry {
            delay,
            max_attempts,
        },
        HookOutcome::Fork { operations, .. } => HookResult::Fork { operations },
        HookOutcome::Cache { key, ttl, .. } => HookResult::Cache { key, ttl },
        _ => HookResult::Continue,
    };
    reply.result = Some(result);
    reply.data = Some(ctx.data);
    sign_reply(signer, reply)
}

/// A hook that runs remotely: see the module docs.
#[derive(Clone)]
pub struct RemoteHook {
    client: async_nats::Client,
    signer: ContextSigner,
    subject_prefix: String,
    service: String,
    node_id: String,
    flags: PropagationFlags,
    timeout: Duration,
    fail_closed: bool,
    metadata: HookMetadata,
}

impl fmt::Debug for RemoteHook {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RemoteHook")
            .field("name", &self.metadata.name)
            .field("prefix", &self.subject_prefix)
            .field("service", &self.service)
            .field("timeout", &self.timeout)
            .field("fail_closed", &self.fail_closed)
            .finish_non_exhaustive()
    }
}

impl RemoteHook {
    /// The default time a call waits for its reply: 5 s.
    pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(5);

    /// A remote hook on `client`, signing with `signer` (the servers' key),
    /// named `remote:llmspell-hooks`, prefix `llmspell`, 5 s timeout,
    /// fail-open.
    #[must_use]
    pub fn new(client: async_nats::Client, signer: ContextSigner) -> Self {
        Self {
            client,
            signer,
            subject_prefix: llmspell_events::nats::DEFAULT_PREFIX.to_owned(),
            service: DEFAULT_SERVICE.to_owned(),
            node_id: format!("node-{}", &Uuid::new_v4().simple().to_string()[..12]),
            flags: PropagationFlags::default().with_forward(false),
            timeout: Self::DEFAULT_TIMEOUT,
            fail_closed: false,
            metadata: HookMetadata::new(format!("remote:{DEFAULT_SERVICE}"))
                .with_description("hooks served over NATS"),
        }
    }

    /// Sets the subject prefix of the servers.
    #[must_use]
    pub fn prefix(mut self, prefix: impl Into<String>) -> Self {
        self.subject_prefix = prefix.into();
        self
    }

    /// Sets the service the calls are for.
    #[must_use]
    pub fn service(mut self, service: impl Into<String>) -> Self {
        self.service = service.into();
        self
    }

    /// Sets this process's id (the context's `source_agent_id`).
    #[must_use]
    pub fn node_id(mut self, id: impl Into<String>) -> Self {
        self.node_id = id.into();
        self
    }

    /// How long a call waits for its reply (default 5 s).
    #[must_use]
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// A failure cancels the operation instead of being skipped.
    #[must_use]
    pub fn fail_closed(mut self, fail_closed: bool) -> Self {
        self.fail_closed = fail_closed;
        self
    }

    /// Sets the hook's name.
    #[must_use]
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.metadata.name = name.into();
        self
    }

    /// What travels with the context (default: data and metadata, no
    /// parent, no forwarding).
    #[must_use]
    pub fn propagation(mut self, flags: PropagationFlags) -> Self {
        self.flags = flags;
        self
    }

    /// The registration options this hook asks for: fail-closed as set,
    /// and an executor timeout a little past the call's own.
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

    /// Parses and verifies a reply to the request signed `request_sig`.
    fn verify(
        &self,
        request_sig: &str,
        correlation: Uuid,
        bytes: &[u8],
    ) -> Result<RemoteHookReply> {
        let value: serde_json::Value = serde_json::from_slice(bytes)
            .map_err(|e| self.failure(format!("the remote hook reply is not JSON: {e}")))?;
        let reply: RemoteHookReply = serde_json::from_value(value.clone())
            .map_err(|e| self.failure(format!("the remote hook reply is malformed: {e}")))?;
        self.signer
            .check_signature(&value, reply.signature.as_deref())
            .map_err(|e| self.failure(format!("remote hook reply refused: {e}")))?;
        if reply.version != REMOTE_REPLY_VERSION {
            return Err(self.failure(format!(
                "remote hook reply version {} is not supported; supported: {REMOTE_REPLY_VERSION}",
                reply.version
            )));
        }
        if let Some(e) = &reply.error {
            return Err(self.failure(format!("the hook server `{}` {e}", reply.served_by)));
        }
        if reply.request_signature != request_sig || reply.correlation_id != correlation {
            return Err(self.failure(
                "remote hook reply refused: it answers another request (replayed reply)",
            ));
        }
        Ok(reply)
    }
}

#[async_trait]
impl Hook for RemoteHook {
    async fn execute(&self, ctx: &mut HookContext) -> Result<HookResult> {
        let request = self.signer.sign(
            DistributedHookContext::new(ctx, self.service.clone(), self.flags)
                .from_agent(self.node_id.clone()),
        );
        let sig = request.signature.clone().unwrap_or_default();
        let body = request.to_json()?;
        let subject = hook_subject(&self.subject_prefix, &ctx.point);
        let reply = tokio::time::timeout(
            self.timeout,
            self.client.request(subject.clone(), body.into()),
        )
        .await
        .map_err(|_| HookError::Timeout {
            hook: self.metadata.name.clone(),
            timeout: self.timeout,
        })?
        .map_err(|e| {
            self.failure(format!(
                "no answer on `{subject}`: {e} (is `llmspell serve-hooks` running for {}?)",
                ctx.point
            ))
        })?;
        let reply = self.verify(&sig, ctx.correlation_id, &reply.payload)?;
        let result = reply
            .result
            .ok_or_else(|| self.failure("the remote hook reply carries no result"))?;
        if let Some(data) = reply.data {
            if data != ctx.data && !matches!(result, HookResult::Modified(_)) {
                ctx.data = data;
            }
        }
        Ok(result)
    }

    fn metadata(&self) -> HookMetadata {
        self.metadata.clone()
    }
}
