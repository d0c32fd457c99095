//! [`DistributedHookContext`]: a hook context sent to a remote agent,
//! signed with HMAC-SHA256 so that a forged, altered or stale one is
//! refused.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use uuid::Uuid;

use crate::json::canonical_json;
use crate::{HookContext, HookError, Result};

type HmacSha256 = Hmac<Sha256>;

/// The wire format version this crate writes and accepts.
pub const DISTRIBUTED_CONTEXT_VERSION: u32 = 1;

/// What travels with a context to a remote agent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct PropagationFlags {
    /// Send `data`.
    pub data: bool,
    /// Send `metadata`.
    pub metadata: bool,
    /// Send the parent context.
    pub parent: bool,
    /// Whether the remote side may forward the context further.
    pub forward: bool,
}

impl Default for PropagationFlags {
    /// Data and metadata travel; the parent does not; forwarding allowed.
    fn default() -> Self {
        Self {
            data: true,
            metadata: true,
            parent: false,
            forward: true,
        }
    }
}

impl PropagationFlags {
    /// Only ids travel (no data, metadata or parent); no forwarding.
    #[must_use]
    pub fn minimal() -> Self {
        Self {
            data: false,
            metadata: false,
            parent: false,
            forward: false,
        }
    }

    /// Sets whether `data` travels.
    #[must_use]
    pub fn with_data(mut self, yes: bool) -> Self {
        self.data = yes;
        self
    }

    /// Sets whether `metadata` travels.
    #[must_use]
    pub fn with_metadata(mut self, yes: bool) -> Self {
        self.metadata = yes;
        self
    }

    /// Sets whether the parent context travels.
    #[must_use]
    pub fn with_parent(mut self, yes: bool) -> Self {
        self.parent = yes;
        self
    }

    /// Sets whether the receiver may forward it.
    #[must_use]
    pub fn with_forward(mut self, yes: bool) -> Self {
        self.forward = yes;
        self
    }
}

/// Why a distributed context was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ContextVerifyError {
    /// It carries no signature.
    #[error("distributed context is unsigned; sign it with ContextSigner::sign before sending")]
    Unsigned,
    /// The signature is not hex of the right length.
    #[error(
        "distributed context signature is malformed: {0}; expected 64 hex characters (HMAC-SHA256)"
    )]
    MalformedSignature(String),
    /// The signature does not match: the context was altered, or signed
    /// with another key.
    #[error("distributed context signature does not match: the context was tampered with or signed with another key")]
    BadSignature,
    /// It expired.
    #[error("distributed context expired at {expires_at} (now {now})")]
    Expired {
        /// When it expired.
        expires_at: DateTime<Utc>,
        /// The verifier's time.
        now: DateTime<Utc>,
    },
    /// It was issued in the future (beyond the allowed clock skew).
    #[error(
        "distributed context issued at {issued_at}, after now ({now}) plus the allowed clock skew"
    )]
    IssuedInFuture {
        /// When it claims to be issued.
        issued_at: DateTime<Utc>,
        /// The verifier's time.
        now: DateTime<Utc>,
    },
    /// It went through more agents than allowed.
    #[error("distributed context made {hops} hops; at most {max} are allowed")]
    TooManyHops {
        /// Hops made.
        hops: u32,
        /// The limit.
        max: u32,
    },
    /// Its sender did not allow forwarding.
    #[error("distributed context may not be forwarded (propagation.forward is false)")]
    ForwardingNotAllowed,
    /// It was written in a format version this crate does not read.
    #[error("distributed context version {found} is not supported; supported: {supported}")]
    UnsupportedVersion {
        /// The version found.
        found: u32,
        /// The version supported.
        supported: u32,
    },
    /// The bytes are not a distributed context.
    #[error("not a distributed context: {0}")]
    Malformed(String),
}

impl From<ContextVerifyError> for HookError {
    fn from(e: ContextVerifyError) -> Self {
        HookError::from_source("distributed_context", e)
    }
}

/// A hook context for a remote agent: the context (trimmed per the
/// propagation flags), who sends it where, a correlation id, hop count and
/// limit, validity window, and an HMAC-SHA256 signature over the canonical
/// JSON encoding of everything else (object keys sorted, no whitespace).
///
/// ```
/// use llmspell_hooks::{ComponentId, ComponentType, HookContext, HookPoint};
/// use llmspell_hooks::{ContextSigner, DistributedHookContext, PropagationFlags};
///
/// let signer = ContextSigner::new(b"a shared secret of 32+ bytes.....").unwrap();
/// let ctx = HookContext::new(HookPoint::BeforeAgentExecution,
///     ComponentId::new(ComponentType::Agent, "planner"));
/// let wire = signer
///     .sign(DistributedHookContext::new(&ctx, "agent-b", PropagationFlags::default()))
///     .to_json()
///     .unwrap();
/// let received = signer.verify_json(&wire).unwrap();
/// assert_eq!(received.correlation_id, ctx.correlation_id);
///
/// let forged = String::from_utf8(wire).unwrap().replace("agent-b", "agent-x");
/// assert!(signer.verify_json(forged.as_bytes()).is_err());
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct DistributedHookContext {
    /// Wire format version.
    pub version: u32,
    /// The context, trimmed per `propagation`.
    pub context: HookContext,
    /// The agent that sent it (last hop).
    pub source_agent_id: Option<String>,
    /// The agent it is for.
    pub remote_agent_id: String,
    /// The correlation id shared by every hop.
    pub correlation_id: Uuid,
    /// What travels.
    pub propagation: PropagationFlags,
    /// How many times it was forwarded.
    pub hop_count: u32,
    /// How many forwards are allowed.
    pub max_hops: u32,
    /// When it was signed.
    pub issued_at: DateTime<Utc>,
    /// When it stops being valid.
    pub expires_at: DateTime<Utc>,
    /// Hex HMAC-SHA256 over the canonical encoding of all other fields.
    pub signature: Option<String>,
}

impl DistributedHookContext {
    /// An unsigned context for `remote_agent_id` built from `ctx`, trimmed
    /// per `flags`. Sign it with [`ContextSigner::sign`].
    #[must_use]
    pub fn new(
        ctx: &HookContext,
        remote_agent_id: impl Into<String>,
        flags: PropagationFlags,
    ) -> Self {
        let mut context = ctx.clone();
        if !flags.data {
            context.data.clear();
        }
        if !flags.metadata {
            context.metadata.clear();
        }
        if !flags.parent {
            context.parent = None;
        }
        let now = Utc::now();
        Self {
            version: DISTRIBUTED_CONTEXT_VERSION,
            correlation_id: ctx.correlation_id,
            context,
            source_agent_id: None,
            remote_agent_id: remote_agent_id.into(),
            propagation: flags,
            hop_count: 0,
            max_hops: 0,
            issued_at: now,
            expires_at: now,
            signature: None,
        }
    }

    /// Sets the sending agent.
    #[must_use]
    pub fn from_agent(mut self, agent_id: impl Into<String>) -> Self {
        self.source_agent_id = Some(agent_id.into());
        self
    }

    /// The context for running hooks on the receiving side: the carried
    /// context with the shared correlation id and metadata
    /// `distributed.remote_agent_id`, `distributed.source_agent_id` (when
    /// known) and `distributed.hop_count`. Call it on a context that
    /// [`ContextSigner::verify`] accepted.
    #[must_use]
    pub fn to_local_context(&self) -> HookContext {
        let mut ctx = self.context.clone();
        ctx.correlation_id = self.correlation_id;
        ctx.insert_metadata("distributed.remote_agent_id", self.remote_agent_id.clone());
        if let Some(src) = &self.source_agent_id {
            ctx.insert_metadata("distributed.source_agent_id", src.clone());
        }
        ctx.insert_metadata("distributed.hop_count", self.hop_count.to_string());
        ctx
    }

    /// The wire form (JSON).
    ///
    /// # Errors
    /// [`HookError::Serialization`].
    pub fn to_json(&self) -> Result<Vec<u8>> {
        Ok(serde_json::to_vec(self)?)
    }

    /// The canonical bytes the signature covers.
    fn signed_bytes(&self) -> Result<Vec<u8>> {
        let mut v = serde_json::to_value(self)?;
        if let Some(obj) = v.as_object_mut() {
            obj.remove("signature");
        }
        let mut s = String::new();
        canonical_json(&v, &mut s);
        Ok(s.into_bytes())
    }
}

/// Signs and verifies [`DistributedHookContext`]s with a shared key.
#[derive(Clone)]
pub struct ContextSigner {
    key: Arc<[u8]>,
    ttl: Duration,
    max_hops: u32,
    clock_skew: Duration,
}

impl fmt::Debug for ContextSigner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never print the key.
        f.debug_struct("ContextSigner")
            .field("ttl", &self.ttl)
            .field("max_hops", &self.max_hops)
            .field("clock_skew", &self.clock_skew)
            .finish_non_exhaustive()
    }
}

/// The shortest key accepted, in bytes.
const MIN_KEY_BYTES: usize = 32;

impl ContextSigner {
    /// A signer with `key` (at least 32 bytes), contexts valid for 5
    /// minutes, at most 8 hops, 30 s clock skew allowed.
    ///
    /// # Errors
    /// [`HookError::InvalidConfig`] for a key shorter than 32 bytes.
    pub fn new(key: impl AsRef<[u8]>) -> Result<Self> {
        let key = key.as_ref();
        if key.len() < MIN_KEY_BYTES {
            return Err(HookError::InvalidConfig {
                field: "signing key",
                reason: format!(
                    "key is {} bytes; HMAC-SHA256 keys must be at least {MIN_KEY_BYTES} bytes",
                    key.len()
                ),
            });
        }
        Ok(Self {
            key: Arc::from(key),
            ttl: Duration::from_secs(300),
            max_hops: 8,
            clock_skew: Duration::from_secs(30),
        })
    }

    /// How long a signed context stays valid.
    #[must_use]
    pub fn with_ttl(mut self, ttl: Duration) -> Self {
        self.ttl = ttl;
        self
    }

    /// How many forwards are allowed.
    #[must_use]
    pub fn with_max_hops(mut self, max_hops: u32) -> Self {
        self.max_hops = max_hops;
        self
    }

    /// How far in the future `issued_at` may lie.
    #[must_use]
    pub fn with_clock_skew(mut self, skew: Duration) -> Self {
        self.clock_skew = skew;
        self
    }

    fn mac(&self, bytes: &[u8]) -> HmacSha256 {
        let mut mac = match HmacSha256::new_from_slice(&self.key) {
            Ok(m) => m,
            // HMAC accepts keys of any length.
            Err(e) => unreachable!("hmac key rejected: {e}"),
        };
        mac.update(bytes);
        mac
    }

    /// The hex HMAC-SHA256 of the canonical JSON of `value` with its
    /// `signature` member removed (for signed messages other than
    /// contexts, such as remote hook replies).
    #[cfg(feature = "nats")]
    pub(crate) fn signature_of(&self, value: &serde_json::Value) -> String {
        let mut v = value.clone();
        if let Some(obj) = v.as_object_mut() {
            obj.remove("signature");
        }
        let mut s = String::new();
        canonical_json(&v, &mut s);
        hex::encode(self.mac(s.as_bytes()).finalize().into_bytes())
    }

    /// Checks a signature made by [`signature_of`](Self::signature_of)
    /// (constant-time).
    #[cfg(feature = "nats")]
    pub(crate) fn check_signature(
        &self,
        value: &serde_json::Value,
        signature: Option<&str>,
    ) -> std::result::Result<(), ContextVerifyError> {
        let sig = signature.ok_or(ContextVerifyError::Unsigned)?;
        let sig =
            hex::decode(sig).map_err(|e| ContextVerifyError::MalformedSignature(e.to_string()))?;
        let mut v = value.clone();
        if let Some(obj) = v.as_object_mut() {
            obj.remove("signature");
        }
        let mut s = String::new();
        canonical_json(&v, &mut s);
        self.mac(s.as_bytes())
            .verify_slice(&sig)
            .map_err(|_| ContextVerifyError::BadSignature)
    }

    /// Signs `ctx` now (see [`ContextSigner::sign_at`]).
    #[must_use]
    pub fn sign(&self, ctx: DistributedHookContext) -> DistributedHookContext {
        self.sign_at(ctx, Utc::now())
    }

    /// Stamps `ctx` as issued at `now`, valid for the TTL, with this
    /// signer's hop limit, and signs it.
    #[must_use]
    pub fn sign_at(
        &self,
        ctx: DistributedHookContext,
        now: DateTime<Utc>,
    ) -> DistributedHookContext {
        self.seal(ctx, now, self.max_hops)
    }

    fn seal(
        &self,
        mut ctx: DistributedHookContext,
        now: DateTime<Utc>,
        max_hops: u32,
    ) -> DistributedHookContext {
        ctx.issued_at = now;
        ctx.expires_at =
            now + chrono::Duration::from_std(self.ttl).unwrap_or(chrono::Duration::MAX);
        ctx.max_hops = max_hops;
        ctx.signature = None;
        // Serialising these types to a JSON value cannot fail (every map key
        // is a string); if it ever did, the context stays unsigned and is
        // refused by every verifier.
        ctx.signature = ctx
            .signed_bytes()
            .ok()
            .map(|b| hex::encode(self.mac(&b).finalize().into_bytes()));
        ctx
    }

    /// Verifies `ctx` now (see [`ContextSigner::verify_at`]).
    ///
    /// # Errors
    /// As [`ContextSigner::verify_at`].
    pub fn verify(
        &self,
        ctx: &DistributedHookContext,
    ) -> std::result::Result<(), ContextVerifyError> {
        self.verify_at(ctx, Utc::now())
    }

    /// Checks version, signature (constant-time), validity window and hop
    /// count, in that order.
    ///
    /// # Errors
    /// The first [`ContextVerifyError`] found.
    pub fn verify_at(
        &self,
        ctx: &DistributedHookContext,
        now: DateTime<Utc>,
    ) -> std::result::Result<(), ContextVerifyError> {
        if ctx.version != DISTRIBUTED_CONTEXT_VERSION {
            return Err(ContextVerifyError::UnsupportedVersion {
                found: ctx.version,
                supported: DISTRIBUTED_CONTEXT_VERSION,
            });
        }
        let sig = ctx
            .signature
            .as_deref()
            .ok_or(ContextVerifyError::Unsigned)?;
        let sig =
            hex::decode(sig).map_err(|e| ContextVerifyError::MalformedSignature(e.to_string()))?;
        if sig.len() != 32 {
            return Err(ContextVerifyError::MalformedSignature(format!(
                "{} bytes",
                sig.len()
            )));
        }
        let bytes = ctx
            .signed_bytes()
            .map_err(|e| ContextVerifyError::Malformed(e.to_string()))?;
        self.mac(&bytes)
            .verify_slice(&sig)
            .map_err(|_| ContextVerifyError::BadSignature)?;
        if now >= ctx.expires_at {
            return Err(ContextVerifyError::Expired {
                expires_at: ctx.expires_at,
                now,
            });
        }
        let skew = chrono::Duration::from_std(self.clock_skew).unwrap_or(chrono::Duration::MAX);
        if ctx.issued_at > now + skew {
            return Err(ContextVerifyError::IssuedInFuture {
                issued_at: ctx.issued_at,
                now,
            });
        }
        if ctx.hop_count > ctx.max_hops {
            return Err(ContextVerifyError::TooManyHops {
                hops: ctx.hop_count,
                max: ctx.max_hops,
            });
        }
        Ok(())
    }

    /// Parses wire bytes and verifies them; returns the verified context.
    ///
    /// # Errors
    /// [`ContextVerifyError::Malformed`] for bytes that are not a
    /// distributed context, else as [`ContextSigner::verify`].
    pub fn verify_json(
        &self,
        bytes: &[u8],
    ) -> std::result::Result<DistributedHookContext, ContextVerifyError> {
        let ctx: DistributedHookContext = serde_json::from_slice(bytes)
            .map_err(|e| ContextVerifyError::Malformed(e.to_string()))?;
        self.verify(&ctx)?;
        Ok(ctx)
    }

    /// Verifies `ctx` and re-signs it for the next agent with the hop count
    /// increased (the hop limit set by the first signer is kept).
    ///
    /// # Errors
    /// As [`ContextSigner::verify`];
    /// [`ContextVerifyError::ForwardingNotAllowed`] when the sender did not
    /// allow it; [`ContextVerifyError::TooManyHops`] when the limit would be
    /// passed.
    pub fn forward(
        &self,
        ctx: &DistributedHookContext,
        from_agent: impl Into<String>,
        to_agent: impl Into<String>,
    ) -> std::result::Result<DistributedHookContext, ContextVerifyError> {
        self.verify(ctx)?;
        if !ctx.propagation.forward {
            return Err(ContextVerifyError::ForwardingNotAllowed);
        }
        let hops = ctx.hop_count.saturating_add(1);
        if hops > ctx.max_hops {
            return Err(ContextVerifyError::TooManyHops {
                hops,
                max: ctx.max_hops,
            });
        }
        let mut next = ctx.clone();
        next.hop_count = hops;
        next.source_agent_id = Some(from_agent.into());
        next.remote_agent_id = to_agent.into();
        Ok(self.seal(next, Utc::now(), ctx.max_hops))
    }
}
