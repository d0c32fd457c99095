-- Scripts written for rs-llmspell's tools, run unchanged: the calls its tool
-- examples make (parameter names, operation names, Tool and JSON functions),
-- written for this fixture. arg[1] is a directory the file tools may use.

local dir = arg[1]
assert(type(dir) == "string", "the test passes a file root as arg[1]")

-- Tool.exists / Tool.categories / Tool.get(name):execute(params)
assert(Tool.exists("calculator") == true)
assert(Tool.exists("text-manipulator") == true, "hyphenated names resolve")
assert(Tool.exists("no_such_tool") == false)
local cats = Tool.categories()
local seen = {}
for _, c in ipairs(cats) do seen[c] = true end
assert(seen.utility and seen.data and seen.filesystem and seen.system, JSON.stringify(cats))

local calc = Tool.get("calculator")
assert(calc.name == "calculator" and type(calc.description) == "string")
assert(calc.schema.properties.expression.type == "string")
assert(calc.schema["x-synonyms"].input == "expression", "the schema documents `input`")
local r = calc:execute({operation = "evaluate", input = "2 + 3 * 4 - 1"})
assert(r.result == 13, JSON.stringify(r))
r = calc.execute({input = "(10 + 20) * 3 / 2"})
assert(r.result == 45)
r = calc:execute({operation = "evaluate", input = "x * x + y * y", variables = {x = 3, y = 4}})
assert(r.result == 25)

-- rs-llmspell's result view: `text` is the JSON text of {success, result},
-- `success` is true; neither is one of the table's own fields.
local v = Tool.invoke("calculator", {input = "2 + 3 * 4"})
assert(v.result == 14)
assert(type(v.text) == "string", "result.text is JSON text")
local parsed = JSON.parse(v.text)
assert(parsed.success == true and parsed.result.result == 14, v.text)
assert(v.success == true and v.error == nil)
for k in pairs(v) do
  assert(k ~= "text" and k ~= "success", "the view adds no field: " .. tostring(k))
end
assert(JSON.decode(JSON.encode(v)).text == nil, "JSON sees only the tool's fields")
local ex = calc:execute({input = "1 + 1"})
assert(JSON.parse(ex.text).result.result == 2, "tool:execute results have the view too")
local own = Tool.invoke("text_manipulator", {operation = "uppercase", input = "abc"})
assert(JSON.parse(own.text).result.result == "ABC", own.text)

-- JSON.parse / JSON.stringify are decode / encode
local t = JSON.parse('{"a": [1, 2], "b": "c"}')
assert(t.a[2] == 2 and t.b == "c")
assert(JSON.parse(JSON.stringify({x = 1})).x == 1)
assert(JSON.stringify({1, 2}) == JSON.encode({1, 2}))

-- Tool.try returns {success, result, error}; Tool.invoke raises
local ok = Tool.try("calculator", {input = "6 * 7"})
assert(ok.success == true and ok.result.result == 42 and ok.error == nil)
local bad = Tool.try("calculator", {input = "1 +"})
assert(bad.success == false and type(bad.error) == "string" and bad.result == nil)
local missing = Tool.try("no_such_tool", {})
assert(missing.success == false and missing.error:find("no_such_tool"))
local raised, err = pcall(Tool.invoke, "calculator", {input = "1 +"})
assert(not raised and tostring(err):find("expression"))
local both = Tool.try("calculator", {input = "1", expression = "2"})
assert(not both.success and both.error:find("input") and both.error:find("expression"))

-- utility tools with `input`
local function use(name, params)
    local res = Tool.invoke(name, params)
    assert(res ~= nil, name)
    return res
end

r = use("uuid_generator", {operation = "generate", version = "v4", format = "hyphenated"})
assert(#r.uuids[1] == 36, JSON.stringify(r))
r = use("uuid_generator", {operation = "generate", version = "v5", namespace = "dns", name = "example.com"})
assert(r.uuids[1] == "cfbff0d1-9375-5685-968c-48ce8b15ae17")
r = use("uuid_generator", {operation = "validate", uuid = "cfbff0d1-9375-5685-968c-48ce8b15ae17"})
assert(r.valid == true)

local encoded = use("base64_encoder", {operation = "encode", input = "Hello, LLMSpell!"})
local decoded = use("base64_encoder", {operation = "decode", input = encoded.output})
assert(decoded.output == "Hello, LLMSpell!", JSON.stringify(decoded))
r = use("base64_encoder", {operation = "encode", input = "special/chars+in=url", variant = "url-safe"})
assert(not r.output:find("[+/]"))

local sha = use("hash_calculator", {operation = "hash", algorithm = "sha256", input = "LLMSpell"})
r = use("hash_calculator", {operation = "verify", algorithm = "sha256", input = "LLMSpell",
                            expected_hash = sha.hash})
assert(r.matches == true, JSON.stringify(r))

assert(use("text_manipulator", {operation = "uppercase", input = "hello world"}).result == "HELLO WORLD")
assert(use("text_manipulator", {operation = "snake_case", input = "HelloWorld"}).result == "hello_world")
assert(use("text_manipulator", {operation = "replace", input = "Hello World",
                                options = {from = "World", to = "LLMSpell"}}).result == "Hello LLMSpell")
assert(use("text_manipulator", {operation = "substring", input = "LLMSpell is awesome",
                                options = {start = 0, ["end"] = 8}}).result == "LLMSpell")

r = use("template_engine", {input = "Hello, {{name}}! You have {{count}} new messages.",
                            context = {name = "Alice", count = 5}, engine = "handlebars"})
assert(r.output == "Hello, Alice! You have 5 new messages.", JSON.stringify(r))
r = use("template_engine", {input = "Welcome, {{ name }}!", context = {name = "bob"}, engine = "tera"})
assert(r.output == "Welcome, bob!")

r = use("data_validation", {input = {email = "user@example.com", age = 25},
                            schema = {type = "object", required = {"email"}}})
assert(r.valid == true, JSON.stringify(r))

r = use("diff_calculator", {old_text = "a\nb\n", new_text = "a\nc\n"})
assert(r.unified:find("+c", 1, true), JSON.stringify(r))

r = use("date_time_handler", {operation = "parse", input = "2024-12-25T10:30:00Z"})
assert(r ~= nil)

-- data tools
r = use("json_processor", {operation = "query", input = '{"value": 75}', query = ".value > 50"})
assert(r.result == true, JSON.stringify(r))
local users = [[{"users": [{"name": "Alice", "age": 30, "city": "NY"},
                           {"name": "Bob", "age": 25, "city": "SF"},
                           {"name": "Charlie", "age": 35, "city": "CHI"}]}]]
r = use("json_processor", {operation = "query", input = users,
                           query = ".users[] | select(.age > 25) | {name, city}"})
assert(#r.result == 2 and r.result[1].name == "Alice" and r.result[2].city == "CHI")
r = use("json_processor", {operation = "query", input = users,
                           query = ".users | map({fullName: .name, years: (.age - 20)})"})
assert(r.result[3].fullName == "Charlie" and r.result[3].years == 15)
r = use("json_processor", {operation = "validate", input = users,
                           schema = {type = "object", required = {"users"}}})
assert(r.valid == true and r.is_valid == true)

local csv = "name,age\nAlice,30\nBob,25\n"
r = use("csv_analyzer", {operation = "analyze", input = csv})
assert(r.row_count == 2, JSON.stringify(r))
r = use("csv_analyzer", {operation = "convert", input = csv})
assert(r.rows[2].name == "Bob")

-- system tools
r = use("environment_reader", {operation = "get", variable_name = "PATH"})
assert(type(r.value) == "string", JSON.stringify(r))
r = Tool.try("environment_reader", {operation = "get", variable_name = "AWS_SECRET_ACCESS_KEY"})
assert(r.success == false, "a secret variable is refused")
r = use("process_executor", {executable = "echo", arguments = {"Hello", "from", "LLMSpell!"}})
assert(r.stdout:find("Hello from LLMSpell!", 1, true), JSON.stringify(r))
r = Tool.try("process_executor", {executable = "rm", arguments = {"-rf", "/"}})
assert(r.success == false, "programs off the allow-list are refused")

-- file tools (`input` for content, source_path / target_path)
local a = dir .. "/llmspell_test.md"
local b = dir .. "/llmspell_copy.md"
use("file_operations", {operation = "write", path = a, input = "# Test\nLLMSpell Features\n"})
assert(use("file_operations", {operation = "read", path = a}).content:find("Features"))
use("file_operations", {operation = "copy", source_path = a, target_path = b})
use("file_operations", {operation = "create_dir", path = dir .. "/sub"})
assert(use("file_operations", {operation = "exists", path = b}).exists == true)
use("archive_handler", {operation = "create", path = dir .. "/docs.zip", input = {a}, format = "zip"})
r = use("archive_handler", {operation = "list", path = dir .. "/docs.zip"})
assert(#r.entries == 1, JSON.stringify(r))
use("archive_handler", {operation = "extract", path = dir .. "/docs.zip", target_path = dir .. "/out"})
use("file_converter", {path = a, target_path = dir .. "/crlf.md", line_ending = "crlf"})
assert(use("file_operations", {operation = "read", path = dir .. "/crlf.md"}).content:find("\r\n", 1, true))

return "ok"
