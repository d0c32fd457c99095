//! Remote hooks over a real `nats-server` (skipped with a notice when it is
//! not installed, unless `LLMSPELL_REQUIRE_NATS=1`).

use std::time::Duration;

use futures::StreamExt;
use llmspell_events::nats::NatsServer;
use llmspell_hooks::remote::hook_subject;
use llmspell_hooks::{
    async_hook_fn, hook_fn, ComponentId, ComponentType, ContextSigner, HookContext, HookHandle,
    HookOutcome, HookPoint, HookResult, HookServer, HookServerConfig, Hooks, RemoteHook,
};
use serde_json::json;

const KEY: &[u8] = b"0123456789abcdef0123456789abcdef";
const OTHER_KEY: &[u8] = b"fedcba9876543210fedcba9876543210";
const POINT: HookPoint = HookPoint::BeforeToolExecution;

fn signer(key: &[u8]) -> ContextSigner {
    ContextSigner::new(key).unwrap()
}

fn ctx() -> HookContext {
    HookContext::builder(POINT, ComponentId::new(ComponentType::Tool, "file_reader"))
        .data("tool_name", json!("file_reader"))
        .data("parameters", json!({"path": "/etc/passwd"}))
        .build()
}

/// A process serving hooks: hooks registered on its own `Hooks`.
async fn serve(url: &str, hooks: &Hooks) -> HookServer {
    let client = async_nats::connect(url).await.unwrap();
    HookServer::serve(
        client,
        signer(KEY),
        hooks.clone(),
        vec![POINT],
        HookServerConfig::new(),
    )
    .await
    .unwrap()
}

/// The calling process: a RemoteHook registered at POINT.
async fn caller(
    url: &str,
    key: &[u8],
    timeout: Duration,
    fail_closed: bool,
) -> (Hooks, HookHandle) {
    let client = async_nats::connect(url).await.unwrap();
    let remote = RemoteHook::new(client, signer(key))
        .timeout(timeout)
        .fail_closed(fail_closed);
    let hooks = Hooks::new();
    let options = remote.register_options();
    let handle = hooks.register_with(POINT, remote, options).unwrap();
    (hooks, handle)
}

fn failures(hooks: &Hooks, handle: &HookHandle) -> u64 {
    hooks.registry().get(handle).unwrap().performance().failures
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_remote_hook_modifies_the_data() {
    let Some(server) = NatsServer::start().unwrap() else {
        return;
    };
    let remote_side = Hooks::new();
    remote_side
        .register(
            POINT,
            hook_fn("sandbox", |ctx| {
                assert_eq!(
                    ctx.get_metadata("distributed.remote_agent_id"),
                    Some("llmspell-hooks")
                );
                let mut data = ctx.data.clone();
                data.insert("parameters".into(), json!({"path": "/tmp/safe"}));
                Ok(HookResult::Modified(data))
            }),
        )
        .unwrap();
    let _srv = serve(&server.url(), &remote_side).await;
    let (hooks, handle) = caller(&server.url(), KEY, Duration::from_secs(5), true).await;
    let mut c = ctx();
    let outcome = hooks.fire(&mut c).await;
    assert_eq!(outcome, HookOutcome::Continue);
    assert_eq!(c.data["parameters"], json!({"path": "/tmp/safe"}));
    assert_eq!(failures(&hooks, &handle), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_remote_hook_cancels() {
    let Some(server) = NatsServer::start().unwrap() else {
        return;
    };
    let remote_side = Hooks::new();
    remote_side
        .register(
            POINT,
            hook_fn("deny", |_| Ok(HookResult::cancel("outside /tmp"))),
        )
        .unwrap();
    let _srv = serve(&server.url(), &remote_side).await;
    let (hooks, _) = caller(&server.url(), KEY, Duration::from_secs(5), false).await;
    match hooks.fire(&mut ctx()).await {
        HookOutcome::Cancelled { reason, .. } => assert_eq!(reason, "outside /tmp"),
        other => panic!("expected a cancel, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_timeout_is_fail_open_or_fail_closed_and_counts_for_the_breaker() {
    let Some(server) = NatsServer::start().unwrap() else {
        return;
    };
    let remote_side = Hooks::new();
    remote_side
        .register(
            POINT,
            async_hook_fn("slow", |_| async {
                tokio::time::sleep(Duration::from_secs(2)).await;
                Ok(HookResult::cancel("too late"))
            }),
        )
        .unwrap();
    let _srv = serve(&server.url(), &remote_side).await;

    let (open, handle) = caller(&server.url(), KEY, Duration::from_millis(200), false).await;
    let mut c = ctx();
    assert_eq!(
        open.fire(&mut c).await,
        HookOutcome::Continue,
        "fail-open goes on"
    );
    assert_eq!(c.data["parameters"], json!({"path": "/etc/passwd"}));
    assert_eq!(failures(&open, &handle), 1);
    let perf = open.registry().get(&handle).unwrap().performance();
    assert_eq!(perf.timeouts + perf.errors, 1, "{perf:?}");

    let (closed, handle) = caller(&server.url(), KEY, Duration::from_millis(200), true).await;
    match closed.fire(&mut ctx()).await {
        HookOutcome::Cancelled { reason, .. } => assert!(reason.contains("timed out"), "{reason}"),
        other => panic!("fail-closed must cancel, got {other:?}"),
    }
    assert_eq!(failures(&closed, &handle), 1);

    // No server at all for a point: the same rule.
    drop(_srv);
    let (open, handle) = caller(&server.url(), KEY, Duration::from_millis(500), false).await;
    assert_eq!(open.fire(&mut ctx()).await, HookOutcome::Continue);
    assert_eq!(failures(&open, &handle), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_forged_or_replayed_reply_is_refused() {
    let Some(server) = NatsServer::start().unwrap() else {
        return;
    };
    let url = server.url();
    // A real server, to capture one valid reply.
    let remote_side = Hooks::new();
    remote_side
        .register(POINT, hook_fn("ok", |_| Ok(HookResult::Continue)))
        .unwrap();
    let srv = serve(&url, &remote_side).await;
    let client = async_nats::connect(&url).await.unwrap();
    let request = signer(KEY)
        .sign(llmspell_hooks::DistributedHookContext::new(
            &ctx(),
            "llmspell-hooks",
            llmspell_hooks::PropagationFlags::default(),
        ))
        .to_json()
        .unwrap();
    let valid_reply = client
        .request(hook_subject("llmspell", &POINT), request.into())
        .await
        .unwrap()
        .payload;
    drop(srv);

    // An impostor answers: first with a reply signed by another key
    // claiming Replace, then with the replayed valid reply.
    let impostor = async_nats::connect(&url).await.unwrap();
    let mut sub = impostor
        .subscribe(hook_subject("llmspell", &POINT))
        .await
        .unwrap();
    impostor.flush().await.unwrap();
    let replay = valid_reply.clone();
    let task = tokio::spawn(async move {
        let mut n = 0;
        while let Some(msg) = sub.next().await {
            let body = if n == 0 {
                // Re-sign the valid reply's shape with the wrong key.
                let mut v: serde_json::Value = serde_json::from_slice(&replay).unwrap();
                v["result"] = json!({"type": "replace", "value": "pwned"});
                v["signature"] = json!(hex_sig(OTHER_KEY, &v));
                serde_json::to_vec(&v).unwrap()
            } else {
                replay.to_vec()
            };
            n += 1;
            impostor
                .publish(msg.reply.unwrap(), body.into())
                .await
                .unwrap();
        }
    });
    let (closed, handle) = caller(&url, KEY, Duration::from_secs(5), true).await;
    for expected in ["signature", "another request"] {
        match closed.fire(&mut ctx()).await {
            HookOutcome::Cancelled { reason, .. } => {
                assert!(reason.contains(expected), "{expected}: {reason}");
            }
            other => panic!("a forged reply must be refused, got {other:?}"),
        }
    }
    assert_eq!(failures(&closed, &handle), 2);
    task.abort();
}

/// HMAC-SHA256 over the canonical JSON (keys sorted, no whitespace) of
/// `v` without its signature, as a signer holding `key` makes it.
fn hex_sig(key: &[u8], v: &serde_json::Value) -> String {
    use hmac::{Hmac, Mac};
    let mut v = v.clone();
    v.as_object_mut().unwrap().remove("signature");
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(key).unwrap();
    mac.update(canonical(&v).as_bytes());
    hex::encode(mac.finalize().into_bytes())
}

fn canonical(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::Object(m) => {
            let mut keys: Vec<_> = m.keys().collect();
            keys.sort();
            let parts: Vec<String> = keys
                .into_iter()
                .map(|k| format!("{}:{}", serde_json::to_string(k).unwrap(), canonical(&m[k])))
                .collect();
            format!("{{{}}}", parts.join(","))
        }
        serde_json::Value::Array(a) => {
            format!(
                "[{}]",
                a.iter().map(canonical).collect::<Vec<_>>().join(",")
            )
        }
        other => other.to_string(),
    }
}
