//! [`WorkflowRuntime`]: creates, runs, resumes and lists workflows.

use std::collections::{BTreeMap, HashSet};
use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Instant;

use llmspell_events::{Durability, EventBus, Language};
use llmspell_hooks::{HookPoint, Hooks};
use llmspell_storage::{MemoryBackend, StorageBackend};
use llmspell_tools::ToolRuntime;
use parking_lot::{Mutex, RwLock};
use serde_json::{Map, Value};
use uuid::Uuid;

use crate::agent::AgentRunner;
use crate::definition::{self, Bindings, Pattern, Registries, Workflow};
use crate::error::{Result, WorkflowError};
use crate::result::WorkflowResult;
use crate::run::{Resume, Run, Stop};
use crate::state::{MemoryState, StateStore};
use crate::store::{LogEntry, RunInfo, RunRecord, RunStatus, RunStore};

/// The eight points a workflow runtime fires.
pub const WORKFLOW_POINTS: [HookPoint; 8] = [
    HookPoint::BeforeWorkflowStart,
    HookPoint::WorkflowStageTransition,
    HookPoint::BeforeWorkflowStage,
    HookPoint::AfterWorkflowStage,
    HookPoint::WorkflowCheckpoint,
    HookPoint::WorkflowRollback,
    HookPoint::AfterWorkflowComplete,
    HookPoint::WorkflowError,
];

/// Creates, runs, resumes and lists workflows. Cheap to clone (clones
/// share everything).
///
/// Steps run through the shared components: tool steps through the
/// [`ToolRuntime`] (so tool hooks fire), agent steps through the
/// [`AgentRunner`], script functions through their bindings. Lifecycle
/// events go to the event bus (by default the tool runtime's). Runs are
/// recorded in a run store (by default in memory; give a sled backend to
/// resume runs of a process that died).
#[derive(Clone)]
pub struct WorkflowRuntime {
    inner: Arc<Inner>,
}

pub(crate) struct Inner {
    pub(crate) tools: Arc<ToolRuntime>,
    pub(crate) hooks: Hooks,
    pub(crate) bus: Option<EventBus>,
    pub(crate) store: Option<RunStore>,
    pub(crate) state: Arc<dyn StateStore>,
    pub(crate) agents: Option<Arc<dyn AgentRunner>>,
    workflows: RwLock<BTreeMap<String, Workflow>>,
    active: Mutex<HashSet<Uuid>>,
    /// A run that the next execution of its workflow resumes (set by
    /// `resume_on_next_execute`); `has_pending` lets executions skip the
    /// lock when there is none.
    pending: Mutex<Option<(String, Uuid)>>,
    has_pending: AtomicBool,
    /// Hook data maps for reuse by the hooked points of runs.
    pub(crate) hook_data: crate::run::data::DataPool,
}

impl fmt::Debug for WorkflowRuntime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WorkflowRuntime")
            .field("workflows", &self.workflow_names())
            .field(
                "run_store",
                &self.inner.store.as_ref().map(RunStore::backend_kind),
            )
            .field("events", &self.inner.bus.is_some())
            .field("agents", &self.inner.agents.is_some())
            .finish()
    }
}

/// Builds a [`WorkflowRuntime`].
#[derive(Debug)]
#[must_use]
pub struct WorkflowRuntimeBuilder {
    tools: Arc<ToolRuntime>,
    hooks: Option<Hooks>,
    bus: Option<Option<EventBus>>,
    store: Option<Option<Arc<dyn StorageBackend>>>,
    durability: Durability,
    state: Option<Arc<dyn StateStore>>,
    agents: Option<Arc<dyn AgentRunner>>,
}

impl WorkflowRuntimeBuilder {
    /// The hooks of the workflow points. Default: the tool runtime's (so
    /// one registration serves tools and workflows).
    pub fn hooks(mut self, hooks: impl Into<Hooks>) -> Self {
        self.hooks = Some(hooks.into());
        self
    }

    /// Publishes lifecycle events on `bus` (`None`: publish nothing).
    /// Default: the tool runtime's bus.
    pub fn event_bus(mut self, bus: Option<EventBus>) -> Self {
        self.bus = Some(bus);
        self
    }

    /// Records runs and checkpoints in `backend` (sled to resume runs
    /// after the process died). Default: an in-memory backend.
    pub fn run_store(mut self, backend: Arc<dyn StorageBackend>) -> Self {
        self.store = Some(Some(backend));
        self
    }

    /// Records nothing: no checkpoints, no run listing, no resume.
    pub fn without_run_store(mut self) -> Self {
        self.store = Some(None);
        self
    }

    /// When a checkpoint is durable. Default [`Durability::Flushed`]: each
    /// checkpoint is flushed before the next step starts, so a completed
    /// step survives a killed process (one fsync per step on sled).
    /// [`Durability::Written`] leaves flushing to the backend's schedule.
    pub fn durability(mut self, durability: Durability) -> Self {
        self.durability = durability;
        self
    }

    /// Where workflow state lives. Default: a fresh [`MemoryState`].
    pub fn state(mut self, state: Arc<dyn StateStore>) -> Self {
        self.state = Some(state);
        self
    }

    /// Runs agent steps. Without it, definitions with agent steps are
    /// refused.
    pub fn agents(mut self, agents: Arc<dyn AgentRunner>) -> Self {
        self.agents = Some(agents);
        self
    }

    /// The runtime.
    pub fn build(self) -> WorkflowRuntime {
        let hooks = self.hooks.unwrap_or_else(|| self.tools.hooks().clone());
        hooks
            .registry()
            .declare_fired(WORKFLOW_POINTS, "workflows (llmspell-workflows)");
        let bus = self.bus.unwrap_or_else(|| self.tools.event_bus().cloned());
        let store = match self.store {
            Some(None) => None,
            Some(Some(backend)) => Some(RunStore::new(backend, self.durability)),
            None => Some(RunStore::new(
                Arc::new(MemoryBackend::new()),
                Durability::Written,
            )),
        };
        WorkflowRuntime {
            inner: Arc::new(Inner {
                tools: self.tools,
                hooks,
                bus,
                store,
                state: self.state.unwrap_or_else(|| Arc::new(MemoryState::new())),
                agents: self.agents,
                workflows: RwLock::new(BTreeMap::new()),
                active: Mutex::new(HashSet::new()),
                pending: Mutex::new(None),
                has_pending: AtomicBool::new(false),
                hook_data: crate::run::data::DataPool::default(),
            }),
        }
    }
}

/// Per-run options of [`WorkflowRuntime::execute_with`].
#[derive(Debug, Clone, Default)]
#[must_use]
pub struct ExecuteOptions {
    language: Language,
    correlation_id: Option<Uuid>,
}

impl ExecuteOptions {
    /// Default options: language Rust, the run id as correlation id.
    pub fn new() -> Self {
        Self::default()
    }

    /// The language the run is started from.
    pub fn language(mut self, language: Language) -> Self {
        self.language = language;
        self
    }

    /// The correlation id of every event and tool call of the run
    /// (default: the run id).
    pub fn correlation_id(mut self, id: Uuid) -> Self {
        self.correlation_id = Some(id);
        self
    }
}

/// Removes a run from the active set when the run ends or its future is
/// dropped.
struct ActiveGuard<'a> {
    active: &'a Mutex<HashSet<Uuid>>,
    id: Uuid,
}

impl Drop for ActiveGuard<'_> {
    fn drop(&mut self) {
        self.active.lock().remove(&self.id);
    }
}

impl WorkflowRuntime {
    /// A builder over the tool runtime that tool steps and tool conditions
    /// use.
    pub fn builder(tools: Arc<ToolRuntime>) -> WorkflowRuntimeBuilder {
        WorkflowRuntimeBuilder {
            tools,
            hooks: None,
            bus: None,
            store: None,
            durability: Durability::Flushed,
            state: None,
            agents: None,
        }
    }

    /// A runtime with defaults over `tools`.
    #[must_use]
    pub fn new(tools: Arc<ToolRuntime>) -> Self {
        Self::builder(tools).build()
    }

    /// The tool runtime.
    #[must_use]
    pub fn tools(&self) -> &Arc<ToolRuntime> {
        &self.inner.tools
    }

    /// The workflow state.
    #[must_use]
    pub fn state(&self) -> &Arc<dyn StateStore> {
        &self.inner.state
    }

    /// The event bus lifecycle events go to.
    #[must_use]
    pub fn event_bus(&self) -> Option<&EventBus> {
        self.inner.bus.as_ref()
    }

    /// Creates a workflow from its definition (the pattern in its `type`
    /// key) with no script functions; see [`create_with`](Self::create_with).
    ///
    /// # Errors
    /// [`WorkflowError::InvalidDefinition`] naming the field at fault.
    pub fn create(&self, definition: &Value) -> Result<Workflow> {
        self.create_with(None, definition, &Bindings::new())
    }

    /// Creates a workflow of `pattern` (or of the definition's `type` when
    /// `None`), checking every rule now: step kinds, unique step and branch
    /// names, registered tools and agents, known nested workflows, non-empty
    /// step and branch lists, well-formed references and condition
    /// expressions, valid loop and parallel options. The workflow is
    /// registered under its name (replacing one of the same name) so that
    /// other definitions can nest it by name and its runs can be resumed.
    ///
    /// # Errors
    /// [`WorkflowError::InvalidDefinition`] naming the field at fault.
    pub fn create_with(
        &self,
        pattern: Option<Pattern>,
        definition: &Value,
        bindings: &Bindings,
    ) -> Result<Workflow> {
        let lookup = |name: &str| self.workflow(name);
        let names = || self.workflow_names();
        let reg = Registries {
            tools: self.inner.tools.registry(),
            agents: self.inner.agents.as_deref(),
            workflow: &lookup,
            workflow_names: &names,
        };
        let wf = definition::parse(pattern, definition, bindings, &reg)?;
        self.inner
            .workflows
            .write()
            .insert(wf.name().to_owned(), wf.clone());
        Ok(wf)
    }

    /// The workflow registered under `name`.
    #[must_use]
    pub fn workflow(&self, name: &str) -> Option<Workflow> {
        self.inner.workflows.read().get(name).cloned()
    }

    /// The names of the registered workflows, sorted.
    #[must_use]
    pub fn workflow_names(&self) -> Vec<String> {
        self.inner.workflows.read().keys().cloned().collect()
    }

    /// Unregisters a workflow (workflows nesting it keep their copy).
    pub fn remove(&self, name: &str) -> Option<Workflow> {
        self.inner.workflows.write().remove(name)
    }

    /// Runs `workflow` on `input` (`null` is taken as `{}`).
    ///
    /// # Errors
    /// Only when the run store fails. A failing step, a failing condition
    /// or a hook's Cancel come back as a result with `success = false`.
    pub async fn execute(&self, workflow: &Workflow, input: Value) -> Result<WorkflowResult> {
        self.execute_with(workflow, input, &ExecuteOptions::new())
            .await
    }

    /// [`execute`](Self::execute) with options.
    ///
    /// # Errors
    /// See [`execute`](Self::execute).
    pub async fn execute_with(
        &self,
        workflow: &Workflow,
        input: Value,
        opts: &ExecuteOptions,
    ) -> Result<WorkflowResult> {
        // Relaxed is enough: the flag only saves taking the lock; the slot
        // itself is read under the lock.
        if self.inner.has_pending.load(Ordering::Relaxed) {
            let claimed = {
                let mut slot = self.inner.pending.lock();
                match slot.take() {
                    Some((name, id)) if name == workflow.name() => {
                        self.inner.has_pending.store(false, Ordering::Relaxed);
                        Some(id)
                    }
                    other => {
                        *slot = other;
                        None
                    }
                }
            };
            if let Some(id) = claimed {
                return self.resume_with(id, opts).await;
            }
        }
        let input = if input.is_null() {
            Value::Object(Map::new())
        } else {
            input
        };
        let run_id = Uuid::now_v7();
        let record = RunRecord::new(
            run_id,
            workflow.name(),
            workflow.pattern(),
            workflow.fingerprint(),
            opts.correlation_id
                .or_else(llmspell_hooks::current_correlation_id)
                .unwrap_or(run_id),
            input,
        );
        self.inner.active.lock().insert(run_id);
        let _guard = ActiveGuard {
            active: &self.inner.active,
            id: run_id,
        };
        if let Some(store) = &self.inner.store {
            store.put(&record).await?;
        }
        self.drive(
            workflow,
            record,
            opts.language,
            Resume::default(),
            Vec::new(),
        )
        .await
    }

    /// Continues run `run_id` from its last checkpoint: completed steps are
    /// not run again (their outputs come from the checkpoint), decisions
    /// (branches taken, loop items) come out the same, the state keys the
    /// run wrote are written back, and the remaining steps run. The
    /// workflow must be registered under the run's name with the same
    /// definition.
    ///
    /// # Errors
    /// [`WorkflowError::RunNotFound`], [`WorkflowError::NotResumable`] (a
    /// completed or compensated run, or one running in this runtime),
    /// [`WorkflowError::UnknownWorkflow`],
    /// [`WorkflowError::DefinitionChanged`], or a run store error.
    pub async fn resume(&self, run_id: Uuid) -> Result<WorkflowResult> {
        self.resume_with(run_id, &ExecuteOptions::new()).await
    }

    /// Makes the next [`execute`](Self::execute) of run `run_id`'s workflow
    /// resume that run instead of starting a new one (its input argument
    /// is then ignored: the run's input is used). This lets the script
    /// that started a run continue it unchanged (`llmspell workflows
    /// resume <run_id> script.lua`). Returns the workflow's name.
    ///
    /// # Errors
    /// [`WorkflowError::RunNotFound`], or [`WorkflowError::NotResumable`]
    /// for a completed or compensated run.
    pub async fn resume_on_next_execute(&self, run_id: Uuid) -> Result<String> {
        let record = self.resumable_record(run_id).await?;
        *self.inner.pending.lock() = Some((record.workflow_name.clone(), run_id));
        self.inner.has_pending.store(true, Ordering::Relaxed);
        Ok(record.workflow_name)
    }

    /// Takes back the run set by
    /// [`resume_on_next_execute`](Self::resume_on_next_execute) if no
    /// execution claimed it.
    pub fn take_pending_resume(&self) -> Option<Uuid> {
        let taken = self.inner.pending.lock().take();
        self.inner.has_pending.store(false, Ordering::Relaxed);
        taken.map(|(_, id)| id)
    }

    /// The record of a run that may be resumed.
    async fn resumable_record(&self, run_id: Uuid) -> Result<RunRecord> {
        let not_found = || WorkflowError::RunNotFound {
            run_id: run_id.to_string(),
        };
        let store = self.inner.store.as_ref().ok_or_else(not_found)?;
        let record = store.get(run_id).await?.ok_or_else(not_found)?;
        let refuse = |reason: &str| WorkflowError::NotResumable {
            run_id: run_id.to_string(),
            reason: reason.to_owned(),
        };
        if record.status == RunStatus::Completed {
            return Err(refuse("it completed"));
        }
        if record.compensated {
            return Err(refuse("its compensations ran, undoing its completed steps"));
        }
        Ok(record)
    }

    /// [`resume`](Self::resume) with options (the correlation id is the
    /// run's).
    ///
    /// # Errors
    /// See [`resume`](Self::resume).
    pub async fn resume_with(&self, run_id: Uuid, opts: &ExecuteOptions) -> Result<WorkflowResult> {
        let mut record = self.resumable_record(run_id).await?;
        let store = self
            .inner
            .store
            .as_ref()
            .ok_or_else(|| WorkflowError::RunNotFound {
                run_id: run_id.to_string(),
            })?;
        let refuse = |reason: String| WorkflowError::NotResumable {
            run_id: run_id.to_string(),
            reason,
        };
        let workflow =
            self.workflow(&record.workflow_name)
                .ok_or_else(|| WorkflowError::UnknownWorkflow {
                    name: record.workflow_name.clone(),
                    defined: self.workflow_names().join(", "),
                })?;
        if workflow.fingerprint() != record.fingerprint {
            return Err(WorkflowError::DefinitionChanged {
                run_id: run_id.to_string(),
                workflow: record.workflow_name.clone(),
                stored: record.fingerprint.clone(),
                current: workflow.fingerprint().to_owned(),
            });
        }
        if !self.inner.active.lock().insert(run_id) {
            return Err(refuse("it is running in this process".into()));
        }
        let _guard = ActiveGuard {
            active: &self.inner.active,
            id: run_id,
        };
        let mut resume = Resume::default();
        let mut compensations = Vec::new();
        for entry in store.entries(run_id).await? {
            match &entry {
                LogEntry::Step {
                    path, compensation, ..
                } => {
                    if let Some(c) = compensation {
                        compensations.push(c.clone());
                    }
                    resume.steps.insert(path.clone(), entry.clone());
                }
                LogEntry::Decision { path, value } => {
                    resume.decisions.insert(path.clone(), value.clone());
                }
            }
        }
        // The state as the run left it at its last checkpoint.
        for (key, value) in &record.state_set {
            self.inner
                .state
                .set(key, value.clone())
                .await
                .map_err(|e| WorkflowError::Config(format!("restoring state `{key}`: {e}")))?;
        }
        for key in &record.state_deleted {
            self.inner
                .state
                .delete(key)
                .await
                .map_err(|e| WorkflowError::Config(format!("restoring state `{key}`: {e}")))?;
        }
        record.status = RunStatus::Running;
        record.error = None;
        store.put(&record).await?;
        self.drive(&workflow, record, opts.language, resume, compensations)
            .await
    }

    /// Runs the workflow of `record` to its end and records the outcome.
    async fn drive(
        &self,
        workflow: &Workflow,
        record: RunRecord,
        language: Language,
        resume: Resume,
        compensations: Vec<crate::store::PendingCompensation>,
    ) -> Result<WorkflowResult> {
        let started = Instant::now();
        let run_id = record.run_id;
        let input = Arc::new(record.input.clone());
        let run = Run::new(&self.inner, record, language, resume, compensations);
        let outcome = run
            .workflow(&workflow.def, input, None, String::new(), None)
            .await;
        let (status, error) = match outcome.stop {
            None => (RunStatus::Completed, None),
            Some(Stop::Failed(e)) => (RunStatus::Failed, Some(e)),
            Some(Stop::Cancelled(e)) => (RunStatus::Cancelled, Some(e)),
            Some(Stop::Store(e)) => return Err(e),
            Some(jump @ Stop::Jump { .. }) => (RunStatus::Failed, Some(jump.to_string())),
        };
        let compensations = if error.is_some() {
            run.compensate(&workflow.def).await
        } else {
            Vec::new()
        };
        run.finish(status, error.clone(), !compensations.is_empty())
            .await?;
        Ok(WorkflowResult {
            success: error.is_none(),
            data: outcome.data,
            error,
            steps: outcome.steps,
            duration_ms: started.elapsed().as_secs_f64() * 1000.0,
            run_id,
            workflow_name: workflow.name().to_owned(),
            pattern: workflow.pattern(),
            compensations,
        })
    }

    /// Every recorded run, oldest first.
    ///
    /// # Errors
    /// When the run store fails or holds an unreadable record.
    pub async fn runs(&self) -> Result<Vec<RunInfo>> {
        match &self.inner.store {
            Some(store) => store.list().await,
            None => Ok(Vec::new()),
        }
    }

    /// The record of run `run_id`.
    ///
    /// # Errors
    /// When the run store fails or the record is unreadable.
    pub async fn run_info(&self, run_id: Uuid) -> Result<Option<RunInfo>> {
        match &self.inner.store {
            Some(store) => Ok(store.get(run_id).await?.map(|r| r.info())),
            None => Ok(None),
        }
    }

    /// Forgets run `run_id` and its checkpoints. Returns whether it existed.
    ///
    /// # Errors
    /// [`WorkflowError::NotResumable`] if it is running in this runtime, or
    /// a run store error.
    pub async fn delete_run(&self, run_id: Uuid) -> Result<bool> {
        if self.inner.active.lock().contains(&run_id) {
            return Err(WorkflowError::NotResumable {
                run_id: run_id.to_string(),
                reason: "it is running in this process; it cannot be deleted now".into(),
            });
        }
        match &self.inner.store {
            Some(store) => store.delete(run_id).await,
            None => Ok(false),
        }
    }
}
