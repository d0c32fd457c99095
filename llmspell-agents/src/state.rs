//! The 9-state lifecycle and its one transition table.

use std::fmt;
use std::str::FromStr;
use std::sync::atomic::{AtomicU8, Ordering};

use serde::{Deserialize, Serialize};

use crate::{AgentError, Result};

/// Where an agent is in its life.
///
/// ```text
/// Uninitialized → Initializing → Ready ⇄ Running
///                      ↓          ⇅ ↘      ↓
///                    Error     Paused  Terminating → Terminated
///                      ↓ ↑
///                   Recovering → Ready
/// ```
/// The full table is [`AgentState::can_transition_to`]; `Terminating` is
/// reachable from every state but `Running`, `Terminating` and
/// `Terminated`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[repr(u8)]
pub enum AgentState {
    /// Created, not yet initialized.
    Uninitialized = 0,
    /// Being initialized (the init hooks run).
    Initializing = 1,
    /// Idle and accepting work.
    Ready = 2,
    /// Running an execution.
    Running = 3,
    /// Paused: refuses work until resumed.
    Paused = 4,
    /// Shutting down (the shutdown hooks run).
    Terminating = 5,
    /// Shut down; refuses all work.
    Terminated = 6,
    /// An execution failed.
    Error = 7,
    /// Recovering from a failure, on the way back to Ready.
    Recovering = 8,
}

impl AgentState {
    /// Every state, in declaration order.
    pub const ALL: [Self; 9] = [
        Self::Uninitialized,
        Self::Initializing,
        Self::Ready,
        Self::Running,
        Self::Paused,
        Self::Terminating,
        Self::Terminated,
        Self::Error,
        Self::Recovering,
    ];

    /// The lower-case name (`"ready"`), as scripts see it.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Uninitialized => "uninitialized",
            Self::Initializing => "initializing",
            Self::Ready => "ready",
            Self::Running => "running",
            Self::Paused => "paused",
            Self::Terminating => "terminating",
            Self::Terminated => "terminated",
            Self::Error => "error",
            Self::Recovering => "recovering",
        }
    }

    /// The transition table: whether `self → to` is allowed.
    #[must_use]
    pub fn can_transition_to(self, to: Self) -> bool {
        use AgentState::{
            Error, Initializing, Paused, Ready, Recovering, Running, Terminated, Terminating,
            Uninitialized,
        };
        matches!(
            (self, to),
            (Uninitialized, Initializing | Terminating)
                | (Initializing, Ready | Error)
                | (Ready, Running | Paused | Terminating)
                | (Running, Ready | Error)
                | (Paused, Ready | Terminating)
                | (Error, Recovering | Terminating)
                | (Recovering, Ready | Error | Terminating)
                | (Terminating, Terminated)
        )
    }

    /// Whether the agent accepts no more work (`Terminating`, `Terminated`).
    #[must_use]
    pub fn is_shut_down(self) -> bool {
        matches!(self, Self::Terminating | Self::Terminated)
    }

    fn from_u8(v: u8) -> Self {
        Self::ALL[usize::from(v)]
    }
}

impl fmt::Display for AgentState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for AgentState {
    type Err = AgentError;

    fn from_str(s: &str) -> Result<Self> {
        Self::ALL
            .into_iter()
            .find(|st| st.as_str().eq_ignore_ascii_case(s))
            .ok_or_else(|| {
                AgentError::Config(format!(
                    "unknown agent state `{s}`; valid: {}",
                    Self::ALL.map(Self::as_str).join(", ")
                ))
            })
    }
}

/// An agent's state, changed only through the table by compare-and-swap:
/// concurrent readers always see one of the nine states, and two
/// concurrent transitions from the same state cannot both succeed.
#[derive(Debug)]
pub(crate) struct StateCell(AtomicU8);

impl StateCell {
    pub(crate) fn new(state: AgentState) -> Self {
        Self(AtomicU8::new(state as u8))
    }

    pub(crate) fn get(&self) -> AgentState {
        AgentState::from_u8(self.0.load(Ordering::Acquire))
    }

    /// `from → to`, if the table allows it and the state is still `from`.
    pub(crate) fn transition(&self, agent: &str, from: AgentState, to: AgentState) -> Result<()> {
        if !from.can_transition_to(to) {
            return Err(AgentError::IllegalTransition {
                agent: agent.to_owned(),
                from,
                to,
            });
        }
        self.0
            .compare_exchange(from as u8, to as u8, Ordering::AcqRel, Ordering::Acquire)
            .map(|_| ())
            .map_err(|actual| AgentError::IllegalTransition {
                agent: agent.to_owned(),
                from: AgentState::from_u8(actual),
                to,
            })
    }

    /// From the current state to `to`, if the table allows it.
    pub(crate) fn transition_from_current(
        &self,
        agent: &str,
        to: AgentState,
    ) -> Result<AgentState> {
        loop {
            let from = self.get();
            match self.transition(agent, from, to) {
                Ok(()) => return Ok(from),
                // Lost a race: retry with the new state.
                Err(AgentError::IllegalTransition { from: actual, .. }) if actual != from => {}
                Err(e) => return Err(e),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table() {
        use AgentState::*;
        let allowed = [
            (Uninitialized, Initializing),
            (Uninitialized, Terminating),
            (Initializing, Ready),
            (Initializing, Error),
            (Ready, Running),
            (Ready, Paused),
            (Ready, Terminating),
            (Running, Ready),
            (Running, Error),
            (Paused, Ready),
            (Paused, Terminating),
            (Error, Recovering),
            (Error, Terminating),
            (Recovering, Ready),
            (Recovering, Error),
            (Recovering, Terminating),
            (Terminating, Terminated),
        ];
        for from in AgentState::ALL {
            for to in AgentState::ALL {
                assert_eq!(
                    from.can_transition_to(to),
                    allowed.contains(&(from, to)),
                    "{from} -> {to}"
                );
            }
        }
    }

    #[test]
    fn an_illegal_transition_names_both_states() {
        let cell = StateCell::new(AgentState::Terminated);
        let e = cell
            .transition("a", AgentState::Terminated, AgentState::Ready)
            .unwrap_err();
        assert_eq!(
            e.to_string(),
            "agent `a`: illegal state transition from terminated to ready"
        );
        // A stale `from` reports the actual state.
        let cell = StateCell::new(AgentState::Paused);
        let e = cell
            .transition("a", AgentState::Ready, AgentState::Running)
            .unwrap_err();
        assert!(e.to_string().contains("from paused to running"), "{e}");
    }

    #[test]
    fn names_round_trip() {
        for s in AgentState::ALL {
            assert_eq!(s.as_str().parse::<AgentState>().unwrap(), s);
            assert_eq!(serde_json::to_value(s).unwrap(), s.as_str());
        }
        assert!("bogus"
            .parse::<AgentState>()
            .unwrap_err()
            .to_string()
            .contains("ready"));
    }

    #[test]
    fn concurrent_transitions_from_one_state_have_one_winner() {
        let cell = std::sync::Arc::new(StateCell::new(AgentState::Ready));
        let wins: usize = (0..8)
            .map(|i| {
                let cell = cell.clone();
                std::thread::spawn(move || {
                    let to = if i % 2 == 0 {
                        AgentState::Running
                    } else {
                        AgentState::Paused
                    };
                    usize::from(cell.transition("a", AgentState::Ready, to).is_ok())
                })
            })
            .collect::<Vec<_>>()
            .into_iter()
            .map(|h| h.join().unwrap())
            .sum();
        assert_eq!(wins, 1);
        assert!(matches!(
            cell.get(),
            AgentState::Running | AgentState::Paused
        ));
    }
}
