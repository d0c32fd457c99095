-- args: --timeout-secs 15
-- stdout: ok
-- within: 15
-- Issue 12 item 1, in a hook: stopped at its timeout_ms, the call goes on.
Hook.register("BeforeToolExecution", function()
    local co = coroutine.wrap(function()
        while true do pcall(function() while true do end end) end
    end)
    co()
end, {name = "spinner", timeout_ms = 300})
assert(Tool.invoke("calculator", {expression = "6 * 7"}).result == 42)
local h = Hook.list("BeforeToolExecution")[1]
assert(h.timeouts == 1, JSON.encode(h))
print("ok")
