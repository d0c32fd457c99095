-- Custom hook points ("custom:<name>") are registered like the named ones;
-- an embedding application fires them from Rust with the HookExecutor.
-- This script registers two and lists them.
Hook.register("custom:before_deploy", function(ctx)
    if ctx.data.environment == "production" then
        return {type = "cancel", reason = "deploys to production need approval"}
    end
end, {name = "deploy-gate", tags = {"deploy"}})
Hook.register("custom:after_deploy", function(ctx)
    Event.publish("deploy.finished", ctx.data)
end, {name = "deploy-notify", tags = {"deploy"}})

for _, h in ipairs(Hook.list({tag = "deploy"})) do
    print(h.hook_point .. " -> " .. h.name)
end
assert(#Hook.list({tag = "deploy"}) == 2)
