// Assertion helpers shared by the JavaScript test scripts (imported as a
// sibling module, which also exercises `import`).

/** Throws unless `cond` holds. */
export function assert(cond, message) {
    if (!cond) {
        throw new Error("assertion failed" + (message === undefined ? "" : ": " + message));
    }
}

function check(error, needles) {
    const msg = String((error && error.message) || error);
    for (const needle of needles) {
        if (!msg.includes(needle)) {
            throw new Error(`expected an error containing ${JSON.stringify(needle)}, got: ${msg}`);
        }
    }
    return msg;
}

/** Calls `fn`, expects it to throw an error containing every needle; returns the message. */
export function throws(fn, ...needles) {
    try {
        fn();
    } catch (e) {
        return check(e, needles);
    }
    throw new Error("expected an error, none was thrown");
}

/** Awaits `promise` (or `fn()`), expects a rejection containing every needle; returns the message. */
export async function rejects(promise, ...needles) {
    try {
        await (typeof promise === "function" ? promise() : promise);
    } catch (e) {
        return check(e, needles);
    }
    throw new Error("expected a rejection, the promise was fulfilled");
}

/** Registers a hook, runs `body`, unregisters the hook (also when `body` fails). */
export async function withHook(point, fn, opts, body) {
    const h = Hook.register(point, fn, opts);
    try {
        return await body();
    } finally {
        h.unregister();
    }
}
