//! JWS signing for client authentication: [`SigningKey`], an RSA private key with its `kid`
//! that signs RFC 7523 client assertions (`private_key_jwt`) for Okta's token and introspection
//! endpoints. A leaf: it imports nothing else of the crate but the base64 engines.

use std::fmt;
use std::sync::Arc;

use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::rsa::{KeyPair, KeyPairComponents, KeySize, PublicKeyComponents};
use aws_lc_rs::signature::{KeyPair as _, RSA_PKCS1_SHA256};
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::PrivateKeyDer;
use serde::Deserialize;

use crate::b64::{JWK_B64, STRICT_B64};

/// `client_assertion_type` of RFC 7523.
pub(crate) const JWT_BEARER: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// Lifetime of each client assertion (Okta accepts at most one hour; RFC 7523 asks for short).
const ASSERTION_LIFETIME_SECS: i64 = 300;

/// Why a signing key could not be used. Messages never contain key material.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SigningKeyError {
    /// The text is not a PEM private key (`PRIVATE KEY` or `RSA PRIVATE KEY`).
    #[error("not a PEM private key (PRIVATE KEY or RSA PRIVATE KEY)")]
    NotPem,
    /// The key is not a valid RSA private key.
    #[error("not a valid RSA private key")]
    InvalidKey,
    /// The key is shorter than 2048 bits.
    #[error("RSA keys must have at least 2048 bits")]
    TooShort,
    /// The JSON is not a private RSA JWK with a `kid`.
    #[error("not a private RSA JWK with a kid")]
    InvalidJwk,
    /// The key file cannot be read.
    #[error("the key file cannot be read")]
    Unreadable,
    /// The environment variable is not set.
    #[error("the environment variable is not set")]
    MissingVariable,
    /// No key was configured.
    #[error("no private key configured")]
    Missing,
    /// Generating, encoding or signing failed in the crypto library.
    #[error("the crypto library failed")]
    Crypto,
}

/// An RSA private key with its `kid`, for signing client assertions.
#[derive(Clone)]
pub struct SigningKey {
    kid: String,
    pair: Arc<KeyPair>,
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SigningKey")
            .field("kid", &self.kid)
            .finish_non_exhaustive()
    }
}

fn check_size(pair: &KeyPair) -> Result<(), SigningKeyError> {
    if pair.public_modulus_len() * 8 < 2048 {
        return Err(SigningKeyError::TooShort);
    }
    Ok(())
}

impl SigningKey {
    /// Generates a new RSA 2048 key with a random `kid`.
    ///
    /// # Errors
    /// If the key cannot be generated.
    pub fn generate() -> Result<SigningKey, SigningKeyError> {
        let pair = KeyPair::generate(KeySize::Rsa2048).map_err(|_| SigningKeyError::Crypto)?;
        let mut kid = [0u8; 16];
        aws_lc_rs::rand::fill(&mut kid).map_err(|_| SigningKeyError::Crypto)?;
        Ok(SigningKey {
            kid: STRICT_B64.encode(kid),
            pair: Arc::new(pair),
        })
    }

    /// Reads a PEM private key (`PRIVATE KEY`, PKCS#8, or `RSA PRIVATE KEY`, PKCS#1) and names
    /// it `kid` (the key ID registered on the Okta service app).
    ///
    /// # Errors
    /// If the PEM cannot be read or is not an RSA key of 2048 bits or more.
    pub fn from_pem(pem: &str, kid: impl Into<String>) -> Result<SigningKey, SigningKeyError> {
        let der =
            PrivateKeyDer::from_pem_slice(pem.as_bytes()).map_err(|_| SigningKeyError::NotPem)?;
        let pair = match &der {
            PrivateKeyDer::Pkcs8(der) => KeyPair::from_pkcs8(der.secret_pkcs8_der()),
            PrivateKeyDer::Pkcs1(der) => KeyPair::from_der(der.secret_pkcs1_der()),
            _ => return Err(SigningKeyError::NotPem),
        }
        .map_err(|_| SigningKeyError::InvalidKey)?;
        check_size(&pair)?;
        Ok(SigningKey {
            kid: kid.into(),
            pair: Arc::new(pair),
        })
    }

    /// Reads a private JWK (`kty: RSA` with `n`, `e`, `d`, `p`, `q`, `dp`, `dq`, `qi`, and a
    /// `kid`), as the Okta admin console generates it.
    ///
    /// # Errors
    /// If the JSON is not such a JWK.
    pub fn from_jwk(jwk: &str) -> Result<SigningKey, SigningKeyError> {
        #[derive(Deserialize)]
        struct Jwk {
            kty: String,
            kid: String,
            n: String,
            e: String,
            d: String,
            p: String,
            q: String,
            dp: String,
            dq: String,
            qi: String,
        }
        let jwk: Jwk = serde_json::from_str(jwk).map_err(|_| SigningKeyError::InvalidJwk)?;
        if jwk.kty != "RSA" {
            return Err(SigningKeyError::InvalidJwk);
        }
        let b = |v: &str| JWK_B64.decode(v).map_err(|_| SigningKeyError::InvalidJwk);
        let components = KeyPairComponents {
            public_key: PublicKeyComponents {
                n: b(&jwk.n)?,
                e: b(&jwk.e)?,
            },
            d: b(&jwk.d)?,
            p: b(&jwk.p)?,
            q: b(&jwk.q)?,
            dP: b(&jwk.dp)?,
            dQ: b(&jwk.dq)?,
            qInv: b(&jwk.qi)?,
        };
        let pair =
            KeyPair::from_components(&components).map_err(|_| SigningKeyError::InvalidKey)?;
        check_size(&pair)?;
        Ok(SigningKey {
            kid: jwk.kid,
            pair: Arc::new(pair),
        })
    }

    /// The key ID.
    #[must_use]
    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// The public JWK to register on the Okta service app (`kty`, `kid`, `use: sig`,
    /// `alg: RS256`, `n`, `e`).
    #[must_use]
    pub fn public_jwk(&self) -> serde_json::Value {
        let public = self.pair.public_key();
        serde_json::json!({
            "kty": "RSA",
            "kid": self.kid,
            "use": "sig",
            "alg": "RS256",
            "e": STRICT_B64.encode(public.exponent().big_endian_without_leading_zero()),
            "n": STRICT_B64.encode(public.modulus().big_endian_without_leading_zero()),
        })
    }

    /// The private key as PKCS#8 PEM (`-----BEGIN PRIVATE KEY-----`). Keep it secret.
    ///
    /// # Errors
    /// If the key cannot be encoded.
    pub fn private_key_pem(&self) -> Result<String, SigningKeyError> {
        let der = self.pair.as_der().map_err(|_| SigningKeyError::Crypto)?;
        let body = STANDARD.encode(der.as_ref());
        let mut pem = String::from("-----BEGIN PRIVATE KEY-----\n");
        for line in body.as_bytes().chunks(64) {
            pem.push_str(std::str::from_utf8(line).unwrap_or_default());
            pem.push('\n');
        }
        pem.push_str("-----END PRIVATE KEY-----\n");
        Ok(pem)
    }

    /// An RFC 7523 client assertion: `iss` = `sub` = `client_id`, `aud` = `audience` (the
    /// endpoint), five minutes from `now` (seconds), a random `jti`.
    pub(crate) fn client_assertion(
        &self,
        client_id: &str,
        audience: &str,
        now: i64,
    ) -> Result<String, SigningKeyError> {
        let mut jti = [0u8; 24];
        aws_lc_rs::rand::fill(&mut jti).map_err(|_| SigningKeyError::Crypto)?;
        self.sign_jwt(&serde_json::json!({
            "iss": client_id,
            "sub": client_id,
            "aud": audience,
            "iat": now,
            "exp": now + ASSERTION_LIFETIME_SECS,
            "jti": STRICT_B64.encode(jti),
        }))
    }

    /// A compact RS256 JWS of `claims` with this key's `kid`.
    pub(crate) fn sign_jwt(&self, claims: &serde_json::Value) -> Result<String, SigningKeyError> {
        let header = serde_json::json!({ "alg": "RS256", "kid": self.kid, "typ": "JWT" });
        let input = format!(
            "{}.{}",
            STRICT_B64.encode(header.to_string()),
            STRICT_B64.encode(claims.to_string())
        );
        let mut signature = vec![0u8; self.pair.public_modulus_len()];
        self.pair
            .sign(
                &RSA_PKCS1_SHA256,
                &SystemRandom::new(),
                input.as_bytes(),
                &mut signature,
            )
            .map_err(|_| SigningKeyError::Crypto)?;
        Ok(format!("{input}.{}", STRICT_B64.encode(signature)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_round_trip_through_pem_and_publish_a_usable_jwk() {
        let key = SigningKey::generate().unwrap();
        let pem = key.private_key_pem().unwrap();
        assert!(pem.starts_with("-----BEGIN PRIVATE KEY-----\n"));
        let again = SigningKey::from_pem(&pem, "k1").unwrap();
        assert_eq!(again.kid(), "k1");
        assert_eq!(again.public_jwk()["n"], key.public_jwk()["n"]);
        let jwk = key.public_jwk();
        assert_eq!(jwk["use"], "sig");
        assert_eq!(jwk["alg"], "RS256");
        // The published key verifies the key's signatures.
        let jwt = key.sign_jwt(&serde_json::json!({"a": 1})).unwrap();
        let (input, sig) = jwt.rsplit_once('.').unwrap();
        let sig = STRICT_B64.decode(sig).unwrap();
        let n = STRICT_B64.decode(jwk["n"].as_str().unwrap()).unwrap();
        let e = STRICT_B64.decode(jwk["e"].as_str().unwrap()).unwrap();
        let public = aws_lc_rs::signature::RsaPublicKeyComponents { n: &n, e: &e };
        assert!(public
            .verify(
                &aws_lc_rs::signature::RSA_PKCS1_2048_8192_SHA256,
                input.as_bytes(),
                &sig
            )
            .is_ok());
        // PKCS#1 PEM is read too; a key named in the PEM of another type is refused.
        let pkcs1 = "-----BEGIN EC PRIVATE KEY-----\nAAAA\n-----END EC PRIVATE KEY-----\n";
        assert_eq!(
            SigningKey::from_pem(pkcs1, "k").unwrap_err(),
            SigningKeyError::NotPem
        );
    }

    #[test]
    fn bad_keys_are_refused_without_echoing_them() {
        for pem in [
            "not a pem",
            "-----BEGIN PRIVATE KEY-----\n!!!\n-----END PRIVATE KEY-----\n",
            "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n",
            "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
            "-----BEGIN PRIVATE KEY-----\nAAAA\n",
        ] {
            let err = SigningKey::from_pem(pem, "k").unwrap_err();
            assert!(
                matches!(err, SigningKeyError::NotPem | SigningKeyError::InvalidKey),
                "{pem}"
            );
            assert!(!err.to_string().contains("AAAA"));
        }
        assert_eq!(
            SigningKey::from_jwk(r#"{"kty":"EC","kid":"k"}"#).unwrap_err(),
            SigningKeyError::InvalidJwk
        );
    }
}
