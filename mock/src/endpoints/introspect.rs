//! `POST /v1/introspect` (RFC 7662): the public SPA client (`client_id` in the form, or
//! `Authorization: Basic base64(client_id:)` with an empty secret, as okta-auth-js sends it;
//! CORS for the trusted origins) or a service app (client assertion) asks whether a token is
//! active (signed by a key the mock still has, unexpired by the mock clock, not revoked).

use std::sync::atomic::Ordering;
use std::sync::Arc;

use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use serde_json::{json, Value};

use super::client_auth::{public_client, service_app};
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
    let authenticated = if params.contains_key("client_assertion") {
        let endpoint = format!("{}/v1/introspect", state.issuer);
        service_app(state, params, &endpoint).map(|_| ())
    } else {
        public_client(state, headers, params)
    };
    if let Err(answer) = authenticated {
        return *answer;
    }
    let Some(token) = param(params, "token") else {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "The introspection request is missing a required parameter: 'token'.",
        );
    };
    let inactive = || json(StatusCode::OK, &json!({ "active": false }));
    let Some(claims) = state.verify_own(token) else {
        return inactive();
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
