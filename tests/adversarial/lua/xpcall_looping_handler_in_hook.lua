-- args: --timeout-secs 15
-- stdout: ok
-- within: 15
-- Issue 12 item 3, in a hook.
Hook.register("BeforeToolExecution", function()
    xpcall(error, function() while true do pcall(function() while true do end end) end end)
end, {name = "handler", timeout_ms = 300})
assert(Tool.invoke("calculator", {expression = "1 + 1"}).result == 2)
assert(Hook.list("BeforeToolExecution")[1].timeouts == 1)
print("ok")
