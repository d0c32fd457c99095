-- A job in steps that survives being killed: its progress lives in the
-- session scope and is checkpointed after every step.
--
--   llmspell run examples/lua/resumable_session.lua
--   (kill it, or let it fail, after a step)
--   llmspell run --resume latest examples/lua/resumable_session.lua
--
-- A resumed run gets the same session id and the session scope exactly as
-- the last checkpoint left it, so it continues after the last finished step.

local steps = {"fetch", "transform", "load"}
local id = Session.id()
local info = Session.info()
print(string.format("session %s, run %d", id, info.runs))

local done = State.get("done", "session") or 0
if done > 0 then
    print("resuming after step " .. done .. " (" .. steps[done] .. ")")
end

for i = done + 1, #steps do
    -- the work of the step; its result goes into the session scope too
    State.set("result:" .. steps[i], {step = i, rows = i * 100}, "session")
    State.set("done", i, "session")
    local cp = Session.checkpoint("after " .. steps[i])
    print(string.format("step %d (%s) done, checkpoint #%d", i, steps[i], cp.seq))
end

assert(State.get("done", "session") == #steps)
assert(State.get("result:load", "session").rows == 300)
print("all " .. #steps .. " steps done; `llmspell sessions show " .. id .. "` lists the checkpoints")
