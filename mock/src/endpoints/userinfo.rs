//! `GET` or `POST /v1/userinfo` with an access token: the user's claims by granted scope.
//!
//! A token bound to a DPoP key (`cnf.jkt`) is accepted only as `Authorization: DPoP` with a
//! proof by that key (`htm` and `htu` of this request, `ath` of the token; no nonce asked, as
//! okta-auth-js calls it); used as `Bearer` it is refused with a `DPoP` challenge.

use std::sync::Arc;

use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use serde_json::{json, Map, Value};

use super::dpop::{self, Expect, Refusal};
use super::has_scope;
use crate::reply::{json, Answer};
use crate::state::Shared;

/// A valid, unrevoked, unexpired (by the mock clock) access token of the SPA or a web app.
fn valid_access_token(state: &Shared, token: &str) -> Option<Map<String, Value>> {
    let claims = state.verify_own(token)?;
    let fresh = claims.get("exp")?.as_i64()? > state.now_secs();
    let ours = state.is_user_client(claims.get("cid")?.as_str()?);
    let revoked = state.is_revoked(claims.get("jti")?.as_str()?);
    (fresh && ours && !revoked).then_some(claims)
}

/// The scheme of a challenge: `Bearer`, or `DPoP` (RFC 9449 7.1, with the accepted `algs`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Scheme {
    Bearer,
    Dpop,
}

/// A `WWW-Authenticate` challenge as Okta sends it from userinfo.
fn challenge(
    state: &Shared,
    scheme: Scheme,
    error: &str,
    description: &str,
    status: StatusCode,
) -> Answer {
    let mut response = json(
        status,
        &json!({ "error": error, "error_description": description }),
    );
    let value = match scheme {
        Scheme::Bearer => format!(
            "Bearer authorization_uri=\"{issuer}/v1/authorize\", realm=\"{issuer}\", \
             scope=\"openid\", error=\"{error}\", error_description=\"{description}\", \
             resource=\"/v1/userinfo\"",
            issuer = state.issuer
        ),
        Scheme::Dpop => format!(
            "DPoP algs=\"{algs}\", error=\"{error}\", error_description=\"{description}\"",
            algs = dpop::ALGS.join(" ")
        ),
    };
    if let Ok(value) = HeaderValue::from_str(&value) {
        response
            .headers_mut()
            .insert(header::WWW_AUTHENTICATE, value);
    }
    response
}

const INVALID_TOKEN: &str = "The access token is invalid.";

/// The claims of the request's access token: `Authorization: Bearer` for a token not bound to
/// a key, `Authorization: DPoP` with a proof by the key a bound token names (RFC 9449 7). `Err`
/// is the challenge.
fn access_claims(
    state: &Shared,
    method: &Method,
    headers: &HeaderMap,
) -> Result<Map<String, Value>, Box<Answer>> {
    let refuse = |scheme, error, description| {
        Box::new(challenge(
            state,
            scheme,
            error,
            description,
            StatusCode::UNAUTHORIZED,
        ))
    };
    let credential = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split_once(' '));
    let Some((scheme, token)) = credential else {
        return Err(refuse(Scheme::Bearer, "invalid_token", INVALID_TOKEN));
    };
    let token = token.trim();
    if scheme.eq_ignore_ascii_case("bearer") {
        let claims = valid_access_token(state, token)
            .ok_or_else(|| refuse(Scheme::Bearer, "invalid_token", INVALID_TOKEN))?;
        if claims.contains_key("cnf") {
            // A bound token used as a bearer token: without its key, it is worth nothing.
            return Err(refuse(
                Scheme::Dpop,
                "invalid_token",
                "The access token is bound to a DPoP key: send it with the DPoP scheme and a proof.",
            ));
        }
        return Ok(claims);
    }
    if !scheme.eq_ignore_ascii_case("dpop") {
        return Err(refuse(Scheme::Bearer, "invalid_token", INVALID_TOKEN));
    }
    let claims = valid_access_token(state, token)
        .ok_or_else(|| refuse(Scheme::Dpop, "invalid_token", INVALID_TOKEN))?;
    let bound = claims
        .get("cnf")
        .and_then(|cnf| cnf.get("jkt"))
        .and_then(Value::as_str)
        .ok_or_else(|| {
            refuse(
                Scheme::Dpop,
                "invalid_token",
                "The access token is not bound to a DPoP key.",
            )
        })?;
    let url = format!("{}/v1/userinfo", state.issuer);
    let expect = Expect {
        method: method.as_str(),
        url: &url,
        access_token: Some(token),
        nonce: false,
    };
    let invalid_proof = |description| refuse(Scheme::Dpop, "invalid_dpop_proof", description);
    match dpop::check(state, headers, &expect) {
        Ok(Some(jkt)) if jkt == bound => Ok(claims),
        Ok(Some(_)) => Err(invalid_proof(
            "The DPoP proof JWT key does not match the key the access token is bound to.",
        )),
        Ok(None) => Err(invalid_proof(dpop::MISSING)),
        // Userinfo asks for no nonce: a refusal here is always `Invalid`.
        Err(Refusal::Invalid(description)) => Err(invalid_proof(description)),
        Err(Refusal::UseNonce) => Err(invalid_proof(INVALID_TOKEN)),
    }
}

/// The handler (both methods; a `POST` body is ignored).
pub(crate) async fn handle(
    State(state): State<Arc<Shared>>,
    method: Method,
    headers: HeaderMap,
) -> Answer {
    let claims = match access_claims(&state, &method, &headers) {
        Ok(claims) => claims,
        Err(answer) => return *answer,
    };
    let scopes: Vec<String> = claims
        .get("scp")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default();
    if !has_scope(&scopes, "openid") {
        return challenge(
            &state,
            Scheme::Bearer,
            "insufficient_scope",
            "The access token must provide access to at least one of these scopes - openid.",
            StatusCode::FORBIDDEN,
        );
    }
    let user = &state.user;
    let mut body = json!({ "sub": user.id });
    if has_scope(&scopes, "profile") {
        let (given, family) = user.name.split_once(' ').unwrap_or((&user.name, ""));
        body["name"] = Value::from(user.name.as_str());
        body["given_name"] = Value::from(given);
        body["family_name"] = Value::from(family);
        body["preferred_username"] = Value::from(user.login.as_str());
        body["locale"] = Value::from("en_US");
        body["zoneinfo"] = Value::from("America/Los_Angeles");
        body["updated_at"] = claims.get("auth_time").cloned().unwrap_or(Value::Null);
    }
    if has_scope(&scopes, "email") {
        body["email"] = Value::from(user.email.as_str());
        body["email_verified"] = Value::from(true);
    }
    json(StatusCode::OK, &body)
}
