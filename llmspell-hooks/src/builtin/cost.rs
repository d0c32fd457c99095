//! [`CostTrackingHook`]: LLM cost from token usage, aggregated, with
//! budgets that warn and block.

use std::collections::{BTreeMap, HashSet, VecDeque};

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use parking_lot::Mutex;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{phase, result_value, user_of, Phase};
use crate::{Hook, HookContext, HookError, HookMetadata, HookResult, Priority, Result};

/// OpenTelemetry GenAI attribute for prompt tokens.
pub const INPUT_TOKENS_KEY: &str = "gen_ai.usage.input_tokens";
/// OpenTelemetry GenAI attribute for completion tokens.
pub const OUTPUT_TOKENS_KEY: &str = "gen_ai.usage.output_tokens";
/// OpenTelemetry GenAI attribute for the requested model.
pub const MODEL_KEY: &str = "gen_ai.request.model";
/// OpenTelemetry GenAI attribute for the model that answered (used when the
/// request model is absent).
pub const RESPONSE_MODEL_KEY: &str = "gen_ai.response.model";

/// Price of one model in US dollars per million tokens.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ModelPricing {
    /// USD per 1M input (prompt) tokens.
    pub input_per_million: f64,
    /// USD per 1M output (completion) tokens.
    pub output_per_million: f64,
}

impl ModelPricing {
    /// A price in USD per million input and output tokens.
    #[must_use]
    pub const fn new(input_per_million: f64, output_per_million: f64) -> Self {
        Self {
            input_per_million,
            output_per_million,
        }
    }

    /// The cost in USD of a call.
    #[must_use]
    pub fn cost(&self, input_tokens: u64, output_tokens: u64) -> f64 {
        #[allow(clippy::cast_precision_loss)] // token counts are far below 2^52
        let (i, o) = (input_tokens as f64, output_tokens as f64);
        (i * self.input_per_million + o * self.output_per_million) / 1_000_000.0
    }
}

/// List prices (USD per 1M tokens, input/output) of common models as
/// published by their vendors in 2025. Prices change: override them with
/// [`PricingTable::set`].
const DEFAULT_PRICES: &[(&str, f64, f64)] = &[
    ("gpt-4o", 2.50, 10.00),
    ("gpt-4o-mini", 0.15, 0.60),
    ("gpt-4.1", 2.00, 8.00),
    ("gpt-4.1-mini", 0.40, 1.60),
    ("gpt-4.1-nano", 0.10, 0.40),
    ("gpt-4-turbo", 10.00, 30.00),
    ("gpt-3.5-turbo", 0.50, 1.50),
    ("o1", 15.00, 60.00),
    ("o3-mini", 1.10, 4.40),
    ("claude-3-5-sonnet", 3.00, 15.00),
    ("claude-3-7-sonnet", 3.00, 15.00),
    ("claude-sonnet-4", 3.00, 15.00),
    ("claude-3-5-haiku", 0.80, 4.00),
    ("claude-3-haiku", 0.25, 1.25),
    ("claude-3-opus", 15.00, 75.00),
    ("claude-opus-4", 15.00, 75.00),
    ("gemini-1.5-pro", 1.25, 5.00),
    ("gemini-1.5-flash", 0.075, 0.30),
    ("gemini-2.0-flash", 0.10, 0.40),
    ("mistral-large", 2.00, 6.00),
];

/// Prices per model. A model is priced by its exact name, else by the
/// longest known name it starts with (`gpt-4o-2024-08-06` → `gpt-4o`,
/// `gpt-4o-mini-x` → `gpt-4o-mini`), else by the fallback price if set.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PricingTable {
    models: BTreeMap<String, ModelPricing>,
    fallback: Option<ModelPricing>,
}

impl Default for PricingTable {
    /// The default prices of common OpenAI, Anthropic, Google and Mistral
    /// models; no fallback.
    fn default() -> Self {
        Self {
            models: DEFAULT_PRICES
                .iter()
                .map(|(m, i, o)| ((*m).to_owned(), ModelPricing::new(*i, *o)))
                .collect(),
            fallback: None,
        }
    }
}

impl PricingTable {
    /// A table with no prices.
    #[must_use]
    pub fn empty() -> Self {
        Self {
            models: BTreeMap::new(),
            fallback: None,
        }
    }

    /// Sets the price of `model` (or a model-name prefix).
    #[must_use]
    pub fn set(mut self, model: impl Into<String>, pricing: ModelPricing) -> Self {
        self.models.insert(model.into(), pricing);
        self
    }

    /// The price used for models the table does not know.
    #[must_use]
    pub fn fallback(mut self, pricing: ModelPricing) -> Self {
        self.fallback = Some(pricing);
        self
    }

    /// The price of `model`.
    #[must_use]
    pub fn lookup(&self, model: &str) -> Option<ModelPricing> {
        if let Some(p) = self.models.get(model) {
            return Some(*p);
        }
        self.models
            .iter()
            .filter(|(name, _)| model.starts_with(name.as_str()))
            .max_by_key(|(name, _)| name.len())
            .map(|(_, p)| *p)
            .or(self.fallback)
    }
}

/// What a budget limits.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "scope", content = "name", rename_all = "snake_case")]
pub enum BudgetScope {
    /// All spending.
    Global,
    /// Spending of one component (by name).
    Component(String),
    /// Spending of one user (metadata `user_id` / `user`).
    User(String),
    /// Spending on one model (exact name as reported).
    Model(String),
}

/// A spending limit in USD: a warning once `warn_at` is reached, and a
/// `Cancel` for every further call in scope once `limit` is reached.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Budget {
    /// What the budget covers.
    pub scope: BudgetScope,
    /// Spending (USD) that raises a warning.
    pub warn_at: f64,
    /// Spending (USD) at which calls are cancelled.
    pub limit: f64,
}

impl Budget {
    /// A budget for `scope` warning at `warn_at` and blocking at `limit` USD.
    #[must_use]
    pub fn new(scope: BudgetScope, warn_at: f64, limit: f64) -> Self {
        Self {
            scope,
            warn_at,
            limit,
        }
    }
}

/// One priced call.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct CostRecord {
    /// When it was recorded.
    pub timestamp: DateTime<Utc>,
    /// The component's name.
    pub component: String,
    /// The user, if known.
    pub user: Option<String>,
    /// The model.
    pub model: String,
    /// Input tokens.
    pub input_tokens: u64,
    /// Output tokens.
    pub output_tokens: u64,
    /// Cost in USD (0 when the model has no price).
    pub cost_usd: f64,
}

/// Spending so far, in USD.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct CostSummary {
    /// Total spending.
    pub total_usd: f64,
    /// Priced calls.
    pub calls: u64,
    /// Input tokens over all calls.
    pub input_tokens: u64,
    /// Output tokens over all calls.
    pub output_tokens: u64,
    /// Spending per component name.
    pub by_component: BTreeMap<String, f64>,
    /// Spending per user.
    pub by_user: BTreeMap<String, f64>,
    /// Spending per model.
    pub by_model: BTreeMap<String, f64>,
}

/// Configuration of a [`CostTrackingHook`].
#[derive(Debug, Clone)]
#[must_use]
pub struct CostTrackingConfig {
    pricing: PricingTable,
    budgets: Vec<Budget>,
    history_capacity: usize,
    rates: BTreeMap<String, f64>,
}

impl Default for CostTrackingConfig {
    /// Default prices, no budgets, 10 000 history records, rates for USD
    /// only.
    fn default() -> Self {
        Self {
            pricing: PricingTable::default(),
            budgets: Vec::new(),
            history_capacity: 10_000,
            rates: BTreeMap::from([("USD".to_owned(), 1.0)]),
        }
    }
}

impl CostTrackingConfig {
    /// The defaults.
    pub fn new() -> Self {
        Self::default()
    }

    /// The pricing table.
    pub fn pricing(mut self, pricing: PricingTable) -> Self {
        self.pricing = pricing;
        self
    }

    /// Adds a budget.
    pub fn budget(mut self, budget: Budget) -> Self {
        self.budgets.push(budget);
        self
    }

    /// How many cost records are kept.
    pub fn history_capacity(mut self, n: usize) -> Self {
        self.history_capacity = n;
        self
    }

    /// How many units of `currency` one USD buys (e.g. `("EUR", 0.92)`).
    pub fn exchange_rate(mut self, currency: impl Into<String>, per_usd: f64) -> Self {
        self.rates
            .insert(currency.into().to_ascii_uppercase(), per_usd);
        self
    }

    /// The hook.
    ///
    /// # Errors
    /// [`HookError::InvalidConfig`] for a budget whose thresholds are
    /// negative or whose warning lies above its limit, or a rate that is not
    /// positive.
    pub fn build(self) -> Result<CostTrackingHook> {
        for b in &self.budgets {
            let ok = b.warn_at >= 0.0 && b.limit >= 0.0 && b.warn_at <= b.limit;
            if !ok {
                return Err(HookError::InvalidConfig {
                    field: "budget",
                    reason: format!(
                        "budget {:?} has warn_at {} and limit {}; both must be >= 0 and warn_at <= limit",
                        b.scope, b.warn_at, b.limit
                    ),
                });
            }
        }
        if let Some((c, r)) = self.rates.iter().find(|(_, r)| r.is_nan() || **r <= 0.0) {
            return Err(HookError::InvalidConfig {
                field: "exchange rate",
                reason: format!("rate for {c} is {r}; rates must be > 0"),
            });
        }
        Ok(CostTrackingHook {
            config: self,
            state: Mutex::new(State::default()),
        })
    }
}

#[derive(Debug, Default)]
struct State {
    summary: CostSummary,
    history: VecDeque<CostRecord>,
    warned: HashSet<usize>,
}

impl State {
    fn spent(&self, scope: &BudgetScope) -> f64 {
        let s = &self.summary;
        match scope {
            BudgetScope::Global => s.total_usd,
            BudgetScope::Component(c) => s.by_component.get(c).copied().unwrap_or(0.0),
            BudgetScope::User(u) => s.by_user.get(u).copied().unwrap_or(0.0),
            BudgetScope::Model(m) => s.by_model.get(m).copied().unwrap_or(0.0),
        }
    }
}

/// Prices LLM calls from the token usage found in the context and enforces
/// budgets.
///
/// Usage is read from the OpenTelemetry GenAI keys
/// [`INPUT_TOKENS_KEY`], [`OUTPUT_TOKENS_KEY`] and [`MODEL_KEY`] (or
/// [`RESPONSE_MODEL_KEY`]), looked up in the context data, then in the
/// operation result object, then in the metadata. Whenever usage is found
/// the call is priced, aggregated (per component, user and model), appended
/// to the history, and `cost.usd` / `cost.total_usd` are set in the context
/// metadata; crossing a budget's `warn_at` logs a warning once and sets
/// `cost.budget_warning`. At Before* points a budget in scope whose limit is
/// reached cancels the call.
///
/// ```
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// use llmspell_hooks::builtin::{Budget, BudgetScope, CostTrackingConfig};
/// use llmspell_hooks::{ComponentId, ComponentType, Hook, HookContext, HookPoint};
/// use serde_json::json;
///
/// let hook = CostTrackingConfig::new()
///     .budget(Budget::new(BudgetScope::Global, 5.0, 10.0))
///     .build()
///     .unwrap();
/// let agent = ComponentId::new(ComponentType::Agent, "writer");
/// let mut after = HookContext::builder(HookPoint::AfterAgentExecution, agent)
///     .data("gen_ai.request.model", json!("gpt-4o"))
///     .data("gen_ai.usage.input_tokens", json!(1_000_000))
///     .data("gen_ai.usage.output_tokens", json!(100_000))
///     .build();
/// hook.execute(&mut after).await.unwrap();
/// assert!((hook.summary().total_usd - 3.5).abs() < 1e-9);
/// # });
/// ```
#[derive(Debug)]
pub struct CostTrackingHook {
    config: CostTrackingConfig,
    state: Mutex<State>,
}

impl Default for CostTrackingHook {
    fn default() -> Self {
        Self {
            config: CostTrackingConfig::default(),
            state: Mutex::new(State::default()),
        }
    }
}

struct Usage {
    model: String,
    input: u64,
    output: u64,
}

fn lookup<'a>(ctx: &'a HookContext, key: &str) -> Option<std::borrow::Cow<'a, Value>> {
    use std::borrow::Cow;
    if let Some(v) = ctx.data.get(key) {
        return Some(Cow::Borrowed(v));
    }
    if let Some(v) = result_value(ctx).and_then(|r| r.get(key)) {
        return Some(Cow::Borrowed(v));
    }
    ctx.get_metadata(key).map(|s| {
        Cow::Owned(serde_json::from_str(s).unwrap_or_else(|_| Value::String(s.to_owned())))
    })
}

fn as_tokens(v: &Value) -> Option<u64> {
    match v {
        Value::Number(n) => n.as_u64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

fn usage(ctx: &HookContext) -> Option<Usage> {
    let input = lookup(ctx, INPUT_TOKENS_KEY).and_then(|v| as_tokens(&v));
    let output = lookup(ctx, OUTPUT_TOKENS_KEY).and_then(|v| as_tokens(&v));
    if input.is_none() && output.is_none() {
        return None;
    }
    let model = lookup(ctx, MODEL_KEY)
        .or_else(|| lookup(ctx, RESPONSE_MODEL_KEY))
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_else(|| "unknown".to_owned());
    Some(Usage {
        model,
        input: input.unwrap_or(0),
        output: output.unwrap_or(0),
    })
}

impl CostTrackingHook {
    /// A cost tracker with the default configuration.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Spending so far, in USD.
    #[must_use]
    pub fn summary(&self) -> CostSummary {
        self.state.lock().summary.clone()
    }

    /// The recorded calls, oldest first.
    #[must_use]
    pub fn history(&self) -> Vec<CostRecord> {
        self.state.lock().history.iter().cloned().collect()
    }

    /// `usd` in `currency` (ISO code, any case) using the configured rates.
    ///
    /// # Errors
    /// [`HookError::InvalidConfig`] naming the known currencies when
    /// `currency` has no rate.
    pub fn convert(&self, usd: f64, currency: &str) -> Result<f64> {
        let code = currency.to_ascii_uppercase();
        self.config
            .rates
            .get(&code)
            .map(|r| usd * r)
            .ok_or_else(|| HookError::InvalidConfig {
                field: "currency",
                reason: format!(
                    "no exchange rate for `{currency}`; known: {}",
                    self.config
                        .rates
                        .keys()
                        .cloned()
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            })
    }

    /// Total spending in `currency`.
    ///
    /// # Errors
    /// As [`CostTrackingHook::convert`].
    pub fn total_in(&self, currency: &str) -> Result<f64> {
        self.convert(self.summary().total_usd, currency)
    }

    /// Forgets all spending, history and warnings (e.g. at the start of a
    /// billing period).
    pub fn reset(&self) {
        *self.state.lock() = State::default();
    }

    fn in_scope(
        scope: &BudgetScope,
        component: &str,
        user: Option<&str>,
        model: Option<&str>,
    ) -> bool {
        match scope {
            BudgetScope::Global => true,
            BudgetScope::Component(c) => c == component,
            BudgetScope::User(u) => user == Some(u.as_str()),
            BudgetScope::Model(m) => model == Some(m.as_str()),
        }
    }

    fn check_limits(&self, ctx: &HookContext) -> Option<String> {
        if self.config.budgets.is_empty() {
            return None;
        }
        let model = lookup(ctx, MODEL_KEY).and_then(|v| v.as_str().map(str::to_owned));
        let state = self.state.lock();
        self.config.budgets.iter().find_map(|b| {
            if !Self::in_scope(
                &b.scope,
                &ctx.component.name,
                user_of(ctx),
                model.as_deref(),
            ) {
                return None;
            }
            let spent = state.spent(&b.scope);
            (spent >= b.limit).then(|| {
                format!(
                    "cost budget {:?} exceeded: spent ${spent:.4} of ${:.4}",
                    b.scope, b.limit
                )
            })
        })
    }

    fn record(&self, ctx: &mut HookContext, u: Usage) {
        let cost = self
            .config
            .pricing
            .lookup(&u.model)
            .map_or(0.0, |p| p.cost(u.input, u.output));
        let component = ctx.component.name.clone();
        let user = user_of(ctx).map(str::to_owned);
        let mut warnings = Vec::new();
        let total = {
            let mut st = self.state.lock();
            let s = &mut st.summary;
            s.total_usd += cost;
            s.calls += 1;
            s.input_tokens = s.input_tokens.saturating_add(u.input);
            s.output_tokens = s.output_tokens.saturating_add(u.output);
            *s.by_component.entry(component.clone()).or_default() += cost;
            *s.by_model.entry(u.model.clone()).or_default() += cost;
            if let Some(user) = &user {
                *s.by_user.entry(user.clone()).or_default() += cost;
            }
            let total = s.total_usd;
            for (i, b) in self.config.budgets.iter().enumerate() {
                if Self::in_scope(&b.scope, &component, user.as_deref(), Some(&u.model))
                    && st.spent(&b.scope) >= b.warn_at
                    && st.warned.insert(i)
                {
                    warnings.push(format!(
                        "cost budget {:?}: spent ${:.4}, warning at ${:.4}, limit ${:.4}",
                        b.scope,
                        st.spent(&b.scope),
                        b.warn_at,
                        b.limit
                    ));
                }
            }
            if self.config.history_capacity > 0 {
                while st.history.len() >= self.config.history_capacity {
                    st.history.pop_front();
                }
                st.history.push_back(CostRecord {
                    timestamp: Utc::now(),
                    component,
                    user,
                    model: u.model.clone(),
                    input_tokens: u.input,
                    output_tokens: u.output,
                    cost_usd: cost,
                });
            }
            total
        };
        if cost == 0.0 && self.config.pricing.lookup(&u.model).is_none() {
            tracing::warn!(target: "llmspell_hooks::cost", model = %u.model, "no price for model; counted as 0");
            ctx.insert_metadata("cost.unpriced_model", u.model);
        }
        for w in &warnings {
            tracing::warn!(target: "llmspell_hooks::cost", "{w}");
        }
        if !warnings.is_empty() {
            ctx.insert_metadata("cost.budget_warning", warnings.join("; "));
        }
        ctx.insert_metadata("cost.usd", format!("{cost:.6}"));
        ctx.insert_metadata("cost.total_usd", format!("{total:.6}"));
    }
}

#[async_trait]
impl Hook for CostTrackingHook {
    async fn execute(&self, ctx: &mut HookContext) -> Result<HookResult> {
        if phase(&ctx.point) == Phase::Before {
            if let Some(reason) = self.check_limits(ctx) {
                ctx.insert_metadata("cost.budget_exceeded", reason.clone());
                return Ok(HookResult::Cancel(reason));
            }
            return Ok(HookResult::Continue);
        }
        if let Some(u) = usage(ctx) {
            self.record(ctx, u);
        }
        Ok(HookResult::Continue)
    }

    fn metadata(&self) -> HookMetadata {
        HookMetadata::new("builtin.cost_tracking")
            .with_priority(Priority::HIGH)
            .with_tag("builtin")
            .with_tag("cost")
            .with_description("prices LLM token usage and enforces budgets")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn longest_prefix_pricing() {
        let t = PricingTable::default();
        assert_eq!(t.lookup("gpt-4o-2024-08-06"), t.lookup("gpt-4o"));
        assert_eq!(t.lookup("gpt-4o-mini-2024"), t.lookup("gpt-4o-mini"));
        assert_ne!(t.lookup("gpt-4o-mini"), t.lookup("gpt-4o"));
        assert_eq!(t.lookup("llama-local"), None);
        let f = ModelPricing::new(1.0, 1.0);
        assert_eq!(PricingTable::empty().fallback(f).lookup("x"), Some(f));
    }

    #[test]
    fn bad_budgets_are_refused() {
        let e = CostTrackingConfig::new()
            .budget(Budget::new(BudgetScope::Global, 5.0, 1.0))
            .build()
            .unwrap_err();
        assert!(e.to_string().contains("warn_at <= limit"), "{e}");
    }
}
