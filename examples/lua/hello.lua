-- The basics: arguments, JSON, Logger. Run with arguments:
--   llmspell run examples/lua/hello.lua -- Ada Lovelace
local name = table.concat({...}, " ")
if name == "" then name = "world" end
print("hello, " .. name)

local doc = JSON.decode('{"langs": ["lua", "rust"], "empty": [], "n": 3}')
assert(doc.langs[1] == "lua" and doc.n == 3)
-- Arrays decoded from JSON stay arrays, even when empty.
print(JSON.encode(doc.empty))
Logger.info("greeted", {name = name})
return name
