-- A sequential workflow: tool steps and a script function, chained by
-- references; a failing run that comes back as a result; hooks at the
-- workflow points; a failed run resumed from its checkpoint.
--
--   cargo run --release -p llmspell-cli -- run examples/lua/workflow_sequential.lua

print("== sequential workflow ==")

local invoice = Workflow.sequential({
    name = "invoice",
    description = "price an order and write the summary",
    steps = {
        -- {{input:KEY}} reads the workflow input; a string that is exactly one
        -- reference keeps the value's type.
        {name = "subtotal", tool = "calculator",
         input = {expression = "{{input:quantity}} * {{input:unit_price}}"}},
        {name = "total", tool = "calculator",
         input = {expression = "{{step:subtotal:output.result}} * 1.2"}},
        -- A script step: function(input, state, ctx) returns the step's output.
        {name = "summary",
         input = {customer = "{{input:customer}}", total = "{{step:total:output.result}}"},
         fn = function(input)
             return string.format("%s owes %.2f", input.customer, input.total)
         end},
        {name = "shout", tool = "text_manipulator",
         input = {operation = "uppercase", text = "{{step:summary:output}}"}},
    },
})

local result = invoice:execute({customer = "Ada", quantity = 3, unit_price = 12.5})
assert(result.success, result.error)
print("  " .. result.data.shout.result)
for _, step in ipairs(result.steps) do
    print(string.format("  step %-9s %s in %.2f ms", step.name, step.success and "ok" or "failed", step.duration_ms))
end
assert(result.data.total.result == 45.0)
assert(result.data.shout.result == "ADA OWES 45.00")
assert(#result.steps == 4)

-- A step that fails does not raise: the result says which step and why.
local bad = invoice:execute({customer = "Bob", quantity = "many", unit_price = 1})
assert(bad.success == false)
print("  failed as expected: " .. bad.error)
assert(bad.error:find("step `subtotal` failed", 1, true))

-- A malformed definition raises when it is created, naming the field.
local ok, err = pcall(Workflow.sequential, {name = "broken", steps = {{name = "x", tool = "no_such_tool"}}})
assert(not ok and tostring(err):find("steps[1].tool", 1, true))
print("  refused: " .. tostring(err):match("invalid workflow definition: [^\n]*"))

-- Hooks: every step fires BeforeWorkflowStage / AfterWorkflowStage (and
-- WorkflowError when it fails). This one applies a discount by changing
-- the input of the `total` step.
local discount = Hook.register("BeforeWorkflowStage", function(ctx)
    if ctx.data.workflow_name == "invoice" and ctx.data.step_name == "total" then
        local input = ctx.data.input
        input.expression = input.expression .. " * 0.9"
        return {type = "modified", data = {input = input}}
    end
end)
local discounted = invoice:execute({customer = "Ada", quantity = 3, unit_price = 12.5})
print("  with the discount hook: " .. discounted.data.shout.result)
assert(discounted.data.total.result == 40.5)
discount:unregister()

-- Resume: a run that failed continues from its last checkpoint; the steps
-- that completed do not run again.
local attempts = 0
local flaky = Workflow.sequential({
    name = "flaky_report",
    steps = {
        {name = "collect", fn = function() attempts = attempts + 1; return {rows = 3} end},
        {name = "publish", fn = function(input, state)
            if not state.publishing_enabled then error("publishing is disabled") end
            return "published " .. input.rows .. " rows"
        end, input = {rows = "{{step:collect:output.rows}}"}},
    },
})
local first = flaky:execute()
print("  first run: " .. first.error)
-- Fix the cause (a function step may write the workflow state) ...
Workflow.sequential({name = "enable", steps = {{name = "on", fn = function(_, state)
    state.publishing_enabled = true
end}}}):execute()
-- ... and resume the failed run.
local resumed = Workflow.resume(first.run_id)
assert(resumed.success, resumed.error)
assert(attempts == 1, "collect ran once")
print("  resumed " .. resumed.run_id .. ": " .. resumed.data.publish)
for _, run in ipairs(Workflow.runs()) do
    if run.run_id == first.run_id then print("  run status now: " .. run.status) end
end
