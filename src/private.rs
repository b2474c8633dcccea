//! Internals exposed for the fuzz targets, property tests and the Wycheproof suite.
//! Not part of the public API: no semver guarantee, hidden from the docs.

use crate::algorithm::Algorithm;
use crate::error::TokenError;
use crate::jwks::{self, KeyError, VerifyingKey};
use crate::token;
use crate::Verifier;

/// Runs the form, header and claims parsers of the verification path on `token` (no signature,
/// no claim values checked). `Ok` means the token is well formed.
///
/// # Errors
/// The [`TokenError`] the verifier would answer with for a malformed token.
pub fn parse_token(token: &str, max_len: usize) -> Result<(), TokenError> {
    let (_, decoded) = token::split_and_decode(token, max_len)?;
    token::parse_header(decoded.header.text()?)?;
    token::parse_claims(&decoded.payload)?;
    Ok(())
}

/// Runs the DPoP proof parser and key import on `proof` (every algorithm allowed), then the
/// signature check. `Ok` means the proof is well formed and its key usable; its claims are not
/// compared with any request. Returns the key's RFC 7638 thumbprint and whether the signature
/// verified.
///
/// # Errors
/// The [`DpopError`](crate::DpopError) the layer would answer with for a malformed proof.
pub fn parse_dpop_proof(proof: &str) -> Result<(String, bool), crate::DpopError> {
    use crate::dpop::{proof, DpopAlgorithm};
    let parsed = proof::parse(proof, &DpopAlgorithm::ALL)?;
    let key = crate::dpop::import_key(&parsed)?;
    let verified = key
        .verify(parsed.signing_input.as_bytes(), parsed.signature.bytes())
        .is_ok();
    Ok((key.thumbprint, verified))
}

/// The strict base64url decode of token parts (base64-simd), into a heap buffer and into an
/// inline one: `None` if either refuses `part`; the property tests compare it with the `base64`
/// crate's strict engine.
#[must_use]
pub fn decode_part(part: &str) -> Option<Vec<u8>> {
    let heap = crate::b64::decode(part).ok();
    let mut inline = crate::b64::Inline::<64>::Stack([0; 64], 0);
    let inline = inline.decode(part).ok().map(|()| inline.bytes().to_vec());
    assert_eq!(heap, inline, "the two decode paths agree");
    heap
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

/// The steps of the verification path one at a time, for the benchmarks' breakdown of where the
/// time over the RSA floor goes (`benches/verify.rs`, group `breakdown`).
pub mod steps {
    use super::{token, TokenError, Verifier};

    /// A token split and its three parts decoded (step 1 of the path).
    pub struct Decoded(token::Decoded);

    /// Splits `token` and decodes its parts as the verifier does.
    ///
    /// # Errors
    /// The verifier's error for a malformed token.
    pub fn decode(token: &str, max_len: usize) -> Result<Decoded, TokenError> {
        token::split_and_decode(token, max_len).map(|(_, decoded)| Decoded(decoded))
    }

    impl Decoded {
        /// The header's JSON text (empty if it is not UTF-8).
        #[must_use]
        pub fn header(&self) -> &str {
            self.0.header.text().unwrap_or_default()
        }

        /// The claims set's JSON text.
        #[must_use]
        pub fn payload(&self) -> &str {
            &self.0.payload
        }
    }

    /// The strict header parse (step 2); returns the `kid`'s length.
    ///
    /// # Errors
    /// The verifier's error for this header.
    pub fn header(json: &str) -> Result<usize, TokenError> {
        token::parse_header(json).map(|h| h.kid.map_or(0, |k| k.len()))
    }

    /// The strict claims pass that also collects the fields of `AccessClaims` (step 3); returns
    /// the number of scopes.
    ///
    /// # Errors
    /// The verifier's error for this claims set.
    pub fn access_claims(json: &str) -> Result<usize, TokenError> {
        token::parse_claims_collecting(json).map(|c| c.access.map_or(0, |a| a.scp.len()))
    }

    /// The key cache lookup of the configured issuer (step 4).
    #[must_use]
    pub fn key_lookup(verifier: &Verifier, kid: &str, now_ms: i64) -> bool {
        verifier.key_is_cached(kid, now_ms)
    }
}
