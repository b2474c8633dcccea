//! Internals exposed for the fuzz targets, property tests and the Wycheproof suite.
//! Not part of the public API: no semver guarantee, hidden from the docs.

use crate::algorithm::Algorithm;
use crate::error::TokenError;
use crate::jwks::{self, KeyError, VerifyingKey};
use crate::token;

/// Runs the form, header and claims parsers of the verification path on `token` (no signature,
/// no claim values checked). `Ok` means the token is well formed.
///
/// # Errors
/// The [`TokenError`] the verifier would answer with for a malformed token.
pub fn parse_token(token: &str, max_len: usize) -> Result<(), TokenError> {
    let parts = token::split(token, max_len)?;
    let decoded = token::Decoded::new(&parts)?;
    token::parse_header(decoded.header.text()?)?;
    token::parse_claims(&decoded.payload)?;
    Ok(())
}

/// Parses a JWKS document as a fetch would, allowing every RSA algorithm. Returns the number of
/// usable keys and of skipped ones, or `None` if the document is not a JWKS.
#[must_use]
pub fn parse_jwks(body: &[u8]) -> Option<(usize, usize)> {
    let set = jwks::parse_jwks(body, &Algorithm::ALL).ok()?;
    Some((set.keys.len(), set.skipped.len()))
}

/// An RSA public key imported through the crate's own JWK import path.
#[derive(Debug)]
pub struct RsaKey(VerifyingKey);

impl RsaKey {
    /// Imports a JWK (as fetched from a JWKS) for `allowed` algorithms.
    ///
    /// # Errors
    /// Why the key is refused (too short, wrong type, bad exponent...).
    pub fn from_jwk(jwk: &serde_json::Value, allowed: &[Algorithm]) -> Result<RsaKey, KeyError> {
        jwks::parse_jwk(jwk, allowed).map(|(_, key)| RsaKey(key))
    }

    /// Verifies `signature` over `message` under `alg` with the crate's verify path.
    #[must_use]
    pub fn verify(&self, alg: Algorithm, message: &[u8], signature: &[u8]) -> bool {
        self.0.verify(alg, message, signature).is_ok()
    }
}
