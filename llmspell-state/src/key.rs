//! The key rule: which strings name a state value.

use crate::{Result, StateError};

/// The default longest key, in bytes.
pub const DEFAULT_MAX_KEY_LEN: usize = 256;

/// Characters allowed in keys, as a byte table: `A-Z a-z 0-9 _ - . : /`.
///
/// ASCII only, so a key is printable everywhere it is shown (CLI tables,
/// logs, events) and its byte order is its character order. `/` and `:`
/// let callers build hierarchies (`user:42/profile`) that `list(prefix)`
/// walks.
const KEY_CHARS: [bool; 256] = {
    let mut table = [false; 256];
    let mut c = 0;
    while c < 256 {
        let b = c as u8;
        table[c] = b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.' | b':' | b'/');
        c += 1;
    }
    table
};

/// The rule as users read it in errors.
pub(crate) fn key_rule(max_len: usize) -> String {
    format!("a key is 1 to {max_len} characters from A-Z a-z 0-9 _ - . : /")
}

/// Checks `key` against the rule; `allow_empty` for list prefixes.
#[inline]
pub(crate) fn validate_key(key: &str, max_len: usize, allow_empty: bool) -> Result<()> {
    let bytes = key.as_bytes();
    if bytes.len() <= max_len
        && (allow_empty || !bytes.is_empty())
        && bytes.iter().all(|&b| KEY_CHARS[b as usize])
    {
        return Ok(());
    }
    Err(invalid_key(key, max_len, allow_empty))
}

#[cold]
fn invalid_key(key: &str, max_len: usize, allow_empty: bool) -> StateError {
    let reason = if key.is_empty() && !allow_empty {
        "it is empty".to_owned()
    } else if key.len() > max_len {
        format!("it is {} bytes long", key.len())
    } else {
        let bad = key
            .chars()
            .find(|c| !c.is_ascii() || !KEY_CHARS[*c as usize])
            .unwrap_or('?');
        format!("it contains {bad:?}")
    };
    StateError::InvalidKey {
        key: shorten(key),
        reason,
        rule: key_rule(max_len),
    }
}

/// At most 80 characters of `s` for an error message.
pub(crate) fn shorten(s: &str) -> String {
    const SHOWN: usize = 80;
    match s.char_indices().nth(SHOWN) {
        Some((cut, _)) => format!("{}...", &s[..cut]),
        None => s.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_the_rule() {
        for key in ["a", "user:42/profile", "A-Z_0.9", &"k".repeat(256)] {
            assert!(validate_key(key, 256, false).is_ok(), "{key}");
        }
        assert!(validate_key("", 256, true).is_ok());
    }

    #[test]
    fn refuses_with_the_rule_in_the_message() {
        let cases = [
            ("", "it is empty"),
            ("a b", "it contains ' '"),
            ("caf\u{e9}", "it contains '\u{e9}'"),
            ("a\0", "it contains '\\0'"),
        ];
        for (key, reason) in cases {
            let err = validate_key(key, 256, false).unwrap_err().to_string();
            assert!(err.contains(reason), "{err}");
            assert!(
                err.contains("a key is 1 to 256 characters from A-Z a-z 0-9 _ - . : /"),
                "{err}"
            );
        }
        let err = validate_key(&"k".repeat(257), 256, false)
            .unwrap_err()
            .to_string();
        assert!(err.contains("it is 257 bytes long"), "{err}");
        assert!(err.contains("..."), "long keys are shortened: {err}");
    }

    proptest::proptest! {
        #[test]
        fn valid_iff_every_char_is_allowed(key in "\\PC{0,40}") {
            let allowed = !key.is_empty()
                && key.chars().all(|c| c.is_ascii_alphanumeric() || "_-.:/".contains(c));
            proptest::prop_assert_eq!(validate_key(&key, 256, false).is_ok(), allowed);
        }
    }
}
