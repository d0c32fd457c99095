-- args: --timeout-secs 1
-- exit: 124
-- stderr: exceeded its time limit of 1s
-- within: 10
-- table.move loops in C in stock Lua: 2^63 iterations no hook sees.
table.move({}, 1, math.maxinteger - 1, 2)
