// Scripts written for rs-llmspell's tools, in JavaScript: the calls its
// tool examples make (parameter names, operation names, Tool functions),
// written for this fixture. scriptArgs[1] is a directory the file tools
// may use. The twin of tests/lua/rs_llmspell_tools.lua.
//
// Lua-only parts: `JSON.encode` / `JSON.decode` (JavaScript's own `JSON`
// has `stringify` / `parse`, which the Lua script also checks as aliases),
// and `calc:execute` vs `calc.execute` (one spelling in JavaScript).
import { assert, rejects } from "./assert.js";

const dir = scriptArgs[1];
assert(typeof dir === "string", "the test passes a file root as scriptArgs[1]");

// Tool.exists / Tool.categories / Tool.get(name).execute(params)
assert(Tool.exists("calculator") === true);
assert(Tool.exists("text-manipulator") === true, "hyphenated names resolve");
assert(Tool.exists("no_such_tool") === false);
const cats = Tool.categories();
for (const c of ["utility", "data", "filesystem", "system"]) assert(cats.includes(c), JSON.stringify(cats));

const calc = Tool.get("calculator");
assert(calc.name === "calculator" && typeof calc.description === "string");
assert(calc.schema.properties.expression.type === "string");
assert(calc.schema["x-synonyms"].input === "expression", "the schema documents `input`");
let r = await calc.execute({ operation: "evaluate", input: "2 + 3 * 4 - 1" });
assert(r.result === 13, JSON.stringify(r));
r = await calc.execute({ input: "(10 + 20) * 3 / 2" });
assert(r.result === 45);
r = await calc.execute({ operation: "evaluate", input: "x * x + y * y", variables: { x: 3, y: 4 } });
assert(r.result === 25);

// rs-llmspell's result view: `text` is the JSON text of {success, result},
// `success` is true; neither is one of the object's own enumerable fields.
const v = await Tool.invoke("calculator", { input: "2 + 3 * 4" });
assert(v.result === 14);
assert(typeof v.text === "string", "result.text is JSON text");
const parsed = JSON.parse(v.text);
assert(parsed.success === true && parsed.result.result === 14, v.text);
assert(v.success === true && v.error === undefined);
for (const k of Object.keys(v)) assert(k !== "text" && k !== "success", "the view adds no field: " + k);
for (const k in v) assert(k !== "text" && k !== "success", "the view adds no enumerable field: " + k);
assert(JSON.parse(JSON.stringify(v)).text === undefined, "JSON sees only the tool's fields");
const ex = await calc.execute({ input: "1 + 1" });
assert(JSON.parse(ex.text).result.result === 2, "tool.execute results have the view too");
const own = await Tool.invoke("text_manipulator", { operation: "uppercase", input: "abc" });
assert(JSON.parse(own.text).result.result === "ABC", own.text);
// a tool's own `success` field wins over the view (http_request has one; here a hook adds one)
const h = Hook.register("AfterToolExecution", (ctx) => {
    const data = ctx.data;
    data.result = { result: data.result.result, success: "own" };
    return { type: "modified", data };
}, { match: "calculator" });
const mine = await Tool.invoke("calculator", { input: "1" });
assert(mine.success === "own" && Object.keys(mine).includes("success"), JSON.stringify(mine));
assert(JSON.parse(mine.text).result.success === "own");
h.unregister();

// JSON.parse / JSON.stringify
const t = JSON.parse('{"a": [1, 2], "b": "c"}');
assert(t.a[1] === 2 && t.b === "c");
assert(JSON.parse(JSON.stringify({ x: 1 })).x === 1);

// Tool.try resolves to {success, result, error}; Tool.invoke rejects
const ok = await Tool.try("calculator", { input: "6 * 7" });
assert(ok.success === true && ok.result.result === 42 && ok.error == null, JSON.stringify(ok));
const bad = await Tool.try("calculator", { input: "1 +" });
assert(bad.success === false && typeof bad.error === "string" && bad.result == null, JSON.stringify(bad));
const missing = await Tool.try("no_such_tool", {});
assert(missing.success === false && missing.error.includes("no_such_tool"));
await rejects(Tool.invoke("calculator", { input: "1 +" }), "expression");
const both = await Tool.try("calculator", { input: "1", expression: "2" });
assert(!both.success && both.error.includes("input") && both.error.includes("expression"));

// utility tools with `input`
async function use(name, params) {
    const res = await Tool.invoke(name, params);
    assert(res != null, name);
    return res;
}

r = await use("uuid_generator", { operation: "generate", version: "v4", format: "hyphenated" });
assert(r.uuids[0].length === 36, JSON.stringify(r));
r = await use("uuid_generator", { operation: "generate", version: "v5", namespace: "dns", name: "example.com" });
assert(r.uuids[0] === "cfbff0d1-9375-5685-968c-48ce8b15ae17");
r = await use("uuid_generator", { operation: "validate", uuid: "cfbff0d1-9375-5685-968c-48ce8b15ae17" });
assert(r.valid === true);

const encoded = await use("base64_encoder", { operation: "encode", input: "Hello, LLMSpell!" });
const decoded = await use("base64_encoder", { operation: "decode", input: encoded.output });
assert(decoded.output === "Hello, LLMSpell!", JSON.stringify(decoded));
r = await use("base64_encoder", { operation: "encode", input: "special/chars+in=url", variant: "url-safe" });
assert(!/[+/]/.test(r.output));

const sha = await use("hash_calculator", { operation: "hash", algorithm: "sha256", input: "LLMSpell" });
r = await use("hash_calculator", { operation: "verify", algorithm: "sha256", input: "LLMSpell", expected_hash: sha.hash });
assert(r.matches === true, JSON.stringify(r));

assert((await use("text_manipulator", { operation: "uppercase", input: "hello world" })).result === "HELLO WORLD");
assert((await use("text_manipulator", { operation: "snake_case", input: "HelloWorld" })).result === "hello_world");
assert((await use("text_manipulator", { operation: "replace", input: "Hello World",
    options: { from: "World", to: "LLMSpell" } })).result === "Hello LLMSpell");
assert((await use("text_manipulator", { operation: "substring", input: "LLMSpell is awesome",
    options: { start: 0, end: 8 } })).result === "LLMSpell");

r = await use("template_engine", { input: "Hello, {{name}}! You have {{count}} new messages.",
    context: { name: "Alice", count: 5 }, engine: "handlebars" });
assert(r.output === "Hello, Alice! You have 5 new messages.", JSON.stringify(r));
r = await use("template_engine", { input: "Welcome, {{ name }}!", context: { name: "bob" }, engine: "tera" });
assert(r.output === "Welcome, bob!");

r = await use("data_validation", { input: { email: "user@example.com", age: 25 },
    schema: { type: "object", required: ["email"] } });
assert(r.valid === true, JSON.stringify(r));

r = await use("diff_calculator", { old_text: "a\nb\n", new_text: "a\nc\n" });
assert(r.unified.includes("+c"), JSON.stringify(r));

r = await use("date_time_handler", { operation: "parse", input: "2024-12-25T10:30:00Z" });
assert(r != null);

// data tools
r = await use("json_processor", { operation: "query", input: '{"value": 75}', query: ".value > 50" });
assert(r.result === true, JSON.stringify(r));
const users = `{"users": [{"name": "Alice", "age": 30, "city": "NY"},
                           {"name": "Bob", "age": 25, "city": "SF"},
                           {"name": "Charlie", "age": 35, "city": "CHI"}]}`;
r = await use("json_processor", { operation: "query", input: users,
    query: ".users[] | select(.age > 25) | {name, city}" });
assert(r.result.length === 2 && r.result[0].name === "Alice" && r.result[1].city === "CHI", JSON.stringify(r));
r = await use("json_processor", { operation: "query", input: users,
    query: ".users | map({fullName: .name, years: (.age - 20)})" });
assert(r.result[2].fullName === "Charlie" && r.result[2].years === 15);
r = await use("json_processor", { operation: "validate", input: users,
    schema: { type: "object", required: ["users"] } });
assert(r.valid === true && r.is_valid === true);

const csv = "name,age\nAlice,30\nBob,25\n";
r = await use("csv_analyzer", { operation: "analyze", input: csv });
assert(r.row_count === 2, JSON.stringify(r));
r = await use("csv_analyzer", { operation: "convert", input: csv });
assert(r.rows[1].name === "Bob");

// system tools
r = await use("environment_reader", { operation: "get", variable_name: "PATH" });
assert(typeof r.value === "string", JSON.stringify(r));
r = await Tool.try("environment_reader", { operation: "get", variable_name: "AWS_SECRET_ACCESS_KEY" });
assert(r.success === false, "a secret variable is refused");
r = await use("process_executor", { executable: "echo", arguments: ["Hello", "from", "LLMSpell!"] });
assert(r.stdout.includes("Hello from LLMSpell!"), JSON.stringify(r));
r = await Tool.try("process_executor", { executable: "rm", arguments: ["-rf", "/"] });
assert(r.success === false, "programs off the allow-list are refused");

// file tools (`input` for content, source_path / target_path)
const a = dir + "/llmspell_test.md";
const b = dir + "/llmspell_copy.md";
await use("file_operations", { operation: "write", path: a, input: "# Test\nLLMSpell Features\n" });
assert((await use("file_operations", { operation: "read", path: a })).content.includes("Features"));
await use("file_operations", { operation: "copy", source_path: a, target_path: b });
await use("file_operations", { operation: "create_dir", path: dir + "/sub" });
assert((await use("file_operations", { operation: "exists", path: b })).exists === true);
await use("archive_handler", { operation: "create", path: dir + "/docs.zip", input: [a], format: "zip" });
r = await use("archive_handler", { operation: "list", path: dir + "/docs.zip" });
assert(r.entries.length === 1, JSON.stringify(r));
await use("archive_handler", { operation: "extract", path: dir + "/docs.zip", target_path: dir + "/out" });
await use("file_converter", { path: a, target_path: dir + "/crlf.md", line_ending: "crlf" });
assert((await use("file_operations", { operation: "read", path: dir + "/crlf.md" })).content.includes("\r\n"));

export default "ok";
