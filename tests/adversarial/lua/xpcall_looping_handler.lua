-- args: --timeout-secs 1
-- exit: 124
-- stderr: exceeded its time limit of 1s
-- within: 10
-- Issue 12 item 3: a message handler that never returns.
print(xpcall(error, function() while true do end end))
