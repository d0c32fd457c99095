//! `string.find`, `string.match`, `string.gmatch` and `string.gsub` on
//! the budgeted matcher of [`patterns`](super::patterns), replacing Lua's C
//! versions (which no time limit can stop) in every engine. They take the
//! same arguments and return the same values as Lua 5.4's; a match that
//! runs past the running call's time limit raises the time-limit error, and
//! one that takes more than the configured number of steps
//! (`LuaConfig::with_pattern_step_limit`) raises an error naming the
//! function and the budget.

use std::sync::Arc;

use mlua::{Function, Lua, LuaString, MultiValue, Table, Value};
use parking_lot::Mutex;

use super::limits::{time_limit_error, Watchdog};
use super::patterns::{find_plain, is_plain, Capture, Matcher, PatternError, Steps};

/// What every function needs: the watchdog (time limit) and the step
/// budget.
#[derive(Clone)]
struct Limits {
    watchdog: Watchdog,
    max_steps: u64,
}

impl Limits {
    fn budget(&self) -> Steps<impl FnMut() -> bool + '_> {
        Steps {
            max: self.max_steps,
            timed_out: || self.watchdog.limit_hit(),
        }
    }
}

/// Replaces the four pattern functions of the `string` table.
pub(crate) fn install(lua: &Lua, watchdog: &Watchdog, max_steps: u64) -> mlua::Result<()> {
    let string: Table = lua.globals().raw_get("string")?;
    let limits = Limits {
        watchdog: watchdog.clone(),
        max_steps,
    };
    let l = limits.clone();
    string.raw_set(
        "find",
        lua.create_function(move |lua, args: MultiValue| find_aux(lua, &l, args, true))?,
    )?;
    let l = limits.clone();
    string.raw_set(
        "match",
        lua.create_function(move |lua, args: MultiValue| find_aux(lua, &l, args, false))?,
    )?;
    let l = limits.clone();
    string.raw_set(
        "gmatch",
        lua.create_function(move |lua, args: MultiValue| gmatch(lua, &l, args))?,
    )?;
    string.raw_set(
        "gsub",
        lua.create_function(move |lua, args: MultiValue| gsub(lua, &limits, args))?,
    )?;
    Ok(())
}

/// The `n`th argument (0-based).
fn arg(args: &MultiValue, n: usize) -> Value {
    args.get(n).cloned().unwrap_or(Value::Nil)
}

fn bad_arg(n: usize, function: &str, message: &str) -> mlua::Error {
    mlua::Error::runtime(format!("bad argument #{n} to '{function}' ({message})"))
}

/// A string argument (numbers are converted, as Lua does).
fn string_arg(lua: &Lua, args: &MultiValue, n: usize, function: &str) -> mlua::Result<LuaString> {
    let v = arg(args, n);
    let type_name = v.type_name();
    match v {
        Value::String(s) => Ok(s),
        Value::Integer(_) | Value::Number(_) => lua
            .coerce_string(v)?
            .ok_or_else(|| bad_arg(n + 1, function, "string expected, got number")),
        _ => Err(bad_arg(
            n + 1,
            function,
            &format!("string expected, got {}", no_value(type_name)),
        )),
    }
}

fn no_value(type_name: &str) -> &str {
    if type_name == "nil" {
        "no value"
    } else {
        type_name
    }
}

/// An optional integer argument.
fn int_arg(args: &MultiValue, n: usize, function: &str) -> mlua::Result<Option<i64>> {
    match arg(args, n) {
        Value::Nil => Ok(None),
        Value::Integer(i) => Ok(Some(i)),
        #[allow(clippy::cast_possible_truncation, clippy::cast_precision_loss)]
        Value::Number(f) if f.fract() == 0.0 && f >= i64::MIN as f64 && f < i64::MAX as f64 => {
            Ok(Some(f as i64))
        }
        Value::Number(_) => Err(bad_arg(
            n + 1,
            function,
            "number has no integer representation",
        )),
        Value::String(s) => s
            .to_str()
            .ok()
            .and_then(|t| t.trim().parse::<i64>().ok())
            .map(Some)
            .ok_or_else(|| bad_arg(n + 1, function, "number expected, got string")),
        other => Err(bad_arg(
            n + 1,
            function,
            &format!("number expected, got {}", other.type_name()),
        )),
    }
}

/// A start position relative to a subject of `len` bytes, 0-based (may be
/// past the end).
fn start_offset(init: i64, len: usize) -> usize {
    let len_i = i64::try_from(len).unwrap_or(i64::MAX);
    if init > 0 {
        usize::try_from(init - 1).unwrap_or(usize::MAX)
    } else if init == 0 || init < -len_i {
        0
    } else {
        usize::try_from(len_i + init).unwrap_or(0)
    }
}

fn pattern_error(function: &str, err: PatternError) -> mlua::Error {
    match err {
        PatternError::Malformed(m) => mlua::Error::runtime(m),
        PatternError::TimeLimit => time_limit_error(),
        PatternError::Budget(max) => mlua::Error::runtime(format!(
            "string.{function}: the pattern took more than {max} matching steps on this subject \
             and was stopped (it backtracks too much: simplify it, or anchor it)"
        )),
    }
}

/// Capture `i` of a match `s..e` as a Lua value (the whole match when
/// there are no captures and `i` is 0).
fn capture_value(
    lua: &Lua,
    src: &[u8],
    captures: &[Capture],
    i: usize,
    s: usize,
    e: usize,
) -> mlua::Result<Value> {
    match captures.get(i) {
        None if i == 0 => Ok(Value::String(lua.create_string(&src[s..e])?)),
        None => Err(mlua::Error::runtime(format!(
            "invalid capture index %{} in replacement string",
            i + 1
        ))),
        Some(Capture::Span(a, b)) => Ok(Value::String(lua.create_string(&src[*a..*b])?)),
        Some(Capture::Position(p)) => Ok(Value::Integer(i64::try_from(*p + 1).unwrap_or(i64::MAX))),
        Some(Capture::Open(_)) => Err(mlua::Error::runtime("unfinished capture")),
    }
}

/// The captures of a match (the whole match when there are none and
/// `whole` is set).
fn captures_values(
    lua: &Lua,
    src: &[u8],
    captures: &[Capture],
    s: usize,
    e: usize,
    whole: bool,
    out: &mut MultiValue,
) -> mlua::Result<()> {
    let n = if captures.is_empty() && whole {
        1
    } else {
        captures.len()
    };
    for i in 0..n {
        out.push_back(capture_value(lua, src, captures, i, s, e)?);
    }
    Ok(())
}

fn position(p: usize) -> Value {
    Value::Integer(i64::try_from(p).unwrap_or(i64::MAX))
}

/// `string.find` (`find` true) and `string.match`.
fn find_aux(lua: &Lua, limits: &Limits, args: MultiValue, find: bool) -> mlua::Result<MultiValue> {
    let name = if find { "find" } else { "match" };
    let s = string_arg(lua, &args, 0, name)?;
    let p = string_arg(lua, &args, 1, name)?;
    let src = s.as_bytes();
    let pat = p.as_bytes();
    let init = start_offset(int_arg(&args, 2, name)?.unwrap_or(1), src.len());
    let mut out = MultiValue::new();
    if init > src.len() {
        out.push_back(Value::Nil);
        return Ok(out);
    }
    let plain = find && !matches!(arg(&args, 3), Value::Nil | Value::Boolean(false));
    if find && (plain || is_plain(&pat)) {
        match find_plain(&src, &pat, init) {
            Some(at) => {
                out.push_back(position(at + 1));
                out.push_back(position(at + pat.len()));
            }
            None => out.push_back(Value::Nil),
        }
        return Ok(out);
    }
    let (anchor, pat) = match pat.strip_prefix(b"^") {
        Some(rest) => (true, rest),
        None => (false, &pat[..]),
    };
    let mut budget = limits.budget();
    let mut m = Matcher::new(&src, pat, &mut budget);
    let mut start = init;
    loop {
        if let Some(e) = m.match_at(start).map_err(|e| pattern_error(name, e))? {
            if find {
                out.push_back(position(start + 1));
                out.push_back(position(e));
                captures_values(lua, &src, m.captures(), start, e, false, &mut out)?;
            } else {
                captures_values(lua, &src, m.captures(), start, e, true, &mut out)?;
            }
            return Ok(out);
        }
        start += 1;
        if anchor || start > src.len() {
            out.push_back(Value::Nil);
            return Ok(out);
        }
    }
}

/// Where a `gmatch` iterator is.
#[derive(Debug)]
struct GmatchState {
    next: usize,
    last_match: Option<usize>,
}

/// `string.gmatch(s, pattern, init?)`: an iterator over the matches (a
/// leading `^` is an ordinary character here, as in Lua 5.4).
fn gmatch(lua: &Lua, limits: &Limits, args: MultiValue) -> mlua::Result<Function> {
    let s = string_arg(lua, &args, 0, "gmatch")?;
    let p = string_arg(lua, &args, 1, "gmatch")?;
    let len = s.as_bytes().len();
    let init = start_offset(int_arg(&args, 2, "gmatch")?.unwrap_or(1), len).min(len);
    let state = Arc::new(Mutex::new(GmatchState {
        next: init,
        last_match: None,
    }));
    let limits = limits.clone();
    lua.create_function(move |lua, ()| {
        let src = s.as_bytes();
        let pat = p.as_bytes();
        let mut st = state.lock();
        let mut budget = limits.budget();
        let mut m = Matcher::new(&src, &pat, &mut budget);
        let mut start = st.next;
        while start <= src.len() {
            if let Some(e) = m.match_at(start).map_err(|e| pattern_error("gmatch", e))? {
                if Some(e) != st.last_match {
                    st.next = e;
                    st.last_match = Some(e);
                    let mut out = MultiValue::new();
                    captures_values(lua, &src, m.captures(), start, e, true, &mut out)?;
                    return Ok(out);
                }
            }
            start += 1;
        }
        st.next = src.len() + 1;
        Ok(MultiValue::new())
    })
}

/// The replacement argument of `gsub`.
enum Repl {
    Text(LuaString),
    Table(Table),
    Function(Function),
}

/// `string.gsub(s, pattern, repl, n?)`: the new string and the number of
/// matches replaced.
fn gsub(lua: &Lua, limits: &Limits, args: MultiValue) -> mlua::Result<(LuaString, i64)> {
    let s = string_arg(lua, &args, 0, "gsub")?;
    let p = string_arg(lua, &args, 1, "gsub")?;
    let repl = match arg(&args, 2) {
        Value::String(t) => Repl::Text(t),
        v @ (Value::Integer(_) | Value::Number(_)) => Repl::Text(
            lua.coerce_string(v)?
                .ok_or_else(|| bad_arg(3, "gsub", "string expected"))?,
        ),
        Value::Table(t) => Repl::Table(t),
        Value::Function(f) => Repl::Function(f),
        other => {
            return Err(bad_arg(
                3,
                "gsub",
                &format!(
                    "string/function/table expected, got {}",
                    no_value(other.type_name())
                ),
            ))
        }
    };
    let src = s.as_bytes();
    let max = int_arg(&args, 3, "gsub")?.unwrap_or(i64::MAX);
    let pat_all = p.as_bytes();
    let (anchor, pat) = match pat_all.strip_prefix(b"^") {
        Some(rest) => (true, rest),
        None => (false, &pat_all[..]),
    };
    let mut budget = limits.budget();
    let mut m = Matcher::new(&src, pat, &mut budget);
    let mut out: Vec<u8> = Vec::with_capacity(src.len());
    let mut pos = 0usize;
    let mut last_match: Option<usize> = None;
    let mut count = 0i64;
    while count < max {
        let found = m.match_at(pos).map_err(|e| pattern_error("gsub", e))?;
        match found {
            Some(e) if Some(e) != last_match => {
                count += 1;
                add_value(lua, &src, m.captures(), pos, e, &repl, &mut out)?;
                pos = e;
                last_match = Some(e);
            }
            _ if pos < src.len() => {
                out.push(src[pos]);
                pos += 1;
            }
            _ => break,
        }
        if anchor {
            break;
        }
    }
    if pos < src.len() {
        out.extend_from_slice(&src[pos..]);
    }
    Ok((lua.create_string(&out)?, count))
}

/// Appends the replacement of the match `s..e` to `out`.
fn add_value(
    lua: &Lua,
    src: &[u8],
    captures: &[Capture],
    s: usize,
    e: usize,
    repl: &Repl,
    out: &mut Vec<u8>,
) -> mlua::Result<()> {
    let value = match repl {
        Repl::Text(t) => {
            let t = t.as_bytes();
            let mut i = 0;
            while i < t.len() {
                let b = t[i];
                i += 1;
                if b != b'%' {
                    out.push(b);
                    continue;
                }
                match t.get(i) {
                    Some(b'%') => out.push(b'%'),
                    Some(d) if d.is_ascii_digit() => {
                        let v = if *d == b'0' {
                            Value::String(lua.create_string(&src[s..e])?)
                        } else {
                            capture_value(lua, src, captures, usize::from(d - b'1'), s, e)?
                        };
                        append(lua, v, out)?;
                    }
                    _ => {
                        return Err(mlua::Error::runtime(
                            "invalid use of '%' in replacement string",
                        ))
                    }
                }
                i += 1;
            }
            return Ok(());
        }
        Repl::Table(t) => t.get::<Value>(capture_value(lua, src, captures, 0, s, e)?)?,
        Repl::Function(f) => {
            let mut args = MultiValue::new();
            captures_values(lua, src, captures, s, e, true, &mut args)?;
            f.call::<Value>(args)?
        }
    };
    match value {
        Value::Nil | Value::Boolean(false) => {
            out.extend_from_slice(&src[s..e]);
            Ok(())
        }
        v @ (Value::String(_) | Value::Integer(_) | Value::Number(_)) => append(lua, v, out),
        other => Err(mlua::Error::runtime(format!(
            "invalid replacement value (a {})",
            other.type_name()
        ))),
    }
}

/// Appends a string or number (in Lua's text form).
fn append(lua: &Lua, v: Value, out: &mut Vec<u8>) -> mlua::Result<()> {
    match v {
        Value::String(s) => out.extend_from_slice(&s.as_bytes()),
        other => {
            if let Some(s) = lua.coerce_string(other)? {
                out.extend_from_slice(&s.as_bytes());
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use mlua::{Lua, Value};

    use super::*;

    /// A plain state where `c_<name>` are Lua's C functions and `string.*`
    /// ours.
    fn state() -> Lua {
        let lua = Lua::new();
        let string: Table = lua.globals().get("string").unwrap();
        for name in ["find", "match", "gmatch", "gsub"] {
            let f: Function = string.get(name).unwrap();
            lua.globals().set(format!("c_{name}"), f).unwrap();
        }
        install(&lua, &Watchdog::default(), 10_000_000).unwrap();
        lua
    }

    /// Runs `expr` with our functions and with Lua's (`string.` replaced
    /// by `c_`) and compares the results (an error on both sides counts as
    /// equal).
    fn same(lua: &Lua, expr: &str) {
        let ours = lua
            .load(format!("return JSONish({{{expr}}})"))
            .eval::<String>();
        let theirs = lua
            .load(format!(
                "return JSONish({{{}}})",
                expr.replace("string.", "c_")
            ))
            .eval::<String>();
        match (ours, theirs) {
            (Ok(a), Ok(b)) => assert_eq!(a, b, "{expr}"),
            (Err(_), Err(_)) => {}
            (a, b) => panic!("{expr}: ours {a:?}, Lua's {b:?}"),
        }
    }

    const JSONISH: &str = r##"
        function JSONish(t)
            local parts = {}
            for i = 1, select("#", table.unpack(t)) do
                local v = t[i]
                if type(v) == "function" then
                    local seq = {}
                    while true do
                        local r = {v()}
                        if r[1] == nil then break end
                        seq[#seq + 1] = JSONish(r)
                    end
                    v = "[" .. table.concat(seq, ";") .. "]"
                end
                if math.type(v) then
                    v = math.type(v) .. ":" .. tostring(v)
                elseif type(v) == "string" then
                    v = ("%q"):format(v)
                else
                    v = tostring(v)
                end
                parts[#parts + 1] = v
            end
            return table.concat(parts, ",")
        end
    "##;

    #[test]
    fn behaves_as_lua_on_a_table_of_cases() {
        let lua = state();
        lua.load(JSONISH).exec().unwrap();
        for expr in [
            r#"string.find("hello world", "o w")"#,
            r#"string.find("hello world", "o", 6)"#,
            r#"string.find("hello world", "o", -3)"#,
            r#"string.find("hello", "l", 10)"#,
            r#"string.find("hello", "", 6)"#,
            r#"string.find("hello", "", 7)"#,
            r#"string.find("a.b", ".", 1, true)"#,
            r#"string.find("key=val", "(%w+)=(%w+)")"#,
            r#"string.find("abc", "()b()")"#,
            r#"string.find(12345, 34)"#,
            r#"string.find("^x", "^x")"#,
            r#"string.match("key = value", "(%w+)%s*=%s*(%w+)")"#,
            r#"string.match("hello", ".-(l+)")"#,
            r#"string.match("hello", "^(h)(e)")"#,
            r#"string.match("  trim  ", "^%s*(.-)%s*$")"#,
            r#"string.match("2024-01-15", "(%d+)-(%d+)-(%d+)")"#,
            r#"string.match("x", "y")"#,
            r#"string.match("abc", "b", -1)"#,
            r#"string.match("f(a(b)c)", "%b()")"#,
            r#"string.match("THE (quick) fox", "%f[%a]%a+", 5)"#,
            r#"string.gmatch("one two  three", "%a+")"#,
            r#"string.gmatch("k1=v1, k2=v2", "(%w+)=(%w+)")"#,
            r#"string.gmatch("abc", "")"#,
            r#"string.gmatch("abc", "x*")"#,
            r#"string.gmatch("^a^a", "^a")"#,
            r#"string.gmatch("hello world", "o", 6)"#,
            r#"string.gsub("hello world", "o", "0")"#,
            r#"string.gsub("hello world", "o", "0", 1)"#,
            r#"string.gsub("hello", "", "-")"#,
            r#"string.gsub("abc", "x*", "-")"#,
            r#"string.gsub("hello world", "(%w+)", "<%1>")"#,
            r#"string.gsub("hello world", "%w+", "%0 %0")"#,
            r#"string.gsub("abc", "%w", "%%")"#,
            r#"string.gsub("hello", "^h", "H")"#,
            r#"string.gsub("hello", "l", {l = "L"})"#,
            r#"string.gsub("hello", "(l)", {})"#,
            r#"string.gsub("$x and $y", "%$(%w+)", {x = 1, y = 2.5})"#,
            r#"string.gsub("a b", "%a", function(c) return c:upper() end)"#,
            r#"string.gsub("a b", "%a", function(c) return nil end)"#,
            r#"string.gsub("abc", "()", "%1")"#,
            r#"string.gsub("abc", "b", "%2")"#,
            r#"string.gsub("abc", "b", "%x")"#,
            r#"string.gsub("abc", "b", function() return {} end)"#,
            r#"string.gsub("abc", "b", true)"#,
            r#"string.find("abc", "[a")"#,
            r#"string.find("abc", "%")"#,
            r#"string.find("abc", "(a")"#,
            r#"string.match("a\0b", "%z")"#,
            r#"string.match("a\0b", "[%z]")"#,
            r#"string.find("a\0b", "\0", 1, true)"#,
        ] {
            same(&lua, expr);
        }
    }

    #[test]
    fn a_backtracking_pattern_stops_at_the_step_budget() {
        // Issue 12, item 2: Lua's C matcher runs this "forever".
        let lua = Lua::new();
        install(&lua, &Watchdog::default(), 2_000_000).unwrap();
        let err = lua
            .load(r#"return string.find(string.rep("a", 40), string.rep("a*", 40) .. "b")"#)
            .exec()
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("string.find: the pattern took more than 2000000 matching steps"),
            "{err}"
        );
        // Ordinary work is far below the budget.
        let n: i64 = lua
            .load(r#"return select(2, string.gsub(string.rep("ab ", 100000), "%a+", "x"))"#)
            .eval()
            .unwrap();
        assert_eq!(n, 100_000);
        let _ = Value::Nil;
    }

    proptest::proptest! {
        #![proptest_config(proptest::test_runner::Config::with_cases(300))]

        /// Random small patterns and subjects: our functions answer as
        /// Lua's C functions do (or both refuse).
        #[test]
        fn random_patterns_behave_as_lua(
            subject in "[ab()x]{0,8}",
            tokens in proptest::collection::vec(proptest::sample::select(vec![
                "a", "b", ".", "%a", "[ab]", "[^a]", "a*", "b+", "a-", ".?", "(", ")",
                "%1", "^", "$", "()", "%b()", "%f[a]", "x", "%%", "[%a(]",
            ]), 0..6),
            init in -3i64..10,
        ) {
            let lua = STATE.with(|l| l.clone());
            let pattern: String = tokens.concat();
            let q = |s: &str| format!("{s:?}");
            for expr in [
                format!("string.find({}, {}, {init})", q(&subject), q(&pattern)),
                format!("string.match({}, {}, {init})", q(&subject), q(&pattern)),
                format!("string.gsub({}, {}, \"<%0>\")", q(&subject), q(&pattern)),
                format!("string.gmatch({}, {})", q(&subject), q(&pattern)),
            ] {
                same(&lua, &expr);
            }
        }
    }

    thread_local! {
        static STATE: Lua = {
            let lua = state();
            lua.load(JSONISH).exec().unwrap();
            lua
        };
    }
}
