//! [`Scope`]: the namespaces state values live in.

use std::fmt;
use std::str::FromStr;

use crate::{Result, SessionId, StateError};

/// The rule scope names follow, as users read it in errors.
pub(crate) const SCOPE_RULE: &str =
    "a script or custom scope name is 1 to 128 characters from A-Z a-z 0-9 _ - . :";

const MAX_SCOPE_NAME: usize = 128;

/// Where a value lives. Each scope is its own key space: the same key in two
/// scopes names two values.
///
/// | scope | string form | for |
/// |---|---|---|
/// | [`Global`](Scope::Global) | `global` | everything shared by every script and run |
/// | [`Session`](Scope::Session) | `session:<id>` (scripts also write `session` for their own) | one session; checkpointed and restored with it |
/// | [`Script`](Scope::Script) | `script:<name>` | one script, across its runs |
/// | [`Custom`](Scope::Custom) | any other name, e.g. `agent:writer` | whatever the application decides |
///
/// ```
/// use llmspell_state::Scope;
/// assert_eq!("global".parse::<Scope>().unwrap(), Scope::Global);
/// assert_eq!("script:report".parse::<Scope>().unwrap(), Scope::script("report").unwrap());
/// assert_eq!("agent:writer".parse::<Scope>().unwrap().to_string(), "agent:writer");
/// // `session` alone means "the current session", which only a caller that
/// // knows it can resolve:
/// assert!("session".parse::<Scope>().is_err());
/// let id = llmspell_state::SessionId::new();
/// assert_eq!(Scope::parse_in("session", Some(id)).unwrap(), Scope::Session(id));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Scope {
    /// Shared by everything.
    Global,
    /// One session's values.
    Session(SessionId),
    /// One script's values (by script name).
    Script(String),
    /// An application-defined scope.
    Custom(String),
}

impl Scope {
    /// The scope of the script named `name`.
    ///
    /// # Errors
    /// [`StateError::InvalidScope`] when `name` breaks the scope name rule.
    pub fn script(name: impl Into<String>) -> Result<Self> {
        let name = name.into();
        validate_name(&name, &format!("script:{name}"))?;
        Ok(Self::Script(name))
    }

    /// A custom scope.
    ///
    /// # Errors
    /// [`StateError::InvalidScope`] when `name` breaks the rule, or is one
    /// of the reserved forms (`global`, `session`, `session:...`,
    /// `script:...`).
    pub fn custom(name: impl Into<String>) -> Result<Self> {
        let name = name.into();
        match name.parse::<Scope>() {
            Ok(Scope::Custom(name)) => Ok(Scope::Custom(name)),
            Ok(_) => Err(StateError::InvalidScope {
                reason: "that name is a reserved scope, not a custom one".to_owned(),
                scope: name,
            }),
            Err(e) => Err(e),
        }
    }

    /// Parses `s`, resolving `session` to `current` (the caller's session).
    ///
    /// # Errors
    /// [`StateError::NoSession`] for `session` without a current session;
    /// [`StateError::InvalidScope`] for anything [`FromStr`] refuses.
    pub fn parse_in(s: &str, current: Option<SessionId>) -> Result<Self> {
        if s == "session" {
            return current.map(Scope::Session).ok_or(StateError::NoSession);
        }
        s.parse()
    }

    /// The session this scope belongs to, if it is a session scope.
    #[must_use]
    pub fn session(&self) -> Option<SessionId> {
        match self {
            Scope::Session(id) => Some(*id),
            _ => None,
        }
    }

    /// Appends the scope's string form to `out` (the storage key prefix is
    /// built this way, without a `format!` per operation).
    pub(crate) fn write_to(&self, out: &mut String) {
        match self {
            Scope::Global => out.push_str("global"),
            Scope::Session(id) => {
                out.push_str("session:");
                let mut buf = [0u8; uuid::fmt::Hyphenated::LENGTH];
                out.push_str(id.as_uuid().hyphenated().encode_lower(&mut buf));
            }
            Scope::Script(name) => {
                out.push_str("script:");
                out.push_str(name);
            }
            Scope::Custom(name) => out.push_str(name),
        }
    }
}

fn validate_name(name: &str, whole: &str) -> Result<()> {
    let reason = if name.is_empty() {
        "the name is empty".to_owned()
    } else if name.len() > MAX_SCOPE_NAME {
        format!("the name is {} bytes long", name.len())
    } else if let Some(bad) = name
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.' | ':')))
    {
        format!("the name contains {bad:?}")
    } else {
        return Ok(());
    };
    Err(StateError::InvalidScope {
        scope: crate::key::shorten(whole),
        reason,
    })
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut s = String::new();
        self.write_to(&mut s);
        f.write_str(&s)
    }
}

impl FromStr for Scope {
    type Err = StateError;

    fn from_str(s: &str) -> Result<Self> {
        if s == "global" {
            return Ok(Scope::Global);
        }
        if s == "session" {
            return Err(StateError::InvalidScope {
                scope: s.to_owned(),
                reason: "`session` means the current session, and nothing here knows it; name one as `session:<id>`".to_owned(),
            });
        }
        if let Some(id) = s.strip_prefix("session:") {
            return id.parse::<SessionId>().map(Scope::Session).map_err(|_| {
                StateError::InvalidScope {
                    scope: crate::key::shorten(s),
                    reason: "`session:` must be followed by a session id (a UUID)".to_owned(),
                }
            });
        }
        if let Some(name) = s.strip_prefix("script:") {
            validate_name(name, s)?;
            return Ok(Scope::Script(name.to_owned()));
        }
        validate_name(s, s)?;
        Ok(Scope::Custom(s.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn string_forms_round_trip() {
        let id = SessionId::new();
        for scope in [
            Scope::Global,
            Scope::Session(id),
            Scope::script("etl.v2").unwrap(),
            Scope::custom("agent:writer").unwrap(),
        ] {
            assert_eq!(scope.to_string().parse::<Scope>().unwrap(), scope);
        }
    }

    #[test]
    fn bad_scopes_say_what_is_valid() {
        for (input, reason) in [
            ("", "the name is empty"),
            ("script:", "the name is empty"),
            ("a/b", "contains '/'"),
            ("session:42", "must be followed by a session id"),
            ("session", "means the current session"),
        ] {
            let err = input.parse::<Scope>().unwrap_err().to_string();
            assert!(err.contains(reason), "{input}: {err}");
            assert!(err.contains("valid scopes are `global`"), "{err}");
        }
        assert!(Scope::custom("global").is_err());
        assert!(Scope::custom("script:x").is_err());
        assert!(matches!(
            Scope::parse_in("session", None),
            Err(StateError::NoSession)
        ));
    }

    proptest::proptest! {
        #[test]
        fn parse_is_the_inverse_of_display(name in "[A-Za-z0-9_.:-]{1,40}") {
            // Whatever a valid name parses to prints back as the same text.
            if let Ok(scope) = name.parse::<Scope>() {
                proptest::prop_assert_eq!(scope.to_string(), name.clone());
                proptest::prop_assert_eq!(scope.to_string().parse::<Scope>().unwrap(), scope);
            }
        }

        #[test]
        fn parsing_never_panics(input in "\\PC{0,60}") {
            let _ = input.parse::<Scope>();
        }
    }
}
