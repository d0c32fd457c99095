-- Every standard tool reached through Tool.invoke, one row per call:
-- {name, params, check}. `check(result)` must return true (or raise).
-- arg[1] is a directory inside the file roots; `fixtures` are files the
-- test harness wrote there. arg[2] is the base URL of the test's loopback
-- web server (127.0.0.1 is allowed by the policy), for the nine web tools.

local dir = arg[1]
assert(type(dir) == "string", "the test passes a file root as arg[1]")
local web = arg[2]
assert(type(web) == "string", "the test passes a web server's URL as arg[2]")
local function p(name) return dir .. "/" .. name end

local rows = {
    {"base64_encoder", {operation = "encode", input = "hi"},
        function(r) return r.output == "aGk=" end},
    {"calculator", {expression = "2 + 3 * 4"},
        function(r) return r.result == 14 end},
    {"date_time_handler", {operation = "parse", input = "2024-12-25T10:30:00Z"},
        function(r) return r ~= nil end},
    {"diff_calculator", {old = "a\n", new = "b\n"},
        function(r) return r.identical == false end},
    {"hash_calculator", {algorithm = "sha256", input = "abc"},
        function(r) return r.hash == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad" end},
    {"template_engine", {template = "Hi {{ n }}", context = {n = "Ada"}},
        function(r) return r.output == "Hi Ada" end},
    {"text_manipulator", {operation = "reverse", text = "abc"},
        function(r) return r.result == "cba" end},
    {"uuid_generator", {operation = "generate", count = 2},
        function(r) return #r.uuids == 2 end},
    {"csv_analyzer", {input = "a,b\n1,2\n"},
        function(r) return r.row_count == 1 end},
    {"data_validation", {data = 5, schema = {type = "integer"}},
        function(r) return r.valid == true end},
    {"json_processor", {input = {a = {1, 2, 3}}, query = ".a | add"},
        function(r) return r.result == 6 end},
    {"file_operations", {operation = "write", path = p("all.txt"), content = "x"},
        function(r) return r ~= nil end},
    {"file_search", {path = dir, pattern = "needle"},
        function(r) return #r.matches >= 1 end},
    {"file_converter", {path = p("crlf.txt"), output_path = p("lf.txt"), line_endings = "lf"},
        function(r) return r ~= nil end},
    {"archive_handler", {operation = "create", path = p("all.zip"), files = {p("needle.txt")}},
        function(r) return r.entries == 1 end},
    {"file_watcher", {path = dir, duration_ms = 50},
        function(r) return type(r.events) == "table" end},
    {"environment_reader", {operation = "exists", name = "PATH"},
        function(r) return r.exists == true end},
    {"process_executor", {program = "echo", args = {"hello"}},
        function(r) return r.stdout == "hello\n" end},
    {"service_checker", {host = "127.0.0.1", port = 1, timeout_ms = 500},
        function(r) return r.reachable ~= nil or r.open ~= nil end},
    {"system_monitor", {metrics = {"memory"}},
        function(r) return r.memory ~= nil end},
    {"database_connector", {path = p("all.db"), query = "SELECT 1 + ?1 AS n", params = {41}},
        function(r) return r.rows[1].n == 42 end},
    {"email_sender", {from = "a@example.com", to = "b@example.com", subject = "s", body = "b", dry_run = true},
        function(r) return r.dry_run == true and r.message:find("Subject: s", 1, true) ~= nil end},
    {"image_processor", {operation = "metadata", path = p("dot.bmp")},
        function(r) return r.width == 2 and r.height == 2 and r.format == "bmp" end},
    {"audio_processor", {operation = "metadata", path = p("tone.wav")},
        function(r) return r.format == "wav" and r.sample_rate == 8000 and r.channels == 1 end},
    {"video_processor", {operation = "metadata", path = p("tone.wav")},
        function(r) return r.source == "ffprobe" and r.streams[1].kind == "audio" end},
    -- the web tools, against the test's server
    {"http_request", {url = web .. "/json"},
        function(r) return r.status_code == 200 and r.body.user.name == "ada" end},
    {"graphql_query", {endpoint = web .. "/graphql", query = "{ hello }"},
        function(r) return r.has_errors == false end},
    {"api_tester", {url = web .. "/json", expect = {status = 200}},
        function(r) return r.passed == true end},
    {"webhook_caller", {url = web .. "/webhook", payload = {event = "all_tools"}},
        function(r) return r.success == true end},
    {"url_analyzer", {url = web .. "/page?b=2&a=1"},
        function(r) return r.valid == true and r.query_map.a == "1" end},
    {"web_scraper", {url = web .. "/page"},
        function(r) return r.title == "Test Page" end},
    {"sitemap_crawler", {url = web .. "/sitemap_index.xml", max_urls = 10},
        function(r) return r.urls_found == 5 end},
    {"webpage_monitor", {url = web .. "/page"},
        function(r) return r.first_check == true end},
    {"web_search", {query = "all tools"},
        function(r) return r.provider == "searxng" and r.count >= 1 end},
}

-- Rows the harness adds (the media tools when their features are built).
for _, row in ipairs(EXTRA_ROWS or {}) do rows[#rows + 1] = row end

local seen = {}
for i, row in ipairs(rows) do
    local name, params, check = row[1], row[2], row[3]
    local ok, result = pcall(Tool.invoke, name, params)
    assert(ok, string.format("row %d (%s) raised: %s", i, name, tostring(result)))
    assert(check(result), string.format("row %d (%s): unexpected result %s", i, name, JSON.stringify(result)))
    seen[name] = true
end

-- Every registered tool has a row.
local missing = {}
for _, t in ipairs(Tool.list()) do
    if not seen[t.name] then missing[#missing + 1] = t.name end
end
assert(#missing == 0, "tools without a row: " .. table.concat(missing, ", "))

return "ok"
