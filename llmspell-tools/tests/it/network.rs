//! The nine web tools and the network policy, against a real HTTP server
//! on loopback (`llmspell_tools::testing::WebServer`) started by each test.

use std::sync::Arc;
use std::time::{Duration, Instant};

use hmac::Mac as _;
use llmspell_storage::{MemoryBackend, StorageBackend};
use llmspell_tools::testing::WebServer;
use llmspell_tools::{
    NetworkPolicy, Result, SearchProviderConfig, ToolError, ToolRegistry, ToolRuntime, ToolsConfig,
    ToolsConfigBuilder,
};
use serde_json::{json, Value};

use crate::common::{assert_invalid, assert_policy, call_in};

/// The web tools' names.
pub(crate) const NETWORK: [&str; 9] = [
    "api_tester",
    "graphql_query",
    "http_request",
    "sitemap_crawler",
    "url_analyzer",
    "web_scraper",
    "web_search",
    "webhook_caller",
    "webpage_monitor",
];

struct Net {
    server: WebServer,
    registry: ToolRegistry,
}

impl Net {
    /// A server and tools allowed to reach 127.0.0.1 (only).
    async fn start() -> Self {
        Self::with(|b| b).await
    }

    async fn with(configure: impl FnOnce(ToolsConfigBuilder) -> ToolsConfigBuilder) -> Self {
        let server = WebServer::start().await.unwrap();
        let builder = ToolsConfig::builder()
            .allow_host("127.0.0.1")
            .search_provider(SearchProviderConfig::searxng(server.url("/searxng")))
            .search_provider(SearchProviderConfig::brave_at(
                server.url("/brave"),
                "test-key",
            ));
        let config = configure(builder).build().unwrap();
        Self {
            registry: ToolRegistry::with_standard_tools(&config).unwrap(),
            server,
        }
    }

    async fn call(&self, name: &str, params: Value) -> Result<Value> {
        call_in(&self.registry, name, params).await
    }

    fn url(&self, path: &str) -> String {
        self.server.url(path)
    }
}

/// A registry under the default (public-only) policy.
fn locked() -> ToolRegistry {
    ToolRegistry::with_standard_tools(&ToolsConfig::default()).unwrap()
}

// ---------------------------------------------------------------- policy

#[tokio::test]
async fn loopback_private_and_metadata_addresses_are_refused_by_default() {
    let server = WebServer::start().await.unwrap();
    let reg = locked();
    let port = server.addr().port();
    for (url, rule) in [
        (server.url("/json"), "loopback_address"),
        (format!("http://[::1]:{port}/json"), "loopback_address"),
        (
            format!("http://[::ffff:127.0.0.1]:{port}/json"),
            "loopback_address",
        ),
        ("http://10.0.0.1/".to_owned(), "private_address"),
        ("http://192.168.1.10/".to_owned(), "private_address"),
        ("http://[fd00::1]/".to_owned(), "private_address"),
        ("http://169.254.1.1/".to_owned(), "link_local_address"),
        ("http://100.64.0.1/".to_owned(), "shared_address"),
        ("http://0.0.0.0/".to_owned(), "unspecified_address"),
        (
            "http://169.254.169.254/latest/meta-data/".to_owned(),
            "cloud_metadata",
        ),
        ("http://[fd00:ec2::254]/".to_owned(), "cloud_metadata"),
        (
            "http://metadata.google.internal/computeMetadata/v1/".to_owned(),
            "cloud_metadata",
        ),
        ("file:///etc/passwd".to_owned(), "scheme_not_allowed"),
    ] {
        let detail = assert_policy(
            call_in(&reg, "http_request", json!({"url": url})).await,
            rule,
        );
        assert!(
            detail.contains("allow") || rule == "scheme_not_allowed",
            "{detail}"
        );
    }
    assert!(
        server.received().is_empty(),
        "no request reached the server"
    );
}

#[tokio::test]
async fn a_name_resolving_to_loopback_is_refused_after_dns() {
    let server = WebServer::start().await.unwrap();
    let port = server.addr().port();
    // `localhost` through the system resolver.
    let detail = assert_policy(
        call_in(
            &locked(),
            "http_request",
            json!({"url": format!("http://localhost:{port}/json")}),
        )
        .await,
        "loopback_address",
    );
    assert!(detail.contains("`localhost` resolves to"), "{detail}");
    // A public-looking name whose DNS answer is 127.0.0.1 (DNS rebinding).
    let config = ToolsConfig::builder()
        .static_host("public.example.com", vec!["127.0.0.1".parse().unwrap()])
        .build()
        .unwrap();
    let reg = ToolRegistry::with_standard_tools(&config).unwrap();
    let url = format!("http://public.example.com:{port}/json");
    for tool in [
        "http_request",
        "web_scraper",
        "sitemap_crawler",
        "webpage_monitor",
        "api_tester",
        "webhook_caller",
    ] {
        let detail = assert_policy(
            call_in(&reg, tool, json!({"url": url})).await,
            "loopback_address",
        );
        assert!(
            detail.contains("`public.example.com` resolves to 127.0.0.1"),
            "{tool}: {detail}"
        );
    }
    assert_policy(
        call_in(
            &reg,
            "graphql_query",
            json!({"endpoint": url, "query": "{ hello }"}),
        )
        .await,
        "loopback_address",
    );
    assert_policy(
        call_in(
            &reg,
            "url_analyzer",
            json!({"url": url, "fetch_metadata": true}),
        )
        .await,
        "loopback_address",
    );
    assert!(
        server.received().is_empty(),
        "no request reached the server"
    );

    // Allowed by address, the same name works (and is sent as the Host).
    let config = ToolsConfig::builder()
        .static_host("public.example.com", vec!["127.0.0.1".parse().unwrap()])
        .allow_host("127.0.0.1")
        .build()
        .unwrap();
    let reg = ToolRegistry::with_standard_tools(&config).unwrap();
    let out = call_in(
        &reg,
        "http_request",
        json!({"url": format!("http://public.example.com:{port}/echo")}),
    )
    .await
    .unwrap();
    assert_eq!(out["status_code"], 200);
    assert_eq!(
        out["body"]["headers"]["host"],
        format!("public.example.com:{port}")
    );
}

#[tokio::test]
async fn allow_lists_by_host_name_and_by_cidr() {
    let server = WebServer::start().await.unwrap();
    let port = server.addr().port();
    let by_name = ToolRegistry::with_standard_tools(
        &ToolsConfig::builder()
            .allow_host("localhost")
            .build()
            .unwrap(),
    )
    .unwrap();
    let out = call_in(
        &by_name,
        "http_request",
        json!({"url": format!("http://localhost:{port}/json")}),
    )
    .await
    .unwrap();
    assert_eq!(out["body"]["user"]["id"], 7);
    // The name is allowed, not the address behind it.
    assert_policy(
        call_in(
            &by_name,
            "http_request",
            json!({"url": server.url("/json")}),
        )
        .await,
        "loopback_address",
    );
    for cidr in ["127.0.0.0/8", "127.0.0.1"] {
        let reg = ToolRegistry::with_standard_tools(
            &ToolsConfig::builder().allow_cidr(cidr).build().unwrap(),
        )
        .unwrap();
        let out = call_in(&reg, "http_request", json!({"url": server.url("/json")}))
            .await
            .unwrap();
        assert_eq!(out["status_code"], 200, "{cidr}");
    }
    // `allow_host` takes CIDR strings too; a bad one is a config error.
    let reg = ToolRegistry::with_standard_tools(
        &ToolsConfig::builder()
            .allow_host("127.0.0.0/8")
            .build()
            .unwrap(),
    )
    .unwrap();
    assert!(
        call_in(&reg, "http_request", json!({"url": server.url("/json")}))
            .await
            .is_ok()
    );
    let err = ToolsConfig::builder()
        .allow_cidr("10.0.0.0/99")
        .build()
        .unwrap_err();
    assert!(
        matches!(err, ToolError::Config(ref m) if m.contains("10.0.0.0/99")),
        "{err}"
    );
}

#[tokio::test]
async fn every_redirect_is_checked_and_redirects_are_capped() {
    let net = Net::start().await;
    // A redirect to an allowed address is followed.
    let to_json = net.url("/json");
    let out = net
        .call(
            "http_request",
            json!({"url": format!("{}?to={to_json}", net.url("/redirect"))}),
        )
        .await
        .unwrap();
    assert_eq!(out["status_code"], 200);
    assert!(out["url"].as_str().unwrap().ends_with("/json"));
    // Redirects to private and metadata addresses are refused, for every tool.
    for (target, rule) in [
        ("http://10.1.2.3/admin", "private_address"),
        ("http://169.254.169.254/latest/meta-data/", "cloud_metadata"),
        ("http://[::1]:9/", "loopback_address"),
        ("http://metadata.google.internal/", "cloud_metadata"),
    ] {
        let url = format!("{}?to={target}", net.url("/redirect"));
        assert_policy(net.call("http_request", json!({"url": url})).await, rule);
        assert_policy(net.call("web_scraper", json!({"url": url})).await, rule);
    }
    // A redirect to a name that resolves to loopback (not allowed by name).
    let port = net.server.addr().port();
    let url = format!("{}?to=http://localhost:{port}/json", net.url("/redirect"));
    let with_name_only = Net::with(|_| {
        ToolsConfig::builder()
            .allow_host("127.0.0.1")
            .network_policy(NetworkPolicy::default())
    })
    .await;
    assert!(
        with_name_only
            .call("http_request", json!({"url": url}))
            .await
            .is_ok(),
        "127.0.0.1 is allowed by address"
    );

    // At most `max_redirects` redirects.
    let capped = Net::with(|b| {
        b.network_policy(NetworkPolicy {
            max_redirects: 1,
            ..NetworkPolicy::default()
        })
    })
    .await;
    let two_hops = format!(
        "{}?to={}",
        capped.url("/redirect"),
        urlencode(&format!(
            "{}?to={}",
            capped.url("/redirect"),
            capped.url("/json")
        ))
    );
    let err = capped
        .call("http_request", json!({"url": two_hops}))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("redirects"), "{err}");
}

fn urlencode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

#[tokio::test]
async fn slow_answers_time_out_and_oversized_bodies_are_capped() {
    let net = Net::with(|b| {
        b.network_policy(NetworkPolicy {
            max_response_bytes: 4096,
            ..NetworkPolicy::default()
        })
    })
    .await;
    let started = Instant::now();
    let err = net
        .call(
            "http_request",
            json!({"url": net.url("/slow?ms=5000"), "timeout_ms": 300}),
        )
        .await
        .unwrap_err();
    assert!(matches!(err, ToolError::Timeout { .. }), "{err:?}");
    assert!(started.elapsed() < Duration::from_secs(3));
    // `timeout` in seconds (rs-llmspell) is accepted too.
    assert!(net
        .call(
            "http_request",
            json!({"url": net.url("/slow?ms=10"), "timeout": 5})
        )
        .await
        .is_ok());

    let ok = net
        .call("http_request", json!({"url": net.url("/big?bytes=4096")}))
        .await
        .unwrap();
    assert_eq!(ok["body"].as_str().unwrap().len(), 4096);
    let detail = assert_policy(
        net.call("http_request", json!({"url": net.url("/big?bytes=4097")}))
            .await,
        "response_too_large",
    );
    assert!(detail.contains("4096"), "{detail}");
    assert_policy(
        net.call("web_scraper", json!({"url": net.url("/big?bytes=100000")}))
            .await,
        "response_too_large",
    );
}

#[tokio::test]
async fn a_refusal_fires_security_violation_naming_the_rule() {
    let tools = Arc::new(locked());
    let hooks = llmspell_hooks::Hooks::new();
    let seen = Arc::new(std::sync::Mutex::new(Vec::new()));
    let s2 = seen.clone();
    hooks
        .register(
            llmspell_hooks::HookPoint::SecurityViolation,
            llmspell_hooks::hook_fn("audit", move |ctx| {
                s2.lock().unwrap().push(ctx.data.clone());
                Ok(llmspell_hooks::HookResult::Continue)
            }),
        )
        .unwrap();
    let runtime = ToolRuntime::new(tools, hooks);
    let err = runtime
        .invoke(
            "http-request",
            json!({"url": "http://169.254.169.254/latest/meta-data/"}),
        )
        .await
        .unwrap_err();
    assert!(matches!(err, ToolError::PolicyViolation { .. }), "{err:?}");
    let seen = seen.lock().unwrap();
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0]["tool_name"], "http_request");
    assert_eq!(seen[0]["rule"], "cloud_metadata");
}

// ----------------------------------------------------------------- tools

#[tokio::test]
async fn http_request_methods_bodies_headers_auth_and_query() {
    let net = Net::start().await;
    let get = net
        .call("http_request", json!({"url": net.url("/json")}))
        .await
        .unwrap();
    assert_eq!(get["status_code"], 200);
    assert_eq!(get["success"], true);
    assert_eq!(get["body_is_json"], true);
    assert_eq!(get["body"]["items"], json!([1, 2, 3]));
    assert_eq!(get["headers"]["x-test"], "yes");
    assert_eq!(get["attempts"], 1);

    let post = net
        .call(
            "http_request",
            json!({"url": net.url("/echo"), "method": "post", "body": {"a": 1},
                   "headers": {"X-Custom": "v", "X-Num": 5}, "query": {"q": "a b", "n": 2},
                   "auth": {"type": "bearer", "token": "tok"}}),
        )
        .await
        .unwrap();
    let echo = &post["body"];
    assert_eq!(echo["method"], "POST");
    assert_eq!(
        serde_json::from_str::<Value>(echo["body"].as_str().unwrap()).unwrap(),
        json!({"a": 1})
    );
    assert_eq!(echo["headers"]["content-type"], "application/json");
    assert_eq!(echo["headers"]["x-custom"], "v");
    assert_eq!(echo["headers"]["x-num"], "5");
    assert_eq!(echo["headers"]["authorization"], "Bearer tok");
    assert!(echo["headers"]["user-agent"]
        .as_str()
        .unwrap()
        .starts_with("llmspell/"));
    assert_eq!(echo["query"], "n=2&q=a+b");

    let form = net
        .call(
            "http_request",
            json!({"url": net.url("/echo"), "method": "PUT", "body": {"name": "a&b", "n": 1}, "body_type": "form",
                   "auth": {"type": "basic", "username": "u", "password": "p"}}),
        )
        .await
        .unwrap();
    assert_eq!(form["body"]["body"], "n=1&name=a%26b");
    assert_eq!(
        form["body"]["headers"]["content-type"],
        "application/x-www-form-urlencoded"
    );
    assert_eq!(form["body"]["headers"]["authorization"], "Basic dTpw");

    let raw = net
        .call(
            "http_request",
            json!({"url": net.url("/echo"), "method": "PATCH", "body": "plain text"}),
        )
        .await
        .unwrap();
    assert_eq!(raw["body"]["body"], "plain text");
    assert_eq!(raw["body"]["method"], "PATCH");

    let missing = net
        .call("http_request", json!({"url": net.url("/status/404")}))
        .await
        .unwrap();
    assert_eq!(missing["status_code"], 404);
    assert_eq!(missing["success"], false);

    let head = net
        .call(
            "http_request",
            json!({"url": net.url("/page"), "method": "HEAD"}),
        )
        .await
        .unwrap();
    assert_eq!(head["status_code"], 200);
    assert_eq!(head["body"], "");
}

#[tokio::test]
async fn http_request_retries_429_and_5xx_honouring_retry_after() {
    let net = Net::start().await;
    let out = net
        .call(
            "http_request",
            json!({"url": net.url("/flaky/a?fail=2&status=503"), "max_retries": 3, "retry_delay_ms": 10}),
        )
        .await
        .unwrap();
    assert_eq!(out["status_code"], 200);
    assert_eq!(out["attempts"], 3);
    assert_eq!(out["body"]["attempt"], 3);

    let started = Instant::now();
    let out = net
        .call(
            "http_request",
            json!({"url": net.url("/flaky/b?fail=1&status=429&retry_after=1"), "max_retries": 1, "retry_delay_ms": 0}),
        )
        .await
        .unwrap();
    assert_eq!(out["status_code"], 200);
    assert!(
        started.elapsed() >= Duration::from_millis(950),
        "Retry-After: 1 was honoured"
    );

    // Retries exhausted: the last answer is the result.
    let out = net
        .call(
            "http_request",
            json!({"url": net.url("/flaky/c?fail=9&status=500"), "max_retries": 2, "retry_delay_ms": 1}),
        )
        .await
        .unwrap();
    assert_eq!(out["status_code"], 500);
    assert_eq!(out["attempts"], 3);
    // No retries unless asked.
    let out = net
        .call("http_request", json!({"url": net.url("/flaky/d?fail=1")}))
        .await
        .unwrap();
    assert_eq!(out["status_code"], 503);
    assert_eq!(out["attempts"], 1);
}

#[tokio::test]
async fn graphql_query_data_variables_and_errors() {
    let net = Net::start().await;
    let out = net
        .call(
            "graphql_query",
            json!({"endpoint": net.url("/graphql"), "query": "query Greet($name: String) { hello(name: $name) }",
                   "variables": {"name": "ada"}, "operation_name": "Greet"}),
        )
        .await
        .unwrap();
    assert_eq!(out["data"], json!({"hello": "ada", "operation": "Greet"}));
    assert_eq!(out["has_errors"], false);
    let sent = net.server.received_at("/graphql");
    let body: Value = serde_json::from_slice(&sent[0].body).unwrap();
    assert_eq!(body["operationName"], "Greet");
    assert_eq!(body["variables"]["name"], "ada");

    let err = net
        .call(
            "graphql_query",
            json!({"url": net.url("/graphql"), "query": "{ fail }"}),
        )
        .await
        .unwrap_err();
    assert!(
        matches!(err, ToolError::Execution { .. })
            && err.to_string().contains("field `fail` does not exist"),
        "{err}"
    );

    let partial = net
        .call(
            "graphql_query",
            json!({"endpoint": net.url("/graphql"), "query": "{ partial }"}),
        )
        .await
        .unwrap();
    assert_eq!(partial["has_errors"], true);
    assert_eq!(partial["errors"][0]["message"], "`extra` was unavailable");
    assert!(net
        .call(
            "graphql_query",
            json!({"endpoint": net.url("/graphql"), "query": "{ partial }", "fail_on_errors": true})
        )
        .await
        .is_err());
    // A non-GraphQL answer is an error naming the status.
    let err = net
        .call(
            "graphql_query",
            json!({"endpoint": net.url("/status/502"), "query": "{ a }"}),
        )
        .await
        .unwrap_err();
    assert!(err.to_string().contains("502"), "{err}");
}

#[tokio::test]
async fn api_tester_reports_each_assertion() {
    let net = Net::start().await;
    let pass = net
        .call(
            "api_tester",
            json!({"url": net.url("/json"), "expect": {
                "status": 200, "headers": {"x-test": "yes", "content-type": true},
                "json": {"$.user.id": 7, "$.items[2]": 3}, "body_contains": "ada", "max_latency_ms": 5000}}),
        )
        .await
        .unwrap();
    assert_eq!(pass["passed"], true, "{pass}");
    assert_eq!(pass["passed_count"], 7);
    assert_eq!(pass["response"]["status_code"], 200);

    let fail = net
        .call(
            "api_tester",
            json!({"url": net.url("/json"), "expect": {
                "status": [201, 204], "json": {"$.user.name": "bob", "$.missing": 1}, "headers": {"x-absent": true}}}),
        )
        .await
        .unwrap();
    assert_eq!(fail["passed"], false);
    assert_eq!(fail["failed_count"], 4);
    let by_name = |n: &str| {
        fail["assertions"]
            .as_array()
            .unwrap()
            .iter()
            .find(|a| a["name"] == n)
            .unwrap()
            .clone()
    };
    assert_eq!(by_name("status")["actual"], 200);
    assert_eq!(by_name("json $.user.name")["actual"], "ada");
    assert!(by_name("json $.missing")["message"]
        .as_str()
        .unwrap()
        .contains("selects nothing"));

    let slow = net
        .call(
            "api_tester",
            json!({"url": net.url("/slow?ms=200"), "expect": {"max_latency_ms": 50}}),
        )
        .await
        .unwrap();
    assert_eq!(slow["passed"], false);
    assert_invalid(
        net.call(
            "api_tester",
            json!({"url": net.url("/json"), "expect": {"json": {"$[": 1}}}),
        )
        .await,
        "expect",
    );
}

#[tokio::test]
async fn webhook_caller_signs_and_retries() {
    let net = Net::start().await;
    let out = net
        .call(
            "webhook_caller",
            json!({"url": net.url("/webhook"), "payload": {"event": "done", "n": 1}, "secret": "s3cret",
                   "headers": {"X-Source": "test"}}),
        )
        .await
        .unwrap();
    assert_eq!(out["success"], true);
    assert_eq!(out["retry_count"], 0);
    assert_eq!(out["response"]["body"]["received"], true);
    let got = &net.server.received_at("/webhook")[0];
    assert_eq!(got.method, "POST");
    assert_eq!(got.header("content-type"), Some("application/json"));
    assert_eq!(got.header("x-source"), Some("test"));
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(b"s3cret").unwrap();
    mac.update(&got.body);
    let expected = format!("sha256={}", hex::encode(mac.finalize().into_bytes()));
    assert_eq!(got.header("x-signature-256"), Some(expected.as_str()));
    assert_eq!(out["signature"], expected);
    assert_eq!(
        serde_json::from_slice::<Value>(&got.body).unwrap(),
        json!({"event": "done", "n": 1})
    );

    let retried = net
        .call(
            "webhook_caller",
            json!({"url": net.url("/flaky/hook?fail=2"), "payload": {}, "retry_delay_ms": 5, "signature_header": "X-Hub"}),
        )
        .await
        .unwrap();
    assert_eq!(retried["success"], true);
    assert_eq!(retried["retry_count"], 2);
    let failed = net
        .call(
            "webhook_caller",
            json!({"url": net.url("/flaky/dead?fail=99"), "max_retries": 1, "retry_delay_ms": 1}),
        )
        .await
        .unwrap();
    assert_eq!(failed["success"], false);
    assert_eq!(failed["status_code"], 503);
    assert_eq!(failed["retry_count"], 1);
}

#[tokio::test]
async fn url_analyzer_parses_normalises_and_fetches() {
    let net = Net::start().await;
    let out = net
        .call(
            "url_analyzer",
            json!({"input": "HTTP://User@Example.COM:80/a/./b/../c?x=1&y=two%20words&x=2#frag"}),
        )
        .await
        .unwrap();
    assert_eq!(out["valid"], true);
    assert_eq!(
        out["normalized"],
        "http://User@example.com/a/c?x=1&y=two%20words&x=2#frag"
    );
    assert_eq!(out["scheme"], "http");
    assert_eq!(out["host"], "example.com");
    assert_eq!(out["port"], Value::Null);
    assert_eq!(out["effective_port"], 80);
    assert_eq!(out["path"], "/a/c");
    assert_eq!(out["path_segments"], json!(["a", "c"]));
    assert_eq!(
        out["query_params"],
        json!([["x", "1"], ["y", "two words"], ["x", "2"]])
    );
    assert_eq!(out["query_map"], json!({"x": ["1", "2"], "y": "two words"}));
    assert_eq!(out["fragment"], "frag");
    assert_eq!(out["username"], "User");
    assert_eq!(out["host_details"]["type"], "domain");

    let head = net
        .call(
            "url_analyzer",
            json!({"url": net.url("/page"), "fetch_metadata": true}),
        )
        .await
        .unwrap();
    assert_eq!(head["metadata"]["status_code"], 200);
    assert!(head["metadata"]["content_type"]
        .as_str()
        .unwrap()
        .starts_with("text/html"));
    assert_eq!(net.server.received_at("/page")[0].method, "HEAD");
    let get = net
        .call(
            "url_analyzer",
            json!({"url": net.url("/page"), "fetch_metadata": true, "fetch_method": "GET"}),
        )
        .await
        .unwrap();
    assert_eq!(get["metadata"]["title"], "Test Page");
    // Parsing alone needs no network access, even to refused addresses.
    let reg = locked();
    assert!(
        call_in(&reg, "url_analyzer", json!({"url": "http://10.0.0.1/x"}))
            .await
            .is_ok()
    );
    assert_policy(
        call_in(
            &reg,
            "url_analyzer",
            json!({"url": "http://10.0.0.1/x", "fetch_metadata": true}),
        )
        .await,
        "private_address",
    );
    assert_invalid(
        net.call("url_analyzer", json!({"url": "not a url"})).await,
        "url",
    );
}

#[tokio::test]
async fn web_scraper_extracts_text_selections_links_and_meta() {
    let net = Net::start().await;
    let out = net
        .call("web_scraper", json!({"url": net.url("/page")}))
        .await
        .unwrap();
    assert_eq!(out["title"], "Test Page");
    let text = out["text"].as_str().unwrap();
    assert!(text.contains("Hello, world"), "{text}");
    assert!(
        text.contains("The second bold paragraph with a link ."),
        "{text}"
    );
    for hidden in [
        "do not show",
        "Home",
        "Site header",
        "Copyright footer",
        "color: red",
    ] {
        assert!(!text.contains(hidden), "`{hidden}` in {text}");
    }

    let out = net
        .call(
            "web_scraper",
            json!({"url": net.url("/page"),
                   "selectors": {"headline": "h1", "items": ".item", "ids": {"selector": ".item", "attribute": "data-id"},
                                 "lead": {"selector": "p.lead", "all": true}, "none": "table"},
                   "selector": "a.more", "attribute": "href",
                   "extract_links": true, "extract_images": true, "extract_meta": true}),
        )
        .await
        .unwrap();
    assert_eq!(out["content"]["headline"], "Hello, world");
    assert_eq!(out["content"]["items"], json!(["One", "Two"]));
    assert_eq!(out["content"]["ids"], json!(["1", "2"]));
    assert_eq!(out["content"]["lead"], json!(["The first paragraph."]));
    assert_eq!(out["content"]["none"], Value::Null);
    assert_eq!(out["selected_content"], json!(["/more?x=1"]));
    assert!(
        out.get("text").is_none(),
        "no text unless asked when selecting"
    );
    let links = out["links"].as_array().unwrap();
    assert_eq!(links.len(), 3);
    assert_eq!(links[2]["href"], net.url("/more?x=1"));
    assert_eq!(links[2]["text"], "a link");
    assert_eq!(out["images"][0]["src"], net.url("/img/cat.png"));
    assert_eq!(out["images"][0]["alt"], "a cat");
    assert_eq!(out["metadata"]["description"], "A page for tests");
    assert_eq!(out["metadata"]["meta_tags"]["og:title"], "OG Test");

    let err = net
        .call("web_scraper", json!({"url": net.url("/status/404")}))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("404"), "{err}");
    assert_invalid(
        net.call(
            "web_scraper",
            json!({"url": net.url("/page"), "selectors": {"x": "p[[["}}),
        )
        .await,
        "selectors",
    );
}

#[tokio::test]
async fn sitemap_crawler_reads_sitemaps_indexes_and_gzip_within_limits() {
    let net = Net::start().await;
    let out = net
        .call("sitemap_crawler", json!({"url": net.url("/sitemap.xml")}))
        .await
        .unwrap();
    assert_eq!(out["urls_found"], 3);
    assert_eq!(out["urls"][0]["url"], net.url("/a"));
    assert_eq!(out["urls"][0]["lastmod"], "2026-01-01");
    assert_eq!(out["urls"][0]["changefreq"], "daily");
    assert_eq!(out["urls"][0]["priority"], 0.9);
    assert_eq!(out["truncated"], false);

    let index = net
        .call(
            "sitemap_crawler",
            json!({"input": net.url("/sitemap_index.xml")}),
        )
        .await
        .unwrap();
    assert_eq!(index["urls_found"], 5, "{index}");
    let urls: Vec<&str> = index["urls"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["url"].as_str().unwrap())
        .collect();
    assert!(
        urls.contains(&net.url("/e").as_str()),
        "the gzip child sitemap was read"
    );
    assert_eq!(index["stats"]["index_files_found"], 1);
    assert_eq!(index["stats"]["sitemaps_processed"], 3);

    let limited = net
        .call(
            "sitemap_crawler",
            json!({"url": net.url("/sitemap_index.xml"), "max_urls": 2}),
        )
        .await
        .unwrap();
    assert_eq!(limited["urls_found"], 2);
    assert_eq!(limited["truncated"], true);
    let no_follow = net
        .call(
            "sitemap_crawler",
            json!({"url": net.url("/sitemap_index.xml"), "follow_sitemaps": false}),
        )
        .await
        .unwrap();
    assert_eq!(no_follow["urls_found"], 0);
    assert_eq!(no_follow["stats"]["index_files_found"], 1);
    let err = net
        .call("sitemap_crawler", json!({"url": net.url("/page")}))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("not a sitemap"), "{err}");
    assert_invalid(
        net.call(
            "sitemap_crawler",
            json!({"url": net.url("/sitemap.xml"), "max_urls": 0}),
        )
        .await,
        "max_urls",
    );
}

#[tokio::test]
async fn webpage_monitor_diffs_against_the_stored_snapshot() {
    let store: Arc<dyn StorageBackend> = Arc::new(MemoryBackend::new());
    let s = Arc::clone(&store);
    let net = Net::with(move |b| b.monitor_store(s)).await;
    let url = net.url("/monitored");
    net.server.set_monitored("status: green\nvisitors: 10");
    let first = net
        .call("webpage_monitor", json!({"url": url}))
        .await
        .unwrap();
    assert_eq!(first["first_check"], true);
    assert_eq!(first["has_changes"], false);
    assert_eq!(first["current_content"], "status: green\nvisitors: 10");
    assert_eq!(
        store.len().await.unwrap(),
        1,
        "the snapshot is in the configured store"
    );

    let same = net
        .call("webpage_monitor", json!({"url": url}))
        .await
        .unwrap();
    assert_eq!(same["first_check"], false);
    assert_eq!(same["has_changes"], false);

    net.server
        .set_monitored("status: red\nvisitors: 10\nalert: on");
    let changed = net
        .call("webpage_monitor", json!({"input": url}))
        .await
        .unwrap();
    assert_eq!(changed["has_changes"], true);
    assert_eq!(changed["change_count"], 2, "{changed}");
    assert_eq!(changed["changes"][0]["type"], "modification");
    assert_eq!(changed["changes"][0]["old_content"], "status: green");
    assert_eq!(changed["changes"][0]["new_content"], "status: red");
    assert_eq!(changed["changes"][1]["type"], "addition");
    assert!(changed["diff"].as_str().unwrap().contains("+alert: on"));
    assert!(changed["previous_checked_at"].is_string());

    // A selector gets its own snapshot; `previous_content` compares with given text.
    let sel = net
        .call(
            "webpage_monitor",
            json!({"url": url, "selector": "#status p", "key": "status"}),
        )
        .await
        .unwrap();
    assert_eq!(sel["first_check"], true);
    assert_eq!(sel["key"], "status");
    let given = net
        .call("webpage_monitor", json!({"url": url, "selector": "#status p", "previous_content": "status: red\nvisitors: 10\nalert: off", "store": false}))
        .await
        .unwrap();
    assert_eq!(given["change_count"], 1);
    assert_invalid(
        net.call("webpage_monitor", json!({"url": url, "selector": "###"}))
            .await,
        "selector",
    );
}

#[tokio::test]
async fn web_search_through_searxng_and_brave() {
    let net = Net::start().await;
    let out = net
        .call(
            "web_search",
            json!({"query": "rust tools", "max_results": 5}),
        )
        .await
        .unwrap();
    assert_eq!(out["provider"], "searxng");
    assert_eq!(out["count"], 2);
    assert_eq!(out["results"][0]["title"], "rust tools one");
    assert_eq!(out["results"][0]["url"], "https://example.org/1");
    assert_eq!(out["results"][0]["snippet"], "first hit");
    assert_eq!(out["results"][0]["source"], "duckduckgo");
    let sent = &net.server.received_at("/searxng/search")[0];
    assert!(sent.query.as_deref().unwrap().contains("format=json"));

    let brave = net
        .call(
            "web_search",
            json!({"input": "llm", "provider": "brave", "max_results": 2}),
        )
        .await
        .unwrap();
    assert_eq!(brave["provider"], "brave");
    assert_eq!(brave["count"], 2);
    assert_eq!(brave["results"][1]["snippet"], "snippet 2");
    assert_eq!(
        net.server.received_at("/brave/res/v1/web/search")[0].header("x-subscription-token"),
        Some("test-key")
    );

    let wrong_key = Net::with(|_| ToolsConfig::builder().allow_host("127.0.0.1")).await;
    let reg = ToolRegistry::with_standard_tools(
        &ToolsConfig::builder()
            .allow_host("127.0.0.1")
            .search_provider(SearchProviderConfig::brave_at(
                wrong_key.url("/brave"),
                "bad",
            ))
            .build()
            .unwrap(),
    )
    .unwrap();
    let err = call_in(&reg, "web_search", json!({"query": "x"}))
        .await
        .unwrap_err();
    assert!(
        err.to_string().contains("401") && err.to_string().contains("invalid"),
        "{err}"
    );
    let err = call_in(&wrong_key.registry, "web_search", json!({"query": "x"}))
        .await
        .unwrap_err();
    assert!(matches!(err, ToolError::Config(_)), "{err:?}");
    assert_invalid(
        net.call("web_search", json!({"query": "x", "provider": "bing"}))
            .await,
        "provider",
    );
    // The provider's address is checked like any other.
    let locked_search = ToolRegistry::with_standard_tools(
        &ToolsConfig::builder()
            .search_provider(SearchProviderConfig::searxng(net.url("/searxng")))
            .build()
            .unwrap(),
    )
    .unwrap();
    assert_policy(
        call_in(&locked_search, "web_search", json!({"query": "x"})).await,
        "loopback_address",
    );
}

// ------------------------------------------------ schemas, synonyms, aliases

#[tokio::test]
async fn schema_invalid_input_names_the_parameter() {
    let net = Net::start().await;
    let u = net.url("/json");
    let cases = [
        (
            "http_request",
            json!({"url": u, "method": "BREW"}),
            "method",
        ),
        (
            "http_request",
            json!({"url": u, "headers": {"a": [1]}}),
            "headers",
        ),
        ("http_request", json!({"url": 5}), "url"),
        ("http_request", json!({}), "url"),
        (
            "http_request",
            json!({"url": u, "max_retries": 99}),
            "max_retries",
        ),
        ("http_request", json!({"url": u, "colour": 1}), "colour"),
        ("graphql_query", json!({"endpoint": u}), "query"),
        (
            "graphql_query",
            json!({"endpoint": u, "query": "{a}", "variables": 3}),
            "variables",
        ),
        (
            "api_tester",
            json!({"url": u, "expect": {"status": "ok"}}),
            "expect",
        ),
        (
            "webhook_caller",
            json!({"url": u, "method": "GET"}),
            "method",
        ),
        ("webhook_caller", json!({"url": u, "secret": ""}), "secret"),
        (
            "url_analyzer",
            json!({"url": u, "fetch_metadata": "yes"}),
            "fetch_metadata",
        ),
        (
            "web_scraper",
            json!({"url": u, "extract_links": 1}),
            "extract_links",
        ),
        (
            "sitemap_crawler",
            json!({"url": u, "max_urls": 1e9}),
            "max_urls",
        ),
        (
            "webpage_monitor",
            json!({"url": u, "ignore_whitespace": "no"}),
            "ignore_whitespace",
        ),
        (
            "web_search",
            json!({"query": "x", "max_results": 500}),
            "max_results",
        ),
        ("web_search", json!({}), "query"),
        (
            "http_request",
            json!({"url": u, "timeout_ms": 0}),
            "timeout_ms",
        ),
    ];
    for (tool, params, parameter) in cases {
        let result = net.call(tool, params.clone()).await;
        assert!(
            matches!(&result, Err(ToolError::InvalidParameter { parameter: p, .. }) if p == parameter),
            "{tool} {params}: expected `{parameter}`, got {result:?}"
        );
    }
}

#[tokio::test]
async fn input_is_a_synonym_of_url_but_not_both() {
    let net = Net::start().await;
    let out = net
        .call("http_request", json!({"input": net.url("/json")}))
        .await
        .unwrap();
    assert_eq!(out["status_code"], 200);
    for tool in [
        "http_request",
        "api_tester",
        "webhook_caller",
        "url_analyzer",
        "web_scraper",
        "sitemap_crawler",
        "webpage_monitor",
    ] {
        assert_invalid(
            net.call(
                tool,
                json!({"url": net.url("/json"), "input": net.url("/json")}),
            )
            .await,
            "input",
        );
    }
    assert_invalid(
        net.call("web_search", json!({"query": "a", "input": "b"}))
            .await,
        "input",
    );
}

#[tokio::test]
async fn hyphenated_aliases_reach_the_tools() {
    let net = Net::start().await;
    for name in NETWORK {
        let alias = name.replace('_', "-");
        assert!(net.registry.contains(&alias), "{alias}");
        assert_eq!(net.registry.require(&alias).unwrap().name(), name);
        assert!(
            !net.registry.names().contains(&alias),
            "aliases are not listed"
        );
    }
    let runtime = ToolRuntime::new(
        Arc::new(
            ToolRegistry::with_standard_tools(
                &ToolsConfig::builder()
                    .allow_host("127.0.0.1")
                    .build()
                    .unwrap(),
            )
            .unwrap(),
        ),
        llmspell_hooks::Hooks::new(),
    );
    let out = runtime
        .invoke(
            "web-scraper",
            json!({"input": net.url("/page"), "selector": "h1"}),
        )
        .await
        .unwrap();
    assert_eq!(out["selected_content"], json!(["Hello, world"]));
    let out = runtime
        .invoke("url-analyzer", json!({"input": "https://a.example/x"}))
        .await
        .unwrap();
    assert_eq!(out["host"], "a.example");
    // An alias cannot shadow a tool, and needs a registered target.
    assert!(matches!(
        net.registry.register_alias("calculator", "web_scraper"),
        Err(ToolError::AlreadyRegistered { .. })
    ));
    assert!(matches!(
        net.registry.register_alias("x", "no_such_tool"),
        Err(ToolError::NotFound { .. })
    ));
}
