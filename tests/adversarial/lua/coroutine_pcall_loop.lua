-- args: --timeout-secs 1
-- exit: 124
-- stderr: exceeded its time limit of 1s
-- within: 10
-- Issue 12 item 1: a pcall loop inside a coroutine the script creates.
local co = coroutine.wrap(function()
    while true do pcall(function() while true do end end) end
end)
co()
