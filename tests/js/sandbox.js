// The sandbox seen from a script: no host access except the globals.
import { assert, rejects } from "./assert.js";

for (const name of ["require", "process", "fetch", "XMLHttpRequest", "WebSocket", "Deno", "Bun",
    "setTimeout", "setInterval", "module", "exports", "__dirname", "Buffer"]) {
    assert(typeof globalThis[name] === "undefined", name + " is not defined");
}
// code built from strings sees the same sandbox
assert(eval("typeof require") === "undefined");
assert(new Function("return typeof process")() === "undefined");

// imports: only files under the script's directory
await rejects(import("node:fs"), "is refused", "only relative imports");
await rejects(import("fs"), "is refused");
await rejects(import("https://example.com/x.js"), "is refused");
await rejects(import("/etc/passwd"), "is refused");
await rejects(import("../../../../../etc/passwd.js"), "outside the script's directory");
await rejects(import("./assert.json"), "only .js and .mjs");
await rejects(import("./no_such_file.js"), "cannot read");
const mod = await import("./assert.js");
assert(typeof mod.assert === "function", "a sibling module loads");

// blocking is refused; buffers are bounded
let threw = false;
try {
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 10);
} catch (e) {
    threw = true;
}
assert(threw, "Atomics.wait cannot block the engine thread");
threw = false;
try {
    new ArrayBuffer(2 ** 31);
} catch (e) {
    threw = e instanceof RangeError;
}
assert(threw, "an ArrayBuffer past the buffer limit is refused");

// the standard library is there
assert(JSON.stringify({ a: [1] }) === '{"a":[1]}');
assert(JSON.parse("[1,2]")[1] === 2);
assert(typeof Math.max === "function" && typeof Date.now() === "number");
assert(new Date(0).toISOString() === "1970-01-01T00:00:00.000Z");
assert(Array.isArray(scriptArgs) && scriptArgs[0].endsWith("sandbox.js") && arg === scriptArgs);
export default "ok";
