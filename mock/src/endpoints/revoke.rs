//! `POST /v1/revoke` (RFC 7009): a refresh token (and its family), or an access token (then
//! refused by userinfo and inactive at introspection). Unknown tokens are not an error.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde_json::Value;

use super::client_auth::public_client;
use crate::params::{param, read_form};
use crate::reply::{no_store, oauth_error, Answer};
use crate::state::{lock, Shared};

/// The handler.
pub(crate) async fn post(
    State(state): State<Arc<Shared>>,
    headers: HeaderMap,
    body: Body,
) -> Answer {
    let params = match read_form(&headers, body).await {
        Ok(params) => params,
        Err(answer) => return *answer,
    };
    if let Err(answer) = public_client(&state, &headers, &params) {
        return *answer;
    }
    let Some(token) = param(&params, "token") else {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "The revocation request is missing a required parameter: 'token'.",
        );
    };
    let access_jti = state
        .verify_own(token)
        .and_then(|claims| claims.get("jti").and_then(Value::as_str).map(str::to_owned));
    let mut grants = lock(&state.grants);
    if let Some(grant) = grants.refresh.remove(token) {
        grants.revoke_family(grant.family);
    }
    if let Some(jti) = access_jti {
        grants.revoked_access.insert(jti);
    }
    drop(grants);
    let mut response = Response::new(Body::empty());
    no_store(&mut response);
    response
}
