-- Tool aliases: an unknown name is redirected to a real tool.
local aliases = {calc = "calculator", uuid = "uuid_generator", upper = "text_manipulator"}
Hook.register("AfterToolDiscovery", function(ctx)
    local target = aliases[ctx.data.tool_name]
    if ctx.data.error and target then
        return {type = "redirect", target = target}
    end
end, {name = "aliases"})

print("calc: " .. Tool.invoke("calc", {expression = "40 + 2"}).result)
print("uuid: " .. JSON.encode(Tool.invoke("uuid", {})))
local ok, err = pcall(Tool.invoke, "nope", {})
assert(not ok and tostring(err):find("no tool named"))
