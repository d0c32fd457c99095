//! `[[hooks.command]]` sections as [`CommandHook`]s in the shared registry.

use std::time::Duration;

use llmspell_hooks::builtin::CommandHook;
use llmspell_hooks::{HookHandle, HookPoint, Hooks, Priority};

use crate::config::CommandHookSection;

/// The hook a section describes.
///
/// # Errors
/// A message naming the bad key: unknown point, bad regex, bad priority,
/// zero timeout or output limit, `args` with `shell = true`.
pub(crate) fn build(s: &CommandHookSection) -> Result<(HookPoint, CommandHook), String> {
    let point: HookPoint = s.point.parse().map_err(|e| format!("`point`: {e}"))?;
    if s.command.trim().is_empty() {
        return Err("`command` is empty".to_owned());
    }
    if s.shell && !s.args.is_empty() {
        return Err(
            "`args` cannot be used with `shell = true` (put them in the command line)".to_owned(),
        );
    }
    if s.timeout_ms == 0 {
        return Err("`timeout_ms` must be positive".to_owned());
    }
    if s.max_output_bytes == 0 {
        return Err("`max_output_bytes` must be positive".to_owned());
    }
    let mut b = CommandHook::builder(s.command.clone())
        .args(s.args.clone())
        .shell(s.shell)
        .timeout(Duration::from_millis(s.timeout_ms))
        .max_output_bytes(s.max_output_bytes)
        .fail_closed(s.fail_closed);
    if let Some(m) = &s.matcher {
        b = b.matcher(m).map_err(|e| format!("`matcher`: {e}"))?;
    }
    if let Some(n) = &s.name {
        b = b.name(n.clone());
    }
    if let Some(p) = &s.priority {
        let p = match p.parse::<i32>() {
            Ok(i) => Priority(i),
            Err(_) => p
                .parse::<Priority>()
                .map_err(|e| format!("`priority`: {e}"))?,
        };
        b = b.priority(p);
    }
    Ok((point, b.build()))
}

/// Checks a section without registering it.
pub(crate) fn validate(s: &CommandHookSection) -> Result<(), String> {
    build(s).map(|_| ())
}

/// Registers every section's hook in `hooks`.
///
/// # Errors
/// The first invalid section (by index) or registry refusal.
pub(crate) fn register_all(
    hooks: &Hooks,
    sections: &[CommandHookSection],
) -> Result<Vec<HookHandle>, String> {
    let mut handles = Vec::with_capacity(sections.len());
    for (i, s) in sections.iter().enumerate() {
        let (point, hook) = build(s).map_err(|e| format!("`hooks.command[{i}]`: {e}"))?;
        let options = hook.register_options();
        let handle = hooks
            .register_with(point, hook, options)
            .map_err(|e| format!("`hooks.command[{i}]`: {e}"))?;
        handles.push(handle);
    }
    Ok(handles)
}
