-- A conditional workflow: branches chosen by an expression, a tool result
-- and a Lua function, with a default branch.
--
--   cargo run --release -p llmspell-cli -- run examples/lua/workflow_conditional.lua

print("== conditional workflow ==")

local triage = Workflow.conditional({
    name = "triage",
    branches = {
        -- An expression over input, state and steps.NAME.output.
        {name = "urgent", condition = {type = "expression", expression = "input.severity >= 8 && !input.muted"},
         steps = {{name = "page", fn = function(input) return "paging on-call for " .. input.title end}}},
        -- A tool condition: true when the tool's result is truthy (here
        -- data_validation's `valid`).
        {name = "security",
         condition = {tool = "data_validation",
                      input = {data = "{{input:title}}", schema = {type = "string", pattern = "CVE-[0-9]+"}}},
         steps = {{name = "ticket", fn = function(input) return "security ticket: " .. input.title end}}},
        -- A Lua function condition: (input, state) -> boolean.
        {name = "weekend", condition = function(input) return input.day == "sat" or input.day == "sun" end,
         steps = {{name = "queue", fn = function() return "queued for Monday" end}}},
        {name = "normal", default = true,
         steps = {{name = "log", fn = function(input) return "logged: " .. input.title end}}},
    },
})

local cases = {
    {input = {severity = 9, title = "db down", day = "mon"}, step = "page"},
    {input = {severity = 3, title = "CVE-2026-1 in libfoo", day = "mon"}, step = "ticket"},
    {input = {severity = 2, title = "typo", day = "sun"}, step = "queue"},
    {input = {severity = 9, muted = true, title = "noisy alarm", day = "tue"}, step = "log"},
}
for _, case in ipairs(cases) do
    local r = triage:execute(case.input)
    assert(r.success, r.error)
    assert(r.data[case.step], "expected step " .. case.step)
    print(string.format("  %-22s -> branch %-8s %s", case.input.title, r.steps[1].branch, r.data[case.step]))
end

-- mode = "all" runs every branch whose condition holds.
local tags = Workflow.conditional({
    name = "tags", mode = "all",
    branches = {
        {name = "big", condition = "input.n > 100", steps = {{name = "big", fn = function() return true end}}},
        {name = "even", condition = "input.n % 2 == 0", steps = {{name = "even", fn = function() return true end}}},
        {name = "odd", condition = "input.n % 2 == 1", steps = {{name = "odd", fn = function() return true end}}},
    },
})
local r = tags:execute({n = 1000})
assert(r.data.big and r.data.even and not r.data.odd)
print("  1000 is big and even")
