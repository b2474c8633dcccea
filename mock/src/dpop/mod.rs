//! DPoP (RFC 9449) on the client side, for tests: a key ([`DpopKey`]) that signs proofs
//! ([`ProofBuilder`]), its RFC 7638 thumbprint, and the `ath` of an access token.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), tower_okta_mock::MockError> {
//! use tower_okta_mock::{DpopKey, MockOkta};
//!
//! let okta = MockOkta::start().await?;
//! let key = DpopKey::es256()?;
//! // An access token bound to the key (`cnf.jkt`), and a proof for one API request with it.
//! let token = okta.dpop_access_token(&key);
//! let proof = key
//!     .proof("GET", "http://127.0.0.1:3000/api/me")
//!     .access_token(&token)
//!     .build();
//! // Send `Authorization: DPoP {token}` and `DPoP: {proof}`.
//! # let _ = proof;
//! # Ok(()) }
//! ```

use aws_lc_rs::digest::{digest, SHA256};
use base64::Engine;
use serde_json::Value;

use crate::util::B64;

mod key;
mod proof;

pub use key::{DpopAlg, DpopKey};
pub use proof::ProofBuilder;

/// `ath` (RFC 9449 4.2): base64url (no padding) of the SHA-256 of the access token's ASCII.
#[must_use]
pub fn ath(access_token: &str) -> String {
    B64.encode(digest(&SHA256, access_token.as_bytes()))
}

/// The RFC 7638 SHA-256 thumbprint of a JWK, base64url without padding: the hash of its required
/// members in lexicographic order, without whitespace (`EC`: `crv`, `kty`, `x`, `y`; `RSA`: `e`,
/// `kty`, `n`; `OKP`: `crv`, `kty`, `x`; `oct`: `k`, `kty`). `None` if `kty` is none of these or
/// a required member is missing or not a string.
#[must_use]
pub fn thumbprint_of(jwk: &Value) -> Option<String> {
    let members: &[&str] = match jwk.get("kty")?.as_str()? {
        "EC" => &["crv", "kty", "x", "y"],
        "RSA" => &["e", "kty", "n"],
        "OKP" => &["crv", "kty", "x"],
        "oct" => &["k", "kty"],
        _ => return None,
    };
    let mut text = String::from("{");
    for (i, name) in members.iter().enumerate() {
        let value = jwk.get(*name)?.as_str()?;
        if i > 0 {
            text.push(',');
        }
        // JSON string escaping, as RFC 7638 3.3 asks (base64url needs none).
        text.push_str(&Value::from(*name).to_string());
        text.push(':');
        text.push_str(&Value::from(value).to_string());
    }
    text.push('}');
    Some(B64.encode(digest(&SHA256, text.as_bytes())))
}

/// 128 random bits, base64url: a proof's default `jti`.
fn random_jti() -> String {
    let mut bytes = [0u8; 16];
    aws_lc_rs::rand::fill(&mut bytes).expect("the system random source works");
    B64.encode(bytes)
}

#[cfg(test)]
mod tests {
    use jsonwebtoken::jwk::Jwk;
    use jsonwebtoken::{Algorithm, DecodingKey, Validation};
    use serde_json::{json, Map};

    use super::*;

    #[test]
    fn rfc7638_thumbprint_example() {
        // RFC 7638 section 3.1.
        let jwk = json!({
            "kty": "RSA",
            "n": "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6\
                  tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4\
                  QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91C\
                  bOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44\
                  -csFCur-kEgU8awapJzKnqDKgw",
            "e": "AQAB",
            "alg": "RS256",
            "kid": "2011-04-29",
        });
        assert_eq!(
            thumbprint_of(&jwk).as_deref(),
            Some("NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs")
        );
        assert_eq!(thumbprint_of(&json!({ "kty": "RSA", "e": "AQAB" })), None);
        assert_eq!(thumbprint_of(&json!({ "kty": "XYZ" })), None);
    }

    #[test]
    fn ath_is_sha256_base64url() {
        // RFC 9449 section 7.1's example access token and its `ath`.
        assert_eq!(
            ath("Kz~8mXK1EalYznwH-LC-1fBAo.4Ljp~zsPE_NeO.gxU"),
            "fUHyO2r2Z3DZ53EsNrWBb0xWXoaNy59IiKCAqksmQEo"
        );
    }

    fn decoded(jws: &str) -> (Value, Value) {
        let mut parts = jws.split('.');
        let mut next = || -> Value {
            serde_json::from_slice(&B64.decode(parts.next().unwrap()).unwrap()).unwrap()
        };
        (next(), next())
    }

    /// Verifies a proof with jsonwebtoken and the key its own header embeds.
    fn verify(proof: &str, alg: Algorithm) -> Map<String, Value> {
        let (header, _) = decoded(proof);
        let jwk: Jwk = serde_json::from_value(header["jwk"].clone()).unwrap();
        let key = DecodingKey::from_jwk(&jwk).unwrap();
        let mut validation = Validation::new(alg);
        validation.validate_exp = false;
        validation.set_required_spec_claims::<&str>(&[]);
        jsonwebtoken::decode::<Map<String, Value>>(proof, &key, &validation)
            .unwrap()
            .claims
    }

    #[test]
    fn proofs_verify_with_the_embedded_jwk() {
        for (alg, jose) in [
            (DpopAlg::ES256, Algorithm::ES256),
            (DpopAlg::ES384, Algorithm::ES384),
            (DpopAlg::RS256, Algorithm::RS256),
            (DpopAlg::PS256, Algorithm::PS256),
        ] {
            let key = DpopKey::generate(alg).unwrap();
            assert_eq!(key.alg(), alg.name());
            let proof = key
                .proof("POST", "https://server.example.com/token")
                .access_token("token")
                .nonce("n0nce")
                .iat(1_700_000_000)
                .build();
            let (header, _) = decoded(&proof);
            assert_eq!(header["typ"], "dpop+jwt");
            assert_eq!(header["alg"], alg.name());
            assert_eq!(header["jwk"], key.public_jwk());
            let claims = verify(&proof, jose);
            assert_eq!(claims["htm"], "POST");
            assert_eq!(claims["htu"], "https://server.example.com/token");
            assert_eq!(claims["iat"], 1_700_000_000);
            assert_eq!(claims["ath"], ath("token").as_str());
            assert_eq!(claims["nonce"], "n0nce");
            assert_eq!(claims["jti"].as_str().unwrap().len(), 22);
            // The thumbprint agrees with jsonwebtoken's.
            let jwk: Jwk = serde_json::from_value(key.public_jwk()).unwrap();
            assert_eq!(
                jwk.thumbprint(jsonwebtoken::jwk::ThumbprintHash::SHA256)
                    .unwrap(),
                key.thumbprint()
            );
        }
    }

    #[test]
    fn jwk_shapes_and_private_members() {
        let p256 = DpopKey::es256().unwrap();
        let jwk = p256.public_jwk();
        assert_eq!(jwk["crv"], "P-256");
        for c in ["x", "y"] {
            assert_eq!(B64.decode(jwk[c].as_str().unwrap()).unwrap().len(), 32);
        }
        assert_eq!(jwk.as_object().unwrap().len(), 4);
        let p384 = DpopKey::generate(DpopAlg::ES384).unwrap();
        assert_eq!(p384.public_jwk()["crv"], "P-384");
        let x = p384.public_jwk()["x"].as_str().unwrap().to_owned();
        assert_eq!(B64.decode(x).unwrap().len(), 48);
        let p521 = DpopKey::generate(DpopAlg::ES512).unwrap();
        assert_eq!(p521.public_jwk()["crv"], "P-521");
        let y = p521.public_jwk()["y"].as_str().unwrap().to_owned();
        assert_eq!(B64.decode(y).unwrap().len(), 66);
        let signature = p521.proof("GET", "https://x").build();
        let signature = signature.rsplit('.').next().unwrap();
        assert_eq!(B64.decode(signature).unwrap().len(), 132);
        let private = p256.private_jwk_members();
        assert_eq!(
            B64.decode(private["d"].as_str().unwrap()).unwrap().len(),
            32
        );
        let rsa = DpopKey::rs256().unwrap();
        let jwk = rsa.public_jwk();
        assert_eq!(jwk["e"], "AQAB");
        assert_eq!(B64.decode(jwk["n"].as_str().unwrap()).unwrap().len(), 256);
        let d = rsa.private_jwk_members()["d"].as_str().unwrap().to_owned();
        assert!(B64.decode(d).unwrap().len() > 200);
        // Debug shows no private material.
        let debug = format!("{rsa:?} {p256:?}");
        assert!(!debug.contains(private["d"].as_str().unwrap()));
        assert!(debug.contains(&p256.thumbprint()));
    }

    #[test]
    fn sign_raw_keeps_the_bytes_and_members_can_be_removed() {
        let key = DpopKey::es256().unwrap();
        let header = r#"{"typ":"dpop+jwt","alg":"ES256","alg":"ES256","jwk":"#.to_owned()
            + &key.public_jwk().to_string()
            + "}";
        let claims = r#"{"htm":"POST", "htm":"GET"}"#;
        let jws = key.sign_raw(&header, claims);
        let mut parts = jws.split('.');
        assert_eq!(
            B64.decode(parts.next().unwrap()).unwrap(),
            header.as_bytes()
        );
        assert_eq!(
            B64.decode(parts.next().unwrap()).unwrap(),
            claims.as_bytes()
        );
        let proof = key
            .proof("GET", "https://x")
            .header("typ", Value::Null)
            .claim("jti", Value::Null)
            .claim("extra", 1)
            .build();
        let (header, claims) = decoded(&proof);
        assert!(header.get("typ").is_none());
        assert!(claims.get("jti").is_none());
        assert_eq!(claims["extra"], 1);
        verify(&proof, Algorithm::ES256);
    }
}
