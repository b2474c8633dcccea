//! Small helpers shared by every module: base64url, random Okta-style IDs, Unix seconds.

use std::time::{SystemTime, UNIX_EPOCH};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::engine::GeneralPurpose;

/// base64url without padding, as JOSE uses it.
pub(crate) const B64: GeneralPurpose = URL_SAFE_NO_PAD;

/// Random `[A-Za-z0-9]` characters, like Okta's IDs.
pub(crate) fn random_id(len: usize) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    let mut bytes = vec![0u8; len];
    aws_lc_rs::rand::fill(&mut bytes).expect("the system random source works");
    bytes
        .iter()
        .map(|b| char::from(ALPHABET[usize::from(*b) % ALPHABET.len()]))
        .collect()
}

/// Whole seconds since the Unix epoch (negative before it).
pub(crate) fn unix_secs(time: SystemTime) -> i64 {
    let secs = |d: std::time::Duration| i64::try_from(d.as_secs()).unwrap_or(i64::MAX);
    match time.duration_since(UNIX_EPOCH) {
        Ok(after) => secs(after),
        Err(before) => -secs(before.duration()),
    }
}
