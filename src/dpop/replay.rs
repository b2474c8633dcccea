//! The replay cache of DPoP proofs: the `jti`s seen (as SHA-256 of the key's thumbprint and the
//! `jti`), each remembered for at least one lifetime (twice the proof window, plus a second).
//!
//! Two generations per shard: `jti`s go into the current one; when it is one lifetime old, it
//! becomes the previous one and the previous one is dropped (both, when the current one is two
//! lifetimes old), so an entry lives between one and three lifetimes: longer is harmless, as a
//! proof older than the window is refused by its `iat` anyway. A shard holds at most its share
//! of the configured size: when its current generation is half full, it turns over early and
//! the oldest `jti`s are forgotten first. Time is the verifier's clock, read by the caller.
//!
//! Why not moka: an insert there costs 1.7 to 4.3 us on the benchmark machine (its write log,
//! expiry timers and LRU order), which is more than the rest of a DPoP request's own checks; a
//! `jti` is never read back, so none of that is needed. A shard's set is a hash set under a
//! mutex, hashed with a random seed (shard and bucket cannot be chosen by grinding `jti`s).

use std::collections::HashSet;
use std::hash::BuildHasher;
use std::sync::{Mutex, PoisonError};

/// Shards of the cache (fewer for a small size): concurrent requests rarely wait on one lock.
const SHARDS: usize = 16;

/// The seeded hasher of the sets and of the shard choice.
type Seeded = foldhash::fast::RandomState;

pub(crate) struct ReplayCache {
    shards: Box<[Mutex<Generations>]>,
    hasher: Seeded,
    /// How long an entry is remembered at least, in milliseconds.
    lifetime_ms: i64,
    /// The most entries a shard's current generation takes before it turns over.
    generation_capacity: usize,
}

struct Generations {
    /// When the current generation started (the clock's milliseconds).
    started_ms: i64,
    current: HashSet<[u8; 32], Seeded>,
    previous: HashSet<[u8; 32], Seeded>,
}

impl ReplayCache {
    /// A cache of about `max_entries` entries (at least one per shard), each remembered for at
    /// least `lifetime_ms`.
    pub(crate) fn new(max_entries: u64, lifetime_ms: i64, now_ms: i64) -> ReplayCache {
        let max_entries = usize::try_from(max_entries).unwrap_or(usize::MAX).max(1);
        // At least 64 entries per shard, so that a small cache is not split into tiny ones.
        let shards = (max_entries / 64).clamp(1, SHARDS);
        let per_shard = max_entries.div_ceil(shards);
        let hasher = Seeded::default();
        let shards = (0..shards)
            .map(|_| {
                Mutex::new(Generations {
                    started_ms: now_ms,
                    current: HashSet::with_hasher(hasher.clone()),
                    previous: HashSet::with_hasher(hasher.clone()),
                })
            })
            .collect();
        ReplayCache {
            shards,
            hasher,
            lifetime_ms,
            generation_capacity: per_shard.div_ceil(2),
        }
    }

    /// Records `key`; false if it was recorded within the lifetime (a replay).
    pub(crate) fn first_use(&self, key: [u8; 32], now_ms: i64) -> bool {
        let hash = self.hasher.hash_one(key);
        // The high bits choose the shard; the set uses the hash again, its low bits.
        let index = usize::try_from(hash >> 32).unwrap_or(0) % self.shards.len();
        let Some(shard) = self.shards.get(index) else {
            return false;
        };
        let mut shard = shard.lock().unwrap_or_else(PoisonError::into_inner);
        let age = now_ms.saturating_sub(shard.started_ms);
        if age >= self.lifetime_ms.saturating_mul(2) {
            // Both generations are older than a lifetime: forget both.
            shard.previous.clear();
            shard.current.clear();
            shard.started_ms = now_ms;
        } else if age >= self.lifetime_ms || shard.current.len() >= self.generation_capacity {
            shard.turn_over(now_ms);
        }
        if shard.previous.contains(&key) {
            return false;
        }
        shard.current.insert(key)
    }
}

impl Generations {
    /// The current generation becomes the previous one; the previous one is dropped.
    fn turn_over(&mut self, now_ms: i64) {
        std::mem::swap(&mut self.previous, &mut self.current);
        self.current.clear();
        self.started_ms = now_ms;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(i: u32) -> [u8; 32] {
        let mut k = [0u8; 32];
        k[..4].copy_from_slice(&i.to_le_bytes());
        k
    }

    #[test]
    fn a_key_is_refused_for_at_least_one_lifetime_then_forgotten_within_three() {
        let cache = ReplayCache::new(1000, 121_000, 0);
        assert!(cache.first_use(key(1), 0));
        assert!(!cache.first_use(key(1), 0));
        // Other keys go through the turnovers of their own shards.
        for (i, now) in [(2, 60_000), (3, 120_999), (4, 121_000), (5, 200_000)] {
            assert!(cache.first_use(key(i), now));
        }
        // Remembered for one lifetime whatever happened in between...
        assert!(!cache.first_use(key(1), 120_999));
        // ...and forgotten within three, however the shards turned over.
        assert!(cache.first_use(key(1), 363_001));
        assert!(!cache.first_use(key(1), 363_002));
    }

    #[test]
    fn an_entry_recorded_late_in_a_generation_survives_the_turnover() {
        let cache = ReplayCache::new(10, 1_000, 0);
        assert_eq!(cache.shards.len(), 1);
        assert!(cache.first_use(key(1), 999));
        // The generation turns over at 1,000; key 1 is in the previous one until 2,000.
        assert!(cache.first_use(key(2), 1_000));
        assert!(!cache.first_use(key(1), 1_998));
        // Turned over again at 2,000 (key 2's generation): key 1 is gone, key 2 is not.
        assert!(cache.first_use(key(3), 2_000));
        assert!(cache.first_use(key(1), 2_001));
        assert!(!cache.first_use(key(2), 2_002));
    }

    #[test]
    fn a_full_cache_forgets_the_oldest_first() {
        let cache = ReplayCache::new(10, 60_000, 0);
        for i in 0..10 {
            assert!(cache.first_use(key(i), 0));
        }
        // Size 10: generations of 5. Keys 0-4 were dropped when 10 arrived...
        assert!(cache.first_use(key(10), 0));
        assert!(cache.first_use(key(0), 0));
        // ...the newest are still refused.
        for i in [7, 8, 9, 10] {
            assert!(!cache.first_use(key(i), 0), "{i}");
        }
    }

    #[test]
    fn a_clock_going_back_turns_nothing_over() {
        let cache = ReplayCache::new(10, 1_000, 5_000);
        assert!(cache.first_use(key(1), 5_000));
        assert!(!cache.first_use(key(1), 0));
        assert!(!cache.first_use(key(1), i64::MIN));
    }

    #[test]
    fn large_caches_are_sharded_and_every_shard_is_reachable() {
        let cache = ReplayCache::new(100_000, 121_000, 0);
        assert_eq!(cache.shards.len(), SHARDS);
        for i in 0..2_000 {
            assert!(cache.first_use(key(i), 0));
        }
        for shard in cache.shards.iter() {
            let shard = shard.lock().unwrap();
            assert!(!shard.current.is_empty());
        }
        for i in 0..2_000 {
            assert!(!cache.first_use(key(i), 1), "{i}");
        }
    }
}
