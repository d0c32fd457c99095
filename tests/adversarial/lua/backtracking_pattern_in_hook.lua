-- args: --timeout-secs 15
-- stdout: ok
-- within: 15
-- Issue 12 item 2, in a hook, through every pattern function.
local attack = {
    function(s, p) return s:find(p) end,
    function(s, p) return s:match(p) end,
    function(s, p) return s:gsub(p, "") end,
    function(s, p) for _ in s:gmatch(p) do end end,
}
for i, f in ipairs(attack) do
    Hook.register("BeforeToolExecution", function()
        f(string.rep("a", 40), string.rep("a*", 40) .. "b")
    end, {name = "pattern" .. i, timeout_ms = 200})
end
assert(Tool.invoke("calculator", {expression = "2 + 2"}).result == 4)
for _, h in ipairs(Hook.list("BeforeToolExecution")) do
    assert(h.timeouts == 1, JSON.encode(h))
end
print("ok")
