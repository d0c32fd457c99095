//! How script errors are shown: tracebacks without the bridge's own
//! frames, memory sizes in MiB (the unit of `--memory-limit-mib`).

use llmspell_bridge::BridgeError;

/// Whether a traceback line is one of the bridge's internal frames rather
/// than the script's: mlua's async machinery (`get_future`, the poll
/// function and its coroutine wrapper) and the C frames of the bridge's
/// functions (`[C]: in ?`, `[C]: in function 'coroutine.yield'`).
fn is_internal_frame(line: &str) -> bool {
    let t = line.trim();
    t.contains("get_future")
        || t.contains("__mlua")
        || t.contains("mlua_")
        || t.contains("async_poll")
        || t.contains("poll_future")
        || t.starts_with("[C]: in ?")
        || t.starts_with("[C]: in function 'coroutine.yield'")
        || t.starts_with("[C]: in function 'yield'")
        || t.starts_with("[string \"__")
}

/// `message` with the internal frames of its Lua traceback removed; the
/// script's frames stay, in order.
#[must_use]
pub fn clean_traceback(message: &str) -> String {
    let mut in_traceback = false;
    let mut out: Vec<&str> = Vec::new();
    for line in message.lines() {
        if line.trim_start().starts_with("stack traceback:") {
            in_traceback = true;
            out.push(line);
            continue;
        }
        if in_traceback && is_internal_frame(line) {
            continue;
        }
        out.push(line);
    }
    // A traceback left with no frame at all says nothing.
    if out.last().is_some_and(|l| l.trim() == "stack traceback:") {
        out.pop();
    }
    out.join("\n")
}

/// Whether a script error is a compile (syntax) error.
#[must_use]
pub fn is_syntax_error(message: &str) -> bool {
    message.starts_with("syntax error") || message.contains("SyntaxError")
}

/// The text of a script error as the CLI prints it.
#[must_use]
pub fn render(e: &BridgeError) -> String {
    match e {
        BridgeError::MemoryLimit { what, limit } => {
            let mib = *limit as f64 / (1024.0 * 1024.0);
            let size = if mib.fract() == 0.0 {
                format!("{mib:.0}")
            } else {
                format!("{mib:.2}")
            };
            format!("{what} exceeded the memory limit of {size} MiB (raise it with --memory-limit-mib or `limits.memory_mib`)")
        }
        BridgeError::Timeout { what, limit } => format!(
            "{what} exceeded its time limit of {limit:?} and was stopped (--timeout-secs or `limits.script_timeout_secs`)"
        ),
        BridgeError::Script { chunk, message } => {
            format!("`{chunk}` failed: {}", clean_traceback(message))
        }
        other => clean_traceback(&other.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn internal_frames_go_and_script_frames_stay() {
        let message = "runtime error: s.lua:3: boom\nstack traceback:\n\t[C]: in upvalue 'get_future'\n\t__mlua_async_poll:5: in function <__mlua_async_poll:1>\n\t[C]: in ?\n\ts.lua:3: in local 'f'\n\ts.lua:5: in main chunk";
        assert_eq!(
            clean_traceback(message),
            "runtime error: s.lua:3: boom\nstack traceback:\n\ts.lua:3: in local 'f'\n\ts.lua:5: in main chunk"
        );
        assert_eq!(clean_traceback("plain"), "plain");
    }

    #[test]
    fn memory_sizes_are_in_mib() {
        let e = BridgeError::MemoryLimit {
            what: "s.lua".into(),
            limit: 2 * 1024 * 1024,
        };
        assert!(
            render(&e).contains("memory limit of 2 MiB"),
            "{}",
            render(&e)
        );
    }
}
