//! DPoP proofs (RFC 9449 4.3) at the token and userinfo endpoints, checked as Okta does and
//! independently of tower-okta: the signature with jsonwebtoken and the proof's own `jwk`.
//!
//! A proof is one `DPoP` header holding a compact JWS: header `typ: dpop+jwt`, an `alg` of
//! Okta's list ([`ALGS`]), a public `jwk` (no private members); claims `htm` = the request's
//! method, `htu` = the endpoint's URL (query and fragment ignored), `iat` within 60 s of the mock
//! clock's now, a `jti` never seen before, `ath` = the access token's hash where one is presented
//! (userinfo), and at the token endpoint a `nonce` the mock issued (else `use_dpop_nonce` with a
//! fresh `DPoP-Nonce`).

use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode};
use base64::Engine;
use jsonwebtoken::jwk::Jwk;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde_json::{Map, Value};

use crate::dpop::{ath, thumbprint_of};
use crate::reply::{oauth_error, Answer};
use crate::state::{lock, Shared};
use crate::util::B64;

/// The proof algorithms Okta accepts (its `dpop_signing_alg_values_supported`).
pub(super) const ALGS: [&str; 6] = ["RS256", "RS384", "RS512", "ES256", "ES384", "ES512"];

/// How far a proof's `iat` may be from the mock clock's now, either way.
const IAT_WINDOW: i64 = 60;

/// The `DPoP` request header.
const DPOP: HeaderName = HeaderName::from_static("dpop");
/// The `DPoP-Nonce` response header.
const DPOP_NONCE: HeaderName = HeaderName::from_static("dpop-nonce");

/// Okta's description when a DPoP proof is required and none was sent.
pub(super) const MISSING: &str = "The DPoP proof JWT header is missing.";
const MALFORMED: &str = "The DPoP proof JWT is malformed.";

/// Why a proof was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Refusal {
    /// `invalid_dpop_proof` with this description.
    Invalid(&'static str),
    /// A valid proof without a live nonce from the mock (token endpoint only).
    UseNonce,
}

/// What a request's proof must show.
#[derive(Debug, Clone, Copy)]
pub(super) struct Expect<'a> {
    /// `htm`.
    pub(super) method: &'a str,
    /// `htu`, compared without query and fragment.
    pub(super) url: &'a str,
    /// The access token presented with the proof, whose hash `ath` must be.
    pub(super) access_token: Option<&'a str>,
    /// Whether a nonce the mock issued is required.
    pub(super) nonce: bool,
}

/// The request's proof, checked: the thumbprint of its key, `None` without a `DPoP` header.
pub(super) fn check(
    state: &Shared,
    headers: &HeaderMap,
    expect: &Expect<'_>,
) -> Result<Option<String>, Refusal> {
    let mut values = headers.get_all(DPOP).iter();
    let Some(value) = values.next() else {
        return Ok(None);
    };
    if values.next().is_some() {
        return Err(Refusal::Invalid(
            "The request must carry exactly one DPoP proof JWT header.",
        ));
    }
    let proof = value.to_str().map_err(|_| Refusal::Invalid(MALFORMED))?;
    let (jwk, claims) = verify(proof)?;
    check_claims(state, &claims, expect)?;
    let jkt = thumbprint_of(&jwk).ok_or(Refusal::Invalid(MALFORMED))?;
    let jti = claims
        .get("jti")
        .and_then(Value::as_str)
        .filter(|jti| !jti.is_empty())
        .ok_or(Refusal::Invalid(
            "The DPoP proof JWT 'jti' claim is missing.",
        ))?;
    if expect.nonce {
        let nonce = claims.get("nonce").and_then(Value::as_str);
        let memory = lock(&state.proofs);
        if !nonce.is_some_and(|n| memory.nonce_is_live(n, state.now())) {
            return Err(Refusal::UseNonce);
        }
    }
    if !lock(&state.proofs).first_use(jti, state.now()) {
        return Err(Refusal::Invalid(
            "The DPoP proof JWT 'jti' has already been used.",
        ));
    }
    Ok(Some(jkt))
}

/// The header checks and the signature: the proof's `jwk` and its claims.
fn verify(proof: &str) -> Result<(Value, Map<String, Value>), Refusal> {
    let header_b64 = proof.split('.').next().unwrap_or("");
    let header: Map<String, Value> = B64
        .decode(header_b64)
        .ok()
        .and_then(|bytes| serde_json::from_slice(&bytes).ok())
        .ok_or(Refusal::Invalid(MALFORMED))?;
    if header.get("typ").and_then(Value::as_str) != Some("dpop+jwt") {
        return Err(Refusal::Invalid(
            "The DPoP proof JWT 'typ' header must be 'dpop+jwt'.",
        ));
    }
    let alg = header.get("alg").and_then(Value::as_str).unwrap_or("");
    if !ALGS.contains(&alg) {
        return Err(Refusal::Invalid(
            "The DPoP proof JWT 'alg' is not supported.",
        ));
    }
    let jwk = header
        .get("jwk")
        .filter(|jwk| jwk.is_object())
        .ok_or(Refusal::Invalid(
            "The DPoP proof JWT 'jwk' header is missing.",
        ))?;
    const PRIVATE: [&str; 8] = ["d", "p", "q", "dp", "dq", "qi", "oth", "k"];
    if PRIVATE.iter().any(|member| jwk.get(member).is_some()) {
        return Err(Refusal::Invalid(
            "The DPoP proof JWT 'jwk' header must not contain a private key.",
        ));
    }
    // jsonwebtoken has no ES512: that one is checked with aws-lc-rs directly.
    let claims = match alg.parse::<Algorithm>() {
        Ok(alg) => verify_jsonwebtoken(proof, alg, jwk)?,
        Err(_) => verify_p521(proof, jwk)?,
    };
    Ok((jwk.clone(), claims))
}

const NOT_A_KEY: &str = "The DPoP proof JWT 'jwk' header is not a valid public key.";
const BAD_SIGNATURE: &str = "The DPoP proof JWT signature is invalid.";

/// The signature, with jsonwebtoken and the proof's `jwk`; the claims.
fn verify_jsonwebtoken(
    proof: &str,
    alg: Algorithm,
    jwk: &Value,
) -> Result<Map<String, Value>, Refusal> {
    let key = serde_json::from_value::<Jwk>(jwk.clone())
        .ok()
        .filter(|jwk| matches!(jwk_kty(jwk), Some("EC" | "RSA")))
        .and_then(|jwk| DecodingKey::from_jwk(&jwk).ok())
        .ok_or(Refusal::Invalid(NOT_A_KEY))?;
    let mut validation = Validation::new(alg);
    // The mock's clock decides about `iat`; proofs carry no `exp` or `aud`.
    validation.validate_exp = false;
    validation.validate_aud = false;
    validation.set_required_spec_claims::<&str>(&[]);
    jsonwebtoken::decode::<Map<String, Value>>(proof, &key, &validation)
        .map(|data| data.claims)
        .map_err(|_| Refusal::Invalid(BAD_SIGNATURE))
}

/// An ES512 signature (P-521, JOSE fixed `r || s`) with aws-lc-rs; the claims.
fn verify_p521(proof: &str, jwk: &Value) -> Result<Map<String, Value>, Refusal> {
    use aws_lc_rs::signature::{UnparsedPublicKey, ECDSA_P521_SHA512_FIXED};
    const COORDINATE: usize = 66;
    let text = |name: &str| jwk.get(name).and_then(Value::as_str);
    let coordinate = |name: &str| {
        text(name)
            .and_then(|c| B64.decode(c).ok())
            .filter(|c| c.len() == COORDINATE)
    };
    let (Some("EC"), Some("P-521"), Some(x), Some(y)) =
        (text("kty"), text("crv"), coordinate("x"), coordinate("y"))
    else {
        return Err(Refusal::Invalid(NOT_A_KEY));
    };
    let point = [&[0x04][..], &x, &y].concat();
    let (input, signature) = proof.rsplit_once('.').ok_or(Refusal::Invalid(MALFORMED))?;
    let signature = B64
        .decode(signature)
        .map_err(|_| Refusal::Invalid(MALFORMED))?;
    UnparsedPublicKey::new(&ECDSA_P521_SHA512_FIXED, point)
        .verify(input.as_bytes(), &signature)
        .map_err(|_| Refusal::Invalid(BAD_SIGNATURE))?;
    let claims = input.split_once('.').map_or("", |(_, claims)| claims);
    B64.decode(claims)
        .ok()
        .and_then(|bytes| serde_json::from_slice(&bytes).ok())
        .ok_or(Refusal::Invalid(MALFORMED))
}

fn jwk_kty(jwk: &Jwk) -> Option<&'static str> {
    use jsonwebtoken::jwk::AlgorithmParameters;
    match jwk.algorithm {
        AlgorithmParameters::EllipticCurve(_) => Some("EC"),
        AlgorithmParameters::RSA(_) => Some("RSA"),
        _ => None,
    }
}

/// `htm`, `htu`, `iat` and `ath`.
fn check_claims(
    state: &Shared,
    claims: &Map<String, Value>,
    expect: &Expect<'_>,
) -> Result<(), Refusal> {
    let text = |name: &str| claims.get(name).and_then(Value::as_str);
    if text("htm") != Some(expect.method) {
        return Err(Refusal::Invalid(
            "The DPoP proof JWT 'htm' does not match the request method.",
        ));
    }
    if !text("htu").is_some_and(|htu| same_url(htu, expect.url)) {
        return Err(Refusal::Invalid(
            "The DPoP proof JWT 'htu' does not match the request URL.",
        ));
    }
    let iat = claims
        .get("iat")
        .and_then(Value::as_i64)
        .ok_or(Refusal::Invalid(
            "The DPoP proof JWT 'iat' claim is missing.",
        ))?;
    if iat.abs_diff(state.now_secs()) > IAT_WINDOW.unsigned_abs() {
        return Err(Refusal::Invalid(
            "The DPoP proof JWT 'iat' is too far from the current time.",
        ));
    }
    if let Some(token) = expect.access_token {
        if text("ath") != Some(ath(token).as_str()) {
            return Err(Refusal::Invalid(
                "The DPoP proof JWT 'ath' does not match the access token.",
            ));
        }
    }
    Ok(())
}

/// `htu` against the endpoint's URL: both parsed (scheme and host case, default ports), the
/// proof's query and fragment left out (RFC 9449 4.3, step 9).
fn same_url(htu: &str, expected: &str) -> bool {
    let (Ok(mut htu), Ok(expected)) = (url::Url::parse(htu), url::Url::parse(expected)) else {
        return false;
    };
    htu.set_query(None);
    htu.set_fragment(None);
    htu == expected
}

/// The token endpoint's answer to a refused proof: `400 invalid_dpop_proof`, or
/// `400 use_dpop_nonce` with a fresh `DPoP-Nonce`.
pub(super) fn token_refusal(state: &Shared, refusal: Refusal) -> Answer {
    match refusal {
        Refusal::Invalid(description) => invalid_proof(description),
        Refusal::UseNonce => {
            let nonce = lock(&state.proofs).issue_nonce(state.now());
            let mut answer = oauth_error(
                StatusCode::BAD_REQUEST,
                "use_dpop_nonce",
                "Authorization server requires nonce in DPoP proof.",
            );
            if let Ok(value) = HeaderValue::from_str(&nonce) {
                answer.headers_mut().insert(DPOP_NONCE, value);
            }
            answer
        }
    }
}

/// `400 invalid_dpop_proof` from the token endpoint.
pub(super) fn invalid_proof(description: &str) -> Answer {
    oauth_error(StatusCode::BAD_REQUEST, "invalid_dpop_proof", description)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn htu_ignores_query_and_fragment_and_normalises() {
        let endpoint = "http://127.0.0.1:8080/oauth2/default/v1/token";
        assert!(same_url(endpoint, endpoint));
        assert!(same_url(
            "HTTP://127.0.0.1:8080/oauth2/default/v1/token?x=1#f",
            endpoint
        ));
        assert!(!same_url(
            "http://127.0.0.1:8080/oauth2/default/v1/keys",
            endpoint
        ));
        assert!(!same_url(
            "http://127.0.0.1:8081/oauth2/default/v1/token",
            endpoint
        ));
        assert!(!same_url("not a url", endpoint));
    }
}
