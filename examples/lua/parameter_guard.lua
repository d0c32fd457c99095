-- A security hook: validate parameters and refuse what is not allowed.
local blocked = {"os", "exec", "rm"}
Hook.register("ToolValidation", function(ctx)
    local text = JSON.encode(ctx.data.parameters or {})
    for _, word in ipairs(blocked) do
        if text:find(word, 1, true) then
            Logger.warn("blocked a call", {tool = ctx.data.tool_name, word = word})
            return {type = "cancel", reason = "parameter contains `" .. word .. "`"}
        end
    end
end, {name = "param-guard", priority = "highest", fail_closed = true})

print(JSON.encode(Tool.invoke("text_manipulator", {operation = "uppercase", text = "fine text"})))
local ok, err = pcall(Tool.invoke, "text_manipulator", {operation = "uppercase", text = "please rm -rf"})
print("refused: " .. tostring(err))
assert(not ok and tostring(err):find("contains `rm`"))
