//! Glob patterns over event types, in the style of Redis `PSUBSCRIBE`.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::{EventError, Result};

/// One element of a compiled pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Token {
    /// A literal character.
    Char(char),
    /// `?`: exactly one character.
    One,
    /// `*`: any run of characters, including none.
    Star,
    /// `[...]`: one character in (or, negated, not in) the class.
    Class(Class),
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Class {
    negated: bool,
    /// Inclusive ranges; a single character `c` is `(c, c)`.
    ranges: Vec<(char, char)>,
}

impl Class {
    fn matches(&self, c: char) -> bool {
        self.ranges.iter().any(|&(lo, hi)| lo <= c && c <= hi) != self.negated
    }
}

/// How a pattern can be matched (and indexed) cheaply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PatternKind {
    /// No wildcard: matches exactly this event type.
    Exact(String),
    /// A literal followed by one trailing `*` (`user.*`): matches every type
    /// starting with the literal. `*` alone is `Prefix("")`.
    Prefix(String),
    /// Anything else; `literal_prefix` is the literal text before the first
    /// wildcard (possibly empty), which every matching type starts with.
    Glob {
        /// The literal text before the first wildcard.
        literal_prefix: String,
    },
}

/// A compiled glob over event types.
///
/// Syntax, as in Redis `PSUBSCRIBE`: `*` matches any run of characters
/// (including `.` and the empty run), `?` exactly one character, `[abc]` one
/// of the listed characters, `[a-z]` a range, `[^a]` (or `[!a]`) any
/// character but those listed, and `\` makes the next character literal.
/// A pattern without wildcards matches only the identical event type.
///
/// ```
/// use llmspell_events::EventPattern;
///
/// let p: EventPattern = "agent.*.failed".parse().unwrap();
/// assert!(p.matches("agent.planner.failed"));
/// assert!(p.matches("agent..failed"));
/// assert!(!p.matches("agent.planner.completed"));
///
/// assert!("user.*".parse::<EventPattern>().unwrap().matches("user.login"));
/// assert!("*.error".parse::<EventPattern>().unwrap().matches("tool.error"));
/// assert!(!"tool.execution".parse::<EventPattern>().unwrap().matches("tool.execution.started"));
/// assert!("[".parse::<EventPattern>().is_err());
/// ```
#[derive(Clone)]
pub struct EventPattern {
    source: String,
    tokens: Vec<Token>,
    kind: PatternKind,
}

impl EventPattern {
    /// Compiles `pattern`.
    ///
    /// # Errors
    /// [`EventError::InvalidPattern`] when the pattern is empty, has an
    /// unclosed or empty `[` class, a reversed range (`[z-a]`), or ends in a
    /// lone `\`.
    pub fn new(pattern: &str) -> Result<Self> {
        let invalid = |reason: &str| EventError::InvalidPattern {
            pattern: pattern.to_owned(),
            reason: reason.to_owned(),
        };
        if pattern.is_empty() {
            return Err(invalid("the pattern is empty"));
        }
        let mut tokens = Vec::new();
        let mut chars = pattern.chars().peekable();
        while let Some(c) = chars.next() {
            match c {
                '*' => {
                    // Consecutive stars mean the same as one.
                    if tokens.last() != Some(&Token::Star) {
                        tokens.push(Token::Star);
                    }
                }
                '?' => tokens.push(Token::One),
                '\\' => match chars.next() {
                    Some(escaped) => tokens.push(Token::Char(escaped)),
                    None => return Err(invalid("it ends with a lone `\\`")),
                },
                '[' => {
                    let negated = matches!(chars.peek(), Some('^' | '!'));
                    if negated {
                        chars.next();
                    }
                    let mut ranges = Vec::new();
                    let mut closed = false;
                    while let Some(c) = chars.next() {
                        let lo = match c {
                            ']' if !ranges.is_empty() => {
                                closed = true;
                                break;
                            }
                            ']' => return Err(invalid("a `[]` class is empty")),
                            '\\' => chars
                                .next()
                                .ok_or_else(|| invalid("a `[` class is not closed with `]`"))?,
                            c => c,
                        };
                        // `a-z` is a range unless the `-` is last (`[a-]`).
                        let mut lookahead = chars.clone();
                        if lookahead.next() == Some('-') {
                            match lookahead.next() {
                                Some(']') | None => ranges.push((lo, lo)),
                                Some(hi) => {
                                    chars.next();
                                    chars.next();
                                    let hi = if hi == '\\' {
                                        chars.next().ok_or_else(|| {
                                            invalid("a `[` class is not closed with `]`")
                                        })?
                                    } else {
                                        hi
                                    };
                                    if hi < lo {
                                        return Err(invalid(&format!(
                                            "the range `{lo}-{hi}` is reversed"
                                        )));
                                    }
                                    ranges.push((lo, hi));
                                }
                            }
                        } else {
                            ranges.push((lo, lo));
                        }
                    }
                    if !closed {
                        return Err(invalid("a `[` class is not closed with `]`"));
                    }
                    tokens.push(Token::Class(Class { negated, ranges }));
                }
                c => tokens.push(Token::Char(c)),
            }
        }
        let kind = classify(&tokens);
        Ok(Self {
            source: pattern.to_owned(),
            tokens,
            kind,
        })
    }

    /// The pattern text as given.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.source
    }

    /// How the pattern can be matched and indexed.
    #[must_use]
    pub fn kind(&self) -> &PatternKind {
        &self.kind
    }

    /// The literal text every matching event type starts with.
    #[must_use]
    pub fn literal_prefix(&self) -> &str {
        match &self.kind {
            PatternKind::Exact(s) | PatternKind::Prefix(s) => s,
            PatternKind::Glob { literal_prefix } => literal_prefix,
        }
    }

    /// Whether `event_type` matches. Never panics, for any input.
    #[inline]
    #[must_use]
    pub fn matches(&self, event_type: &str) -> bool {
        match &self.kind {
            PatternKind::Exact(s) => event_type == s,
            PatternKind::Prefix(p) => event_type.starts_with(p.as_str()),
            PatternKind::Glob { literal_prefix } => {
                event_type.starts_with(literal_prefix.as_str())
                    && glob_match(&self.tokens, event_type)
            }
        }
    }
}

fn classify(tokens: &[Token]) -> PatternKind {
    let literal: String = tokens
        .iter()
        .map_while(|t| match t {
            Token::Char(c) => Some(*c),
            _ => None,
        })
        .collect();
    let n = literal.chars().count();
    match &tokens[n..] {
        [] => PatternKind::Exact(literal),
        [Token::Star] => PatternKind::Prefix(literal),
        _ => PatternKind::Glob {
            literal_prefix: literal,
        },
    }
}

/// Wildcard matching with single-star backtracking: on a mismatch, the most
/// recent `*` absorbs one more character. Linear in practice and
/// O(len(pattern) * len(text)) in the worst case; no recursion, no allocation.
fn glob_match(tokens: &[Token], text: &str) -> bool {
    let mut p = 0;
    let mut t = 0;
    // (token index after the star, text offset the star currently ends at)
    let mut backtrack: Option<(usize, usize)> = None;
    loop {
        let next_char = text[t..].chars().next();
        let step = match (tokens.get(p), next_char) {
            (Some(Token::Star), _) => {
                backtrack = Some((p + 1, t));
                p += 1;
                continue;
            }
            (Some(Token::Char(pc)), Some(c)) if *pc == c => Some(c),
            (Some(Token::One), Some(c)) => Some(c),
            (Some(Token::Class(class)), Some(c)) if class.matches(c) => Some(c),
            (None, None) => return true,
            _ => None,
        };
        match step {
            Some(c) => {
                p += 1;
                t += c.len_utf8();
            }
            None => match backtrack {
                Some((star_p, star_t)) => match text[star_t..].chars().next() {
                    Some(c) => {
                        let resume = star_t + c.len_utf8();
                        backtrack = Some((star_p, resume));
                        p = star_p;
                        t = resume;
                    }
                    None => return false,
                },
                None => return false,
            },
        }
    }
}

impl fmt::Debug for EventPattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("EventPattern").field(&self.source).finish()
    }
}

impl fmt::Display for EventPattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.source)
    }
}

impl PartialEq for EventPattern {
    fn eq(&self, other: &Self) -> bool {
        self.source == other.source
    }
}

impl Eq for EventPattern {}

impl std::hash::Hash for EventPattern {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.source.hash(state);
    }
}

impl FromStr for EventPattern {
    type Err = EventError;

    fn from_str(s: &str) -> Result<Self> {
        Self::new(s)
    }
}

impl TryFrom<&str> for EventPattern {
    type Error = EventError;

    fn try_from(s: &str) -> Result<Self> {
        Self::new(s)
    }
}

impl Serialize for EventPattern {
    fn serialize<S: Serializer>(&self, serializer: S) -> std::result::Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.source)
    }
}

impl<'de> Deserialize<'de> for EventPattern {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> std::result::Result<Self, D::Error> {
        let s = String::deserialize(deserializer)?;
        Self::new(&s).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(pattern: &str, text: &str, expect: bool) {
        let p = EventPattern::new(pattern).unwrap();
        assert_eq!(p.matches(text), expect, "pattern {pattern:?} on {text:?}");
    }

    #[test]
    fn table() {
        for (pattern, text, expect) in [
            ("user.login", "user.login", true),
            ("user.login", "user.login2", false),
            ("user.login", "user.logi", false),
            ("user.*", "user.login", true),
            ("user.*", "user.", true),
            ("user.*", "user", false),
            ("user.*", "user.a.b.c", true),
            ("*", "", true),
            ("*", "anything.at.all", true),
            ("*.error", "tool.error", true),
            ("*.error", "tool.errors", false),
            ("*.error", ".error", true),
            ("agent.*.failed", "agent.x.failed", true),
            ("agent.*.failed", "agent.x.y.failed", true),
            ("agent.*.failed", "agent.failed", false),
            ("a?c", "abc", true),
            ("a?c", "ac", false),
            ("a?c", "aéc", true),
            ("[abc]x", "bx", true),
            ("[abc]x", "dx", false),
            ("[^abc]x", "dx", true),
            ("[!abc]x", "ax", false),
            ("[a-c]", "b", true),
            ("[a-c]", "d", false),
            ("[a-]", "-", true),
            ("[]]", "]", false),
            ("\\*", "*", true),
            ("\\*", "x", false),
            ("a\\?", "a?", true),
            ("a\\?", "ab", false),
            ("**a", "bba", true),
            ("*a*b", "xaxxb", true),
            ("*a*b", "xaxxc", false),
            ("a*b*c*d", "aXbYcZd", true),
            ("a*b*c*d", "aXbYcZ", false),
        ] {
            if pattern == "[]]" {
                assert!(EventPattern::new(pattern).is_err());
                continue;
            }
            check(pattern, text, expect);
        }
    }

    #[test]
    fn kinds() {
        let kind = |p: &str| EventPattern::new(p).unwrap().kind().clone();
        assert_eq!(kind("a.b"), PatternKind::Exact("a.b".into()));
        assert_eq!(kind("a\\*"), PatternKind::Exact("a*".into()));
        assert_eq!(kind("a.*"), PatternKind::Prefix("a.".into()));
        assert_eq!(kind("a.**"), PatternKind::Prefix("a.".into()));
        assert_eq!(kind("*"), PatternKind::Prefix(String::new()));
        assert_eq!(
            kind("a.*.c"),
            PatternKind::Glob {
                literal_prefix: "a.".into()
            }
        );
    }

    #[test]
    fn invalid_patterns_are_errors() {
        for bad in ["", "[", "[abc", "a[", "[]", "[z-a]", "abc\\", "[a\\"] {
            let err = EventPattern::new(bad).unwrap_err();
            assert!(
                err.to_string().contains("invalid event pattern"),
                "{bad:?}: {err}"
            );
        }
    }
}
