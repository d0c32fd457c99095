-- The Workflow global: the four patterns, references, conditions of every
-- kind, script functions with state, nesting, failures as results,
-- malformed definitions as errors, compensation, runs and resume.

local function expect_error(fn, needle)
    local ok, err = pcall(fn)
    assert(not ok, "expected an error containing: " .. needle)
    assert(tostring(err):find(needle, 1, true), "error lacks '" .. needle .. "': " .. tostring(err))
end

local function upper(text)
    return {name = "up", tool = "text_manipulator", input = {operation = "uppercase", text = text}}
end

-- sequential: tool steps, references, a function step writing state
local seq = Workflow.sequential({
    name = "lua_seq",
    description = "adds, doubles, shouts",
    steps = {
        {name = "sum", tool = "calculator", input = {expression = "{{input:a}} + 2"}},
        {name = "double", type = "tool", tool = "calculator",
         input = {expression = "{{step:sum:output.result}} * 2"}},
        {name = "shout", input = {text = "total {{step:double:output.result}}", n = "{{step:double:output.result}}"},
         fn = function(input, state, ctx)
             assert(math.type(input.n) == "integer", "a whole reference keeps its type")
             assert(ctx.workflow_name == "lua_seq" and ctx.step_name == "shout")
             assert(ctx.steps.sum.output.result == 42)
             state.last_total = input.n
             return string.upper(input.text)
         end},
    },
})
assert(seq:name() == "lua_seq")
assert(seq:pattern() == "sequential")
assert(seq:description() == "adds, doubles, shouts")
assert(#seq:steps() == 3)
assert(tostring(seq) == "Workflow(lua_seq, sequential)")

local r = seq:execute({a = 40})
assert(r.success, r.error)
assert(r.error == nil)
assert(r.data.sum.result == 42)
assert(r.data.double.result == 84)
assert(r.data.shout == "TOTAL 84")
assert(#r.steps == 3)
for i, name in ipairs({"sum", "double", "shout"}) do
    local s = r.steps[i]
    assert(s.name == name and s.success == true and type(s.duration_ms) == "number", name)
end
assert(r.steps[3].output == "TOTAL 84")
assert(type(r.run_id) == "string" and #r.run_id == 36)
assert(type(r.duration_ms) == "number")
assert(r.workflow_name == "lua_seq" and r.pattern == "sequential")

-- the state the function wrote is read by references and conditions
local reader = Workflow.sequential({
    name = "lua_state_reader",
    steps = {upper("last total was {{state:last_total}}")},
})
assert(reader:execute().data.up.result == "LAST TOTAL WAS 84")

-- a failing step is a result, never an error; the error names the step
local failing = Workflow.sequential({
    name = "lua_failing",
    steps = {
        {name = "ok", tool = "calculator", input = {expression = "1"}},
        {name = "bad", fn = function() error("disk full") end},
        {name = "never", tool = "calculator", input = {expression = "2"}},
    },
})
local f = failing:execute()
assert(f.success == false)
assert(f.error:find("step `bad` failed", 1, true), f.error)
assert(f.error:find("disk full", 1, true), f.error)
assert(#f.steps == 2 and f.steps[2].success == false and f.steps[2].error)
assert(f.data.ok and f.data.never == nil)

-- an unknown step in a reference names the step and the reference
local dangling = Workflow.sequential({name = "lua_dangling", steps = {upper("{{step:nope:output}}")}})
local d = dangling:execute()
assert(not d.success)
assert(d.error:find("{{step:nope:output}}", 1, true) and d.error:find("step `nope`", 1, true), d.error)

-- malformed definitions raise, naming the field
expect_error(function() Workflow.sequential({name = "x", steps = {}}) end, "`steps`: is empty")
expect_error(function() Workflow.sequential({name = "x", steps = {{name = "a", tool = "no_such_tool"}}}) end,
    "`steps[1].tool`: no tool named `no_such_tool`")
expect_error(function()
    Workflow.sequential({name = "x", steps = {upper("a"), upper("b")}})
end, "`steps[2].name`: duplicate step name `up`")
expect_error(function() Workflow.sequential({name = "x", steps = {{name = "a", custom = 1}}}) end,
    "`steps[1]`: has no kind")
expect_error(function() Workflow.sequential({name = "x", steps = {{name = "a", type = "magic", tool = "calculator"}}}) end,
    "unknown step kind `magic`")
expect_error(function() Workflow.conditional({name = "x", branches = {}}) end, "`branches`: is empty")
expect_error(function() Workflow.parallel({name = "x", branches = {}}) end, "`branches`: is empty")
expect_error(function() Workflow.loop({name = "x", body = {upper("a")}}) end, "`iterator`: is missing")
expect_error(function() Workflow.sequential("nope") end, "expects a definition table")
expect_error(function()
    Workflow.sequential({name = "x", steps = {{name = "a", tool = "calculator", input = {f = function() end}}}})
end, "cannot be data")

-- conditional: expression, tool and function conditions; first match or all
local route = Workflow.conditional({
    name = "lua_route",
    branches = {
        {name = "big", condition = {type = "expression", expression = "input.n > 10 && input.kind == \"num\""},
         steps = {upper("big {{input:n}}")}},
        {name = "tool", condition = {tool = "calculator", input = {expression = "{{input:n}} == 5"}},
         steps = {{name = "five", tool = "calculator", input = {expression = "5 * 5"}}}},
        {name = "func", condition = function(input, state) return input.n == 1 and state.last_total == 84 end,
         steps = {{name = "one", fn = function() return "one" end}}},
        {name = "other", default = true, steps = {{name = "fallback", fn = function(input) return input.n end}}},
    },
})
assert(route:execute({n = 11, kind = "num"}).data.up.result == "BIG 11")
assert(route:execute({n = 5}).data.five.result == 25)
assert(route:execute({n = 1}).data.one == "one")
local other = route:execute({n = 3})
assert(other.data.fallback == 3 and other.steps[1].branch == "other")

local all = Workflow.conditional({
    name = "lua_all", mode = "all",
    branches = {
        {name = "a", condition = "input.n > 1", steps = {{name = "a", fn = function() return "a" end}}},
        {name = "b", condition = "input.n > 2", steps = {{name = "b", fn = function() return "b" end}}},
    },
})
local both = all:execute({n = 5})
assert(both.data.a == "a" and both.data.b == "b")

-- loop: range (end exclusive), collection, while, break, max_iterations, aggregation
local squares = Workflow.loop({
    name = "lua_range",
    iterator = {range = {start = 1, ["end"] = 5, step = 1}},
    body = {{name = "sq", tool = "calculator", input = {expression = "{{loop:current_value}} * {{loop:current_value}}"}}},
})
local sq = squares:execute()
assert(#sq.data.sq == 4, "end is exclusive")
assert(sq.data.sq[1].result == 1 and sq.data.sq[4].result == 16)
assert(sq.steps[4].iteration == 3)

local items = Workflow.loop({
    name = "lua_items",
    iterator = {collection = "{{input:items}}"},
    body = {{name = "price", fn = function(input) return input.p * 2 end, input = {p = "{{loop:current_item.price}}"}}},
    aggregation_strategy = "last",
})
assert(items:execute({items = {{price = 1}, {price = 7}}}).data.price == 14)

local counter = Workflow.loop({
    name = "lua_while",
    iterator = {while_condition = function(_, state) return (state.count or 0) < 3 end},
    body = {{name = "inc", fn = function(_, state) state.count = (state.count or 0) + 1; return state.count end}},
})
assert(#counter:execute().data.inc == 3)

local breaking = Workflow.loop({
    name = "lua_break",
    iterator = {range = {["end"] = 100}},
    max_iterations = 50,
    body = {{name = "i", fn = function(_, _, ctx) return ctx.loop.index end}},
    break_condition = "steps.i.output >= 4",
})
assert(#breaking:execute().data.i == 5)
local capped = Workflow.loop({
    name = "lua_capped",
    iterator = {while_condition = "true"},
    max_iterations = 7,
    body = {{name = "i", fn = function() return 1 end}},
    aggregation_strategy = "none",
})
local c = capped:execute()
assert(c.success and #c.steps == 7 and next(c.data) == nil)

-- parallel: branches, join, fail-fast vs collect
local fan = Workflow.parallel({
    name = "lua_fan",
    max_concurrency = 2,
    branches = {
        {name = "x", steps = {{name = "v", fn = function() return "x" end}}},
        {name = "y", steps = {{name = "v", fn = function() return "y" end}}},
        {name = "z", steps = {{name = "v", fn = function() return "z" end}}},
    },
})
local p = fan:execute()
assert(p.success and p.data.x.v == "x" and p.data.y.v == "y" and p.data.z.v == "z")

local collect = Workflow.parallel({
    name = "lua_collect", fail_fast = false,
    branches = {
        {name = "ok", steps = {{name = "v", fn = function() return 1 end}}},
        {name = "bad1", steps = {{name = "v", fn = function() error("first") end}}},
        {name = "bad2", steps = {{name = "v", fn = function() error("second") end}}},
    },
})
local pc = collect:execute()
assert(not pc.success and pc.error:find("first", 1, true) and pc.error:find("second", 1, true), pc.error)
local any = Workflow.parallel({
    name = "lua_any", join = "any",
    branches = {
        {name = "bad", steps = {{name = "v", fn = function() error("no") end}}},
        {name = "good", steps = {{name = "v", fn = function() return "yes" end}}},
    },
})
assert(any:execute().success)

-- nesting three levels: sequential > parallel > loop, by object and by name
local inner = Workflow.loop({
    name = "lua_inner",
    iterator = {collection = "{{input:list}}"},
    body = {{name = "each", fn = function(input) return input.v + 100 end, input = {v = "{{loop:current_value}}"}}},
})
local middle = Workflow.parallel({
    name = "lua_middle",
    branches = {
        {name = "looped", steps = {{name = "loop", workflow = inner, input = {list = "{{input:list}}"}}}},
        {name = "plain", steps = {{name = "count", fn = function(input) return #input.list end}}},
    },
})
local outer = Workflow.sequential({
    name = "lua_outer",
    steps = {
        {name = "fan", workflow = "lua_middle", input = {list = "{{input:list}}"}},
        {name = "sum", fn = function(input) return input.each[1] + input.each[2] end,
         input = {each = "{{step:fan:output.looped.loop.each}}"}},
    },
})
local o = outer:execute({list = {1, 2}})
assert(o.success, o.error)
assert(o.data.sum == 203)
assert(o.data.fan.plain.count == 2)
assert(Workflow.get("lua_middle"):pattern() == "parallel")
assert(Workflow.get("no_such_workflow") == nil)
local names = {}
for _, n in ipairs(Workflow.list()) do names[n] = true end
assert(names.lua_outer and names.lua_inner and names.lua_seq)

-- compensation runs in reverse order when a later step fails
local undone = {}
local saga = Workflow.sequential({
    name = "lua_saga",
    steps = {
        {name = "a", fn = function() return "A" end,
         compensate = {tool = "text_manipulator", input = {operation = "lowercase", text = "{{step:a:output}}"}}},
        {name = "b", fn = function() return "B" end,
         compensate = {tool = "text_manipulator", input = {operation = "lowercase", text = "{{step:b:output}}"}}},
        {name = "boom", fn = function() error("declined") end},
    },
})
local s = saga:execute()
assert(not s.success)
assert(#s.compensations == 2 and s.compensations[1].step == "b" and s.compensations[2].step == "a")
assert(s.compensations[1].success)

-- runs are listed; a failed run resumes from the failed step
local attempts = 0
local flaky = Workflow.sequential({
    name = "lua_flaky",
    steps = {
        {name = "once", fn = function() attempts = attempts + 1; return attempts end},
        {name = "needs_ready", fn = function(_, state)
            if not state.ready then error("not ready yet") end
            return "done"
        end},
    },
})
local first = flaky:execute()
assert(not first.success and attempts == 1)
local listed
for _, run in ipairs(Workflow.runs()) do
    if run.run_id == first.run_id then listed = run end
end
assert(listed and listed.status == "failed" and listed.workflow_name == "lua_flaky", "run listed")
assert(listed.steps_completed == 1)
-- make it ready through a function step of another workflow (state is shared)
Workflow.sequential({name = "lua_ready", steps = {{name = "set", fn = function(_, state) state.ready = true end}}}):execute()
local resumed = Workflow.resume(first.run_id)
assert(resumed.success, resumed.error)
assert(resumed.run_id == first.run_id)
assert(attempts == 1, "the completed step did not run again")
assert(resumed.steps[1].source == "checkpoint" and resumed.data.once == 1)
assert(resumed.data.needs_ready == "done")
expect_error(function() Workflow.resume(first.run_id) end, "it completed")
expect_error(function() Workflow.resume("not-a-uuid") end, "is not a run id")
expect_error(function() Workflow.resume("01890f2c-7c4a-7c4a-8c4a-0123456789ab") end, "no workflow run")

-- hooks: every workflow point is a real hook point for Lua hooks
local seen = {}
local spy = Hook.register("BeforeWorkflowStage", function(ctx)
    seen[#seen + 1] = ctx.data.workflow_name .. ":" .. ctx.data.step_name .. ":" .. ctx.data.step_index
    if ctx.data.step_name == "greet" then
        -- Modified: the step gets another input
        return {type = "modified", data = {input = {operation = "uppercase", text = "changed by a hook"}}}
    elseif ctx.data.step_name == "skip_me" then
        return {type = "replace", value = "replaced by a hook"}
    end
end)
local hooked = Workflow.sequential({
    name = "lua_hooked",
    steps = {
        {name = "greet", tool = "text_manipulator", input = {operation = "uppercase", text = "hello"}},
        {name = "skip_me", fn = function() error("never runs") end},
    },
})
local h = hooked:execute()
assert(h.success, h.error)
assert(h.data.greet.result == "CHANGED BY A HOOK")
assert(h.data.skip_me == "replaced by a hook" and h.steps[2].source == "replaced")
assert(seen[1] == "lua_hooked:greet:0" and seen[2] == "lua_hooked:skip_me:1")
spy:unregister()

-- Cancel at BeforeWorkflowStart refuses the run; it is a result, not an error
local guard = Hook.register("BeforeWorkflowStart", function(ctx)
    if ctx.data.input.forbidden then return {type = "cancel", reason = "forbidden input"} end
end)
local refused = hooked:execute({forbidden = true})
assert(refused.success == false and refused.error:find("forbidden input", 1, true), refused.error)
assert(#refused.steps == 0)
guard:unregister()

-- WorkflowError: replace recovers a failed step; AfterWorkflowComplete sees the result
local recover = Hook.register("WorkflowError", function(ctx)
    if ctx.data.step_name == "flaky" then
        assert(ctx.data.error:find("kaboom", 1, true))
        return {type = "replace", value = "recovered"}
    end
end)
local final_seen
local after = Hook.register("AfterWorkflowComplete", function(ctx)
    if ctx.data.workflow_name == "lua_recover" then final_seen = ctx.data.output end
end)
local rec = Workflow.sequential({name = "lua_recover", steps = {{name = "flaky", fn = function() error("kaboom") end}}}):execute()
assert(rec.success and rec.data.flaky == "recovered", rec.error)
assert(final_seen and final_seen.success == true and final_seen.data.flaky == "recovered")
recover:unregister()
after:unregister()

-- WorkflowStageTransition: a cancel between steps stops the workflow
local stop = Hook.register("WorkflowStageTransition", function(ctx)
    if ctx.data.from_step == "first" then return {type = "cancel", reason = "stop after first"} end
end)
local two = Workflow.sequential({name = "lua_transition", steps = {
    {name = "first", fn = function() return 1 end}, {name = "second", fn = function() return 2 end}}}):execute()
assert(not two.success and two.error:find("stop after first", 1, true) and two.data.first == 1 and two.data.second == nil)
stop:unregister()

-- Workflow state is the State component's global scope: values set with
-- State are read by conditions, references and functions, and what
-- functions write is there for State.get
State.set("visits", 0)
State.set("open", true)
local visit = Workflow.conditional({name = "lua_state_component", branches = {
    {name = "open", condition = {type = "expression", expression = "state.open && state.visits < 2"}, steps = {
        {name = "visit", fn = function(_, state) state.visits = state.visits + 1; return state.visits end},
        {name = "say", tool = "text_manipulator", input = {operation = "uppercase", text = "visit {{state:visits}}"}}}},
    {name = "closed", default = true, steps = {{name = "sorry", fn = function() return "closed" end}}}}})
local v1 = visit:execute()
assert(v1.success and v1.data.visit == 1 and v1.data.say.result == "VISIT 1", JSON.encode(v1))
assert(State.get("visits") == 1 and State.version("visits") == 2)
State.set("open", false)
local v2 = visit:execute()
assert(v2.success and v2.data.sorry == "closed" and v2.data.visit == nil, v2.error)
assert(State.get("visits") == 1)
-- a State hook sees the workflow's write and can refuse it
local guard = Hook.register("BeforeStateWrite", function(ctx)
    if ctx.data.key == "visits" then return {type = "cancel", reason = "visits are frozen"} end
end)
State.set("open", true)
local v3 = visit:execute()
assert(not v3.success and v3.error:find("visits are frozen", 1, true) and v3.error:find("`visit`", 1, true), v3.error)
assert(State.get("visits") == 1)
guard:unregister()

-- rs-llmspell's condition types
State.set("priority", "urgent")
local compat = Workflow.conditional({name = "lua_compat_conditions", branches = {
    {name = "urgent", condition = {type = "shared_data_equals", key = "priority", value = "urgent"},
     steps = {{name = "page", fn = function() return "paged" end}}},
    {name = "rest", condition = {type = "always"}, steps = {{name = "queue", fn = function() return "queued" end}}}}})
assert(compat:execute().data.page == "paged")
State.set("priority", "low")
assert(compat:execute().data.queue == "queued")

return "ok"
