//! The proof's key: the algorithms a proof may use, the public JWK of its header as a ready
//! aws-lc-rs key, and the key's RFC 7638 thumbprint (what an access token's `cnf.jkt` names).

use std::fmt;
use std::str::FromStr;

use aws_lc_rs::digest;
use aws_lc_rs::signature::{self, RsaPublicKeyComponents, UnparsedPublicKey};
use base64::Engine;

use crate::b64::STRICT_B64;
use crate::dpop::error::DpopError;
use crate::error::ConfigError;

/// Smallest RSA modulus accepted in a proof key, in bits.
const MIN_RSA_BITS: usize = 2048;
/// Largest RSA modulus accepted in a proof key, in bits.
const MAX_RSA_BITS: usize = 8192;

/// An asymmetric JWS algorithm a DPoP proof may be signed with (RFC 9449 section 4.2). ES256
/// and RS256 are allowed by default (okta-auth-js signs with ES256); PS256 and ES384 can be
/// allowed. `none` and HMAC cannot.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum DpopAlgorithm {
    /// ECDSA with P-256 and SHA-256.
    ES256,
    /// ECDSA with P-384 and SHA-384.
    ES384,
    /// RSASSA-PKCS1-v1_5 with SHA-256.
    RS256,
    /// RSASSA-PSS with SHA-256.
    PS256,
}

impl DpopAlgorithm {
    /// Every supported algorithm.
    pub const ALL: [DpopAlgorithm; 4] = [
        DpopAlgorithm::ES256,
        DpopAlgorithm::ES384,
        DpopAlgorithm::RS256,
        DpopAlgorithm::PS256,
    ];

    /// The JWS `alg` name.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            DpopAlgorithm::ES256 => "ES256",
            DpopAlgorithm::ES384 => "ES384",
            DpopAlgorithm::RS256 => "RS256",
            DpopAlgorithm::PS256 => "PS256",
        }
    }

    /// The algorithm with this exact (case-sensitive) JWS name.
    pub(crate) fn from_name(name: &str) -> Option<DpopAlgorithm> {
        DpopAlgorithm::ALL.into_iter().find(|a| a.as_str() == name)
    }
}

impl fmt::Display for DpopAlgorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for DpopAlgorithm {
    type Err = ConfigError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        DpopAlgorithm::from_name(s).ok_or_else(|| ConfigError::UnsupportedDpopAlgorithm(s.into()))
    }
}

/// The members of a proof's `jwk` header that matter, still base64url-encoded.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(crate) struct ProofJwk {
    pub(crate) kty: Option<String>,
    pub(crate) crv: Option<String>,
    pub(crate) x: Option<String>,
    pub(crate) y: Option<String>,
    pub(crate) n: Option<String>,
    pub(crate) e: Option<String>,
    /// A private member (`d`, `p`, `q`, `dp`, `dq`, `qi`, `oth`, `k`) was present.
    pub(crate) private: bool,
}

/// A proof key, ready to verify, with its thumbprint.
pub(crate) struct ProofKey {
    verify: Verify,
    /// RFC 7638 JWK SHA-256 thumbprint, base64url.
    pub(crate) thumbprint: String,
}

enum Verify {
    Ec(UnparsedPublicKey<Vec<u8>>),
    Rsa(
        RsaPublicKeyComponents<Vec<u8>>,
        &'static signature::RsaParameters,
    ),
}

impl fmt::Debug for ProofKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ProofKey").finish_non_exhaustive()
    }
}

impl ProofKey {
    /// The key of `jwk` for `alg`: the key type must be the algorithm's (EC on the algorithm's
    /// curve, or RSA of 2048 to 8192 bits), every member strict base64url, no private member.
    pub(crate) fn import(jwk: &ProofJwk, alg: DpopAlgorithm) -> Result<ProofKey, DpopError> {
        if jwk.private {
            return Err(DpopError::PrivateKey);
        }
        // Strict base64url (SIMD; as strict as `STRICT_B64`: no padding, zero trailing bits).
        let decode = |member: &Option<String>| {
            member
                .as_deref()
                .and_then(|m| crate::b64::decode(m).ok())
                .ok_or(DpopError::InvalidKey)
        };
        match (alg, jwk.kty.as_deref()) {
            (DpopAlgorithm::ES256 | DpopAlgorithm::ES384, Some("EC")) => {
                let (crv, len, verify_alg) = match alg {
                    DpopAlgorithm::ES256 => ("P-256", 32, &signature::ECDSA_P256_SHA256_FIXED),
                    _ => ("P-384", 48, &signature::ECDSA_P384_SHA384_FIXED),
                };
                if jwk.crv.as_deref() != Some(crv) {
                    return Err(DpopError::InvalidKey);
                }
                let (x, y) = (decode(&jwk.x)?, decode(&jwk.y)?);
                if x.len() != len || y.len() != len {
                    return Err(DpopError::InvalidKey);
                }
                let mut point = Vec::with_capacity(1 + 2 * len);
                point.push(0x04);
                point.extend_from_slice(&x);
                point.extend_from_slice(&y);
                let thumbprint = thumbprint(&[
                    r#"{"crv":""#,
                    crv,
                    r#"","kty":"EC","x":""#,
                    jwk.x.as_deref().unwrap_or_default(),
                    r#"","y":""#,
                    jwk.y.as_deref().unwrap_or_default(),
                    r#""}"#,
                ]);
                Ok(ProofKey {
                    verify: Verify::Ec(UnparsedPublicKey::new(verify_alg, point)),
                    thumbprint,
                })
            }
            (DpopAlgorithm::RS256 | DpopAlgorithm::PS256, Some("RSA")) => {
                let (n, e) = (decode(&jwk.n)?, decode(&jwk.e)?);
                let bits = n
                    .iter()
                    .position(|&b| b != 0)
                    .map_or(0, |i| (n.len() - i) * 8 - n[i].leading_zeros() as usize);
                let e_ok = matches!(e.first(), Some(&b) if b != 0)
                    && e.len() <= 4
                    && e.last().is_some_and(|b| b & 1 == 1)
                    && e != [1];
                if !(MIN_RSA_BITS..=MAX_RSA_BITS).contains(&bits) || !e_ok {
                    return Err(DpopError::InvalidKey);
                }
                let params = match alg {
                    DpopAlgorithm::RS256 => &signature::RSA_PKCS1_2048_8192_SHA256,
                    _ => &signature::RSA_PSS_2048_8192_SHA256,
                };
                let thumbprint = thumbprint(&[
                    r#"{"e":""#,
                    jwk.e.as_deref().unwrap_or_default(),
                    r#"","kty":"RSA","n":""#,
                    jwk.n.as_deref().unwrap_or_default(),
                    r#""}"#,
                ]);
                Ok(ProofKey {
                    verify: Verify::Rsa(RsaPublicKeyComponents { n, e }, params),
                    thumbprint,
                })
            }
            _ => Err(DpopError::InvalidKey),
        }
    }

    /// Verifies the proof's signature over its signing input.
    pub(crate) fn verify(&self, message: &[u8], signature: &[u8]) -> Result<(), DpopError> {
        let ok = match &self.verify {
            Verify::Ec(key) => key.verify(message, signature).is_ok(),
            Verify::Rsa(key, params) => key.verify(params, message, signature).is_ok(),
        };
        ok.then_some(()).ok_or(DpopError::BadSignature)
    }
}

/// base64url(SHA-256(`canonical`)): the thumbprint of a JWK in its RFC 7638 canonical form,
/// given in pieces (hashed one after the other, not joined first).
fn thumbprint(canonical: &[&str]) -> String {
    let mut ctx = digest::Context::new(&digest::SHA256);
    for piece in canonical {
        ctx.update(piece.as_bytes());
    }
    STRICT_B64.encode(ctx.finish())
}

/// True if `ath` is base64url(SHA-256(token)) (encoded into a stack buffer, not a `String`).
pub(crate) fn is_access_token_hash(ath: &str, token: &str) -> bool {
    let mut encoded = [0u8; 43];
    let digest = digest::digest(&digest::SHA256, token.as_bytes());
    STRICT_B64
        .encode_slice(digest, &mut encoded)
        .is_ok_and(|len| encoded.get(..len) == Some(ath.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// base64url(SHA-256(token)): a proof's `ath` for an access token (RFC 9449 section 4.2).
    fn access_token_hash(token: &str) -> String {
        STRICT_B64.encode(digest::digest(&digest::SHA256, token.as_bytes()))
    }

    #[test]
    fn rfc7638_thumbprint_example() {
        // RFC 7638 section 3.1.
        let jwk = ProofJwk {
            kty: Some("RSA".into()),
            n: Some(
                "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tS\
                 oc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65Y\
                 GjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdk\
                 t-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqD\
                 Kgw"
                    .into(),
            ),
            e: Some("AQAB".into()),
            ..ProofJwk::default()
        };
        let key = ProofKey::import(&jwk, DpopAlgorithm::RS256).unwrap();
        assert_eq!(
            key.thumbprint,
            "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"
        );
        // The same key is not an EC key, and never with a private member.
        assert_eq!(
            ProofKey::import(&jwk, DpopAlgorithm::ES256).unwrap_err(),
            DpopError::InvalidKey
        );
        let private = ProofJwk {
            private: true,
            ..jwk.clone()
        };
        assert_eq!(
            ProofKey::import(&private, DpopAlgorithm::RS256).unwrap_err(),
            DpopError::PrivateKey
        );
        let small = ProofJwk {
            n: Some(STRICT_B64.encode([0xffu8; 128])),
            ..jwk
        };
        assert_eq!(
            ProofKey::import(&small, DpopAlgorithm::RS256).unwrap_err(),
            DpopError::InvalidKey
        );
    }

    #[test]
    fn ec_keys_need_their_curve_and_full_length_coordinates() {
        let coord = STRICT_B64.encode([7u8; 32]);
        let jwk = ProofJwk {
            kty: Some("EC".into()),
            crv: Some("P-256".into()),
            x: Some(coord.clone()),
            y: Some(coord.clone()),
            ..ProofJwk::default()
        };
        // Not a point on the curve, but well formed: refused when verifying.
        let key = ProofKey::import(&jwk, DpopAlgorithm::ES256).unwrap();
        assert_eq!(key.verify(b"m", &[0; 64]), Err(DpopError::BadSignature));
        for bad in [
            ProofJwk {
                crv: Some("P-384".into()),
                ..jwk.clone()
            },
            ProofJwk {
                x: Some(STRICT_B64.encode([7u8; 31])),
                ..jwk.clone()
            },
            ProofJwk {
                y: Some(format!("{coord}=")),
                ..jwk.clone()
            },
            ProofJwk {
                kty: Some("RSA".into()),
                ..jwk.clone()
            },
        ] {
            assert_eq!(
                ProofKey::import(&bad, DpopAlgorithm::ES256).unwrap_err(),
                DpopError::InvalidKey
            );
        }
        assert_eq!(
            ProofKey::import(&jwk, DpopAlgorithm::ES384).unwrap_err(),
            DpopError::InvalidKey
        );
    }

    #[test]
    fn algorithm_names() {
        assert_eq!(
            "ES256".parse::<DpopAlgorithm>().unwrap(),
            DpopAlgorithm::ES256
        );
        assert!("HS256".parse::<DpopAlgorithm>().is_err());
        assert!("none".parse::<DpopAlgorithm>().is_err());
        assert!("es256".parse::<DpopAlgorithm>().is_err());
        assert_eq!(access_token_hash("x").len(), 43);
        assert!(is_access_token_hash(&access_token_hash("x"), "x"));
        assert!(!is_access_token_hash(&access_token_hash("x"), "y"));
        assert!(!is_access_token_hash(&access_token_hash("x")[..42], "x"));
        assert!(!is_access_token_hash("", "x"));
    }
}
