//! Compact JWS with jsonwebtoken: minting (typed, or raw JSON text byte for byte) and checking
//! the tokens the mock issued.

use base64::Engine;
use jsonwebtoken::{Algorithm, DecodingKey, Header, Validation};
use serde_json::{Map, Value};

use crate::keys::MockKey;
use crate::util::B64;

/// `base64url(header).base64url(claims).base64url(signature)`, RS256-signed over the exact bytes
/// given (whatever the header says).
pub(crate) fn sign_compact(key: &MockKey, header: &[u8], claims: &[u8]) -> String {
    let signing_input = format!("{}.{}", B64.encode(header), B64.encode(claims));
    let signature = key.sign_b64(signing_input.as_bytes());
    format!("{signing_input}.{signature}")
}

/// The header Okta puts on its tokens: `alg: RS256` and the signing key's `kid`, nothing else.
fn okta_header(kid: &str) -> Header {
    let mut header = Header::new(Algorithm::RS256);
    header.typ = None;
    header.kid = Some(kid.to_owned());
    header
}

/// A compact JWS of these header and claims, signed with `key`: through `jsonwebtoken::encode`
/// when the header is exactly Okta's (`alg: RS256` and a `kid`); any other header (odd values,
/// `typ`, `crit`, no `alg`... for tests) is serialized as given and signed RS256.
pub(crate) fn encode(
    key: &MockKey,
    header: &Map<String, Value>,
    claims: &Map<String, Value>,
) -> String {
    if let Some(Value::String(kid)) = header.get("kid") {
        let typed = okta_header(kid);
        if serde_json::to_value(&typed)
            .ok()
            .as_ref()
            .and_then(Value::as_object)
            == Some(header)
        {
            return jsonwebtoken::encode(&typed, claims, key.encoding_key())
                .expect("RS256 with an RSA key and JSON claims");
        }
    }
    let header = serde_json::to_vec(header).expect("a JSON map serializes");
    let claims = serde_json::to_vec(claims).expect("a JSON map serializes");
    sign_compact(key, &header, &claims)
}

/// The claims of a token the mock issued: an RS256 signature by the key its `kid` names
/// (`key_for`), `iss` = `issuer`. Expiry, audience and profile are the caller's business.
pub(crate) fn verify_own(
    token: &str,
    issuer: &str,
    key_for: impl FnOnce(&str) -> Option<MockKey>,
) -> Option<Map<String, Value>> {
    let header = jsonwebtoken::decode_header(token).ok()?;
    let key = key_for(header.kid.as_deref()?)?;
    let decoding = DecodingKey::from_rsa_raw_components(&key.modulus(), &key.exponent());
    let mut validation = Validation::new(Algorithm::RS256);
    validation.validate_exp = false;
    validation.validate_aud = false;
    validation.set_required_spec_claims(&["iss"]);
    validation.set_issuer(&[issuer]);
    jsonwebtoken::decode::<Map<String, Value>>(token, &decoding, &validation)
        .ok()
        .map(|data| data.claims)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn object(value: Value) -> Map<String, Value> {
        let Value::Object(map) = value else {
            panic!("not an object")
        };
        map
    }

    #[test]
    fn typed_and_raw_tokens_verify() {
        let key = MockKey::generate().unwrap();
        let claims = object(serde_json::json!({ "iss": "https://issuer", "sub": "x" }));
        let find = |kid: &str| (kid == key.kid()).then(|| key.clone());
        let typed = encode(
            &key,
            &object(serde_json::json!({ "alg": "RS256", "kid": key.kid() })),
            &claims,
        );
        let header: Value =
            serde_json::from_slice(&B64.decode(typed.split('.').next().unwrap()).unwrap()).unwrap();
        assert_eq!(
            header,
            serde_json::json!({ "alg": "RS256", "kid": key.kid() })
        );
        assert_eq!(
            verify_own(&typed, "https://issuer", find),
            Some(claims.clone())
        );
        let odd = encode(
            &key,
            &object(serde_json::json!({ "alg": "RS256", "kid": key.kid(), "typ": "at+jwt" })),
            &claims,
        );
        assert_eq!(
            verify_own(&odd, "https://issuer", find),
            Some(claims.clone())
        );
        assert_eq!(verify_own(&odd, "https://other", find), None);
        let mut tampered = odd.clone();
        tampered.pop();
        tampered.push(if odd.ends_with('A') { 'B' } else { 'A' });
        assert_eq!(verify_own(&tampered, "https://issuer", find), None);
    }
}
