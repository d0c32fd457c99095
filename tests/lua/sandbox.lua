-- The sandbox refusals, seen from a script.
assert(io == nil, "no io library")
assert(debug == nil, "no debug library")
assert(package == nil, "no package library")
assert(dofile == nil and loadfile == nil, "no file loading")
assert(string.dump == nil, "no bytecode dumps")
for _, name in ipairs({"execute", "remove", "rename", "exit", "getenv", "tmpname", "setlocale"}) do
    assert(os[name] == nil, "os." .. name .. " is refused")
end
-- clock and calendar are allowed
assert(type(os.time()) == "number" and type(os.clock()) == "number")
assert(os.date("!%Y-%m-%d", 0) == "1970-01-01")

-- require of C (or any) modules is refused with a clear message
local ok, err = pcall(require, "socket.core")
assert(not ok and tostring(err):find("refused"), tostring(err))

-- load: text only, with the sandboxed environment
assert(load("return 40 + 2")() == 42)
assert(load("return io")() == nil, "loaded chunks see the sandbox")
local f, msg = load("\27LuaT\0")
assert(f == nil and msg:find("binary"), tostring(msg))
ok, err = pcall(load, "return 1", "chunk", "b")
assert(not ok and tostring(err):find("binary chunks are refused"), tostring(err))
ok, err = pcall(load, function() return nil end)
assert(not ok and tostring(err):find("only source text"), tostring(err))
-- an explicit environment is honoured
local env = {x = 5}
assert(load("return x", "c", "t", env)() == 5)
-- table.move is a bounded Lua loop with the C contract
local function same(a, b)
    if #a ~= #b then return false end
    for i = 1, #a do if a[i] ~= b[i] then return false end end
    return true
end
assert(same(table.move({1, 2, 3}, 1, 3, 2), {1, 1, 2, 3}))
assert(same(table.move({1, 2, 3, 4}, 2, 4, 1), {2, 3, 4, 4}))
local dst = table.move({1, 2}, 1, 2, 2, {9})
assert(dst[1] == 9 and dst[2] == 1 and dst[3] == 2)
assert(same(table.move({1, 2}, 3, 1, 1), {1, 2}), "an empty range moves nothing")
local ok, err = pcall(table.move, {}, "x", 2, 1)
assert(not ok and err:find("bad argument #2 to 'move' (number expected, got string)", 1, true), err)
ok, err = pcall(table.move, {}, -1, math.maxinteger, 1)
assert(not ok and err:find("too many elements to move", 1, true), err)
ok, err = pcall(table.move, {}, 1, 10, math.maxinteger)
assert(not ok and err:find("destination wrap around", 1, true), err)
ok, err = pcall(table.move, 5, 1, 1, 1)
assert(not ok and err:find("table expected, got number", 1, true), err)
local proxied = setmetatable({}, {__index = function(_, k) return k * 10 end})
local out = table.move(proxied, 1, 3, 1, {})
assert(same(out, {10, 20, 30}), "metamethods are honoured")

return "ok"
