-- args: --timeout-secs 30
-- stdout: false
-- stdout: State.migrate function exceeded its time limit of 5s and was stopped
-- stdout: after
-- within: 25
-- A `State.migrate` function that never returns (a pcall loop, so a caught
-- error would not end it) runs under the callback limit (5 s by default),
-- like hooks and event callbacks: the read fails with the limit's message
-- and the script goes on (issue 12, "Scripts escape their limits").
State.set("user:1", {name = "x"})
State.migrate("user:", 0, 1, function(v)
  while true do pcall(function() while true do end end) end
end)
local ok, err = pcall(State.get, "user:1")
print(ok, err)
print("after")
