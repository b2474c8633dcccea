//! Client authentication at the token, revocation and introspection endpoints: the public SPA
//! client (no secret), and service apps with `private_key_jwt` (RFC 7523).
//!
//! A service app's client assertion is checked as Okta does: RS256 signature with the
//! registered key (`kid` must match), `iss` = `sub` = client ID, `aud` = the endpoint's URL,
//! `exp` in the future (by the mock clock) and at most an hour away, `iat` (optional) at most
//! 60 s in the future and at most an hour before `exp`, a `jti` never used before.

use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use base64::Engine;
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, Validation};
use serde_json::{Map, Value};

use crate::params::{param, Params};
use crate::reply::{oauth_error, Answer};
use crate::state::{lock, ServiceApp, Shared};

const JWT_BEARER: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// Okta's `invalid_client` answer.
pub(super) fn invalid_client(description: &str) -> Answer {
    oauth_error(StatusCode::UNAUTHORIZED, "invalid_client", description)
}

/// `invalid_client` for a public client, with a `Basic` challenge when it used Basic.
fn public_refused(basic: bool) -> Box<Answer> {
    let mut response = invalid_client(
        "Client authentication failed. Either the client or the client credentials are invalid.",
    );
    if basic {
        response.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Basic realm=\"Okta\""),
        );
    }
    Box::new(response)
}

/// The client of a token, revocation or introspection request: a public client names itself
/// (`client_id` in the body, or `Authorization: Basic` with `base64(client_id)` or
/// `base64(client_id:)`, as okta-auth-js sends to revoke and introspect) and sends no secret.
/// `Err` is the answer.
pub(super) fn public_client(
    state: &Shared,
    headers: &HeaderMap,
    params: &Params,
) -> Result<(), Box<Answer>> {
    let mut basic_id = None;
    if let Some(value) = headers.get(header::AUTHORIZATION) {
        let text = value.to_str().map_err(|_| public_refused(true))?;
        let (scheme, credentials) = text.split_once(' ').ok_or_else(|| public_refused(true))?;
        if !scheme.eq_ignore_ascii_case("basic") {
            return Err(public_refused(true));
        }
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(credentials.trim())
            .ok()
            .and_then(|d| String::from_utf8(d).ok())
            .ok_or_else(|| public_refused(true))?;
        let (id, secret) = decoded.split_once(':').unwrap_or((&decoded, ""));
        if !secret.is_empty() {
            // A secret from a public client: Okta refuses it like a wrong secret.
            return Err(public_refused(true));
        }
        basic_id = Some(id.to_owned());
    }
    if params.contains_key("client_secret")
        || params.contains_key("client_assertion")
        || params.contains_key("client_assertion_type")
    {
        return Err(public_refused(false));
    }
    let body_id = param(params, "client_id");
    let client_id = match (body_id, basic_id.as_deref()) {
        (Some(body), Some(basic)) if body != basic => return Err(public_refused(true)),
        (Some(id), _) | (None, Some(id)) => id,
        (None, None) => return Err(public_refused(false)),
    };
    if client_id != state.client_id {
        return Err(public_refused(basic_id.is_some()));
    }
    Ok(())
}

/// `invalid_client`, boxed (it is the error side of a `Result`).
fn refused(description: &str) -> Box<Answer> {
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

/// Checks a service app's client assertion for `audience` (the endpoint's URL); returns the
/// app's client ID and its registration.
pub(super) fn service_app(
    state: &Shared,
    params: &Params,
    audience: &str,
) -> Result<(String, ServiceApp), Box<Answer>> {
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
    let app = lock(&state.service_apps)
        .get(&client_id)
        .cloned()
        .ok_or_else(|| refused("Client authentication failed. The client is not registered."))?;
    if header.alg != Algorithm::RS256 || header.kid.as_deref() != Some(app.kid.as_str()) {
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
    let claims = match jsonwebtoken::decode::<Map<String, Value>>(assertion, &app.key, &validation)
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
    Ok((client_id, app))
}
