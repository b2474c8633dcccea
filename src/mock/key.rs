//! RSA signing keys of the mock.

use std::fmt;
use std::io;
use std::sync::Arc;

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::rsa::{KeyPair, KeySize};
use aws_lc_rs::signature::{KeyPair as _, RSA_PKCS1_SHA256};
use base64::Engine;
use serde_json::Value;

use crate::token::STRICT_B64;

/// An RSA 2048 key pair with a `kid`, as Okta publishes them.
#[derive(Clone)]
pub struct MockKey {
    kid: Arc<str>,
    pair: Arc<KeyPair>,
}

impl fmt::Debug for MockKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MockKey")
            .field("kid", &self.kid)
            .finish_non_exhaustive()
    }
}

impl MockKey {
    /// A fresh RSA 2048 key with a random Okta-style `kid`.
    ///
    /// # Errors
    /// If the key cannot be generated.
    pub fn generate() -> io::Result<MockKey> {
        let pair = KeyPair::generate(KeySize::Rsa2048)
            .map_err(|_| io::Error::other("RSA key generation failed"))?;
        Ok(MockKey {
            kid: super::token::random_id(43).into(),
            pair: Arc::new(pair),
        })
    }

    /// The same key pair under another `kid`.
    #[must_use]
    pub fn with_kid(&self, kid: &str) -> MockKey {
        MockKey {
            kid: kid.into(),
            pair: Arc::clone(&self.pair),
        }
    }

    /// The key ID.
    #[must_use]
    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// The modulus, big-endian without leading zeros.
    #[must_use]
    pub fn modulus(&self) -> Vec<u8> {
        self.pair
            .public_key()
            .modulus()
            .big_endian_without_leading_zero()
            .to_vec()
    }

    /// The public exponent, big-endian without leading zeros.
    #[must_use]
    pub fn exponent(&self) -> Vec<u8> {
        self.pair
            .public_key()
            .exponent()
            .big_endian_without_leading_zero()
            .to_vec()
    }

    /// The public key as DER (PKCS#1 `RSAPublicKey`).
    #[must_use]
    pub fn public_key_der(&self) -> Vec<u8> {
        self.pair.public_key().as_ref().to_vec()
    }

    /// The public JWK, as Okta's keys endpoint shows it.
    #[must_use]
    pub fn jwk(&self) -> Value {
        serde_json::json!({
            "kty": "RSA",
            "alg": "RS256",
            "kid": &*self.kid,
            "use": "sig",
            "e": STRICT_B64.encode(self.exponent()),
            "n": STRICT_B64.encode(self.modulus()),
        })
    }

    /// An RS256 (PKCS#1 v1.5, SHA-256) signature of `message`.
    #[must_use]
    pub fn sign(&self, message: &[u8]) -> Vec<u8> {
        let mut signature = vec![0u8; self.pair.public_modulus_len()];
        self.pair
            .sign(
                &RSA_PKCS1_SHA256,
                &SystemRandom::new(),
                message,
                &mut signature,
            )
            .expect("signing with a freshly generated RSA key and a correctly sized buffer");
        signature
    }
}
