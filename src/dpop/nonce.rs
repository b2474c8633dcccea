//! Server nonces (RFC 9449 section 9), stateless: a nonce is an HMAC of a time window's number
//! under a key drawn at random for each verifier, so nothing is stored. A proof carrying the
//! current or the previous window's nonce passes. Replicas each have their own key: a client
//! that moves to another replica is asked for that replica's nonce (one more round trip).

use std::fmt;

use aws_lc_rs::rand::{SecureRandom, SystemRandom};
use aws_lc_rs::{constant_time, hmac};
use base64::Engine;

use crate::b64::STRICT_B64;

/// Bytes of HMAC in a nonce (32 characters of base64url).
const NONCE_BYTES: usize = 24;

/// Issues and checks nonces.
pub(crate) struct Nonces {
    key: hmac::Key,
    window_ms: i64,
}

impl fmt::Debug for Nonces {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Nonces")
            .field("window_ms", &self.window_ms)
            .finish_non_exhaustive()
    }
}

impl Nonces {
    /// Nonces that rotate every `window_ms` (at least 1 ms); `None` if no random key can be had.
    pub(crate) fn new(window_ms: i64) -> Option<Nonces> {
        let mut secret = [0u8; 32];
        SystemRandom::new().fill(&mut secret).ok()?;
        Some(Nonces {
            key: hmac::Key::new(hmac::HMAC_SHA256, &secret),
            window_ms: window_ms.max(1),
        })
    }

    /// A window's nonce, before encoding: HMAC-SHA-256 of its number.
    fn tag(&self, window: i64) -> hmac::Tag {
        hmac::sign(&self.key, &window.to_be_bytes())
    }

    /// The nonce to hand out at `now_ms`.
    pub(crate) fn current(&self, now_ms: i64) -> String {
        let tag = self.tag(now_ms.div_euclid(self.window_ms));
        STRICT_B64.encode(&tag.as_ref()[..NONCE_BYTES])
    }

    /// True if `nonce` is the current or the previous window's nonce at `now_ms`.
    pub(crate) fn accepts(&self, nonce: &str, now_ms: i64) -> bool {
        let Ok(given) = STRICT_B64.decode(nonce) else {
            return false;
        };
        let window = now_ms.div_euclid(self.window_ms);
        [window, window - 1].into_iter().any(|w| {
            let tag = self.tag(w);
            constant_time::verify_slices_are_equal(&given, &tag.as_ref()[..NONCE_BYTES]).is_ok()
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nonces_rotate_and_the_previous_one_still_passes() {
        let nonces = Nonces::new(1000).unwrap();
        let first = nonces.current(5_000);
        assert_eq!(first, nonces.current(5_999), "stable within a window");
        assert!(nonces.accepts(&first, 5_000));
        let second = nonces.current(6_000);
        assert_ne!(first, second, "a new window, a new nonce");
        assert!(
            nonces.accepts(&first, 6_500),
            "the previous window's nonce passes"
        );
        assert!(
            !nonces.accepts(&first, 7_000),
            "two windows later it does not"
        );
        assert!(!nonces.accepts("", 5_000));
        assert!(!nonces.accepts("not base64!", 5_000));
        let other = Nonces::new(1000).unwrap();
        assert!(
            !other.accepts(&first, 5_000),
            "each verifier has its own key"
        );
    }
}
