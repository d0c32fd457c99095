//! A hooked agent in a few lines: one hook audits what each execution is
//! asked, another reads the token usage of its answer.
//!
//! Runs offline: the model's answer comes from the transcript recorded for
//! `examples/lua/agent_basics.lua`. With `OPENAI_API_KEY` set, write
//! `openai/gpt-4o-mini` instead of `replay/gpt-4o-mini` to ask a live model.
//!
//! ```sh
//! cargo run -p llmspell-agents --example hooked_agent
//! ```

use llmspell_agents::{Agent, AgentConfig, LlmAgent};
use llmspell_hooks::{hook_fn, HookPoint, HookResult, Hooks};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let hooks = Hooks::new();
    hooks.register(
        HookPoint::BeforeAgentExecution,
        hook_fn("audit", |ctx| {
            println!(
                "{} is asked: {}",
                ctx.data["agent_name"], ctx.data["input"]["text"]
            );
            Ok(HookResult::Continue)
        }),
    )?;
    hooks.register(
        HookPoint::AfterAgentExecution,
        hook_fn("tokens", |ctx| {
            println!(
                "tokens used: {}",
                ctx.data["output"]["usage"]["total_tokens"]
            );
            Ok(HookResult::Continue)
        }),
    )?;

    let transcript = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../examples/lua/transcripts/agent_basics.json"
    );
    let config = AgentConfig::new("writer", "replay/gpt-4o-mini")
        .transcript(transcript)
        .system_prompt("You are a concise technical writer.")
        .temperature(0.3);
    let agent = LlmAgent::builder(config).hooks(&hooks).build().await?;

    let answer = agent
        .invoke("Explain what a hook is in one sentence.".into())
        .await?;
    println!("{}", answer.text);
    agent.terminate().await?;
    Ok(())
}
