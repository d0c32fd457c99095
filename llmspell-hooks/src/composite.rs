//! Composite hooks: [`SequentialHook`], [`ParallelHook`], [`FirstMatchHook`]
//! and [`VotingHook`]. Each is a [`Hook`], so they nest.

use std::fmt;
use std::sync::Arc;

use async_trait::async_trait;
use futures::future::{BoxFuture, FutureExt};
use futures::stream::{self, StreamExt};

use crate::{Hook, HookContext, HookError, HookMetadata, HookResult, Result};

type Hooks = Vec<Arc<dyn Hook>>;

fn names(hooks: &Hooks) -> Vec<String> {
    hooks.iter().map(|h| h.metadata().name).collect()
}

/// The start of a composite's `Debug` output: the type `name`, its
/// `metadata` and the names of its `hooks`; the caller adds its own fields
/// and finishes it.
fn debug_composite<'a, 'b: 'a>(
    f: &'a mut fmt::Formatter<'b>,
    name: &str,
    metadata: &HookMetadata,
    hooks: &Hooks,
) -> fmt::DebugStruct<'a, 'b> {
    let mut out = f.debug_struct(name);
    out.field("metadata", metadata)
        .field("hooks", &names(hooks));
    out
}

/// The `with` / `with_arc` builders every composite shares (each keeps its
/// members in a `hooks: Hooks` field).
macro_rules! member_builders {
    () => {
        /// Appends a hook.
        #[must_use]
        pub fn with(mut self, hook: impl Hook + 'static) -> Self {
            self.hooks.push(Arc::new(hook));
            self
        }

        /// Appends a shared hook.
        #[must_use]
        pub fn with_arc(mut self, hook: Arc<dyn Hook>) -> Self {
            self.hooks.push(hook);
            self
        }
    };
}

/// Runs its hooks in order on the same context, applying `Modified` data
/// as it goes, and stops at the first result that is not `Continue`,
/// `Modified` or `Skipped` (returned as is). Otherwise returns `Continue`
/// (the data changes are already in the context). The first error stops
/// it and is returned.
///
/// ```
/// use std::sync::Arc;
/// use llmspell_hooks::{hook_fn, Hook, HookResult, SequentialHook};
/// let seq = SequentialHook::new("checks")
///     .with(hook_fn("a", |_| Ok(HookResult::Continue)))
///     .with(hook_fn("b", |_| Ok(HookResult::cancel("b says no"))));
/// ```
pub struct SequentialHook {
    metadata: HookMetadata,
    hooks: Hooks,
}

impl SequentialHook {
    /// An empty sequence named `name`.
    #[must_use]
    pub fn new(metadata: impl Into<HookMetadata>) -> Self {
        Self {
            metadata: metadata.into(),
            hooks: Vec::new(),
        }
    }

    member_builders!();
}

impl fmt::Debug for SequentialHook {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        debug_composite(f, "SequentialHook", &self.metadata, &self.hooks).finish()
    }
}

#[async_trait]
impl Hook for SequentialHook {
    async fn execute(&self, ctx: &mut HookContext) -> Result<HookResult> {
        for hook in &self.hooks {
            if !hook.should_execute(ctx) {
                continue;
            }
            match hook.execute(ctx).await? {
                HookResult::Continue | HookResult::Skipped(_) => {}
                HookResult::Modified(data) => ctx.data = data,
                stop => return Ok(stop),
            }
        }
        Ok(HookResult::Continue)
    }

    fn metadata(&self) -> HookMetadata {
        self.metadata.clone()
    }
}

/// How a [`ParallelHook`] turns its hooks' results into one.
#[derive(Clone, Default)]
pub enum Aggregation {
    /// The first stopping result in hook order (not completion order);
    /// `Continue` if none.
    #[default]
    FirstStop,
    /// A `Cancel` anywhere wins; otherwise as `FirstStop`.
    CancelWins,
    /// A function of all results, in hook order.
    Custom(Arc<dyn Fn(Vec<HookResult>) -> HookResult + Send + Sync>),
}

impl fmt::Debug for Aggregation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Aggregation::FirstStop => f.write_str("FirstStop"),
            Aggregation::CancelWins => f.write_str("CancelWins"),
            Aggregation::Custom(_) => f.write_str("Custom(..)"),
        }
    }
}

/// Runs its hooks concurrently (at most `limit` at a time), each on its own
/// copy of the context. `Modified` data is merged into the context in hook
/// order (later hooks win on the same key); the results are combined by an
/// [`Aggregation`]. The first error (in hook order) is returned instead.
pub struct ParallelHook {
    metadata: HookMetadata,
    hooks: Hooks,
    limit: usize,
    aggregation: Aggregation,
}

impl ParallelHook {
    /// An empty parallel group named `name`, with no concurrency limit and
    /// [`Aggregation::FirstStop`].
    #[must_use]
    pub fn new(metadata: impl Into<HookMetadata>) -> Self {
        Self {
            metadata: metadata.into(),
            hooks: Vec::new(),
            limit: usize::MAX,
            aggregation: Aggregation::default(),
        }
    }

    member_builders!();

    /// Runs at most `limit` hooks at a time (at least 1).
    #[must_use]
    pub fn concurrency_limit(mut self, limit: usize) -> Self {
        self.limit = limit.max(1);
        self
    }

    /// Sets the aggregation.
    #[must_use]
    pub fn aggregation(mut self, aggregation: Aggregation) -> Self {
        self.aggregation = aggregation;
        self
    }
}

impl fmt::Debug for ParallelHook {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        debug_composite(f, "ParallelHook", &self.metadata, &self.hooks)
            .field("limit", &self.limit)
            .field("aggregation", &self.aggregation)
            .finish()
    }
}

/// Runs `hooks` concurrently on copies of `ctx`; results in hook order.
async fn run_all(hooks: &Hooks, ctx: &HookContext, limit: usize) -> Vec<Result<HookResult>> {
    // Owned futures (cloned hook and context) keep the stream free of
    // borrowed closures, so the composite's future stays `Send`.
    let futures: Vec<BoxFuture<'static, Result<HookResult>>> = hooks
        .iter()
        .map(|hook| {
            let hook = Arc::clone(hook);
            let mut copy = ctx.clone();
            async move {
                if hook.should_execute(&copy) {
                    hook.execute(&mut copy).await
                } else {
                    Ok(HookResult::skipped("should_execute returned false"))
                }
            }
            .boxed()
        })
        .collect();
    stream::iter(futures).buffered(limit).collect().await
}

#[async_trait]
impl Hook for ParallelHook {
    async fn execute(&self, ctx: &mut HookContext) -> Result<HookResult> {
        let results = run_all(&self.hooks, ctx, self.limit)
            .await
            .into_iter()
            .collect::<Result<Vec<_>>>()?;
        for r in &results {
            if let HookResult::Modified(data) = r {
                for (k, v) in data {
                    ctx.data.insert(k.clone(), v.clone());
                }
            }
        }
        let first_stop = |results: Vec<HookResult>| {
            results
                .into_iter()
                .find(|r| !r.should_continue())
                .unwrap_or(HookResult::Continue)
        };
        Ok(match &self.aggregation {
            Aggregation::FirstStop => first_stop(results),
            Aggregation::CancelWins => match results.iter().position(HookResult::is_cancel) {
                Some(i) => results.into_iter().nth(i).unwrap_or(HookResult::Continue),
                None => first_stop(results),
            },
            Aggregation::Custom(f) => f(results),
        })
    }

    fn metadata(&self) -> HookMetadata {
        self.metadata.clone()
    }
}

/// Runs the first hook whose `should_execute` accepts the context and
/// returns its result; `Skipped` if none does.
pub struct FirstMatchHook {
    metadata: HookMetadata,
    hooks: Hooks,
}

impl FirstMatchHook {
    /// An empty group named `name`.
    #[must_use]
    pub fn new(metadata: impl Into<HookMetadata>) -> Self {
        Self {
            metadata: metadata.into(),
            hooks: Vec::new(),
        }
    }

    member_builders!();
}

impl fmt::Debug for FirstMatchHook {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        debug_composite(f, "FirstMatchHook", &self.metadata, &self.hooks).finish()
    }
}

#[async_trait]
impl Hook for FirstMatchHook {
    async fn execute(&self, ctx: &mut HookContext) -> Result<HookResult> {
        for hook in &self.hooks {
            if hook.should_execute(ctx) {
                return hook.execute(ctx).await;
            }
        }
        Ok(HookResult::skipped("no hook matched"))
    }

    fn should_execute(&self, ctx: &HookContext) -> bool {
        self.hooks.iter().any(|h| h.should_execute(ctx))
    }

    fn metadata(&self) -> HookMetadata {
        self.metadata.clone()
    }
}

/// Runs every hook concurrently on copies of the context and lets them
/// vote: a `Cancel` is a "no", `Skipped` and errors abstain, anything else
/// is a "yes". When the share of "yes" among the voters is at least the
/// threshold, the result is `Continue` (with `Modified` data of the "yes"
/// voters merged into the context in hook order); otherwise `Cancel` with
/// the "no" reasons joined. With no voters the result is `Continue`.
pub struct VotingHook {
    metadata: HookMetadata,
    hooks: Hooks,
    threshold: f64,
}

impl VotingHook {
    /// An empty vote named `name` passing at `threshold` (in (0, 1]).
    ///
    /// # Errors
    /// [`HookError::InvalidConfig`] when the threshold is out of range.
    pub fn new(metadata: impl Into<HookMetadata>, threshold: f64) -> Result<Self> {
        if !(threshold > 0.0 && threshold <= 1.0) {
            return Err(HookError::InvalidConfig {
                field: "threshold",
                reason: format!("{threshold} is not in (0.0, 1.0]"),
            });
        }
        Ok(Self {
            metadata: metadata.into(),
            hooks: Vec::new(),
            threshold,
        })
    }

    member_builders!();
}

impl fmt::Debug for VotingHook {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        debug_composite(f, "VotingHook", &self.metadata, &self.hooks)
            .field("threshold", &self.threshold)
            .finish()
    }
}

#[async_trait]
impl Hook for VotingHook {
    async fn execute(&self, ctx: &mut HookContext) -> Result<HookResult> {
        let results = run_all(&self.hooks, ctx, usize::MAX).await;
        let (mut yes, mut no) = (0usize, Vec::new());
        let mut merged = Vec::new();
        for r in results {
            match r {
                Ok(HookResult::Skipped(_)) | Err(_) => {}
                Ok(HookResult::Cancel(reason)) => no.push(reason),
                Ok(HookResult::Modified(data)) => {
                    yes += 1;
                    merged.push(data);
                }
                Ok(_) => yes += 1,
            }
        }
        let voters = yes + no.len();
        if voters == 0 || (yes as f64 / voters as f64) >= self.threshold {
            for data in merged {
                ctx.data.extend(data);
            }
            Ok(HookResult::Continue)
        } else {
            Ok(HookResult::Cancel(format!(
                "vote failed ({yes} of {voters} in favour, threshold {}): {}",
                self.threshold,
                no.join("; ")
            )))
        }
    }

    fn metadata(&self) -> HookMetadata {
        self.metadata.clone()
    }
}
