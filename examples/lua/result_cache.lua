-- Cache results by a key derived from the parameters.
local runs = 0
Hook.register("AfterToolExecution", function() runs = runs + 1 end, {match = "calculator"})
Hook.register("BeforeToolExecution", function(ctx)
    return {type = "cache", key = "calc:" .. ctx.data.parameters.expression, ttl_seconds = 30}
end, {match = "calculator"})

for _ = 1, 3 do
    print("2 ** 10 = " .. Tool.invoke("calculator", {expression = "2 ^ 10"}).result)
end
print("the tool ran " .. runs .. " time(s)")
assert(runs == 1, "served from the cache after the first call")
