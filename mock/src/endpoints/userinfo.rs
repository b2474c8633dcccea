//! `GET` or `POST /v1/userinfo` with a bearer access token: the user's claims by granted scope.

use std::sync::Arc;

use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use serde_json::{json, Map, Value};

use super::has_scope;
use crate::reply::{json, Answer};
use crate::state::Shared;

/// A valid, unrevoked, unexpired (by the mock clock) access token of the mock's client, from
/// `Authorization: Bearer`.
fn bearer_access_token(state: &Shared, headers: &HeaderMap) -> Option<Map<String, Value>> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("bearer") {
        return None;
    }
    let claims = state.verify_own(token.trim())?;
    let fresh = claims.get("exp")?.as_i64()? > state.now_secs();
    let ours = claims.get("cid")?.as_str()? == state.client_id;
    let revoked = state.is_revoked(claims.get("jti")?.as_str()?);
    (fresh && ours && !revoked).then_some(claims)
}

/// A `WWW-Authenticate: Bearer` challenge as Okta sends it from userinfo.
fn challenge(state: &Shared, error: &str, description: &str, status: StatusCode) -> Answer {
    let mut response = json(
        status,
        &json!({ "error": error, "error_description": description }),
    );
    let value = format!(
        "Bearer authorization_uri=\"{issuer}/v1/authorize\", realm=\"{issuer}\", \
         scope=\"openid\", error=\"{error}\", error_description=\"{description}\", \
         resource=\"/v1/userinfo\"",
        issuer = state.issuer
    );
    if let Ok(value) = HeaderValue::from_str(&value) {
        response
            .headers_mut()
            .insert(header::WWW_AUTHENTICATE, value);
    }
    response
}

/// The handler (both methods; a `POST` body is ignored).
pub(crate) async fn handle(State(state): State<Arc<Shared>>, headers: HeaderMap) -> Answer {
    let Some(claims) = bearer_access_token(&state, &headers) else {
        return challenge(
            &state,
            "invalid_token",
            "The access token is invalid.",
            StatusCode::UNAUTHORIZED,
        );
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
