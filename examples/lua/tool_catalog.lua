-- The tools and their parameter schemas.
local by_category = {}
for _, t in ipairs(Tool.list()) do
    by_category[t.category] = by_category[t.category] or {}
    table.insert(by_category[t.category], t.name)
end
local categories = {}
for c in pairs(by_category) do categories[#categories + 1] = c end
table.sort(categories)
for _, c in ipairs(categories) do
    table.sort(by_category[c])
    print(c .. ": " .. table.concat(by_category[c], ", "))
end

local hash = Tool.get("hash_calculator")
print("hash_calculator parameters: " .. JSON.encode(hash.parameters.required or {}))
local digest = Tool.invoke("hash_calculator", {algorithm = "sha256", input = "llmspell"})
print("sha256(llmspell) = " .. digest.hash)
assert(#digest.hash == 64)
