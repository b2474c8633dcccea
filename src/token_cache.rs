//! The verified-token cache of the layer (on by default; [`VerifierBuilder::token_cache`]).
//!
//! A token that passed every check is remembered from its second verification (a doorkeeper of
//! token hashes decides that, so that distinct tokens sent once cost no insert), keyed by the
//! token itself (so a lookup compares whole tokens, never only a hash), with its claims as an
//! `Arc`. A hit skips the RSA check. An entry ends at the earlier of the token's `exp` (plus leeway) and the configured TTL,
//! and a hit also requires the key that signed the token to still be in the JWKS cache, so a key
//! removed from the issuer's set stops its tokens at the next successful JWKS fetch. That check
//! is one atomic load while no fetch has removed a key since the entry was made (the key
//! cache's removal count), and a key lookup otherwise.
//!
//! Hashing is foldhash, seeded per cache, over a token's length and its last 64 characters (the
//! end of its signature: as random as a hash, and different for every token): on 1 KB tokens
//! SipHash over everything cost most of a hit. A hash only picks a bucket and a doorkeeper slot;
//! entries are made only for tokens that passed every check, and a lookup compares whole tokens.
//!
//! [`VerifierBuilder::token_cache`]: crate::VerifierBuilder::token_cache

use std::any::Any;
use std::hash::{BuildHasher, Hasher};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use crate::dpop::Binding;
use crate::validate::TokenKind;

struct Entry {
    claims: Arc<dyn Any + Send + Sync>,
    kind: TokenKind,
    /// Index of the token's issuer in the verifier.
    issuer: usize,
    kid: Box<str>,
    /// The key cache's removal count read before the key was looked up (`Jwks::still_has`).
    key_removals: u64,
    /// The DPoP key the token is bound to: every hit is checked against the request again.
    binding: Binding,
    /// Clock milliseconds after which the entry is not used.
    expires_ms: i64,
}

/// Slots of the doorkeeper (a power of two; 128 KiB).
const DOORKEEPER_SLOTS: usize = 16_384;

/// Verified tokens, bounded in number and lifetime.
pub(crate) struct TokenCache {
    entries: moka::sync::Cache<Box<str>, Arc<Entry>, RandomState>,
    ttl_ms: i64,
    /// Hashes of tokens verified once (TinyLFU's doorkeeper): a token gets an entry the second
    /// time it is verified, so that a stream of distinct tokens, each sent once, costs no cache
    /// insert and evicts nothing. Only admission depends on it, never a decision to accept: a
    /// collision at worst caches a token that did pass every check one verification early.
    seen: Box<[AtomicU64]>,
    hasher: RandomState,
}

/// How many trailing bytes of a token its hash covers.
const HASHED_TAIL: usize = 64;

/// A seeded foldhash over the length and the last [`HASHED_TAIL`] bytes of what it hashes.
#[derive(Clone, Default)]
struct RandomState(foldhash::fast::RandomState);

impl BuildHasher for RandomState {
    type Hasher = TailHasher;

    fn build_hasher(&self) -> TailHasher {
        TailHasher(self.0.build_hasher())
    }
}

struct TailHasher(foldhash::fast::FoldHasher<'static>);

impl Hasher for TailHasher {
    fn write(&mut self, bytes: &[u8]) {
        let tail = bytes.len().saturating_sub(HASHED_TAIL);
        self.0.write_usize(bytes.len());
        self.0.write(bytes.get(tail..).unwrap_or(bytes));
    }

    fn write_u8(&mut self, i: u8) {
        self.0.write_u8(i);
    }

    fn finish(&self) -> u64 {
        self.0.finish()
    }
}

/// Where a verified token's key came from: the issuer's index in the verifier, its `kid`, and
/// the key cache's removal count read before the key was looked up.
pub(crate) type KeyOrigin<'a> = (usize, &'a str, u64);

impl std::fmt::Debug for TokenCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenCache")
            .field("entries", &self.entries.entry_count())
            .field("ttl_ms", &self.ttl_ms)
            .finish()
    }
}

impl TokenCache {
    pub(crate) fn new(max_entries: u64, ttl: Duration) -> Self {
        TokenCache {
            entries: moka::sync::Cache::builder()
                .max_capacity(max_entries)
                .time_to_live(ttl)
                .build_with_hasher(RandomState::default()),
            ttl_ms: i64::try_from(ttl.as_millis()).unwrap_or(i64::MAX),
            seen: (0..DOORKEEPER_SLOTS).map(|_| AtomicU64::new(0)).collect(),
            hasher: RandomState::default(),
        }
    }

    /// True if `token` was verified before (its hash is in the doorkeeper); records it if not.
    fn seen_before(&self, token: &str) -> bool {
        let hash = self.hasher.hash_one(token) | 1;
        let slot = &self.seen[(hash as usize) & (DOORKEEPER_SLOTS - 1)];
        if slot.load(Ordering::Relaxed) == hash {
            return true;
        }
        slot.store(hash, Ordering::Relaxed);
        false
    }

    /// The cached claims of `token`, if it was verified as a `kind` token into a `C`, has not
    /// expired at `now_ms`, and its key is still known.
    pub(crate) fn get<C: Send + Sync + 'static>(
        &self,
        token: &str,
        kind: TokenKind,
        now_ms: i64,
        key_known: impl FnOnce(KeyOrigin<'_>) -> bool,
    ) -> Option<(Arc<C>, Binding)> {
        let entry = self.entries.get(token)?;
        if entry.kind != kind
            || now_ms >= entry.expires_ms
            || !key_known((entry.issuer, &entry.kid, entry.key_removals))
        {
            return None;
        }
        let claims = Arc::clone(&entry.claims).downcast::<C>().ok()?;
        Some((claims, entry.binding.clone()))
    }

    /// Remembers a verified token until `min(now + ttl, valid_until_ms)`, from the second time
    /// it is verified (see `seen`).
    pub(crate) fn insert<C: Send + Sync + 'static>(
        &self,
        token: &str,
        claims: Arc<C>,
        kind: TokenKind,
        ((issuer, kid, key_removals), binding): (KeyOrigin<'_>, Binding),
        now_ms: i64,
        valid_until_ms: i64,
    ) {
        if !self.seen_before(token) {
            return;
        }
        let entry = Entry {
            claims,
            kind,
            issuer,
            kid: kid.into(),
            key_removals,
            binding,
            expires_ms: now_ms.saturating_add(self.ttl_ms).min(valid_until_ms),
        };
        self.entries.insert(token.into(), Arc::new(entry));
    }

    pub(crate) fn len(&self) -> u64 {
        self.entries.run_pending_tasks();
        self.entries.entry_count()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hash(state: &RandomState, token: &str) -> u64 {
        state.hash_one(token)
    }

    #[test]
    fn the_hash_covers_the_length_and_the_tail() {
        let state = RandomState::default();
        let tail = "s".repeat(HASHED_TAIL);
        let (a, b) = (format!("aaaa.{tail}"), format!("bbbb.{tail}"));
        assert_eq!(hash(&state, &a), hash(&state, &b), "same length and tail");
        assert_ne!(hash(&state, &a), hash(&state, &format!("aaaa.{tail}x")));
        assert_ne!(hash(&state, &a), hash(&state, &format!("aaa.{tail}")));
        assert_ne!(hash(&state, "short"), hash(&state, "shorT"));
    }

    #[test]
    fn tokens_with_the_same_hash_keep_their_own_entries() {
        let cache = TokenCache::new(100, Duration::from_secs(60));
        let tail = "s".repeat(HASHED_TAIL);
        let (a, b) = (format!("aaaa.{tail}"), format!("bbbb.{tail}"));
        let origin = (0, "kid", 0);
        let known = |_: KeyOrigin<'_>| true;
        // From the second verification on, a token has an entry.
        for _ in 0..2 {
            cache.insert(
                &a,
                Arc::new("a"),
                TokenKind::Access,
                (origin, None),
                0,
                i64::MAX,
            );
        }
        let hit = cache.get::<&str>(&a, TokenKind::Access, 1, known);
        assert_eq!(hit.map(|(claims, _)| *claims), Some("a"));
        // Same length and tail, so the same hash and the doorkeeper slot: not the same token.
        assert!(cache.get::<&str>(&b, TokenKind::Access, 1, known).is_none());
        cache.insert(
            &b,
            Arc::new("b"),
            TokenKind::Access,
            (origin, None),
            0,
            i64::MAX,
        );
        let hit = cache.get::<&str>(&b, TokenKind::Access, 1, known);
        assert_eq!(hit.map(|(claims, _)| *claims), Some("b"));
        let hit = cache.get::<&str>(&a, TokenKind::Access, 1, known);
        assert_eq!(hit.map(|(claims, _)| *claims), Some("a"));
    }

    #[test]
    fn a_hit_needs_the_kind_the_time_and_the_key() {
        let cache = TokenCache::new(100, Duration::from_secs(60));
        let origin = (0, "kid", 7);
        for _ in 0..2 {
            cache.insert(
                "t.t.t",
                Arc::new(1u8),
                TokenKind::Access,
                (origin, None),
                0,
                5_000,
            );
        }
        let yes = |_: KeyOrigin<'_>| true;
        assert!(cache
            .get::<u8>("t.t.t", TokenKind::Access, 4_999, yes)
            .is_some());
        assert!(cache
            .get::<u8>("t.t.t", TokenKind::Access, 5_000, yes)
            .is_none());
        assert!(cache.get::<u8>("t.t.t", TokenKind::Id, 1, yes).is_none());
        assert!(cache
            .get::<u16>("t.t.t", TokenKind::Access, 1, yes)
            .is_none());
        let mut asked = None;
        let key_gone = |origin: KeyOrigin<'_>| {
            asked = Some((origin.0, origin.1.to_owned(), origin.2));
            false
        };
        assert!(cache
            .get::<u8>("t.t.t", TokenKind::Access, 1, key_gone)
            .is_none());
        assert_eq!(asked, Some((0, "kid".to_owned(), 7)));
    }
}
