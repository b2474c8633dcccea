//! `private_key_jwt` client assertions (RFC 7523), for service apps and web apps.
//!
//! Checked as Okta does: RS256 signature with the registered key (`kid` must match), `iss` =
//! `sub` = client ID, `aud` = the endpoint's URL, `exp` in the future (by the mock clock) and at
//! most an hour away, `iat` (optional) at most 60 s in the future and at most an hour before
//! `exp`, a `jti` never used before.

use axum::http::StatusCode;
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, Validation};
use serde_json::{Map, Value};

use crate::apps::ClientKey;
use crate::params::{param, Params};
use crate::reply::{oauth_error, Answer};
use crate::state::{lock, Shared};

pub(super) const JWT_BEARER: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// Okta's `invalid_client` answer.
pub(super) fn invalid_client(description: &str) -> Answer {
    oauth_error(StatusCode::UNAUTHORIZED, "invalid_client", description)
}

/// `invalid_client`, boxed (it is the error side of a `Result`).
pub(super) fn refused(description: &str) -> Box<Answer> {
    Box::new(invalid_client(description))
}

const NOT_A_JWT: &str = "The client_assertion is not a JWT.";
const ISS_SUB: &str = "The 'iss' and 'sub' claims of the client_assertion must be the client ID.";
const AUDIENCE: &str = "The audience of the client_assertion is not the endpoint.";
const TOO_LONG: &str =
    "The client_assertion 'exp' must be at most one hour in the future and after its 'iat'.";
/// The longest an assertion may live: `exp` at most this after `iat` (and after now).
const MAX_LIFETIME: i64 = 3600;
/// How far in the future an assertion's `iat` may be (the client's clock running ahead).
const CLOCK_SKEW: i64 = 60;

/// The assertion's times at `now`: `exp` in the future and at most an hour away; `iat`, when
/// present, not in the future (beyond [`CLOCK_SKEW`]) and at most an hour before `exp`.
fn check_times(claims: &Map<String, Value>, now: i64) -> Result<(), Box<Answer>> {
    let exp = match claims.get("exp").and_then(Value::as_i64) {
        Some(exp) if exp <= now => return Err(refused("The client_assertion token is expired.")),
        Some(exp) if exp <= now + MAX_LIFETIME => exp,
        _ => return Err(refused(TOO_LONG)),
    };
    match claims.get("iat") {
        None => Ok(()),
        Some(iat) => match iat.as_i64() {
            Some(iat) if iat > now + CLOCK_SKEW => Err(refused(
                "The client_assertion token has an 'iat' in the future.",
            )),
            Some(iat) if exp.saturating_sub(iat) > MAX_LIFETIME => Err(refused(TOO_LONG)),
            Some(_) => Ok(()),
            None => Err(refused("The client_assertion 'iat' is not a number.")),
        },
    }
}

/// Checks the client assertion of a request to `audience` (the endpoint's URL). `key_of` gives
/// the registered key of the client the assertion names (`Err`: why that client cannot use
/// `private_key_jwt`). Returns the client ID.
pub(super) fn check(
    state: &Shared,
    params: &Params,
    audience: &str,
    key_of: impl FnOnce(&str) -> Result<ClientKey, &'static str>,
) -> Result<String, Box<Answer>> {
    if param(params, "client_assertion_type") != Some(JWT_BEARER) {
        return Err(refused(
            "The client_assertion_type must be urn:ietf:params:oauth:client-assertion-type:jwt-bearer.",
        ));
    }
    let assertion = param(params, "client_assertion")
        .ok_or_else(|| refused("The client_assertion is missing."))?;
    // The issuer names the app, whose key then checks the signature.
    let header = jsonwebtoken::decode_header(assertion).map_err(|_| refused(NOT_A_JWT))?;
    let unverified: Map<String, Value> = jsonwebtoken::dangerous::insecure_decode_claims(assertion)
        .map_err(|_| refused(NOT_A_JWT))?;
    let text = |name: &str| unverified.get(name).and_then(Value::as_str);
    let client_id = text("iss")
        .ok_or_else(|| refused("The client_assertion has no 'iss'."))?
        .to_owned();
    if text("sub") != Some(client_id.as_str())
        || param(params, "client_id").is_some_and(|id| id != client_id)
    {
        return Err(refused(ISS_SUB));
    }
    let key = key_of(&client_id).map_err(refused)?;
    if header.alg != Algorithm::RS256 || header.kid.as_deref() != Some(key.kid.as_str()) {
        return Err(refused(
            "The client_assertion must be signed with RS256 and a registered key.",
        ));
    }
    let mut validation = Validation::new(Algorithm::RS256);
    validation.set_required_spec_claims(&["iss", "sub", "aud"]);
    validation.set_issuer(&[&client_id]);
    validation.sub = Some(client_id.clone());
    validation.set_audience(&[audience]);
    // jsonwebtoken reads the system time; the mock's clock decides below.
    validation.validate_exp = false;
    let claims = match jsonwebtoken::decode::<Map<String, Value>>(assertion, &key.key, &validation)
    {
        Ok(data) => data.claims,
        Err(e) => {
            return Err(refused(match e.kind() {
                ErrorKind::InvalidSignature => "The client_assertion signature is invalid.",
                ErrorKind::InvalidAudience | ErrorKind::MissingRequiredClaim(_) => AUDIENCE,
                ErrorKind::InvalidIssuer | ErrorKind::InvalidSubject => ISS_SUB,
                _ => NOT_A_JWT,
            }))
        }
    };
    // Okta wants the endpoint's URL as a string, not in an array.
    if claims.get("aud").and_then(Value::as_str) != Some(audience) {
        return Err(refused(AUDIENCE));
    }
    check_times(&claims, state.now_secs())?;
    let jti = claims
        .get("jti")
        .and_then(Value::as_str)
        .ok_or_else(|| refused("The client_assertion has no 'jti'."))?;
    if !lock(&state.used_jtis).insert(jti.to_owned()) {
        return Err(refused("The client_assertion token has already been used."));
    }
    Ok(client_id)
}
