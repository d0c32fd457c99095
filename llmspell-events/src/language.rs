//! The language a hook, event or script comes from.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// The language a hook was written in, or an event was emitted from.
///
/// Shared by every llmspell crate (re-exported by `llmspell-hooks`). The
/// string form is lowercase (`"rust"`, `"lua"`, `"javascript"`, `"python"`,
/// `"command"`, `"unknown"`); parsing also accepts `native` for Rust and `js` for
/// JavaScript, in any case.
///
/// ```
/// use llmspell_events::Language;
///
/// assert_eq!("Lua".parse::<Language>().unwrap(), Language::Lua);
/// assert_eq!("native".parse::<Language>().unwrap(), Language::Rust);
/// assert_eq!(Language::JavaScript.to_string(), "javascript");
/// assert!("cobol".parse::<Language>().is_err());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Language {
    /// Native Rust code.
    #[serde(alias = "native")]
    #[default]
    Rust,
    /// A Lua script.
    Lua,
    /// A JavaScript script.
    #[serde(alias = "js")]
    JavaScript,
    /// A Python script.
    Python,
    /// An external command (a command hook from `llmspell.toml`).
    Command,
    /// Not known.
    Unknown,
}

impl Language {
    /// Every language, in declaration order.
    pub const ALL: [Language; 6] = [
        Language::Rust,
        Language::Lua,
        Language::JavaScript,
        Language::Python,
        Language::Command,
        Language::Unknown,
    ];

    /// The canonical lowercase name.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Language::Rust => "rust",
            Language::Lua => "lua",
            Language::JavaScript => "javascript",
            Language::Python => "python",
            Language::Command => "command",
            Language::Unknown => "unknown",
        }
    }
}

impl fmt::Display for Language {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The error for a language name that is not recognised.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown language `{0}`; valid languages are rust (or native), lua, javascript (or js), python, command, unknown")]
pub struct ParseLanguageError(pub String);

impl FromStr for Language {
    type Err = ParseLanguageError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "rust" | "native" => Ok(Language::Rust),
            "lua" => Ok(Language::Lua),
            "javascript" | "js" => Ok(Language::JavaScript),
            "python" => Ok(Language::Python),
            "command" => Ok(Language::Command),
            "unknown" => Ok(Language::Unknown),
            _ => Err(ParseLanguageError(s.to_owned())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_parse_and_serde_round_trip() {
        for lang in Language::ALL {
            assert_eq!(lang.to_string().parse::<Language>(), Ok(lang));
            let json = serde_json::to_string(&lang).unwrap();
            assert_eq!(json, format!("\"{lang}\""));
            assert_eq!(serde_json::from_str::<Language>(&json).unwrap(), lang);
        }
        assert_eq!(
            serde_json::from_str::<Language>("\"native\"").unwrap(),
            Language::Rust
        );
        assert_eq!(
            serde_json::from_str::<Language>("\"js\"").unwrap(),
            Language::JavaScript
        );
    }
}
