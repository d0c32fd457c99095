//! Event types ⇄ NATS subjects, and event patterns → subject filters.
//!
//! An event of type `T` travels on `<prefix>.<T>`: each dot-separated
//! token of `T` becomes one subject token. A token that is already a safe
//! NATS token — non-empty, only ASCII letters, digits, `-`, `_`, `:`,
//! `+`, `=`, `@`, `!`, `%`, `#`, `$`, `&`, `'`, `(`, `)`, `,`, `;`, `<`,
//! `?`, `[`, `]`, `^`, `{`, `}`, `|`, `/`, `\\`, `"`, `` ` `` and not
//! starting with `~` — is used as it is; any other token (empty, with
//! spaces, `*`, `>`, non-ASCII, or starting with `~`) is written as `~`
//! followed by the lowercase hex of its UTF-8 bytes. The encoding is
//! reversible and keeps the token structure, so a pattern's literal tokens
//! map onto subject tokens.

use crate::{EventError, EventPattern, PatternKind, Result};

/// The default subject prefix.
pub const DEFAULT_PREFIX: &str = "llmspell";

/// The first character of an encoded token.
const ESCAPE: char = '~';

fn plain(token: &str) -> bool {
    !token.is_empty()
        && !token.starts_with(ESCAPE)
        && token
            .bytes()
            .all(|b| b.is_ascii_graphic() && !matches!(b, b'.' | b'*' | b'>'))
}

/// One event-type token as a subject token.
fn encode_token(token: &str, out: &mut String) {
    if plain(token) {
        out.push_str(token);
    } else {
        out.push(ESCAPE);
        for b in token.bytes() {
            out.push_str(&format!("{b:02x}"));
        }
    }
}

fn decode_token(token: &str) -> Option<String> {
    let Some(hex) = token.strip_prefix(ESCAPE) else {
        return Some(token.to_owned());
    };
    if hex.len() % 2 != 0 {
        return None;
    }
    let bytes = (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(hex.get(i..i + 2)?, 16).ok())
        .collect::<Option<Vec<u8>>>()?;
    String::from_utf8(bytes).ok()
}

/// Checks a subject prefix: one or more dot-separated plain tokens.
///
/// # Errors
/// [`EventError::InvalidConfig`] naming what is wrong.
pub fn check_prefix(prefix: &str) -> Result<()> {
    if prefix.split('.').all(plain) {
        Ok(())
    } else {
        Err(EventError::InvalidConfig(format!(
            "NATS subject prefix `{prefix}` is not valid: it must be dot-separated tokens of printable ASCII without spaces, `*`, `>` or a leading `~` (e.g. `llmspell` or `acme.prod`)"
        )))
    }
}

/// The subject of an event of type `event_type` under `prefix`.
///
/// ```
/// use llmspell_events::nats::{event_type_of, subject_for};
///
/// assert_eq!(subject_for("llmspell", "tool.execution.started"), "llmspell.tool.execution.started");
/// let odd = subject_for("llmspell", "user said.hi*");
/// assert_eq!(odd, "llmspell.~757365722073616964.~68692a");
/// assert_eq!(event_type_of("llmspell", &odd).as_deref(), Some("user said.hi*"));
/// ```
#[must_use]
pub fn subject_for(prefix: &str, event_type: &str) -> String {
    let mut out = String::with_capacity(prefix.len() + event_type.len() + 1);
    out.push_str(prefix);
    for token in event_type.split('.') {
        out.push('.');
        encode_token(token, &mut out);
    }
    out
}

/// The event type a subject under `prefix` carries, or `None` when the
/// subject is not under `prefix` or a token is not a valid encoding.
#[must_use]
pub fn event_type_of(prefix: &str, subject: &str) -> Option<String> {
    let rest = subject.strip_prefix(prefix)?.strip_prefix('.')?;
    let tokens = rest
        .split('.')
        .map(decode_token)
        .collect::<Option<Vec<_>>>()?;
    Some(tokens.join("."))
}

/// The NATS subject filter for an event pattern, and whether it selects
/// exactly the pattern's events (otherwise it is wider and events are
/// filtered locally).
///
/// - no wildcard (`tool.started`): that subject, exact;
/// - literal tokens then a final `*` (`tool.*`): `<prefix>.tool.>`, exact
///   (`*` matches any run of characters, dots included, like `>`);
/// - anything else (`agent.*.failed`, `*.error`, `tool*`): the whole
///   literal tokens before the first wildcard, then `>`; wider.
///
/// ```
/// use llmspell_events::{nats::subject_filter, EventPattern};
///
/// let f = |p: &str| subject_filter("llmspell", &EventPattern::new(p).unwrap());
/// assert_eq!(f("tool.started"), ("llmspell.tool.started".to_owned(), true));
/// assert_eq!(f("tool.*"), ("llmspell.tool.>".to_owned(), true));
/// assert_eq!(f("agent.*.failed"), ("llmspell.agent.>".to_owned(), false));
/// assert_eq!(f("*.error"), ("llmspell.>".to_owned(), false));
/// ```
#[must_use]
pub fn subject_filter(prefix: &str, pattern: &EventPattern) -> (String, bool) {
    match pattern.kind() {
        PatternKind::Exact(t) => (subject_for(prefix, t), true),
        PatternKind::Prefix(lit) if lit.is_empty() => (format!("{prefix}.>"), true),
        PatternKind::Prefix(lit) if lit.ends_with('.') => (
            format!("{}.>", subject_for(prefix, &lit[..lit.len() - 1])),
            true,
        ),
        PatternKind::Prefix(lit)
        | PatternKind::Glob {
            literal_prefix: lit,
        } => match lit.rfind('.') {
            Some(dot) => (format!("{}.>", subject_for(prefix, &lit[..dot])), false),
            None => (format!("{prefix}.>"), false),
        },
    }
}

/// Whether NATS filter `a` selects every subject `b` selects (for the
/// filters [`subject_filter`] makes: literal tokens, optionally ending in
/// `>`).
fn covers(a: &str, b: &str) -> bool {
    match a.strip_suffix('>') {
        Some(stem) => b.starts_with(stem) && b.len() > stem.len(),
        None => a == b,
    }
}

/// The filters of several patterns, without the ones another covers: the
/// result selects the same subjects and no two overlap (so a subject is
/// received once). Also says whether local filtering is needed.
#[must_use]
pub fn disjoint_filters(prefix: &str, patterns: &[EventPattern]) -> (Vec<String>, bool) {
    let mut exact = true;
    let mut filters: Vec<String> = Vec::new();
    for p in patterns {
        let (f, e) = subject_filter(prefix, p);
        exact &= e;
        filters.push(f);
    }
    filters.sort();
    filters.dedup();
    let kept: Vec<String> = filters
        .iter()
        .filter(|f| !filters.iter().any(|g| g != *f && covers(g, f)))
        .cloned()
        .collect();
    (kept, exact)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_round_trip() {
        for t in [
            "a",
            "tool.execution.started",
            "",
            ".",
            "a..b",
            "tool.",
            "~x",
            "sp ace.x",
            "wild.*.>",
            "ünï.cødé",
        ] {
            let s = subject_for("llmspell", t);
            assert!(!s.contains(' ') && !s.contains('*'), "{s}");
            assert!(s.split('.').all(|tok| !tok.is_empty() && tok != ">"), "{s}");
            assert_eq!(event_type_of("llmspell", &s).as_deref(), Some(t), "{s}");
        }
        assert_eq!(event_type_of("llmspell", "other.a"), None);
        assert_eq!(event_type_of("llmspell", "llmspell.~zz"), None);
    }

    #[test]
    fn covering_filters_are_dropped() {
        let p = |s: &str| EventPattern::new(s).unwrap();
        let (f, exact) = disjoint_filters(
            "x",
            &[p("tool.*"), p("tool.started"), p("agent.a"), p("tool.*")],
        );
        assert_eq!(f, vec!["x.agent.a".to_owned(), "x.tool.>".to_owned()]);
        assert!(exact);
        let (f, exact) = disjoint_filters("x", &[p("*.error"), p("tool.*")]);
        assert_eq!(f, vec!["x.>".to_owned()]);
        assert!(!exact);
    }
}
