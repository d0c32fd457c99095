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
return "ok"
