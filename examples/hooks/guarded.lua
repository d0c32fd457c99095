-- Run from the repository root:
--   llmspell run --config examples/llmspell.toml --allow-program echo examples/hooks/guarded.lua
-- Shows the configuration's hooks at work on tool calls.

-- The shell guard lets a file inside the workspace through (relative
-- paths are relative to the first file root, `examples`)...
local r = Tool.invoke("file_operations", {operation = "exists", path = "llmspell.toml"})
assert(r.exists == true)
-- ...and refuses one outside it, with its reason.
local ok, err = pcall(Tool.invoke, "file_operations", {operation = "read", path = "../etc/passwd"})
assert(not ok and tostring(err):find("leaves the workspace", 1, true), tostring(err))

-- The Python guard refuses rm and rewrites echo.
ok, err = pcall(Tool.invoke, "process_executor", {program = "rm", args = {"-rf", "x"}})
assert(not ok and tostring(err):find("rm is not allowed", 1, true), tostring(err))
local out = Tool.invoke("process_executor", {program = "echo", args = {"hello"}})
assert(out.stdout:find("[guarded] hello", 1, true), out.stdout)

-- The cache answers the second identical call.
assert(Tool.invoke("calculator", {expression = "6 * 7"}).result == 42)
assert(Tool.invoke("calculator", {expression = "6 * 7"}).result == 42)

-- The hooks from the configuration are in the shared registry.
local kinds = {}
for _, h in ipairs(Hook.list("BeforeToolExecution")) do kinds[h.language] = true end
assert(kinds.command and kinds.rust)
print("guarded: ok")
