// The basics: arguments, JSON, console and Logger. Run with arguments:
//   llmspell run examples/js/hello.js -- Ada Lovelace
// `scriptArgs` is [script, ...arguments] (also `arg`).
const name = scriptArgs.slice(1).join(" ") || "world";
console.log("hello, " + name);

// JavaScript's own JSON is the JSON global.
const doc = JSON.parse('{"langs": ["lua", "js", "rust"], "empty": [], "n": 3}');
if (doc.langs[1] !== "js" || doc.n !== 3) throw new Error("bad JSON");
console.log(JSON.stringify(doc.empty));

// console.* and Logger go to the same place as Lua's print and Logger.
console.info("an info line");
Logger.info("greeted", { name });

export default name;
