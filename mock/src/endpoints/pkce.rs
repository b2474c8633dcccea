//! PKCE (RFC 7636) with S256, the only method Okta accepts from a public client.

use aws_lc_rs::digest::{digest, SHA256};
use base64::Engine;

use crate::util::B64;

/// RFC 7636 4.1: 43 to 128 characters of `[A-Za-z0-9-._~]` (the same for an S256 challenge,
/// which is always 43).
pub(super) fn is_pkce_string(value: &str) -> bool {
    (43..=128).contains(&value.len())
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'))
}

/// The S256 challenge of a verifier: base64url(SHA-256(verifier)).
pub(super) fn s256(verifier: &str) -> String {
    B64.encode(digest(&SHA256, verifier.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn s256_matches_rfc_7636_appendix_b() {
        assert_eq!(
            s256("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        );
        assert!(is_pkce_string(
            "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
        ));
        assert!(!is_pkce_string("short"));
    }
}
