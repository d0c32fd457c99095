// The nine web tools through Tool.invoke, against a web server on loopback
// started by the Rust test, which passes its base URL as scriptArgs[1] and
// allows 127.0.0.1 (only) in the network policy. The twin of
// tests/lua/network_tools.lua.
import { assert, rejects } from "./assert.js";

const base = scriptArgs[1];
assert(typeof base === "string", "the test passes the server's base URL");

// http_request (and its hyphenated alias)
const r = await Tool.invoke("http_request", { url: base + "/json" });
assert(r.status_code === 200 && r.success === true, JSON.stringify(r));
assert(r.body.user.name === "ada" && r.headers["x-test"] === "yes");
const echo = await Tool.invoke("http-request", {
    input: base + "/echo", method: "POST", body: { answer: 42 },
    auth: { type: "bearer", token: "t0k" },
});
assert(echo.body.method === "POST");
assert(echo.body.headers.authorization === "Bearer t0k");
assert(JSON.parse(echo.body.body).answer === 42);
const flaky = await Tool.invoke("http_request", { url: base + "/flaky/js?fail=1", max_retries: 2, retry_delay_ms: 5 });
assert(flaky.status_code === 200 && flaky.attempts === 2, JSON.stringify(flaky));

// graphql_query
const g = await Tool.invoke("graphql_query", {
    endpoint: base + "/graphql",
    query: "query Hi($name: String) { hello(name: $name) }",
    variables: { name: "js" }, operation_name: "Hi",
});
assert(g.data.hello === "js" && g.data.operation === "Hi" && g.has_errors === false, JSON.stringify(g));
await rejects(Tool.invoke("graphql_query", { endpoint: base + "/graphql", query: "{ fail }" }),
    "field `fail` does not exist");

// api_tester
const t = await Tool.invoke("api-tester", {
    url: base + "/json",
    expect: { status: 200, json: { "$.user.id": 7 }, headers: { "x-test": "yes" }, max_latency_ms: 5000 },
});
assert(t.passed === true && t.passed_count === 4, JSON.stringify(t));
const bad = await Tool.invoke("api_tester", { url: base + "/json", expect: { status: 201 } });
assert(bad.passed === false && bad.assertions[0].actual === 200);

// webhook_caller
const w = await Tool.invoke("webhook-caller", { url: base + "/webhook", payload: { event: "js" }, secret: "k" });
assert(w.success === true && w.retry_count === 0);
assert(/^sha256=[0-9a-fA-F]+$/.test(w.signature), w.signature);

// url_analyzer
const u = await Tool.invoke("url-analyzer", { input: "https://Example.com:443/a/../b?q=1&q=2#top" });
assert(u.normalized === "https://example.com/b?q=1&q=2#top", u.normalized);
assert(u.host === "example.com" && u.fragment === "top" && u.query_params.length === 2);
const fetched = await Tool.invoke("url_analyzer", { url: base + "/page", fetch_metadata: true, fetch_method: "GET" });
assert(fetched.metadata.status_code === 200 && fetched.metadata.title === "Test Page");

// web_scraper
const s = await Tool.invoke("web-scraper", {
    input: base + "/page",
    selectors: { headline: "h1", ids: { selector: ".item", attribute: "data-id" } },
    extract_links: true, extract_text: true,
});
assert(s.title === "Test Page" && s.content.headline === "Hello, world");
assert(s.content.ids[0] === "1" && s.content.ids[1] === "2");
assert(s.text.includes("The first paragraph.") && !s.text.includes("do not show"));
assert(s.links.length === 3);

// sitemap_crawler
const m = await Tool.invoke("sitemap-crawler", { input: base + "/sitemap_index.xml", max_urls: 10 });
assert(m.urls_found === 5 && m.truncated === false, JSON.stringify(m));
assert(m.urls[0].url === base + "/a");

// webpage_monitor: /counter changes on every visit
const first = await Tool.invoke("webpage-monitor", { url: base + "/counter" });
assert(first.first_check === true && first.has_changes === false);
const second = await Tool.invoke("webpage_monitor", { url: base + "/counter" });
assert(second.has_changes === true && second.changes[0].type === "modification", JSON.stringify(second));
assert(second.changes[0].old_content === "visits: 1" && second.changes[0].new_content === "visits: 2");

// web_search through both providers
const found = await Tool.invoke("web_search", { query: "js tools" });
assert(found.provider === "searxng" && found.count === 2 && found.results[0].title === "js tools one", JSON.stringify(found));
const brave = await Tool.invoke("web-search", { input: "js", provider: "brave", max_results: 1 });
assert(brave.provider === "brave" && brave.count === 1 && brave.results[0].url === "https://brave.example/1");

// policy refusals reach the script as errors naming the rule
await rejects(Tool.invoke("http_request", { url: "http://169.254.169.254/latest/meta-data/" }), "cloud_metadata");
await rejects(Tool.invoke("web_scraper", { url: base + "/redirect?to=http://10.0.0.1/" }), "private_address");
// schema errors name the parameter
await rejects(Tool.invoke("http_request", { url: base + "/json", method: "BREW" }), "method");

export default "ok";
