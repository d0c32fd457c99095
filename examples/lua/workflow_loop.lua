-- Loop workflows: over a range (end exclusive), over a collection, and
-- while a condition holds, with a break condition and aggregation.
--
--   cargo run --release -p llmspell-cli -- run examples/lua/workflow_loop.lua

print("== loop workflows ==")

-- range: start 1, end 6 exclusive -> 1..5
local squares = Workflow.loop({
    name = "squares",
    iterator = {range = {start = 1, ["end"] = 6, step = 1}},
    body = {{name = "square", tool = "calculator",
             input = {expression = "{{loop:current_value}} * {{loop:current_value}}"}}},
    aggregation_strategy = "collect_all",   -- each step's outputs as a list
})
local r = squares:execute()
local values = {}
for i, out in ipairs(r.data.square) do values[i] = out.result end
print("  squares: " .. table.concat(values, ", "))
assert(#values == 5 and values[5] == 25)

-- collection from the input, items addressed with {{loop:current_value.field}}
local pricing = Workflow.loop({
    name = "pricing",
    iterator = {collection = "{{input:items}}"},
    body = {{name = "line", tool = "calculator",
             input = {expression = "{{loop:current_value.price}} * {{loop:current_value.qty}}"}}},
})
local lines = pricing:execute({items = {{price = 2, qty = 3}, {price = 10, qty = 1}}}).data.line
assert(lines[1].result == 6 and lines[2].result == 10)
print(string.format("  line totals: %d, %d", lines[1].result, lines[2].result))

-- while a condition holds; script functions keep a counter in the workflow state
local countdown = Workflow.loop({
    name = "countdown",
    iterator = {while_condition = function(_, state) return (state.remaining or 3) > 0 end},
    body = {{name = "tick", fn = function(_, state)
        state.remaining = (state.remaining or 3) - 1
        return state.remaining
    end}},
    max_iterations = 10,            -- a safety limit (default 1000)
})
local ticks = countdown:execute().data.tick
assert(#ticks == 3 and ticks[3] == 0)
print("  countdown: " .. table.concat(ticks, ", "))

-- break when a step's output says so; keep only the last iteration
local search = Workflow.loop({
    name = "search",
    iterator = {range = {["end"] = 1000}},
    body = {{name = "probe", tool = "calculator", input = {expression = "{{loop:index}} * 7 % 10"}}},
    break_condition = "steps.probe.output.result == 9",
    aggregation_strategy = "last",
})
local found = search:execute()
print(string.format("  found 9 after %d iterations", #found.steps))
assert(found.data.probe.result == 9 and #found.steps == 8)
