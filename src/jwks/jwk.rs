//! JWK import: one JWK into a ready-to-verify aws-lc-rs key, and a JWKS document into the set
//! of usable keys (RFC 7517, with the rules of an Okta keys endpoint: RSA only, `use: sig`,
//! 2048 to 8192 bits, a sane exponent, no duplicate `kid`).

use std::sync::Arc;

use aws_lc_rs::signature::{ParsedPublicKey, RsaPublicKeyComponents};
use base64::Engine;
use serde::Deserialize;

use crate::algorithm::Algorithm;
use crate::b64::JWK_B64;
use crate::error::TokenError;

/// Smallest RSA modulus accepted, in bits.
pub(crate) const MIN_RSA_BITS: usize = 2048;
/// Largest RSA modulus accepted, in bits (aws-lc-rs's limit for verification).
pub(crate) const MAX_RSA_BITS: usize = 8192;
/// At most this many keys are read from one JWKS.
pub(crate) const MAX_KEYS: usize = 64;

/// The document is not a JWKS (`{"keys":[...]}`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("response is not a JWKS document")]
pub(crate) struct NotAJwks;

/// A public key from the JWKS, parsed once for each algorithm it may be used with.
pub(crate) struct VerifyingKey {
    parsed: Vec<(Algorithm, ParsedPublicKey)>,
}

impl std::fmt::Debug for VerifyingKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let algs: Vec<_> = self.parsed.iter().map(|(a, _)| a.as_str()).collect();
        f.debug_struct("VerifyingKey").field("algs", &algs).finish()
    }
}

impl VerifyingKey {
    /// Verifies `signature` over `message` with this key under `alg`.
    pub(crate) fn verify(
        &self,
        alg: Algorithm,
        message: &[u8],
        signature: &[u8],
    ) -> Result<(), TokenError> {
        let (_, key) = self
            .parsed
            .iter()
            .find(|(a, _)| *a == alg)
            .ok_or(TokenError::KeyAlgorithmMismatch)?;
        key.verify_sig(message, signature)
            .map_err(|_| TokenError::BadSignature)
    }
}

/// Why one JWK was not usable.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum KeyError {
    /// Not a JSON object with string fields where strings are expected.
    #[error("not a valid JWK object")]
    Malformed,
    /// No `kid`.
    #[error("no kid")]
    MissingKid,
    /// `kty` is not `RSA`.
    #[error("kty is not RSA")]
    NotRsa,
    /// `use` is present and not `sig`.
    #[error("use is not sig")]
    NotForSignatures,
    /// `key_ops` is present and does not include `verify`.
    #[error("key_ops does not allow verify")]
    NotForVerify,
    /// `alg` is present and not allowed.
    #[error("alg is not allowed")]
    AlgorithmNotAllowed,
    /// The modulus is shorter than 2048 bits or longer than 8192.
    #[error("modulus size out of range (2048 to 8192 bits)")]
    BadModulusSize,
    /// The exponent is even, below 3 or above 2^32 - 1.
    #[error("exponent out of range")]
    BadExponent,
    /// The key was refused by aws-lc-rs.
    #[error("key rejected by the crypto library")]
    Rejected,
    /// Two keys of the set have this `kid`; neither is used.
    #[error("duplicate kid")]
    DuplicateKid,
}

#[derive(Deserialize)]
struct RawJwk<'a> {
    #[serde(borrow)]
    kty: Option<&'a str>,
    #[serde(borrow, rename = "use")]
    use_: Option<&'a str>,
    #[serde(borrow)]
    alg: Option<&'a str>,
    kid: Option<String>,
    #[serde(borrow)]
    n: Option<&'a str>,
    #[serde(borrow)]
    e: Option<&'a str>,
    key_ops: Option<Vec<String>>,
}

fn strip_leading_zeros(bytes: &[u8]) -> &[u8] {
    let start = bytes.iter().position(|&b| b != 0).unwrap_or(bytes.len());
    &bytes[start..]
}

/// Parses one JWK into a verifying key for the `allowed` algorithms.
pub(crate) fn parse_jwk(
    value: &serde_json::Value,
    allowed: &[Algorithm],
) -> Result<(String, VerifyingKey), KeyError> {
    let raw = RawJwk::deserialize(value).map_err(|_| KeyError::Malformed)?;
    let kid = raw.kid.ok_or(KeyError::MissingKid)?;
    if raw.kty != Some("RSA") {
        return Err(KeyError::NotRsa);
    }
    if raw.use_.is_some_and(|u| u != "sig") {
        return Err(KeyError::NotForSignatures);
    }
    if raw
        .key_ops
        .as_ref()
        .is_some_and(|ops| !ops.iter().any(|o| o == "verify"))
    {
        return Err(KeyError::NotForVerify);
    }
    let algs: Vec<Algorithm> = match raw.alg {
        Some(name) => match Algorithm::from_name(name) {
            Some(a) if allowed.contains(&a) => vec![a],
            _ => return Err(KeyError::AlgorithmNotAllowed),
        },
        None => allowed.to_vec(),
    };
    let n = JWK_B64
        .decode(raw.n.ok_or(KeyError::Malformed)?)
        .map_err(|_| KeyError::Malformed)?;
    let e = JWK_B64
        .decode(raw.e.ok_or(KeyError::Malformed)?)
        .map_err(|_| KeyError::Malformed)?;
    let n = strip_leading_zeros(&n);
    let e = strip_leading_zeros(&e);
    let bits = match n.first() {
        Some(first) => (n.len() - 1) * 8 + (8 - first.leading_zeros() as usize),
        None => 0,
    };
    if !(MIN_RSA_BITS..=MAX_RSA_BITS).contains(&bits) {
        return Err(KeyError::BadModulusSize);
    }
    if e.is_empty() || e.len() > 4 {
        return Err(KeyError::BadExponent);
    }
    let e_value = e.iter().fold(0u64, |acc, &b| (acc << 8) | u64::from(b));
    if e_value < 3 || e_value % 2 == 0 {
        return Err(KeyError::BadExponent);
    }
    let components = RsaPublicKeyComponents { n, e };
    let parsed = algs
        .into_iter()
        .map(|alg| {
            components
                .to_parsed_public_key(alg.params())
                .map(|k| (alg, k))
                .map_err(|_| KeyError::Rejected)
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok((kid, VerifyingKey { parsed }))
}

/// A parsed JWKS: the usable keys, and what was wrong with the others.
#[derive(Debug, Default)]
pub(crate) struct KeySet {
    pub(crate) keys: Vec<(String, Arc<VerifyingKey>)>,
    /// `(index in "keys", why skipped)` for every unusable entry.
    pub(crate) skipped: Vec<(usize, KeyError)>,
}

/// Parses a JWKS document (`{"keys":[...]}`). Unusable keys are skipped; a `kid` that appears
/// twice makes both entries unusable. Errors if the document itself is not a JWKS.
pub(crate) fn parse_jwks(body: &[u8], allowed: &[Algorithm]) -> Result<KeySet, NotAJwks> {
    // RFC 7517: a JSON object with a `keys` array (not serde's array form of a struct).
    let doc: serde_json::Value = serde_json::from_slice(body).map_err(|_| NotAJwks)?;
    let Some(keys) = doc.get("keys").and_then(serde_json::Value::as_array) else {
        return Err(NotAJwks);
    };
    let mut set = KeySet::default();
    let mut seen: Vec<Option<String>> = Vec::new();
    for (i, value) in keys.iter().take(MAX_KEYS).enumerate() {
        let kid = value.get("kid").and_then(|k| k.as_str()).map(str::to_owned);
        seen.push(kid);
        match parse_jwk(value, allowed) {
            Ok((kid, key)) => set.keys.push((kid, Arc::new(key))),
            Err(e) => set.skipped.push((i, e)),
        }
    }
    // A kid named twice is ambiguous: refuse every key with it.
    let dup = |kid: &str| seen.iter().flatten().filter(|k| *k == kid).count() > 1;
    let before: Vec<String> = set.keys.iter().map(|(k, _)| k.clone()).collect();
    set.keys.retain(|(kid, _)| !dup(kid));
    for (i, kid) in seen.iter().enumerate() {
        if let Some(kid) = kid {
            if dup(kid) && before.contains(kid) {
                set.skipped.push((i, KeyError::DuplicateKid));
            }
        }
    }
    Ok(set)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jwks_document_errors() {
        assert_eq!(
            parse_jwks(b"[]", &[Algorithm::RS256]).unwrap_err(),
            NotAJwks
        );
        assert_eq!(
            parse_jwks(b"{}", &[Algorithm::RS256]).unwrap_err(),
            NotAJwks
        );
        let set = parse_jwks(
            br#"{"keys":[{"kty":"EC","kid":"a"},{"kid":"b"},1]}"#,
            &[Algorithm::RS256],
        )
        .unwrap();
        assert!(set.keys.is_empty());
        assert_eq!(
            set.skipped.iter().map(|(_, e)| *e).collect::<Vec<_>>(),
            [KeyError::NotRsa, KeyError::NotRsa, KeyError::Malformed]
        );
    }
}
