//! The key cache's settings ([`JwksConfig`]) and counters ([`JwksStats`]).

use std::time::Duration;

use crate::net::MAX_RESPONSE_BYTES;

/// Settings of the JWKS fetcher and cache.
#[derive(Debug, Clone)]
pub(crate) struct JwksConfig {
    pub(crate) connect_timeout: Duration,
    pub(crate) timeout: Duration,
    pub(crate) max_response_bytes: usize,
    pub(crate) cooldown: Duration,
    pub(crate) min_ttl: Duration,
    pub(crate) max_ttl: Duration,
    pub(crate) retry_initial: Duration,
    pub(crate) retry_max: Duration,
}

impl Default for JwksConfig {
    fn default() -> Self {
        JwksConfig {
            connect_timeout: Duration::from_secs(2),
            timeout: Duration::from_secs(5),
            max_response_bytes: MAX_RESPONSE_BYTES,
            cooldown: Duration::from_secs(30),
            min_ttl: Duration::from_secs(5 * 60),
            max_ttl: Duration::from_secs(60 * 60),
            retry_initial: Duration::from_secs(1),
            retry_max: Duration::from_secs(10),
        }
    }
}

/// Fetch counters, for users' metrics.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct JwksStats {
    /// JWKS fetches attempted.
    pub fetches: u64,
    /// Fetches that failed.
    pub failures: u64,
    /// Requests for an unknown `kid` answered from the cooldown without a fetch.
    pub cooldown_hits: u64,
    /// Keys in the current set.
    pub keys: u64,
    /// Key lookups answered from the cache.
    pub cache_hits: u64,
    /// Key lookups that missed the cache (each may wait for a fetch, or hit the cooldown).
    pub cache_misses: u64,
    /// Lifetime of the current set: its `Cache-Control: max-age`, clamped (zero before the first
    /// successful fetch).
    pub ttl: Duration,
}
