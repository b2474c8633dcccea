//! The verified-token cache of the layer (on by default; [`VerifierBuilder::token_cache`]).
//!
//! A token that passed every check is remembered from its second verification (a doorkeeper of
//! token hashes decides that, so that distinct tokens sent once cost no insert), keyed by the
//! token itself (so a lookup compares whole tokens, never only a hash), with its claims as an
//! `Arc`. A hit skips the RSA check. An entry ends at the earlier of the token's `exp` (plus leeway) and the configured TTL,
//! and a hit also requires the key that signed the token to still be in the JWKS cache, so a key
//! removed from the issuer's set stops its tokens at the next successful JWKS fetch.
//!
//! [`VerifierBuilder::token_cache`]: crate::VerifierBuilder::token_cache

use std::any::Any;
use std::hash::{BuildHasher, RandomState};
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
    /// The DPoP key the token is bound to: every hit is checked against the request again.
    binding: Binding,
    /// Clock milliseconds after which the entry is not used.
    expires_ms: i64,
}

/// Slots of the doorkeeper (a power of two; 128 KiB).
const DOORKEEPER_SLOTS: usize = 16_384;

/// Verified tokens, bounded in number and lifetime.
pub(crate) struct TokenCache {
    entries: moka::sync::Cache<Box<str>, Arc<Entry>>,
    ttl_ms: i64,
    /// Hashes of tokens verified once (TinyLFU's doorkeeper): a token gets an entry the second
    /// time it is verified, so that a stream of distinct tokens, each sent once, costs no cache
    /// insert and evicts nothing. Only admission depends on it, never a decision to accept: a
    /// collision at worst caches a token that did pass every check one verification early.
    seen: Box<[AtomicU64]>,
    hasher: RandomState,
}

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
                .build(),
            ttl_ms: i64::try_from(ttl.as_millis()).unwrap_or(i64::MAX),
            seen: (0..DOORKEEPER_SLOTS).map(|_| AtomicU64::new(0)).collect(),
            hasher: RandomState::new(),
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
        key_known: impl FnOnce(usize, &str) -> bool,
    ) -> Option<(Arc<C>, Binding)> {
        let entry = self.entries.get(token)?;
        if entry.kind != kind || now_ms >= entry.expires_ms || !key_known(entry.issuer, &entry.kid)
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
        (issuer, kid, binding): (usize, &str, Binding),
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
