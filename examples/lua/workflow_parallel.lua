-- A parallel workflow: branches run concurrently within max_concurrency,
-- joined when all (or any, or n) succeed; fail-fast or collect errors. A
-- nested workflow and compensation on failure close the tour.
--
--   cargo run --release -p llmspell-cli -- run examples/lua/workflow_parallel.lua

print("== parallel workflow ==")

local report = Workflow.parallel({
    name = "report",
    max_concurrency = 2,
    branches = {
        {name = "hash", steps = {{name = "digest", tool = "hash_calculator",
                                  input = {input = "{{input:text}}", algorithm = "sha256"}}}},
        {name = "stats", steps = {{name = "length", tool = "text_manipulator",
                                   input = {operation = "length", text = "{{input:text}}"}}}},
        {name = "loud", steps = {{name = "upper", tool = "text_manipulator",
                                  input = {operation = "uppercase", text = "{{input:text}}"}}}},
    },
})
local r = report:execute({text = "hello workflows"})
assert(r.success, r.error)
print("  sha256: " .. r.data.hash.digest.hash:sub(1, 16) .. "...")
print("  length: " .. r.data.stats.length.result.chars .. " characters")
print("  loud:   " .. r.data.loud.upper.result)

-- join = "any": the first branch to succeed wins; fail_fast = false would
-- instead wait for every branch and list every error.
local mirror = Workflow.parallel({
    name = "mirror", join = "any",
    branches = {
        {name = "primary", steps = {{name = "get", fn = function() error("primary is down") end}}},
        {name = "backup", steps = {{name = "get", fn = function() return "from backup" end}}},
    },
})
local m = mirror:execute()
assert(m.success and m.data.backup.get == "from backup")
print("  mirror: " .. m.data.backup.get)

-- Nesting: the parallel workflow is a step of a sequential one, and
-- compensations undo completed steps, newest first, when a later one fails.
local undone = {}
local pipeline = Workflow.sequential({
    name = "pipeline",
    steps = {
        {name = "reserve", fn = function() return "seat-42" end,
         compensate = {tool = "text_manipulator", input = {operation = "uppercase", text = "release {{step:reserve:output}}"}}},
        {name = "analyse", workflow = report, input = {text = "{{step:reserve:output}}"}},
        {name = "charge", fn = function() error("card declined") end},
    },
})
local p = pipeline:execute()
assert(not p.success)
print("  pipeline failed: " .. p.error)
for _, c in ipairs(p.compensations) do
    print(string.format("  compensated %s with %s (%s)", c.step, c.tool, c.success and "ok" or c.error))
end
assert(#p.compensations == 1 and p.compensations[1].step == "reserve")
