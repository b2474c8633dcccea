//! The time source, injectable so that tests of expiry, cooldown and refresh are exact: the
//! [`Clock`] trait, the [`SystemClock`] every verifier uses by default, and [`FixedClock`], a
//! clock for tests that stands still until moved.

use std::fmt;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

/// A source of the current time.
///
/// The verifier reads it for claim checks (`exp`, `nbf`, `iat`) and for the JWKS cache (cooldown,
/// key lifetime, retry backoff). The default is [`SystemClock`]; tests give the builder a
/// [`FixedClock`] and move it by hand.
pub trait Clock: Send + Sync + fmt::Debug + 'static {
    /// Milliseconds since the Unix epoch.
    fn now_millis(&self) -> i64;

    /// Whole seconds since the Unix epoch.
    fn now(&self) -> i64 {
        self.now_millis().div_euclid(1000)
    }
}

/// The system's wall clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now_millis(&self) -> i64 {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
    }
}

/// A clock that stands still until moved; for tests.
///
/// ```
/// use tower_okta::clock::{Clock, FixedClock};
/// let clock = FixedClock::new(1_700_000_000);
/// clock.advance(60);
/// assert_eq!(clock.now(), 1_700_000_060);
/// clock.advance_millis(1_500);
/// assert_eq!(clock.now_millis(), 1_700_000_061_500);
/// ```
#[derive(Debug, Default)]
pub struct FixedClock(AtomicI64);

impl FixedClock {
    /// A clock showing `now` seconds since the Unix epoch.
    #[must_use]
    pub fn new(now: i64) -> Self {
        FixedClock(AtomicI64::new(now.saturating_mul(1000)))
    }

    /// Sets the time, in seconds since the Unix epoch.
    pub fn set(&self, now: i64) {
        self.0.store(now.saturating_mul(1000), Ordering::SeqCst);
    }

    /// Moves the time by `secs` (negative goes back).
    pub fn advance(&self, secs: i64) {
        self.advance_millis(secs.saturating_mul(1000));
    }

    /// Moves the time by `millis` (negative goes back).
    pub fn advance_millis(&self, millis: i64) {
        self.0.fetch_add(millis, Ordering::SeqCst);
    }
}

impl Clock for FixedClock {
    fn now_millis(&self) -> i64 {
        self.0.load(Ordering::SeqCst)
    }
}

impl<C: Clock> Clock for std::sync::Arc<C> {
    fn now_millis(&self) -> i64 {
        (**self).now_millis()
    }
}
