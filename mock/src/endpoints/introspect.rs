//! `POST /v1/introspect` (RFC 7662): the public SPA client (`client_id` in the form, or
//! `Authorization: Basic base64(client_id:)` with an empty secret, as okta-auth-js sends it;
//! CORS for the trusted origins), a web app (client secret or assertion) or a service app
//! (client assertion) asks whether a token is active: an access token signed by a key the mock
//! still has, unexpired by the mock clock, not revoked; or a live refresh token of the caller's
//! (another client's refresh token is inactive to it).

use std::sync::atomic::Ordering;
use std::sync::Arc;

use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use serde_json::{json, Value};

use super::client_auth::authenticate;
use crate::fault;
use crate::params::{form, param, read_body, Params};
use crate::reply::{json, oauth_error, Answer};
use crate::state::{lock, Shared};

/// The handler: counted once the body is read, fault first.
pub(crate) async fn post(
    State(state): State<Arc<Shared>>,
    headers: HeaderMap,
    body: Body,
) -> Answer {
    let body = match read_body(body).await {
        Ok(body) => body,
        Err(answer) => return *answer,
    };
    state.introspections.fetch_add(1, Ordering::SeqCst);
    let fault = lock(&state.introspect_fault).clone();
    if let Some(answer) = fault::apply(fault, state.now()).await {
        return answer;
    }
    match form(&headers, &body) {
        Ok(params) => introspect(&state, &headers, &params),
        Err(answer) => *answer,
    }
}

fn introspect(state: &Shared, headers: &HeaderMap, params: &Params) -> Answer {
    let endpoint = format!("{}/v1/introspect", state.issuer);
    let client = match authenticate(state, headers, params, &endpoint) {
        Ok(client) => client,
        Err(answer) => return *answer,
    };
    let Some(token) = param(params, "token") else {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "The introspection request is missing a required parameter: 'token'.",
        );
    };
    let inactive = || json(StatusCode::OK, &json!({ "active": false }));
    let Some(claims) = state.verify_own(token) else {
        return refresh_token(state, client.id(state), token).unwrap_or_else(inactive);
    };
    let exp = claims.get("exp").and_then(Value::as_i64).unwrap_or(0);
    let jti = claims.get("jti").and_then(Value::as_str).unwrap_or("");
    if exp <= state.now_secs() || state.is_revoked(jti) {
        return inactive();
    }
    let get = |name: &str| claims.get(name).cloned().unwrap_or(Value::Null);
    let scope = claims.get("scp").and_then(Value::as_array).map(|a| {
        a.iter()
            .filter_map(Value::as_str)
            .collect::<Vec<_>>()
            .join(" ")
    });
    let mut answer = json!({
        "active": true,
        "token_type": "Bearer",
        "scope": scope,
        "client_id": get("cid"),
        "username": get("sub"),
        "exp": exp,
        "iat": get("iat"),
        "sub": get("sub"),
        "aud": get("aud"),
        "iss": get("iss"),
        "jti": jti,
    });
    if let Some(cnf) = claims.get("cnf") {
        // A DPoP-bound token, as Okta reports it.
        answer["token_type"] = Value::from("DPoP");
        answer["cnf"] = cnf.clone();
    }
    if let Some(uid) = claims.get("uid") {
        answer["uid"] = uid.clone();
    }
    json(StatusCode::OK, &answer)
}

/// The answer for a live refresh token issued to `client_id`, as Okta shapes it (no `exp`: the
/// mock's refresh tokens do not expire); `None` for any other string.
fn refresh_token(state: &Shared, client_id: &str, token: &str) -> Option<Answer> {
    let grants = lock(&state.grants);
    let grant = grants
        .live_refresh(token)
        .filter(|grant| grant.client_id == client_id)?;
    let mut answer = json!({
        "active": true,
        "token_type": "refresh_token",
        "scope": grant.scopes.join(" "),
        "client_id": client_id,
        "username": state.user.login,
        "sub": state.user.login,
        "uid": state.user.id,
        "iss": state.issuer,
    });
    if let Some(jkt) = &grant.jkt {
        answer["cnf"] = json!({ "jkt": jkt });
    }
    Some(json(StatusCode::OK, &answer))
}
