-- ctx.parent: nil, or the parent context's {point, component_id,
-- correlation_id}. The Rust side (llmspell-bridge tests/it/scripts.rs) runs
-- this script, makes calls that have a parent, then calls check().

SEEN = {}
Hook.register("BeforeToolExecution", function(ctx)
    SEEN[#SEEN + 1] = {parent = ctx.parent, correlation_id = ctx.correlation_id}
end)
Hook.register("custom:child", function(ctx)
    CHILD = ctx          -- kept past the call: read in check()
end)

-- A call made by the script at top level has no parent.
assert(Tool.invoke("calculator", {expression = "1 + 1"}).result == 2)
assert(#SEEN == 1 and SEEN[1].parent == nil, "no parent at top level")
assert(Hook.fire("custom:nobody", {}).type == "continue")

-- A point fired from inside a hook is a child of the running operation.
local inner
local fire_in_hook = Hook.register("AfterToolExecution", function(ctx)
    Hook.fire("custom:inside", {from = ctx.data.tool_name})
end)
local on_inside = Hook.register("custom:inside", function(ctx) inner = ctx end)
assert(Tool.invoke("calculator", {expression = "2 + 2"}).result == 4)
fire_in_hook:unregister(); on_inside:unregister()
local tool_call = SEEN[#SEEN]
assert(inner.data.from == "calculator")
assert(inner.parent, "the fire has the tool call as parent")
assert(inner.parent.point == "AfterToolExecution", inner.parent.point)
assert(inner.parent.component_id.type == "tool" and inner.parent.component_id.name == "calculator")
assert(inner.correlation_id == tool_call.correlation_id, "one correlation id for the run")
assert(inner.parent.correlation_id == tool_call.correlation_id)

-- A tool called by a hook of a fired point is a child of the fire.
local on_job = Hook.register("custom:job", function(ctx)
    Tool.invoke("calculator", {expression = "5"})
end)
local job = Hook.fire("custom:job", {})
on_job:unregister()
local nested = SEEN[#SEEN]
assert(job.type == "continue")
assert(nested.parent and nested.parent.point == "custom:job", "the tool call's parent is the fire")
assert(nested.parent.component_id.type == "custom:script")
assert(nested.correlation_id == nested.parent.correlation_id)

function check(expected)
    -- the tool call Rust made under a parent operation
    local last = SEEN[#SEEN]
    local p = last.parent
    assert(type(p) == "table", "the tool hook sees its parent")
    assert(p.point == expected.point, p.point)
    assert(p.component_id.type == expected.component_type, p.component_id.type)
    assert(p.component_id.name == expected.component_name, p.component_id.name)
    assert(p.component_id.id == expected.component_id, p.component_id.id)
    assert(p.correlation_id == expected.correlation_id, p.correlation_id)
    assert(last.correlation_id == expected.correlation_id, "the child inherits the correlation id")
    -- only the parent's identity is exposed
    local keys = {}
    for k in pairs(p) do keys[#keys + 1] = k end
    table.sort(keys)
    assert(table.concat(keys, ",") == "component_id,correlation_id,point", table.concat(keys, ","))
    -- a custom point fired from Rust with a parent, read after the hook returned
    assert(CHILD.parent.point == expected.point)
    assert(CHILD.parent.correlation_id == expected.correlation_id)
    assert(JSON.decode(JSON.encode(CHILD)).parent.component_id.name == expected.component_name)
    return "ok"
end

return "registered"
