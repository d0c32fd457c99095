//! The sandboxed Lua state.
//!
//! Opened libraries: the base library, `coroutine`, `table`, `string`,
//! `utf8`, `math`, and an `os` table holding only `time`, `clock`, `date` and
//! `difftime`. Not available: `io`, `debug`, `package`, `os.execute`,
//! `os.remove`, `os.rename`, `os.exit`, `os.getenv`, `os.tmpname`, `dofile`,
//! `loadfile`, `string.dump`. `require` exists only to say that modules are
//! refused. `load` accepts source text only (never binary chunks), and a
//! chunk it loads sees the sandboxed globals unless an explicit `env` is
//! given.

use mlua::{Function, Lua, LuaOptions, MultiValue, StdLib, Table, Value};

use super::limits::Watchdog;
use crate::error::{BridgeError, Result};

/// The libraries a sandboxed state opens (the base library is always open).
fn sandbox_libs() -> StdLib {
    StdLib::COROUTINE | StdLib::TABLE | StdLib::STRING | StdLib::UTF8 | StdLib::MATH
}

/// Creates a Lua 5.4 state; sandboxed unless `sandbox` is false (then every
/// safe standard library is opened, still without C module loading).
pub(crate) fn new_state(sandbox: bool) -> Result<Lua> {
    if !sandbox {
        return Lua::new_with(StdLib::ALL_SAFE, LuaOptions::default())
            .map_err(|e| BridgeError::Setup(e.to_string()));
    }
    let lua = Lua::new_with(sandbox_libs(), LuaOptions::default())
        .map_err(|e| BridgeError::Setup(e.to_string()))?;
    restrict(&lua).map_err(|e| BridgeError::Setup(e.to_string()))?;
    Ok(lua)
}

fn restrict(lua: &Lua) -> mlua::Result<()> {
    let globals = lua.globals();
    globals.raw_set("dofile", Value::Nil)?;
    globals.raw_set("loadfile", Value::Nil)?;
    if let Ok(string) = globals.raw_get::<Table>("string") {
        string.raw_set("dump", Value::Nil)?;
    }

    // os: load the full library, keep the clock and calendar functions only,
    // and replace the table so nothing else stays reachable.
    lua.load_std_libs(StdLib::OS)?;
    let full_os: Table = globals.raw_get("os")?;
    let os = lua.create_table()?;
    for name in ["time", "clock", "date", "difftime"] {
        os.raw_set(name, full_os.raw_get::<Value>(name)?)?;
    }
    globals.raw_set("os", os)?;

    let require = lua.create_function(|_, name: Value| -> mlua::Result<()> {
        let name = match name {
            Value::String(s) => s.to_string_lossy(),
            other => other.type_name().to_owned(),
        };
        Err(mlua::Error::runtime(format!(
            "require(\"{name}\") is refused: the sandbox loads no modules (no C modules, no files); \
             the globals Hook, Event, Tool, JSON and Logger are always available"
        )))
    })?;
    globals.raw_set("require", require)?;

    let raw_load: Function = globals.raw_get("load")?;
    let sandbox_env = globals.clone();
    let load = lua.create_function(move |_, args: MultiValue| -> mlua::Result<MultiValue> {
        let mut args = args.into_iter();
        let chunk = args.next().unwrap_or(Value::Nil);
        let name = args.next().unwrap_or(Value::Nil);
        let mode = args.next().unwrap_or(Value::Nil);
        let env = args.next();
        match &chunk {
            Value::String(_) => {}
            other => {
                return Err(mlua::Error::runtime(format!(
                    "load: only source text (a string) is accepted in the sandbox, got a {}",
                    other.type_name()
                )))
            }
        }
        if let Value::String(m) = &mode {
            if !m.as_bytes().contains(&b't') {
                return Err(mlua::Error::runtime(
                    "load: binary chunks are refused in the sandbox; mode must allow \"t\" (text)",
                ));
            }
        }
        let env = match env {
            Some(Value::Nil) | None => Value::Table(sandbox_env.clone()),
            Some(v) => v,
        };
        raw_load.call::<MultiValue>((chunk, name, "t", env))
    })?;
    globals.raw_set("load", load)?;
    Ok(())
}

/// Replaces `pcall` and `xpcall` with versions that cannot swallow a time
/// limit: when they catch an error while [`Watchdog::limit_hit`] (the
/// running call is past its deadline, or the engine is closing or
/// discarded) they raise the time-limit error again, and `xpcall` skips
/// the script's message handler then (Lua runs a handler with the
/// instruction hook off after an error raised by the hook, so a looping
/// handler could never be stopped). Both stay yieldable (plain Lua around
/// the originals) and otherwise behave as the originals.
pub(crate) fn guard_error_handlers(lua: &Lua, watchdog: &Watchdog) -> mlua::Result<()> {
    let globals = lua.globals();
    let raw_pcall: Function = globals.raw_get("pcall")?;
    let raw_xpcall: Function = globals.raw_get("xpcall")?;
    let w = watchdog.clone();
    let check = lua.create_function(move |_, ()| w.check())?;
    let w = watchdog.clone();
    let limit_hit = lua.create_function(move |_, ()| Ok(w.limit_hit()))?;
    let (pcall, xpcall): (Function, Function) = lua
        .load(
            r#"
            local raw_pcall, raw_xpcall, check, limit_hit, type, error = ...
            local function pass(ok, ...)
                if not ok then check() end
                return ok, ...
            end
            local function pcall(f, ...)
                return pass(raw_pcall(f, ...))
            end
            local function xpcall(f, handler, ...)
                if type(handler) ~= "function" then
                    error("bad argument #2 to 'xpcall' (function expected, got "
                          .. type(handler) .. ")", 2)
                end
                local function guarded(e)
                    if limit_hit() then return e end
                    return handler(e)
                end
                return pass(raw_xpcall(f, guarded, ...))
            end
            return pcall, xpcall
            "#,
        )
        .set_name("=llmspell.pcall")
        .call((
            raw_pcall,
            raw_xpcall,
            check,
            limit_hit,
            globals.raw_get::<Function>("type")?,
            globals.raw_get::<Function>("error")?,
        ))?;
    globals.raw_set("pcall", pcall)?;
    globals.raw_set("xpcall", xpcall)?;
    bounded_table_move(lua)
}

/// Replaces `table.move` with a Lua version of the same contract: the C
/// one loops in C (`table.move({}, 1, math.maxinteger - 1, 2)` runs for
/// centuries) where no instruction hook fires; this one is plain Lua, so
/// time limits stop it and it yields for fairness like any script loop.
fn bounded_table_move(lua: &Lua) -> mlua::Result<()> {
    let Ok(table) = lua.globals().raw_get::<Table>("table") else {
        return Ok(());
    };
    let moved: Function = lua
        .load(
            r#"
            local type, error, getmetatable = type, error, getmetatable
            local maxint, tointeger, mtype = math.maxinteger, math.tointeger, math.type
            local function int(v, n)
                local i = tointeger(v)
                if i == nil then
                    error(("bad argument #%d to 'move' (number expected, got %s)"):format(
                        n, mtype(v) and "number" or type(v)), 3)
                end
                return i
            end
            local function tab(v, n)
                if type(v) ~= "table" and getmetatable(v) == nil then
                    error(("bad argument #%d to 'move' (table expected, got %s)"):format(
                        n, type(v)), 3)
                end
            end
            return function(a1, f, e, t, a2)
                tab(a1, 1)
                f, e, t = int(f, 2), int(e, 3), int(t, 4)
                if a2 == nil then a2 = a1 else tab(a2, 5) end
                if e >= f then
                    if not (f > 0 or e < maxint + f) then
                        error("bad argument #3 to 'move' (too many elements to move)", 2)
                    end
                    local n = e - f
                    if not (t <= maxint - n) then
                        error("bad argument #4 to 'move' (destination wrap around)", 2)
                    end
                    if t > e or t <= f or a1 ~= a2 then
                        for i = 0, n do a2[t + i] = a1[f + i] end
                    else
                        for i = n, 0, -1 do a2[t + i] = a1[f + i] end
                    end
                end
                return a2
            end
            "#,
        )
        .set_name("=llmspell.table_move")
        .call(())?;
    table.raw_set("move", moved)
}
