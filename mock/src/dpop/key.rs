//! A DPoP client key (RFC 9449): what an SPA holds to prove possession, generated with aws-lc-rs.

use std::fmt;
use std::sync::Arc;

use aws_lc_rs::encoding::{AsBigEndian, AsDer, EcPrivateKeyBin, Pkcs8V1Der};
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::rsa::{KeyPair as RsaKeyPair, KeySize};
use aws_lc_rs::signature::{
    EcdsaKeyPair, KeyPair as _, ECDSA_P256_SHA256_FIXED_SIGNING, ECDSA_P384_SHA384_FIXED_SIGNING,
    ECDSA_P521_SHA512_FIXED_SIGNING, RSA_PKCS1_SHA256, RSA_PSS_SHA256,
};
use base64::Engine;
use serde_json::{json, Value};

use super::thumbprint_of;
use crate::error::MockError;
use crate::keys::{der_element, pkcs1_from_pkcs8};
use crate::util::B64;

/// The JWS algorithm of a [`DpopKey`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum DpopAlg {
    /// ECDSA on P-256 with SHA-256 (the key okta-auth-js generates with WebCrypto).
    ES256,
    /// ECDSA on P-384 with SHA-384.
    ES384,
    /// ECDSA on P-521 with SHA-512 (coordinates of 66 bytes).
    ES512,
    /// RSASSA-PKCS1-v1_5 with SHA-256, RSA 2048.
    RS256,
    /// RSASSA-PSS with SHA-256, RSA 2048 (not in Okta's list: a proof Okta refuses).
    PS256,
}

impl DpopAlg {
    /// The JWS `alg` name.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            DpopAlg::ES256 => "ES256",
            DpopAlg::ES384 => "ES384",
            DpopAlg::ES512 => "ES512",
            DpopAlg::RS256 => "RS256",
            DpopAlg::PS256 => "PS256",
        }
    }
}

impl fmt::Display for DpopAlg {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

enum Pair {
    Ec(EcdsaKeyPair),
    Rsa(RsaKeyPair),
}

struct Inner {
    alg: DpopAlg,
    pair: Pair,
    /// The public JWK (computed once).
    public_jwk: Value,
    /// The private exponent or scalar, base64url (for attack tests only).
    d: String,
    thumbprint: String,
}

/// A DPoP key pair held by a client (RFC 9449): it signs DPoP proofs, and its RFC 7638
/// thumbprint is what a bound access token names in `cnf.jkt`. Cheap to clone (shared).
///
/// ```
/// use tower_okta_mock::DpopKey;
///
/// let key = DpopKey::es256()?;
/// let proof = key
///     .proof("GET", "https://api.example.com/orders")
///     .access_token("eyJ...")
///     .build();
/// assert_eq!(proof.split('.').count(), 3);
/// assert_eq!(key.public_jwk()["kty"], "EC");
/// assert_eq!(key.thumbprint().len(), 43);
/// # Ok::<(), tower_okta_mock::MockError>(())
/// ```
#[derive(Clone)]
pub struct DpopKey {
    inner: Arc<Inner>,
}

impl fmt::Debug for DpopKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DpopKey")
            .field("alg", &self.inner.alg)
            .field("thumbprint", &self.inner.thumbprint)
            .finish_non_exhaustive()
    }
}

impl DpopKey {
    /// A fresh key for `alg` (P-256, P-384, P-521, or RSA 2048).
    ///
    /// # Errors
    /// [`MockError::KeyGeneration`] if the key cannot be generated.
    pub fn generate(alg: DpopAlg) -> Result<DpopKey, MockError> {
        let (pair, public_jwk, d) = match alg {
            DpopAlg::ES256 => ec(&ECDSA_P256_SHA256_FIXED_SIGNING, "P-256")?,
            DpopAlg::ES384 => ec(&ECDSA_P384_SHA384_FIXED_SIGNING, "P-384")?,
            DpopAlg::ES512 => ec(&ECDSA_P521_SHA512_FIXED_SIGNING, "P-521")?,
            DpopAlg::RS256 | DpopAlg::PS256 => rsa()?,
        };
        let thumbprint = thumbprint_of(&public_jwk).ok_or(MockError::KeyGeneration)?;
        Ok(DpopKey {
            inner: Arc::new(Inner {
                alg,
                pair,
                public_jwk,
                d,
                thumbprint,
            }),
        })
    }

    /// A fresh P-256 key (`ES256`, what okta-auth-js generates).
    ///
    /// # Errors
    /// [`MockError::KeyGeneration`] if the key cannot be generated.
    pub fn es256() -> Result<DpopKey, MockError> {
        DpopKey::generate(DpopAlg::ES256)
    }

    /// A fresh RSA 2048 key (`RS256`).
    ///
    /// # Errors
    /// [`MockError::KeyGeneration`] if the key cannot be generated.
    pub fn rs256() -> Result<DpopKey, MockError> {
        DpopKey::generate(DpopAlg::RS256)
    }

    /// The algorithm this key signs with.
    #[must_use]
    pub fn algorithm(&self) -> DpopAlg {
        self.inner.alg
    }

    /// The JWS `alg` name (`ES256`...).
    #[must_use]
    pub fn alg(&self) -> &'static str {
        self.inner.alg.name()
    }

    /// The public JWK, as a proof's `jwk` header carries it: EC `kty`, `crv`, `x`, `y` (full
    /// length coordinates) or RSA `kty`, `n`, `e`, base64url without padding.
    #[must_use]
    pub fn public_jwk(&self) -> Value {
        self.inner.public_jwk.clone()
    }

    /// The public JWK plus the private member `d` (the real one), for tests that check a proof
    /// whose `jwk` carries private material is refused.
    #[must_use]
    pub fn private_jwk_members(&self) -> Value {
        let mut jwk = self.public_jwk();
        jwk["d"] = Value::from(self.inner.d.as_str());
        jwk
    }

    /// The RFC 7638 JWK SHA-256 thumbprint, base64url without padding: the `jkt` of a bound
    /// token's `cnf` claim.
    #[must_use]
    pub fn thumbprint(&self) -> String {
        self.inner.thumbprint.clone()
    }

    /// `base64url(header_json).base64url(claims_json).signature`: the texts are used byte for
    /// byte (duplicate keys, odd `typ`, `crit`...), signed with this key's algorithm (ECDSA in
    /// the JOSE fixed `r || s` form).
    #[must_use]
    pub fn sign_raw(&self, header_json: &str, claims_json: &str) -> String {
        let input = format!(
            "{}.{}",
            B64.encode(header_json.as_bytes()),
            B64.encode(claims_json.as_bytes())
        );
        let signature = B64.encode(self.sign(input.as_bytes()));
        format!("{input}.{signature}")
    }

    /// A JWS signature of `message` with this key's algorithm.
    fn sign(&self, message: &[u8]) -> Vec<u8> {
        let rng = SystemRandom::new();
        match &self.inner.pair {
            Pair::Ec(pair) => pair
                .sign(&rng, message)
                .expect("ECDSA signing with a generated key")
                .as_ref()
                .to_vec(),
            Pair::Rsa(pair) => {
                let padding = if self.inner.alg == DpopAlg::PS256 {
                    &RSA_PSS_SHA256
                } else {
                    &RSA_PKCS1_SHA256
                };
                let mut signature = vec![0u8; pair.public_modulus_len()];
                pair.sign(padding, &rng, message, &mut signature)
                    .expect("RSA signing with a generated key");
                signature
            }
        }
    }
}

/// A fresh EC key: the pair, its public JWK and its private scalar.
fn ec(
    alg: &'static aws_lc_rs::signature::EcdsaSigningAlgorithm,
    crv: &str,
) -> Result<(Pair, Value, String), MockError> {
    let pair = EcdsaKeyPair::generate(alg).map_err(|_| MockError::KeyGeneration)?;
    // The uncompressed point: 0x04 || x || y, coordinates full length.
    let point = pair.public_key().as_ref();
    let coordinates = point.get(1..).ok_or(MockError::KeyGeneration)?;
    let (x, y) = coordinates.split_at(coordinates.len() / 2);
    let jwk = json!({ "kty": "EC", "crv": crv, "x": B64.encode(x), "y": B64.encode(y) });
    let d: EcPrivateKeyBin<'static> = pair
        .private_key()
        .as_be_bytes()
        .map_err(|_| MockError::KeyGeneration)?;
    let d = B64.encode(d.as_ref());
    Ok((Pair::Ec(pair), jwk, d))
}

/// A fresh RSA 2048 key: the pair, its public JWK and its private exponent.
fn rsa() -> Result<(Pair, Value, String), MockError> {
    let pair = RsaKeyPair::generate(KeySize::Rsa2048).map_err(|_| MockError::KeyGeneration)?;
    let public = pair.public_key();
    let n = public.modulus().big_endian_without_leading_zero().to_vec();
    let e = public.exponent().big_endian_without_leading_zero().to_vec();
    let jwk = json!({ "kty": "RSA", "n": B64.encode(n), "e": B64.encode(e) });
    let pkcs8: Pkcs8V1Der<'static> = pair.as_der().map_err(|_| MockError::KeyGeneration)?;
    let d = private_exponent(pkcs8.as_ref()).ok_or(MockError::KeyGeneration)?;
    Ok((Pair::Rsa(pair), jwk, B64.encode(d)))
}

/// The private exponent `d` of a PKCS#8 RSA key (RFC 8017 A.1.2: `RSAPrivateKey ::= SEQUENCE {
/// version, n, e, d, ... }`), without leading zeros.
fn private_exponent(pkcs8: &[u8]) -> Option<Vec<u8>> {
    const SEQUENCE: u8 = 0x30;
    const INTEGER: u8 = 0x02;
    let (key, _) = der_element(pkcs1_from_pkcs8(pkcs8)?, SEQUENCE)?;
    let (_version, rest) = der_element(key, INTEGER)?;
    let (_n, rest) = der_element(rest, INTEGER)?;
    let (_e, rest) = der_element(rest, INTEGER)?;
    let (d, _) = der_element(rest, INTEGER)?;
    let start = d.iter().position(|b| *b != 0).unwrap_or(d.len());
    Some(d[start..].to_vec())
}
