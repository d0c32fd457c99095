-- A sequential workflow: tool steps and a script function, chained by
-- references, with a failing run that comes back as a result.
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
