-- args: --timeout-secs 1
-- exit: 124
-- stderr: exceeded its time limit of 1s
-- within: 10
-- A pcall loop where nothing can yield (a table.sort comparator): the
-- guarded pcall re-raises the time limit.
local t = {3, 1, 2}
table.sort(t, function(a, b)
    while true do pcall(function() while true do end end) end
end)
