//! CostTrackingHook: pricing from GenAI usage, aggregation, budgets that
//! warn and cancel, currency conversion.

use std::sync::Arc;

use llmspell_hooks::builtin::{
    Budget, BudgetScope, CostTrackingConfig, CostTrackingHook, ModelPricing, PricingTable,
};
use llmspell_hooks::{
    ComponentId, ComponentType, HookContext, HookExecutor, HookOutcome, HookPoint, HookRegistry,
};
use serde_json::json;

struct Agent {
    executor: HookExecutor,
    id: ComponentId,
}

impl Agent {
    fn new(name: &str, hook: Arc<CostTrackingHook>) -> Self {
        let registry = Arc::new(HookRegistry::new());
        for p in [
            HookPoint::BeforeAgentExecution,
            HookPoint::AfterAgentExecution,
        ] {
            registry.register(p, hook.clone()).unwrap();
        }
        Self {
            executor: HookExecutor::new(registry),
            id: ComponentId::new(ComponentType::Agent, name),
        }
    }

    /// One LLM call reporting usage in the result; `None` when cancelled.
    async fn run(
        &self,
        user: &str,
        model: &str,
        input: u64,
        output: u64,
    ) -> Result<HookContext, String> {
        let before = HookContext::builder(HookPoint::BeforeAgentExecution, self.id.clone())
            .metadata("user_id", user)
            .data("gen_ai.request.model", json!(model))
            .build();
        let mut b = before.clone();
        if let HookOutcome::Cancelled { reason, .. } = self.executor.execute_context(&mut b).await {
            return Err(reason);
        }
        let mut after = before.child(HookPoint::AfterAgentExecution);
        after.insert(
            "output",
            json!({"text": "hi", "gen_ai.usage.input_tokens": input, "gen_ai.usage.output_tokens": output}),
        );
        let _ = self.executor.execute_context(&mut after).await;
        Ok(after)
    }
}

#[tokio::test]
async fn prices_usage_and_aggregates_per_component_user_and_model() {
    let hook = Arc::new(CostTrackingHook::new());
    let writer = Agent::new("writer", hook.clone());
    let critic = Agent::new("critic", hook.clone());
    let ctx = writer
        .run("ann", "gpt-4o-2024-08-06", 1_000_000, 0)
        .await
        .unwrap();
    assert_eq!(ctx.get_metadata("cost.usd"), Some("2.500000"));
    critic
        .run("bob", "claude-3-5-haiku-latest", 0, 1_000_000)
        .await
        .unwrap();
    writer
        .run("bob", "gpt-4o-mini", 2_000_000, 1_000_000)
        .await
        .unwrap();

    let s = hook.summary();
    assert_eq!(s.calls, 3);
    assert_eq!((s.input_tokens, s.output_tokens), (3_000_000, 2_000_000));
    let close = |a: f64, b: f64| (a - b).abs() < 1e-9;
    assert!(close(s.total_usd, 2.5 + 4.0 + 0.3 + 0.6), "{s:?}");
    assert!(close(s.by_component["writer"], 3.4));
    assert!(close(s.by_component["critic"], 4.0));
    assert!(close(s.by_user["bob"], 4.9));
    assert!(close(s.by_model["gpt-4o-mini"], 0.9));
    let h = hook.history();
    assert_eq!(h.len(), 3);
    assert_eq!(h[1].model, "claude-3-5-haiku-latest");
    assert_eq!(h[1].user.as_deref(), Some("bob"));
}

#[tokio::test]
async fn a_budget_warns_then_cancels_when_exceeded() {
    let hook = Arc::new(
        CostTrackingConfig::new()
            .pricing(PricingTable::empty().set("m", ModelPricing::new(1.0, 1.0)))
            .budget(Budget::new(BudgetScope::User("ann".into()), 1.5, 2.0))
            .build()
            .unwrap(),
    );
    let agent = Agent::new("writer", hook.clone());
    let first = agent.run("ann", "m", 1_000_000, 0).await.unwrap();
    assert!(first.get_metadata("cost.budget_warning").is_none());
    let second = agent.run("ann", "m", 600_000, 0).await.unwrap();
    assert!(second
        .get_metadata("cost.budget_warning")
        .unwrap()
        .contains("User(\"ann\")"));
    agent.run("ann", "m", 500_000, 0).await.unwrap();
    // $2.10 spent: the next call of ann is cancelled before it runs; bob is not limited.
    let reason = agent.run("ann", "m", 1, 1).await.unwrap_err();
    assert!(reason.contains("exceeded"), "{reason}");
    assert!(agent.run("bob", "m", 1, 1).await.is_ok());
    assert_eq!(hook.history().len(), 4);
    hook.reset();
    assert!(agent.run("ann", "m", 1, 1).await.is_ok());
}

#[tokio::test]
async fn global_and_model_budgets_and_usage_in_metadata() {
    let hook = Arc::new(
        CostTrackingConfig::new()
            .budget(Budget::new(BudgetScope::Model("gpt-4o".into()), 0.0, 1.0))
            .build()
            .unwrap(),
    );
    let agent = Agent::new("a", hook.clone());
    agent.run("u", "gpt-4o", 400_000, 0).await.unwrap();
    assert!(agent.run("u", "gpt-4o", 1, 0).await.is_err());
    assert!(agent.run("u", "gpt-4o-mini", 1, 0).await.is_ok());

    // Usage passed as metadata strings (e.g. from a script) counts too.
    let hook = CostTrackingHook::new();
    let mut ctx = HookContext::builder(
        HookPoint::AfterAgentExecution,
        ComponentId::new(ComponentType::Agent, "a"),
    )
    .metadata("gen_ai.request.model", "o3-mini")
    .metadata("gen_ai.usage.input_tokens", "1000000")
    .metadata("gen_ai.usage.output_tokens", "1000000")
    .build();
    llmspell_hooks::Hook::execute(&hook, &mut ctx)
        .await
        .unwrap();
    assert!((hook.summary().total_usd - 5.5).abs() < 1e-9);
}

#[tokio::test]
async fn unknown_models_count_tokens_at_zero_cost_and_currencies_convert() {
    let hook = Arc::new(
        CostTrackingConfig::new()
            .exchange_rate("eur", 0.5)
            .build()
            .unwrap(),
    );
    let agent = Agent::new("a", hook.clone());
    let ctx = agent.run("u", "my-local-llama", 10, 10).await.unwrap();
    assert_eq!(
        ctx.get_metadata("cost.unpriced_model"),
        Some("my-local-llama")
    );
    agent.run("u", "gpt-4o", 1_000_000, 0).await.unwrap();
    assert!((hook.total_in("EUR").unwrap() - 1.25).abs() < 1e-9);
    assert!((hook.total_in("usd").unwrap() - 2.5).abs() < 1e-9);
    let e = hook.total_in("JPY").unwrap_err().to_string();
    assert!(e.contains("EUR") && e.contains("USD"), "{e}");
    assert!(CostTrackingConfig::new()
        .exchange_rate("X", 0.0)
        .build()
        .is_err());
}
