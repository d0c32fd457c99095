-- args: --timeout-secs 1
-- exit: 124
-- stderr: exceeded its time limit of 1s
-- within: 10
-- Resuming fresh spinning coroutines forever, errors swallowed by resume.
while true do
    coroutine.resume(coroutine.create(function()
        while true do pcall(function() while true do end end) end
    end))
end
