//! [`Clock`]: the time source of circuit breakers and built-in hooks,
//! injectable for tests.
//!
//! This is `llmspell-events`' clock, re-exported: one [`ManualClock`] can
//! drive an event bus, a hook registry and a tool runtime together.
//!
//! ```
//! use std::sync::Arc;
//! use std::time::Duration;
//! use llmspell_hooks::{BreakerConfig, CircuitBreaker, Clock, ManualClock};
//!
//! let clock = ManualClock::new();
//! let breaker = CircuitBreaker::with_clock(BreakerConfig::default(), Arc::new(clock.clone()))
//!     .unwrap();
//! // The same clock type the event bus takes.
//! let bus = llmspell_events::EventBus::builder()
//!     .clock(Arc::new(clock.clone()))
//!     .build();
//! clock.advance(Duration::from_secs(1));
//! assert_eq!(clock.elapsed(), Duration::from_secs(1));
//! # drop((breaker, bus));
//! ```

pub use llmspell_events::{Clock, ManualClock, SystemClock};
