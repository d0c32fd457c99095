-- args: --timeout-secs 1
-- exit: 124
-- stderr: exceeded its time limit of 1s
-- within: 10
-- Issue 12 item 2: a backtracking pattern inside string.find (a C function
-- in stock Lua, where no instruction hook fires).
print(string.find(string.rep("a", 40), string.rep("a*", 40) .. "b"))
