-- args: --timeout-secs 1
-- exit: 124
-- stderr: could not be stopped
-- within: 10
-- A __gc finaliser that never returns, run while the script runs: Lua
-- runs finalisers with the instruction hook off, so nothing can interrupt
-- it; the engine is discarded 1 s past the limit and the CLI exits.
setmetatable({}, {__gc = function() while true do end end})
collectgarbage()
