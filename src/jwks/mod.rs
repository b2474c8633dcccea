//! The issuer's signing keys: the cache state machine ([`Jwks`]) over JWK import (`jwk.rs`) and
//! fetching (`fetch.rs`).
//!
//! Keys are parsed once per fetch into ready-to-verify aws-lc-rs keys and held in a moka cache
//! keyed by `kid`; a request whose `kid` is cached never waits on the network. A `kid` that is not
//! cached leads to [`Jwks::key_after_fetch`], where one tokio mutex makes fetches single-flight:
//! the first caller fetches, the others wait for it and then find the key (or learn that it does
//! not exist). After a successful fetch no other fetch happens for a cooldown, however many
//! unknown `kid`s arrive; after a failed one, retries back off from about 1 s to about 10 s.
//! A fetch that fails never removes keys: the last good set keeps serving.
//!
//! Timing reads the verifier's [`Clock`], so tests of cooldown, lifetime and backoff are exact.

mod config;
mod fetch;
mod jwk;

use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use reqwest::Url;

pub(crate) use self::config::JwksConfig;
pub use self::config::JwksStats;
use self::fetch::{FetchError, Fetcher};
pub use self::jwk::KeyError;
#[cfg(feature = "__private")]
pub(crate) use self::jwk::{parse_jwk, parse_jwks};
pub(crate) use self::jwk::{VerifyingKey, MAX_KEYS};
use crate::algorithm::Algorithm;
use crate::clock::Clock;
use crate::error::AuthError;

#[derive(Debug)]
struct FetchState {
    /// Kids of the current set, to drop the ones a new set no longer has.
    kids: Vec<String>,
    /// Whether the last fetch succeeded.
    last_ok: bool,
    /// When the last successful fetch ended, in clock milliseconds.
    last_success_ms: Option<i64>,
    /// `(from, until)` in clock milliseconds: no fetch for an unknown `kid` starts in between.
    /// Set after a fruitless fetch (one made for a `kid` that the fetched set did not contain
    /// either: the cooldown) and after a failed one (the retry delay, counted from the failure).
    /// Startup, scheduled and fruitful fetches clear it.
    blocked: Option<(i64, i64)>,
    /// The next retry delay before jitter; doubles on each failure up to `retry_max`.
    retry: Duration,
}

/// Why a fetch is made. Not `Debug`: it holds a kid from a token, which is never logged.
#[derive(Clone, Copy)]
enum Reason<'a> {
    /// A request names this `kid`, which is not cached.
    UnknownKid(&'a str),
    /// Startup ([`Verifier::refresh_keys`](crate::Verifier::refresh_keys)) or the scheduled
    /// refresh before the set's lifetime ends.
    Refresh,
}

/// The issuer's key source: fetcher, cache and fetch coordination.
#[derive(Debug)]
pub(crate) struct Jwks {
    issuer: String,
    fetcher: Fetcher,
    config: JwksConfig,
    /// Keyed by `kid` with a seeded fast hash (foldhash): only keys from the issuer's set are
    /// inserted, so lookups of made-up `kid`s only probe.
    keys: moka::sync::Cache<String, Arc<VerifyingKey>, foldhash::fast::RandomState>,
    /// How many fetches removed keys from the set so far: a verified-token cache entry that
    /// recorded this count before its key was looked up knows its key is still there while the
    /// count is the same, without a lookup ([`Jwks::still_has`]).
    removals: AtomicU64,
    state: tokio::sync::Mutex<FetchState>,
    clock: Arc<dyn Clock>,
    /// When a background refresh is due, in clock milliseconds.
    refresh_due_ms: AtomicI64,
    /// When the next fetch may start after a failure, in clock milliseconds (0: any time); read
    /// without the lock for the `Retry-After` of a request that gave up waiting.
    next_attempt_ms: AtomicI64,
    refreshing: AtomicBool,
    /// Lifetime of the current set, in seconds (0 before the first fetch).
    ttl_secs: AtomicU64,
    fetches: AtomicU64,
    failures: AtomicU64,
    cooldown_hits: AtomicU64,
    cache_hits: AtomicU64,
    cache_misses: AtomicU64,
}

impl Jwks {
    pub(crate) fn new(
        issuer: String,
        fallback_uri: Url,
        configured_uri: Option<Url>,
        http: reqwest::Client,
        config: JwksConfig,
        allowed: Vec<Algorithm>,
        clock: Arc<dyn Clock>,
    ) -> Self {
        let retry = config.retry_initial;
        let fetcher = Fetcher {
            issuer: issuer.clone(),
            fallback_uri,
            configured_uri,
            discovered_uri: Mutex::new(None),
            http,
            allowed,
            max_response_bytes: config.max_response_bytes,
            min_ttl: config.min_ttl,
            max_ttl: config.max_ttl,
        };
        Jwks {
            issuer,
            fetcher,
            config,
            keys: moka::sync::Cache::builder()
                .max_capacity(MAX_KEYS as u64 * 2)
                .build_with_hasher(foldhash::fast::RandomState::default()),
            removals: AtomicU64::new(0),
            state: tokio::sync::Mutex::new(FetchState {
                kids: Vec::new(),
                last_ok: false,
                last_success_ms: None,
                blocked: None,
                retry,
            }),
            clock,
            refresh_due_ms: AtomicI64::new(i64::MAX),
            next_attempt_ms: AtomicI64::new(0),
            refreshing: AtomicBool::new(false),
            ttl_secs: AtomicU64::new(0),
            fetches: AtomicU64::new(0),
            failures: AtomicU64::new(0),
            cooldown_hits: AtomicU64::new(0),
            cache_hits: AtomicU64::new(0),
            cache_misses: AtomicU64::new(0),
        }
    }

    pub(crate) fn stats(&self) -> JwksStats {
        JwksStats {
            fetches: self.fetches.load(Ordering::Relaxed),
            failures: self.failures.load(Ordering::Relaxed),
            cooldown_hits: self.cooldown_hits.load(Ordering::Relaxed),
            keys: self.keys.iter().count() as u64,
            cache_hits: self.cache_hits.load(Ordering::Relaxed),
            cache_misses: self.cache_misses.load(Ordering::Relaxed),
            ttl: Duration::from_secs(self.ttl_secs.load(Ordering::Relaxed)),
        }
    }

    /// The cached key for `kid`, without waiting. Starts a background refresh when one is due.
    pub(crate) fn cached(self: &Arc<Self>, kid: &str, now_ms: i64) -> Option<Arc<VerifyingKey>> {
        let Some(key) = self.keys.get(kid) else {
            self.cache_misses.fetch_add(1, Ordering::Relaxed);
            return None;
        };
        self.cache_hits.fetch_add(1, Ordering::Relaxed);
        self.refresh_if_due(now_ms);
        Some(key)
    }

    /// True if a key with this `kid` is in the current set (no counters). Like
    /// [`cached`](Self::cached), it starts a background refresh when one is due, so that a
    /// verified-token cache hit keeps the set fresh too: a key Okta removed stops being accepted
    /// within one lifetime even when every request is a cache hit.
    pub(crate) fn contains(self: &Arc<Self>, kid: &str, now_ms: i64) -> bool {
        let known = self.keys.contains_key(kid);
        if known {
            self.refresh_if_due(now_ms);
        }
        known
    }

    /// The count of fetches that removed keys ([`still_has`](Self::still_has)); read it before
    /// looking the key up, so that a removal racing with the lookup changes it.
    pub(crate) fn removals(&self) -> u64 {
        self.removals.load(Ordering::Acquire)
    }

    /// True if the key `kid`, found in the set when [`removals`](Self::removals) was
    /// `removals_then`, is still in it: no lookup while no fetch has removed a key since, else
    /// [`contains`](Self::contains).
    pub(crate) fn still_has(self: &Arc<Self>, kid: &str, removals_then: u64, now_ms: i64) -> bool {
        if self.removals() == removals_then {
            self.refresh_if_due(now_ms);
            return true;
        }
        self.contains(kid, now_ms)
    }

    /// The key for `kid` after at most one (shared) fetch.
    ///
    /// `Ok(None)`: the issuer's current set has no such key (401). `Err`: the keys could not be
    /// fetched and this `kid` is not cached (503, with the seconds until the next attempt). A
    /// request waits at most one total fetch timeout here, however many fetches are queued.
    pub(crate) async fn key_after_fetch(
        &self,
        kid: &str,
    ) -> Result<Option<Arc<VerifyingKey>>, AuthError> {
        // One total fetch timeout for the whole wait: queueing behind other fetches included.
        let deadline = tokio::time::Instant::now() + self.config.timeout;
        let Ok(mut state) = tokio::time::timeout_at(deadline, self.state.lock()).await else {
            tracing::debug!(issuer = %self.issuer, "gave up waiting for a JWKS fetch");
            return Err(self.unavailable(self.clock.now_millis()));
        };
        if let Some(key) = self.keys.get(kid) {
            return Ok(Some(key));
        }
        let now = self.clock.now_millis();
        // A clock that went back counts as time passed.
        if let Some((from, until)) = state.blocked {
            if from <= now && now < until {
                self.cooldown_hits.fetch_add(1, Ordering::Relaxed);
                tracing::debug!(
                    issuer = %self.issuer,
                    last_fetch_ok = state.last_ok,
                    "unknown kid within the JWKS fetch cooldown or retry delay; not fetching"
                );
                return if state.last_ok {
                    Ok(None)
                } else {
                    Err(self.unavailable(now))
                };
            }
        }
        self.fetch_locked(&mut state, Reason::UnknownKid(kid), deadline)
            .await;
        if state.last_ok {
            Ok(self.keys.get(kid))
        } else {
            Err(self.unavailable(self.clock.now_millis()))
        }
    }

    /// Fetches the set now (startup), unless one succeeded within the cooldown; does not start
    /// a cooldown.
    ///
    /// # Errors
    /// [`AuthError::KeysUnavailable`] if the fetch failed.
    pub(crate) async fn refresh(&self) -> Result<(), AuthError> {
        let mut state = self.state.lock().await;
        let now = self.clock.now_millis();
        let recent = state
            .last_success_ms
            .is_some_and(|at| at <= now && now - at < millis(self.config.cooldown));
        if !recent {
            let deadline = tokio::time::Instant::now() + self.config.timeout;
            self.fetch_locked(&mut state, Reason::Refresh, deadline)
                .await;
        }
        if state.last_ok {
            Ok(())
        } else {
            Err(self.unavailable(self.clock.now_millis()))
        }
    }

    /// 503 with the time until the next fetch attempt.
    fn unavailable(&self, now_ms: i64) -> AuthError {
        let next = self.next_attempt_ms.load(Ordering::Relaxed);
        let wait_ms = u64::try_from(next.saturating_sub(now_ms)).unwrap_or(0);
        AuthError::keys_unavailable(Duration::from_millis(wait_ms))
    }

    fn refresh_if_due(self: &Arc<Self>, now_ms: i64) {
        if now_ms < self.refresh_due_ms.load(Ordering::Relaxed)
            || self.refreshing.swap(true, Ordering::AcqRel)
        {
            return;
        }
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            self.refreshing.store(false, Ordering::Release);
            return;
        };
        /// Clears the flag however the task ends (also if its runtime shuts down mid-fetch).
        struct Done(Arc<Jwks>);
        impl Drop for Done {
            fn drop(&mut self) {
                self.0.refreshing.store(false, Ordering::Release);
            }
        }
        let done = Done(Arc::clone(self));
        runtime.spawn(async move {
            let this = &done.0;
            let mut state = this.state.lock().await;
            // Another fetch may have happened while waiting for the lock.
            if this.clock.now_millis() >= this.refresh_due_ms.load(Ordering::Relaxed) {
                tracing::debug!(issuer = %this.issuer, "JWKS background refresh");
                let deadline = tokio::time::Instant::now() + this.config.timeout;
                this.fetch_locked(&mut state, Reason::Refresh, deadline)
                    .await;
            }
        });
    }

    /// Fetches the set now, with the fetch lock held, and records the outcome. A fetch still
    /// running at `deadline` fails (timed out); it is never dropped unrecorded.
    async fn fetch_locked(
        &self,
        state: &mut FetchState,
        reason: Reason<'_>,
        deadline: tokio::time::Instant,
    ) {
        let started = std::time::Instant::now();
        // The reason's kind only: a kid comes from a token and is never logged.
        let why = match reason {
            Reason::UnknownKid(_) => "unknown kid",
            Reason::Refresh => "refresh",
        };
        tracing::debug!(issuer = %self.issuer, reason = why, "JWKS fetch started");
        self.fetches.fetch_add(1, Ordering::Relaxed);
        let fetch = self.fetcher.fetch(self.clock.now_millis());
        let outcome = tokio::time::timeout_at(deadline, fetch)
            .await
            .unwrap_or(Err(FetchError::TimedOut));
        match outcome {
            Ok((set, ttl, url)) => {
                let now = self.clock.now_millis();
                let new_kids: Vec<String> = set.keys.iter().map(|(k, _)| k.clone()).collect();
                // Fruitless: made for a kid the issuer does not publish either. Only that
                // starts the cooldown, so that random kids cost at most one fetch per cooldown
                // while a key published after the last fetch is found at once.
                let fruitless = match reason {
                    Reason::UnknownKid(kid) => !new_kids.iter().any(|k| k == kid),
                    Reason::Refresh => false,
                };
                state.blocked =
                    fruitless.then(|| (now, now.saturating_add(millis(self.config.cooldown))));
                for (kid, key) in set.keys {
                    self.keys.insert(kid, key);
                }
                let added = new_kids.iter().filter(|k| !state.kids.contains(k)).count();
                let mut removed = 0;
                for old in &state.kids {
                    if !new_kids.contains(old) {
                        self.keys.invalidate(old);
                        removed += 1;
                    }
                }
                if removed > 0 {
                    // After the invalidations: whoever reads the new count finds them done.
                    self.removals.fetch_add(1, Ordering::Release);
                }
                if !state.kids.is_empty() && (added > 0 || removed > 0) {
                    tracing::info!(issuer = %self.issuer, added, removed, "JWKS key rotation");
                }
                state.kids = new_kids;
                state.last_ok = true;
                state.last_success_ms = Some(now);
                state.retry = self.config.retry_initial;
                self.next_attempt_ms.store(0, Ordering::Relaxed);
                self.ttl_secs.store(ttl.as_secs(), Ordering::Relaxed);
                // Refresh in the background once 90% of the lifetime has passed.
                let refresh_in = ttl.mul_f64(0.9);
                self.schedule_refresh(refresh_in);
                tracing::info!(
                    issuer = %self.issuer,
                    %url,
                    status = 200,
                    keys = state.kids.len(),
                    skipped = set.skipped.len(),
                    ttl_secs = ttl.as_secs(),
                    duration_ms = started.elapsed().as_millis() as u64,
                    "JWKS fetched"
                );
                for (index, why) in &set.skipped {
                    tracing::warn!(issuer = %self.issuer, index, reason = %why, "JWKS key skipped");
                }
            }
            Err(error) => {
                self.failures.fetch_add(1, Ordering::Relaxed);
                state.last_ok = false;
                // After a 429, as long as Okta asks; otherwise the backoff. Either way counted
                // from the failure, not from when the (maybe timed-out) fetch started.
                let wait = match &error {
                    FetchError::RateLimited {
                        wait: Some(wait), ..
                    } => *wait,
                    _ => jitter(state.retry),
                };
                let now = self.clock.now_millis();
                let until = now.saturating_add(millis(wait));
                state.blocked = Some((now, until));
                self.next_attempt_ms.store(until, Ordering::Relaxed);
                state.retry = (state.retry * 2).min(self.config.retry_max);
                self.schedule_refresh(wait);
                tracing::warn!(
                    issuer = %self.issuer,
                    %error,
                    retry_in_ms = wait.as_millis() as u64,
                    stale_keys = state.kids.len(),
                    duration_ms = started.elapsed().as_millis() as u64,
                    "JWKS fetch failed"
                );
            }
        }
    }

    fn schedule_refresh(&self, after: Duration) {
        let at = self.clock.now_millis().saturating_add(millis(after));
        self.refresh_due_ms.store(at, Ordering::Relaxed);
    }
}

fn millis(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

/// `d` scaled by a random factor in [0.8, 1.2).
fn jitter(d: Duration) -> Duration {
    let mut byte = [0u8; 1];
    let _ = aws_lc_rs::rand::fill(&mut byte);
    d.mul_f64(0.8 + 0.4 * f64::from(byte[0]) / 256.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jitter_stays_in_range() {
        for _ in 0..100 {
            let j = jitter(Duration::from_secs(10));
            assert!(
                j >= Duration::from_secs(8) && j < Duration::from_secs(12),
                "{j:?}"
            );
        }
    }
}
