-- The nine web tools through Tool.invoke, against a web server on loopback
-- started by the Rust test, which passes its base URL as the first script
-- argument and allows 127.0.0.1 (only) in the network policy.

local base = assert(arg[1], "the test passes the server's base URL")

local function fails(fn, needle)
    local ok, err = pcall(fn)
    assert(not ok, "expected a failure mentioning " .. needle)
    assert(tostring(err):find(needle, 1, true), "error `" .. tostring(err) .. "` does not mention " .. needle)
end

-- http_request (and its hyphenated alias)
local r = Tool.invoke("http_request", {url = base .. "/json"})
assert(r.status_code == 200 and r.success == true, JSON.encode(r))
assert(r.body.user.name == "ada" and r.headers["x-test"] == "yes")
local echo = Tool.invoke("http-request", {
    input = base .. "/echo", method = "POST", body = {answer = 42},
    auth = {type = "bearer", token = "t0k"},
})
assert(echo.body.method == "POST")
assert(echo.body.headers.authorization == "Bearer t0k")
assert(JSON.decode(echo.body.body).answer == 42)
local flaky = Tool.invoke("http_request", {url = base .. "/flaky/lua?fail=1", max_retries = 2, retry_delay_ms = 5})
assert(flaky.status_code == 200 and flaky.attempts == 2)

-- graphql_query
local g = Tool.invoke("graphql_query", {
    endpoint = base .. "/graphql",
    query = "query Hi($name: String) { hello(name: $name) }",
    variables = {name = "lua"}, operation_name = "Hi",
})
assert(g.data.hello == "lua" and g.data.operation == "Hi" and g.has_errors == false)
fails(function() Tool.invoke("graphql_query", {endpoint = base .. "/graphql", query = "{ fail }"}) end,
      "field `fail` does not exist")

-- api_tester
local t = Tool.invoke("api-tester", {
    url = base .. "/json",
    expect = {status = 200, json = {["$.user.id"] = 7}, headers = {["x-test"] = "yes"}, max_latency_ms = 5000},
})
assert(t.passed == true and t.passed_count == 4, JSON.encode(t))
local bad = Tool.invoke("api_tester", {url = base .. "/json", expect = {status = 201}})
assert(bad.passed == false and bad.assertions[1].actual == 200)

-- webhook_caller
local w = Tool.invoke("webhook-caller", {url = base .. "/webhook", payload = {event = "lua"}, secret = "k"})
assert(w.success == true and w.retry_count == 0)
assert(w.signature:match("^sha256=%x+$"), w.signature)

-- url_analyzer
local u = Tool.invoke("url-analyzer", {input = "https://Example.com:443/a/../b?q=1&q=2#top"})
assert(u.normalized == "https://example.com/b?q=1&q=2#top", u.normalized)
assert(u.host == "example.com" and u.fragment == "top" and #u.query_params == 2)
local fetched = Tool.invoke("url_analyzer", {url = base .. "/page", fetch_metadata = true, fetch_method = "GET"})
assert(fetched.metadata.status_code == 200 and fetched.metadata.title == "Test Page")

-- web_scraper
local s = Tool.invoke("web-scraper", {
    input = base .. "/page",
    selectors = {headline = "h1", ids = {selector = ".item", attribute = "data-id"}},
    extract_links = true, extract_text = true,
})
assert(s.title == "Test Page" and s.content.headline == "Hello, world")
assert(s.content.ids[1] == "1" and s.content.ids[2] == "2")
assert(s.text:find("The first paragraph.", 1, true) and not s.text:find("do not show", 1, true))
assert(#s.links == 3)

-- sitemap_crawler
local m = Tool.invoke("sitemap-crawler", {input = base .. "/sitemap_index.xml", max_urls = 10})
assert(m.urls_found == 5 and m.truncated == false, JSON.encode(m))
assert(m.urls[1].url == base .. "/a")

-- webpage_monitor: /counter changes on every visit
local first = Tool.invoke("webpage-monitor", {url = base .. "/counter"})
assert(first.first_check == true and first.has_changes == false)
local second = Tool.invoke("webpage_monitor", {url = base .. "/counter"})
assert(second.has_changes == true and second.changes[1].type == "modification", JSON.encode(second))
assert(second.changes[1].old_content == "visits: 1" and second.changes[1].new_content == "visits: 2")

-- web_search through both providers
local found = Tool.invoke("web_search", {query = "lua tools"})
assert(found.provider == "searxng" and found.count == 2 and found.results[1].title == "lua tools one")
local brave = Tool.invoke("web-search", {input = "lua", provider = "brave", max_results = 1})
assert(brave.provider == "brave" and brave.count == 1 and brave.results[1].url == "https://brave.example/1")

-- policy refusals reach the script as errors naming the rule
fails(function() Tool.invoke("http_request", {url = "http://169.254.169.254/latest/meta-data/"}) end, "cloud_metadata")
fails(function() Tool.invoke("web_scraper", {url = base .. "/redirect?to=http://10.0.0.1/"}) end, "private_address")
-- schema errors name the parameter
fails(function() Tool.invoke("http_request", {url = base .. "/json", method = "BREW"}) end, "method")

return "ok"
