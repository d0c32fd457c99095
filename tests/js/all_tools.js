// Every standard tool reached through Tool.invoke, one row per call:
// [name, params, check]. `check(result)` must return true (or throw).
// scriptArgs[1] is a directory inside the file roots; the fixtures are files
// the test harness wrote there. scriptArgs[2] is the base URL of the test's
// loopback web server (127.0.0.1 is allowed by the policy), for the nine
// web tools. The twin of tests/lua/all_tools.lua.
import { assert } from "./assert.js";

const dir = scriptArgs[1];
assert(typeof dir === "string", "the test passes a file root as scriptArgs[1]");
const web = scriptArgs[2];
assert(typeof web === "string", "the test passes a web server's URL as scriptArgs[2]");
const p = (name) => dir + "/" + name;

const rows = [
    ["base64_encoder", { operation: "encode", input: "hi" }, (r) => r.output === "aGk="],
    ["calculator", { expression: "2 + 3 * 4" }, (r) => r.result === 14],
    ["date_time_handler", { operation: "parse", input: "2024-12-25T10:30:00Z" }, (r) => r != null],
    ["diff_calculator", { old: "a\n", new: "b\n" }, (r) => r.identical === false],
    ["hash_calculator", { algorithm: "sha256", input: "abc" },
        (r) => r.hash === "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"],
    ["template_engine", { template: "Hi {{ n }}", context: { n: "Ada" } }, (r) => r.output === "Hi Ada"],
    ["text_manipulator", { operation: "reverse", text: "abc" }, (r) => r.result === "cba"],
    ["uuid_generator", { operation: "generate", count: 2 }, (r) => r.uuids.length === 2],
    ["csv_analyzer", { input: "a,b\n1,2\n" }, (r) => r.row_count === 1],
    ["data_validation", { data: 5, schema: { type: "integer" } }, (r) => r.valid === true],
    ["json_processor", { input: { a: [1, 2, 3] }, query: ".a | add" }, (r) => r.result === 6],
    ["file_operations", { operation: "write", path: p("all.txt"), content: "x" }, (r) => r != null],
    ["file_search", { path: dir, pattern: "needle" }, (r) => r.matches.length >= 1],
    ["file_converter", { path: p("crlf.txt"), output_path: p("lf.txt"), line_endings: "lf" }, (r) => r != null],
    ["archive_handler", { operation: "create", path: p("all.zip"), files: [p("needle.txt")] }, (r) => r.entries === 1],
    ["file_watcher", { path: dir, duration_ms: 50 }, (r) => typeof r.events === "object" && r.events !== null],
    ["environment_reader", { operation: "exists", name: "PATH" }, (r) => r.exists === true],
    ["process_executor", { program: "echo", args: ["hello"] }, (r) => r.stdout === "hello\n"],
    ["service_checker", { host: "127.0.0.1", port: 1, timeout_ms: 500 },
        (r) => r.reachable != null || r.open != null],
    ["system_monitor", { metrics: ["memory"] }, (r) => r.memory != null],
    ["database_connector", { path: p("all.db"), query: "SELECT 1 + ?1 AS n", params: [41] }, (r) => r.rows[0].n === 42],
    ["email_sender", { from: "a@example.com", to: "b@example.com", subject: "s", body: "b", dry_run: true },
        (r) => r.dry_run === true && r.message.includes("Subject: s")],
    ["image_processor", { operation: "metadata", path: p("dot.bmp") },
        (r) => r.width === 2 && r.height === 2 && r.format === "bmp"],
    ["audio_processor", { operation: "metadata", path: p("tone.wav") },
        (r) => r.format === "wav" && r.sample_rate === 8000 && r.channels === 1],
    ["video_processor", { operation: "metadata", path: p("tone.wav") },
        (r) => r.source === "ffprobe" && r.streams[0].kind === "audio"],
    // the web tools, against the test's server
    ["http_request", { url: web + "/json" }, (r) => r.status_code === 200 && r.body.user.name === "ada"],
    ["graphql_query", { endpoint: web + "/graphql", query: "{ hello }" }, (r) => r.has_errors === false],
    ["api_tester", { url: web + "/json", expect: { status: 200 } }, (r) => r.passed === true],
    ["webhook_caller", { url: web + "/webhook", payload: { event: "all_tools" } }, (r) => r.success === true],
    ["url_analyzer", { url: web + "/page?b=2&a=1" }, (r) => r.valid === true && r.query_map.a === "1"],
    ["web_scraper", { url: web + "/page" }, (r) => r.title === "Test Page"],
    ["sitemap_crawler", { url: web + "/sitemap_index.xml", max_urls: 10 }, (r) => r.urls_found === 5],
    ["webpage_monitor", { url: web + "/page" }, (r) => r.first_check === true],
    ["web_search", { query: "all tools" }, (r) => r.provider === "searxng" && r.count >= 1],
];

// Rows the harness adds (the media tools when their features are built).
for (const row of globalThis.EXTRA_ROWS ?? []) rows.push(row);

const seen = new Set();
for (const [i, [name, params, check]] of rows.entries()) {
    let result;
    try {
        result = await Tool.invoke(name, params);
    } catch (e) {
        throw new Error(`row ${i + 1} (${name}) raised: ${e.message}`);
    }
    assert(check(result), `row ${i + 1} (${name}): unexpected result ${JSON.stringify(result)}`);
    seen.add(name);
}

// Every registered tool has a row.
const missing = Tool.list().map((t) => t.name).filter((n) => !seen.has(n));
assert(missing.length === 0, "tools without a row: " + missing.join(", "));
assert(seen.size === rows.length, "one row per tool");
export default "ok";
