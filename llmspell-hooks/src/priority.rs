//! [`Priority`]: the order hooks run in.

use std::fmt;

use serde::{Deserialize, Serialize};

/// The order in which hooks run at a point: **lower runs first**; hooks with
/// equal priority run in registration order.
///
/// Named levels are [`Priority::HIGHEST`] (`i32::MIN`), [`Priority::HIGH`]
/// (-100), [`Priority::NORMAL`] (0, the default), [`Priority::LOW`] (100) and
/// [`Priority::LOWEST`] (`i32::MAX`); any `i32` is valid.
///
/// ```
/// use llmspell_hooks::Priority;
/// assert!(Priority::HIGH < Priority::NORMAL);
/// assert!(Priority(-5) < Priority(5));
/// assert_eq!(Priority::default(), Priority::NORMAL);
/// ```
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize,
)]
#[serde(transparent)]
pub struct Priority(pub i32);

impl Priority {
    /// Runs before everything else.
    pub const HIGHEST: Priority = Priority(i32::MIN);
    /// Runs early.
    pub const HIGH: Priority = Priority(-100);
    /// The default.
    pub const NORMAL: Priority = Priority(0);
    /// Runs late.
    pub const LOW: Priority = Priority(100);
    /// Runs after everything else.
    pub const LOWEST: Priority = Priority(i32::MAX);
}

impl From<i32> for Priority {
    fn from(v: i32) -> Self {
        Priority(v)
    }
}

impl fmt::Display for Priority {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Priority::HIGHEST => f.write_str("highest"),
            Priority::HIGH => f.write_str("high"),
            Priority::NORMAL => f.write_str("normal"),
            Priority::LOW => f.write_str("low"),
            Priority::LOWEST => f.write_str("lowest"),
            Priority(v) => write!(f, "{v}"),
        }
    }
}

impl std::str::FromStr for Priority {
    type Err = crate::HookError;

    /// Parses a level name (`highest`, `high`, `normal`, `low`, `lowest`, any
    /// case) or an integer.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "highest" => Ok(Priority::HIGHEST),
            "high" => Ok(Priority::HIGH),
            "normal" => Ok(Priority::NORMAL),
            "low" => Ok(Priority::LOW),
            "lowest" => Ok(Priority::LOWEST),
            other => {
                other
                    .parse::<i32>()
                    .map(Priority)
                    .map_err(|_| crate::HookError::InvalidConfig {
                        field: "priority",
                        reason: format!(
                        "`{s}` is not a priority; use highest, high, normal, low, lowest or an i32"
                    ),
                    })
            }
        }
    }
}
