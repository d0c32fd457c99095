-- Workflow.builder(): the chainable builder of rs-llmspell scripts, over
-- the same definitions as Workflow.sequential{...} and friends.

local function expect_error(fn, needle)
    local ok, err = pcall(fn)
    assert(not ok, "expected an error containing: " .. needle)
    assert(tostring(err):find(needle, 1, true), "error lacks '" .. needle .. "': " .. tostring(err))
end

-- sequential, steps written with `type` as rs-llmspell scripts write them
local b = Workflow.builder()
assert(tostring(b) == "WorkflowBuilder")
local seq = b
    :name("b_seq")
    :description("hash then encode")
    :sequential()
    :add_step({
        name = "hash",
        type = "tool",
        tool = "hash_calculator",
        input = {operation = "hash", algorithm = "md5", input = "{{input:text}}"},
    })
    :add_step({
        name = "shout",
        type = "tool",
        tool = "text_manipulator",
        input = {operation = "uppercase", text = "{{step:hash:output.hash}}"},
    })
    :build()

-- the fields rs-llmspell scripts read, and the methods of every workflow
assert(seq.name == "b_seq", tostring(seq.name))
assert(seq.id == "b_seq")
assert(seq.type == "sequential")
assert(seq:name() == "b_seq", "wf:name() still works")
assert(seq:pattern() == "sequential")
assert(seq:description() == "hash then encode")
local info = seq:get_info()
assert(info.id == "b_seq" and info.name == "b_seq" and info.type == "sequential")
assert(#seq:steps() == 2 and seq:steps()[1] == "hash")
assert(tostring(seq) == "Workflow(b_seq, sequential)")
-- calling any other string is still an error
expect_error(function() local s = "abc"; s() end, "attempt to call a string value")
expect_error(function() local s = "other"; s(seq) end, "attempt to call a string value")

local r = seq:execute({text = "hello"})
assert(r.success, r.error)
assert(r.data.hash.hash == "5d41402abc4b2a76b9719d911017c592")
assert(r.data.shout.result == "5D41402ABC4B2A76B9719D911017C592")
assert(#r.steps == 2 and r.steps[2].name == "shout")

-- the built object is the same kind as a table-made one: found by name,
-- nestable, and of the same fingerprint as the equivalent table
assert(Workflow.get("b_seq"):pattern() == "sequential")
local same = Workflow.sequential({
    type = "sequential",
    name = "b_seq",
    description = "hash then encode",
    steps = {
        {name = "hash", type = "tool", tool = "hash_calculator",
         input = {operation = "hash", algorithm = "md5", input = "{{input:text}}"}},
        {name = "shout", type = "tool", tool = "text_manipulator",
         input = {operation = "uppercase", text = "{{step:hash:output.hash}}"}},
    },
})
assert(same:fingerprint() == seq:fingerprint(), "the builder makes the same definition")

-- the `type` key is checked against the step's other keys
expect_error(function()
    Workflow.builder():name("b_bad"):sequential()
        :add_step({name = "x", type = "agent", tool = "calculator"}):build()
end, "`steps[1].type`: says `agent` but the step has `tool`")
expect_error(function()
    Workflow.builder():name("b_bad"):sequential()
        :add_step({name = "x", type = "tool"}):build()
end, "`steps[1].tool`: is missing")
expect_error(function()
    Workflow.builder():name("b_bad"):sequential()
        :add_step({name = "x", type = "custom", tool = "calculator"}):build()
end, "unknown step kind `custom`")
expect_error(function()
    Workflow.builder():name("b_bad"):sequential():add_step({name = "x", tool = "no_such_tool"}):build()
end, "no tool named `no_such_tool`")
expect_error(function() Workflow.builder():name("b_bad"):add_step({name = "x", tool = "calculator"}):build() end,
    "no pattern chosen")
expect_error(function() Workflow.builder():name("b_bad"):sequential():build() end, "has no steps")
expect_error(function() Workflow.builder():sequential():add_step("calculator") end, "expects a step table")
expect_error(function()
    Workflow.builder():name("b_bad"):sequential():max_concurrency(2)
        :add_step({name = "x", tool = "calculator", input = {expression = "1"}}):build()
end, "belongs to parallel workflows")
expect_error(function()
    Workflow.builder():name("b_bad"):sequential():with_range({start = 0, ["end"] = 2})
        :add_step({name = "x", tool = "calculator", input = {expression = "1"}}):build()
end, "belongs to loop workflows")
expect_error(function()
    Workflow.builder():name("b_bad"):sequential():error_strategy("retry")
end, "unknown strategy `retry`")

-- parallel: each added step is a branch of its own
local par = Workflow.builder()
    :name("b_par")
    :parallel()
    :max_concurrency(2)
    :add_step({name = "md5", type = "tool", tool = "hash_calculator",
               input = {operation = "hash", algorithm = "md5", input = "x"}})
    :add_step({name = "sha", type = "tool", tool = "hash_calculator",
               input = {operation = "hash", algorithm = "sha256", input = "x"}})
    :add_step({name = "calc", type = "tool", tool = "calculator", input = {expression = "6 * 7"}})
    :build()
assert(par.type == "parallel")
local p = par:execute()
assert(p.success, p.error)
assert(p.data.md5.md5.algorithm == "md5")
assert(p.data.sha.sha.algorithm == "sha256")
assert(p.data.calc.calc.result == 42)
assert(#p.steps == 3)
for _, s in ipairs(p.steps) do assert(s.branch == s.name) end

-- parallel with error_strategy("continue"): every branch's error is reported
local collect = Workflow.builder()
    :name("b_par_collect")
    :parallel()
    :error_strategy("continue")
    :add_step({name = "bad1", fn = function() error("first broke") end})
    :add_step({name = "bad2", fn = function() error("second broke") end})
    :build()
local c = collect:execute()
assert(not c.success)
assert(c.error:find("first broke", 1, true) and c.error:find("second broke", 1, true), c.error)

-- conditional: condition table, then/else steps, a nested workflow step
local blog = Workflow.builder():name("b_blog"):sequential()
    :add_step({name = "fmt", type = "tool", tool = "text_manipulator",
               input = {operation = "uppercase", text = "blog: {{input:content}}"}})
    :build()
State.set("content_type", "blog")
local router = Workflow.builder()
    :name("b_router")
    :description("routes by the shared content type")
    :conditional()
    :condition({type = "shared_data_equals", key = "content_type", value = "blog"})
    :add_then_step({name = "as_blog", type = "workflow", workflow = blog, input = {content = "{{input:content}}"}})
    :add_else_step({name = "as_email", type = "tool", tool = "text_manipulator",
                    input = {operation = "lowercase", text = "EMAIL: {{input:content}}"}})
    :build()
assert(router.type == "conditional")
local rb = router:execute({content = "news"})
assert(rb.success, rb.error)
assert(rb.data.as_blog.fmt.result == "BLOG: NEWS")
assert(rb.steps[1].branch == "then")
State.set("content_type", "email")
local re = router:execute({content = "News"})
assert(re.success, re.error)
assert(re.data.as_email.result == "email: news")
assert(re.steps[1].branch == "else")

-- conditional with a function condition and steps added before it: they
-- run first, and the condition sees their output
local classify = Workflow.builder()
    :name("b_classify")
    :conditional()
    :add_step({name = "count", type = "tool", tool = "calculator", input = {expression = "{{input:n}} * 10"}})
    :condition(function(input, state, ctx) return ctx.steps.count.output.result > 50 end)
    :add_then_step({name = "big", fn = function() return "big" end})
    :add_else_step({name = "small", fn = function() return "small" end})
    :build()
local big = classify:execute({n = 9})
assert(big.success, big.error)
assert(big.data.count.result == 90)
assert(big.data.branches.big == "big")
assert(classify:execute({n = 2}).data.branches.small == "small")

-- add_branch: N-way routing before then/else
local nway = Workflow.builder()
    :name("b_nway")
    :conditional()
    :add_branch({type = "expression", expression = "input.n == 1"}, {{name = "one", fn = function() return 1 end}})
    :add_branch("input.n == 2", {{name = "two", fn = function() return 2 end}})
    :add_else_step({name = "many", fn = function() return "many" end})
    :build()
assert(nway:execute({n = 1}).data.one == 1)
local two = nway:execute({n = 2})
assert(two.data.two == 2 and two.steps[1].branch == "branch_2")
assert(nway:execute({n = 7}).data.many == "many")
expect_error(function()
    Workflow.builder():name("b_bad"):conditional():add_then_step({name = "x", fn = function() end}):build()
end, "`branches[1].condition`: is missing")

-- loop: with_range (end exclusive), max_iterations caps it
local range = Workflow.builder()
    :name("b_range")
    :loop()
    :with_range({start = 2, ["end"] = 6, step = 1})
    :add_step({name = "sq", type = "tool", tool = "calculator",
               input = {expression = "{{loop:current_value}} * {{loop:current_value}}"}})
    :build()
assert(range.type == "loop")
local rr = range:execute()
assert(rr.success, rr.error)
assert(#rr.data.sq == 4 and rr.data.sq[1].result == 4 and rr.data.sq[4].result == 25)

local capped = Workflow.builder():name("b_capped"):loop_workflow()
    :with_range({start = 1, ["end"] = 10, step = 1})
    :max_iterations(3)
    :add_step({name = "v", fn = function(input, state, ctx) return ctx.loop.current_value end})
    :build()
local cr = capped:execute()
assert(#cr.data.v == 3 and cr.data.v[3] == 3, #cr.data.v)

-- loop_workflow + max_iterations alone runs the body n times
local times = Workflow.builder():name("b_times"):loop_workflow():max_iterations(3)
    :add_step({name = "i", fn = function(input, state, ctx) return ctx.loop.index end})
    :build()
local tr = times:execute()
assert(#tr.data.i == 3 and tr.data.i[1] == 0 and tr.data.i[3] == 2)

-- with_collection, break_condition and aggregation
local coll = Workflow.builder():name("b_coll"):loop()
    :with_collection({"apple", "banana", "cherry", "date"})
    :break_condition("loop.current_value == \"cherry\"")
    :aggregation_strategy("last")
    :add_step({name = "up", type = "tool", tool = "text_manipulator",
               input = {operation = "uppercase", text = "{{loop:current_value}}"}})
    :build()
local co = coll:execute()
assert(co.success, co.error)
assert(co.data.up.result == "CHERRY", "the loop broke after cherry and kept the last output")
assert(#co.steps == 3)

-- with_while: checked before each iteration, on the state a step writes
State.set("b_count", 0)
local counting = Workflow.builder():name("b_while"):loop()
    :with_while("state.b_count < 3")
    :add_step({name = "inc", fn = function(input, state) state.b_count = state.b_count + 1; return state.b_count end})
    :build()
local wr = counting:execute()
assert(wr.success, wr.error)
assert(#wr.data.inc == 3 and State.get("b_count") == 3)
expect_error(function()
    Workflow.builder():name("b_bad"):loop():add_step({name = "x", fn = function() end}):build()
end, "a loop needs an iterator")

-- a builder can be reused after a failed build: the chain mutates it in place
local partial = Workflow.builder():name("b_late"):add_step({name = "x", tool = "calculator", input = {expression = "1 + 1"}})
expect_error(function() partial:build() end, "no pattern chosen")
assert(partial:sequential():build():execute().data.x.result == 2)

return "ok"
