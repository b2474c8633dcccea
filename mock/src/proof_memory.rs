//! What the mock remembers of DPoP proofs (RFC 9449): the nonces it issued and the proof IDs
//! (`jti`) it has seen.

use std::collections::HashMap;
use std::time::{Duration, SystemTime};

use crate::util::random_id;

/// How long an issued `DPoP-Nonce` is accepted (by the mock clock). Okta's nonces live for a
/// while and can be used more than once, so okta-auth-js reuses one until it is refused.
pub(crate) const NONCE_LIFETIME: Duration = Duration::from_secs(300);

/// How long a proof's `jti` is remembered: longer than any `iat` window a proof can pass
/// (60 s either side of now), so that a replayed proof is always recognised.
const JTI_MEMORY: Duration = Duration::from_secs(300);

/// Issued nonces and seen proof IDs, each with when it was issued or seen.
#[derive(Debug, Default)]
pub(crate) struct ProofMemory {
    nonces: HashMap<String, SystemTime>,
    jtis: HashMap<String, SystemTime>,
}

/// True while `since` is less than `lifetime` before `now` (and when the clock went back).
fn live(since: SystemTime, now: SystemTime, lifetime: Duration) -> bool {
    now.duration_since(since).map_or(true, |age| age < lifetime)
}

impl ProofMemory {
    /// A fresh nonce, valid for [`NONCE_LIFETIME`] from `now`.
    pub(crate) fn issue_nonce(&mut self, now: SystemTime) -> String {
        self.nonces
            .retain(|_, issued| live(*issued, now, NONCE_LIFETIME));
        let nonce = random_id(32);
        self.nonces.insert(nonce.clone(), now);
        nonce
    }

    /// True if the mock issued `nonce` and it has not expired at `now`.
    pub(crate) fn nonce_is_live(&self, nonce: &str, now: SystemTime) -> bool {
        self.nonces
            .get(nonce)
            .is_some_and(|issued| live(*issued, now, NONCE_LIFETIME))
    }

    /// Remembers a proof's `jti`; false if it was seen before (a replay).
    pub(crate) fn first_use(&mut self, jti: &str, now: SystemTime) -> bool {
        self.jtis.retain(|_, seen| live(*seen, now, JTI_MEMORY));
        if self.jtis.contains_key(jti) {
            return false;
        }
        self.jtis.insert(jti.to_owned(), now);
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nonces_expire_and_jtis_are_single_use() {
        let t0 = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000);
        let mut memory = ProofMemory::default();
        let nonce = memory.issue_nonce(t0);
        assert!(memory.nonce_is_live(&nonce, t0 + Duration::from_secs(299)));
        assert!(!memory.nonce_is_live(&nonce, t0 + NONCE_LIFETIME));
        assert!(!memory.nonce_is_live("other", t0));
        assert!(memory.first_use("a", t0));
        assert!(!memory.first_use("a", t0 + Duration::from_secs(200)));
        assert!(memory.first_use("b", t0));
    }
}
