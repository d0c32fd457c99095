//! The [`Hook`] trait, its blanket impls, and closure hooks
//! ([`hook_fn`] → [`FnHook`], [`async_hook_fn`] → [`AsyncFnHook`]).

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use async_trait::async_trait;

use crate::{HookContext, HookMetadata, HookResult, Result};

/// Something that runs at a hook point.
///
/// `execute` may read and change `ctx` (changes to `ctx.data` are seen by
/// later hooks and by the caller) and returns a [`HookResult`]. Errors,
/// panics and timeouts are isolated by the executor. Implemented for
/// `Arc<H>` and `Box<H>`, so `Arc<dyn Hook>` is a hook.
///
/// ```
/// use async_trait::async_trait;
/// use llmspell_hooks::{Hook, HookContext, HookMetadata, HookResult, Result};
///
/// struct DenyDelete;
///
/// #[async_trait]
/// impl Hook for DenyDelete {
///     async fn execute(&self, ctx: &mut HookContext) -> Result<HookResult> {
///         if ctx.data.get("tool_name").and_then(|v| v.as_str()) == Some("file_delete") {
///             return Ok(HookResult::cancel("deleting files is not allowed"));
///         }
///         Ok(HookResult::Continue)
///     }
///
///     fn metadata(&self) -> HookMetadata {
///         HookMetadata::new("deny_delete")
///     }
/// }
/// ```
#[async_trait]
pub trait Hook: Send + Sync {
    /// Runs the hook.
    ///
    /// # Errors
    /// Whatever the hook reports; the executor counts it as a failure and
    /// goes on (fail-open) unless the registration is fail-closed.
    async fn execute(&self, ctx: &mut HookContext) -> Result<HookResult>;

    /// What the hook says about itself. The registry reads it once, at
    /// registration.
    fn metadata(&self) -> HookMetadata;

    /// Whether the hook wants to run for this context; `false` skips it
    /// without counting a call. Defaults to `true`.
    fn should_execute(&self, _ctx: &HookContext) -> bool {
        true
    }

    /// Runs the hook without a future, for hooks that never wait (closure
    /// hooks made with [`hook_fn`]): `Some(result)` when it ran, `None` (the
    /// default) when it has no synchronous form and must be run with
    /// [`execute`](Self::execute) instead. Returning `None` must not have
    /// done anything: the executor then calls `execute`.
    ///
    /// The executor tries this first: a point whose hooks all run here
    /// builds no future (neither the point's nor a boxed one per hook),
    /// which is most of a no-op hook's cost. An implementation must do what
    /// `execute` does; errors and panics are isolated the same way, and
    /// there is no timeout (a hook that cannot wait cannot be late).
    ///
    /// ```
    /// use async_trait::async_trait;
    /// use llmspell_hooks::{Hook, HookContext, HookMetadata, HookResult, Result};
    ///
    /// struct Tag;
    ///
    /// #[async_trait]
    /// impl Hook for Tag {
    ///     async fn execute(&self, ctx: &mut HookContext) -> Result<HookResult> {
    ///         self.execute_now(ctx).unwrap_or(Ok(HookResult::Continue))
    ///     }
    ///     fn metadata(&self) -> HookMetadata {
    ///         HookMetadata::new("tag")
    ///     }
    ///     fn execute_now(&self, ctx: &mut HookContext) -> Option<Result<HookResult>> {
    ///         ctx.insert("tagged", serde_json::json!(true));
    ///         Some(Ok(HookResult::Continue))
    ///     }
    /// }
    /// ```
    fn execute_now(&self, _ctx: &mut HookContext) -> Option<Result<HookResult>> {
        None
    }
}

/// The future `Hook::execute` returns (what `#[async_trait]` generates).
type ExecuteFuture<'a> = Pin<Box<dyn Future<Output = Result<HookResult>> + Send + 'a>>;

// The pointer impls forward the inner hook's boxed future as is: writing
// them with `#[async_trait]` would box a second future around it.
macro_rules! forward_hook {
    ($($ptr:ident),+) => {$(
        impl<H: Hook + ?Sized> Hook for $ptr<H> {
            fn execute<'life0, 'life1, 'async_trait>(
                &'life0 self,
                ctx: &'life1 mut HookContext,
            ) -> ExecuteFuture<'async_trait>
            where
                'life0: 'async_trait,
                'life1: 'async_trait,
                Self: 'async_trait,
            {
                (**self).execute(ctx)
            }
            fn metadata(&self) -> HookMetadata {
                (**self).metadata()
            }
            fn should_execute(&self, ctx: &HookContext) -> bool {
                (**self).should_execute(ctx)
            }
            fn execute_now(&self, ctx: &mut HookContext) -> Option<Result<HookResult>> {
                (**self).execute_now(ctx)
            }
        }
    )+};
}

forward_hook!(Arc, Box);

impl From<&str> for HookMetadata {
    fn from(name: &str) -> Self {
        HookMetadata::new(name)
    }
}

impl From<String> for HookMetadata {
    fn from(name: String) -> Self {
        HookMetadata::new(name)
    }
}

/// A hook made from a synchronous closure; see [`hook_fn`].
#[derive(Clone)]
pub struct FnHook<F> {
    metadata: HookMetadata,
    f: F,
}

/// A hook from a closure `Fn(&mut HookContext) -> Result<HookResult>`.
///
/// `metadata` is a name or a full [`HookMetadata`].
///
/// ```
/// use llmspell_hooks::{hook_fn, HookResult, Priority, HookMetadata};
///
/// let h = hook_fn("count", |ctx| {
///     ctx.insert("seen", serde_json::json!(true));
///     Ok(HookResult::Continue)
/// });
/// let h2 = hook_fn(HookMetadata::new("first").with_priority(Priority::HIGH), |_| {
///     Ok(HookResult::Continue)
/// });
/// ```
pub fn hook_fn<F>(metadata: impl Into<HookMetadata>, f: F) -> FnHook<F>
where
    F: Fn(&mut HookContext) -> Result<HookResult> + Send + Sync,
{
    FnHook {
        metadata: metadata.into(),
        f,
    }
}

impl<F> FnHook<F> {
    /// Replaces the metadata.
    #[must_use]
    pub fn with_metadata(mut self, metadata: HookMetadata) -> Self {
        self.metadata = metadata;
        self
    }
}

impl<F> fmt::Debug for FnHook<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FnHook")
            .field("metadata", &self.metadata)
            .finish_non_exhaustive()
    }
}

#[async_trait]
impl<F> Hook for FnHook<F>
where
    F: Fn(&mut HookContext) -> Result<HookResult> + Send + Sync,
{
    async fn execute(&self, ctx: &mut HookContext) -> Result<HookResult> {
        (self.f)(ctx)
    }
    fn metadata(&self) -> HookMetadata {
        self.metadata.clone()
    }
    fn execute_now(&self, ctx: &mut HookContext) -> Option<Result<HookResult>> {
        Some((self.f)(ctx))
    }
}

/// A hook made from an async closure; see [`async_hook_fn`].
#[derive(Clone)]
pub struct AsyncFnHook<F> {
    metadata: HookMetadata,
    f: F,
}

/// A hook from a closure `Fn(HookContext) -> impl Future<Output =
/// Result<HookResult>>`.
///
/// The closure gets a **copy** of the context (so its future can be
/// `'static`); it changes the caller's data by returning
/// [`HookResult::Modified`].
///
/// ```
/// use llmspell_hooks::{async_hook_fn, HookResult};
///
/// let h = async_hook_fn("slow_check", |ctx| async move {
///     tokio::task::yield_now().await;
///     if ctx.data.contains_key("forbidden") {
///         Ok(HookResult::cancel("forbidden key"))
///     } else {
///         Ok(HookResult::Continue)
///     }
/// });
/// ```
pub fn async_hook_fn<F, Fut>(metadata: impl Into<HookMetadata>, f: F) -> AsyncFnHook<F>
where
    F: Fn(HookContext) -> Fut + Send + Sync,
    Fut: Future<Output = Result<HookResult>> + Send,
{
    AsyncFnHook {
        metadata: metadata.into(),
        f,
    }
}

impl<F> AsyncFnHook<F> {
    /// Replaces the metadata.
    #[must_use]
    pub fn with_metadata(mut self, metadata: HookMetadata) -> Self {
        self.metadata = metadata;
        self
    }
}

impl<F> fmt::Debug for AsyncFnHook<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AsyncFnHook")
            .field("metadata", &self.metadata)
            .finish_non_exhaustive()
    }
}

#[async_trait]
impl<F, Fut> Hook for AsyncFnHook<F>
where
    F: Fn(HookContext) -> Fut + Send + Sync,
    Fut: Future<Output = Result<HookResult>> + Send,
{
    async fn execute(&self, ctx: &mut HookContext) -> Result<HookResult> {
        (self.f)(ctx.clone()).await
    }
    fn metadata(&self) -> HookMetadata {
        self.metadata.clone()
    }
}
