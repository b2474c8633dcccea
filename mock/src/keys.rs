//! RSA signing keys of the mock.

use std::fmt;
use std::sync::Arc;

use aws_lc_rs::encoding::{AsDer, Pkcs8V1Der};
use aws_lc_rs::rsa::{KeyPair, KeySize};
use aws_lc_rs::signature::KeyPair as _;
use base64::Engine;
use jsonwebtoken::{Algorithm, EncodingKey};
use serde_json::Value;

use crate::error::MockError;
use crate::util::{random_id, B64};

/// An RSA 2048 key pair with a `kid`, as Okta publishes them.
#[derive(Clone)]
pub struct MockKey {
    kid: Arc<str>,
    pair: Arc<KeyPair>,
    /// The private key for jsonwebtoken (PKCS#1 `RSAPrivateKey` DER).
    encoding: Arc<EncodingKey>,
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
    /// [`MockError::KeyGeneration`] if the key cannot be generated.
    pub fn generate() -> Result<MockKey, MockError> {
        let generated =
            KeyPair::generate(KeySize::Rsa2048).map_err(|_| MockError::KeyGeneration)?;
        // aws-lc-rs exports PKCS#8; jsonwebtoken's aws-lc-rs signer wants the PKCS#1 key inside.
        let pkcs8: Pkcs8V1Der<'static> =
            generated.as_der().map_err(|_| MockError::KeyGeneration)?;
        let pkcs1 = pkcs1_from_pkcs8(pkcs8.as_ref()).ok_or(MockError::KeyGeneration)?;
        // Parsed back from the exported DER: the pair and the encoding key are the same key.
        let pair = KeyPair::from_der(pkcs1).map_err(|_| MockError::KeyGeneration)?;
        Ok(MockKey {
            kid: random_id(43).into(),
            pair: Arc::new(pair),
            encoding: Arc::new(EncodingKey::from_rsa_der(pkcs1)),
        })
    }

    /// The same key pair under another `kid`.
    #[must_use]
    pub fn with_kid(&self, kid: &str) -> MockKey {
        MockKey {
            kid: kid.into(),
            pair: Arc::clone(&self.pair),
            encoding: Arc::clone(&self.encoding),
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
            "e": B64.encode(self.exponent()),
            "n": B64.encode(self.modulus()),
        })
    }

    /// An RS256 (PKCS#1 v1.5, SHA-256) signature of `message`.
    #[must_use]
    pub fn sign(&self, message: &[u8]) -> Vec<u8> {
        B64.decode(self.sign_b64(message))
            .expect("jsonwebtoken encodes signatures in base64url")
    }

    /// The RS256 signature of `message`, in base64url.
    pub(crate) fn sign_b64(&self, message: &[u8]) -> String {
        jsonwebtoken::crypto::sign(message, &self.encoding, Algorithm::RS256)
            .expect("signing with a freshly generated RSA key")
    }

    /// The private key for [`jsonwebtoken::encode`].
    pub(crate) fn encoding_key(&self) -> &EncodingKey {
        &self.encoding
    }
}

/// The PKCS#1 `RSAPrivateKey` inside a PKCS#8 `PrivateKeyInfo` (RFC 5208: `SEQUENCE { INTEGER
/// version, SEQUENCE algorithm, OCTET STRING privateKey, ... }`).
pub(crate) fn pkcs1_from_pkcs8(der: &[u8]) -> Option<&[u8]> {
    const SEQUENCE: u8 = 0x30;
    const INTEGER: u8 = 0x02;
    const OCTET_STRING: u8 = 0x04;
    let (info, _) = der_element(der, SEQUENCE)?;
    let (_version, rest) = der_element(info, INTEGER)?;
    let (_algorithm, rest) = der_element(rest, SEQUENCE)?;
    let (private_key, _) = der_element(rest, OCTET_STRING)?;
    Some(private_key)
}

/// One DER element with this tag: its content and what follows it.
pub(crate) fn der_element(input: &[u8], tag: u8) -> Option<(&[u8], &[u8])> {
    let (&found, rest) = input.split_first()?;
    if found != tag {
        return None;
    }
    let (&first, rest) = rest.split_first()?;
    let (len, rest) = if first < 0x80 {
        (usize::from(first), rest)
    } else {
        let count = usize::from(first & 0x7f);
        if count == 0 || count > 4 || rest.len() < count {
            return None;
        }
        let (len, rest) = rest.split_at(count);
        let len = len.iter().fold(0usize, |acc, b| acc << 8 | usize::from(*b));
        (len, rest)
    };
    (rest.len() >= len).then(|| rest.split_at(len))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn der_elements_short_and_long_form() {
        assert_eq!(
            der_element(&[0x04, 2, 1, 2, 9], 0x04),
            Some((&[1u8, 2][..], &[9u8][..]))
        );
        let mut long = vec![0x04, 0x81, 200];
        long.extend([7u8; 200]);
        assert_eq!(der_element(&long, 0x04).map(|(c, _)| c.len()), Some(200));
        assert_eq!(der_element(&[0x04, 5, 1], 0x04), None);
        assert_eq!(der_element(&[0x30, 0], 0x04), None);
    }

    #[test]
    fn signatures_verify_with_the_public_key() {
        use aws_lc_rs::signature::{UnparsedPublicKey, RSA_PKCS1_2048_8192_SHA256};
        let key = MockKey::generate().unwrap();
        let signature = key.sign(b"message");
        assert_eq!(signature.len(), 256);
        UnparsedPublicKey::new(&RSA_PKCS1_2048_8192_SHA256, key.public_key_der())
            .verify(b"message", &signature)
            .unwrap();
        let other = key.with_kid("other");
        assert_eq!(other.modulus(), key.modulus());
        assert_eq!(other.jwk()["kid"], "other");
    }
}
