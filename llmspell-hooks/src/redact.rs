//! [`Redactor`]: removes secrets from JSON values and strings before they
//! reach a log, an audit entry, a trace or a recording.

use std::borrow::Cow;

use regex::{Regex, RegexSet};
use serde_json::Value;
use smallvec::SmallVec;

use crate::{HookError, Result};

/// What a redacted value is replaced with.
pub const REDACTED: &str = "[REDACTED]";

/// Key fragments that mark a value as secret, compared against the key in
/// lower case with `_`, `-`, `.` and spaces removed (`apiKey`, `api-key`
/// and `API_KEY` all become `apikey`).
const SECRET_KEY_FRAGMENTS: &[&str] = &[
    "password",
    "passwd",
    "passphrase",
    "secret",
    "apikey",
    "accesskey",
    "privatekey",
    "authorization",
    "credential",
    "cookie",
    "sessionkey",
    "clientsecret",
];

/// Key suffixes that mark a value as secret (`access_token`, `token`,
/// `token2`, but not `max_tokens`, `input_tokens` or `token_count`);
/// trailing digits are ignored.
const SECRET_KEY_SUFFIXES: &[&str] = &["token", "apikey", "pwd"];

/// Patterns of secret-looking text inside strings.
const SECRET_VALUE_PATTERNS: &[&str] = &[
    // `password=hunter2`, `api_key: abc`, `token=...` inside free text.
    r#"(?i)\b(password|passwd|secret|api[_-]?key|access[_-]?token|auth[_-]?token|token)\b(\s*[=:]\s*)("[^"]*"|[^\s&,;"]+)"#,
    // HTTP bearer / basic credentials.
    r"(?i)\b(bearer|basic)\s+[A-Za-z0-9\-._~+/]{8,}=*",
    // Provider key shapes: OpenAI/Anthropic `sk-...`, AWS access key ids,
    // GitHub and Slack tokens.
    r"\bsk-[A-Za-z0-9_\-]{16,}",
    r"\bAKIA[0-9A-Z]{16}\b",
    r"\bgh[pousr]_[A-Za-z0-9]{30,}",
    r"\bxox[abprs]-[A-Za-z0-9\-]{10,}",
];

/// Removes secrets from JSON values and strings.
///
/// A value is secret when its **key** looks secret (`password`, `token`,
/// `api_key`, `secret`, `authorization`, ... in any case or separator
/// style), or when a **string** contains secret-looking text (`password=...`,
/// `Bearer ...`, `sk-...` keys, AWS key ids, GitHub/Slack tokens). Secret
/// values are replaced by [`REDACTED`]; `key=value` text keeps the key.
///
/// ```
/// use llmspell_hooks::builtin::{Redactor, REDACTED};
/// use serde_json::json;
///
/// let r = Redactor::new();
/// let mut v = json!({"user": "ann", "apiKey": "abc", "note": "password=hunter2",
///                    "usage": {"max_tokens": 10}});
/// assert_eq!(r.redact_value(&mut v), 2);
/// assert_eq!(v["apiKey"], REDACTED);
/// assert_eq!(v["note"], format!("password={REDACTED}"));
/// assert_eq!(v["usage"]["max_tokens"], 10);
/// ```
#[derive(Debug, Clone)]
pub struct Redactor {
    fragments: Vec<String>,
    suffixes: Vec<String>,
    /// `fragments` and `suffixes` as one matcher over the normalised key.
    key_rule: Option<regex::bytes::Regex>,
    patterns: Vec<Regex>,
    /// All `patterns` at once: one scan decides whether a string needs any
    /// replacement (the common case is that it does not).
    any: RegexSet,
}

impl Default for Redactor {
    fn default() -> Self {
        Self::new()
    }
}

impl Redactor {
    /// The default rules (see the type docs).
    #[must_use]
    pub fn new() -> Self {
        let patterns: Vec<Regex> = SECRET_VALUE_PATTERNS
            .iter()
            .filter_map(|p| Regex::new(p).ok())
            .collect();
        let fragments: Vec<String> = SECRET_KEY_FRAGMENTS
            .iter()
            .map(|s| (*s).to_owned())
            .collect();
        let suffixes: Vec<String> = SECRET_KEY_SUFFIXES
            .iter()
            .map(|s| (*s).to_owned())
            .collect();
        Self {
            key_rule: key_rule_of(&fragments, &suffixes),
            fragments,
            suffixes,
            any: set_of(&patterns),
            patterns,
        }
    }

    /// A redactor that redacts nothing.
    #[must_use]
    pub fn none() -> Self {
        Self {
            fragments: Vec::new(),
            suffixes: Vec::new(),
            key_rule: None,
            patterns: Vec::new(),
            any: RegexSet::empty(),
        }
    }

    /// Also treats keys containing `fragment` (normalised like the
    /// defaults) as secret.
    #[must_use]
    pub fn with_secret_key(mut self, fragment: &str) -> Self {
        self.fragments.push(normalise(fragment));
        self.key_rule = key_rule_of(&self.fragments, &self.suffixes);
        self
    }

    /// Also redacts text matching `pattern` (a `regex` crate pattern) inside
    /// strings.
    ///
    /// # Errors
    /// [`HookError::InvalidConfig`] when the pattern does not compile.
    pub fn with_value_pattern(mut self, pattern: &str) -> Result<Self> {
        let re = Regex::new(pattern).map_err(|e| HookError::InvalidConfig {
            field: "redaction pattern",
            reason: format!("`{pattern}` is not a valid regular expression: {e}"),
        })?;
        self.patterns.push(re);
        self.any = set_of(&self.patterns);
        Ok(self)
    }

    /// Whether a value stored under `key` is secret.
    #[must_use]
    pub fn is_secret_key(&self, key: &str) -> bool {
        // Normalised on the stack: keys are short and this runs per key.
        let k: SmallVec<[u8; 64]> = key
            .bytes()
            .filter(|b| !matches!(b, b'_' | b'-' | b'.' | b' '))
            .map(|b| b.to_ascii_lowercase())
            .collect();
        self.key_rule.as_ref().is_some_and(|r| r.is_match(&k))
    }

    /// `s` with secret-looking text replaced; borrowed when nothing matched.
    #[must_use]
    pub fn redact_str<'a>(&self, s: &'a str) -> Cow<'a, str> {
        if !self.any.is_match(s) {
            return Cow::Borrowed(s);
        }
        let mut out = Cow::Borrowed(s);
        for (i, re) in self.patterns.iter().enumerate() {
            if !re.is_match(&out) {
                continue;
            }
            let replaced = if i == 0 && re.captures_len() == 4 {
                // Keep `key=` and replace only the value.
                re.replace_all(&out, |c: &regex::Captures<'_>| {
                    format!("{}{}{REDACTED}", &c[1], &c[2])
                })
                .into_owned()
            } else {
                re.replace_all(&out, REDACTED).into_owned()
            };
            if replaced != *out {
                out = Cow::Owned(replaced);
            }
        }
        out
    }

    /// Redacts `value` in place; returns how many values were replaced.
    pub fn redact_value(&self, value: &mut Value) -> usize {
        match value {
            Value::Object(map) => {
                let mut n = 0;
                for (k, v) in map.iter_mut() {
                    if self.is_secret_key(k) && !v.is_null() {
                        if v.as_str() != Some(REDACTED) {
                            *v = Value::String(REDACTED.to_owned());
                            n += 1;
                        }
                    } else {
                        n += self.redact_value(v);
                    }
                }
                n
            }
            Value::Array(items) => items.iter_mut().map(|v| self.redact_value(v)).sum(),
            Value::String(s) => match self.redact_str(s) {
                Cow::Borrowed(_) => 0,
                Cow::Owned(r) => {
                    *s = r;
                    1
                }
            },
            _ => 0,
        }
    }

    /// `value`, redacted.
    #[must_use]
    pub fn redact_owned(&self, mut value: Value) -> Value {
        self.redact_value(&mut value);
        value
    }

    /// A redacted copy of `value`.
    #[must_use]
    pub fn redacted(&self, value: &Value) -> Value {
        let mut v = value.clone();
        self.redact_value(&mut v);
        v
    }
}

fn normalise(key: &str) -> String {
    // Same bytes as the key normalisation in `is_secret_key`.
    key.chars()
        .filter(|c| !matches!(c, '_' | '-' | '.' | ' '))
        .map(|c| c.to_ascii_lowercase())
        .collect()
}

/// One matcher for "contains a fragment, or ends with a suffix followed
/// only by digits" (`token2`, `api_token_v1`-style numbering does not hide a
/// suffix).
fn key_rule_of(fragments: &[String], suffixes: &[String]) -> Option<regex::bytes::Regex> {
    let alt = |xs: &[String]| {
        xs.iter()
            .filter(|x| !x.is_empty())
            .map(|x| regex::escape(x))
            .collect::<Vec<_>>()
            .join("|")
    };
    let (f, s) = (alt(fragments), alt(suffixes));
    let pattern = match (f.is_empty(), s.is_empty()) {
        (true, true) => return None,
        (false, true) => format!("(?:{f})"),
        (true, false) => format!("(?:{s})[0-9]*$"),
        (false, false) => format!("(?:{f})|(?:{s})[0-9]*$"),
    };
    regex::bytes::Regex::new(&pattern).ok()
}

fn set_of(patterns: &[Regex]) -> RegexSet {
    RegexSet::new(patterns.iter().map(Regex::as_str)).unwrap_or_else(|_| RegexSet::empty())
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn keys() {
        let r = Redactor::new();
        for k in [
            "password",
            "Password",
            "api_key",
            "apiKey",
            "X-API-KEY",
            "access_token",
            "token",
            "client_secret",
            "Authorization",
            "aws_secret_access_key",
            "X-Api-Token0",
            "refresh_token_2",
        ] {
            assert!(r.is_secret_key(k), "{k}");
        }
        for k in [
            "max_tokens",
            "gen_ai.usage.input_tokens",
            "token_count",
            "user",
            "query",
            "tokens",
        ] {
            assert!(!r.is_secret_key(k), "{k}");
        }
    }

    #[test]
    fn custom_keys_and_none() {
        let r = Redactor::new().with_secret_key("S.S.N");
        assert!(r.is_secret_key("user_ssn"));
        assert!(r.is_secret_key("password"));
        assert!(!Redactor::none().is_secret_key("password"));
        assert_eq!(Redactor::none().redact_str("password=x"), "password=x");
        let r = Redactor::none().with_secret_key("pin");
        assert!(r.is_secret_key("card_PIN") && !r.is_secret_key("password"));
    }

    #[test]
    fn strings() {
        let r = Redactor::new();
        let cases = [
            ("login password=hunter2 ok", "login password=[REDACTED] ok"),
            (
                "Authorization: Bearer abcdefghijkl",
                "Authorization: [REDACTED]",
            ),
            ("key sk-abcdefghijklmnopqrstuv", "key [REDACTED]"),
            ("id AKIAABCDEFGHIJKLMNOP here", "id [REDACTED] here"),
            ("nothing here", "nothing here"),
        ];
        for (input, want) in cases {
            assert_eq!(r.redact_str(input), want, "{input}");
        }
    }

    #[test]
    fn nested_values_and_idempotence() {
        let r = Redactor::new();
        let mut v = json!({"a": [{"secret": "x"}, "token=abc"], "b": {"password": null}});
        assert_eq!(r.redact_value(&mut v), 2);
        assert_eq!(v["a"][0]["secret"], REDACTED);
        assert_eq!(v["a"][1], "token=[REDACTED]");
        assert_eq!(r.redact_value(&mut v), 0);
    }
}
