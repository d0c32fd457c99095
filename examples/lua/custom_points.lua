-- Custom hook points ("custom:<name>") are registered like the named ones
-- and fired by the script itself with Hook.fire (an embedding application
-- can fire them from Rust too). Named points are fired by their components.
Hook.register("custom:before_deploy", function(ctx)
    if ctx.data.environment == "production" then
        return {type = "cancel", reason = "deploys to production need approval"}
    end
    return {type = "modified", data = {environment = ctx.data.environment, approved_by = "gate"}}
end, {name = "deploy-gate", tags = {"deploy"}})
Hook.register("custom:after_deploy", function(ctx)
    Event.publish("deploy.finished", ctx.data)
end, {name = "deploy-notify", tags = {"deploy"}})

for _, h in ipairs(Hook.list({tag = "deploy"})) do
    print(h.hook_point .. " -> " .. h.name)
end
assert(#Hook.list({tag = "deploy"}) == 2)

local function deploy(environment)
    local gate = Hook.fire("custom:before_deploy", {environment = environment})
    if gate.type == "cancel" then
        print("deploy to " .. environment .. " refused by " .. gate.hook .. ": " .. gate.reason)
        return false
    end
    print("deploying to " .. environment .. " (approved by " .. gate.data.approved_by .. ")")
    Hook.fire("custom:after_deploy", gate.data)
    return true
end

assert(deploy("staging") == true)
assert(deploy("production") == false)
