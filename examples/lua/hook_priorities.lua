-- Hooks at one point run by priority (lower first), then registration order.
local order = {}
local function recorder(label)
    return function() order[#order + 1] = label end
end
Hook.register("BeforeToolExecution", recorder("normal"))
Hook.register("BeforeToolExecution", recorder("lowest"), "lowest")
Hook.register("BeforeToolExecution", recorder("high"), "high")
Hook.register("BeforeToolExecution", recorder("-5"), -5)
Hook.register("BeforeToolExecution", recorder("highest"), {priority = "highest"})

Tool.invoke("uuid_generator", {})
print("run order: " .. table.concat(order, " < "))
assert(table.concat(order, ",") == "highest,high,-5,normal,lowest")

for _, h in ipairs(Hook.list("BeforeToolExecution")) do
    print(string.format("  #%d %s priority=%s calls=%d", h.id, h.name, h.priority, h.calls))
    Hook.unregister(h.id)
end
