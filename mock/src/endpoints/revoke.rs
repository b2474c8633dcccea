//! `POST /v1/revoke` (RFC 7009): a refresh token (with its family: its other refresh tokens and
//! the access tokens issued since sign-in, as Okta revokes a refresh token's access tokens with
//! it), or an access token (then refused by userinfo and inactive at introspection).
//!
//! The caller is the public SPA client (`client_id`, or `Authorization: Basic`), a web app (its
//! client secret or a client assertion) or a service app (client assertion). Only the caller's
//! own tokens are revoked: a token issued to another client, like an unknown one, is answered
//! `200` and left alone (RFC 7009 2.1, 2.2: no error that would tell the caller the token
//! exists).

use std::sync::Arc;

use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde_json::Value;

use super::client_auth::authenticate;
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
    let endpoint = format!("{}/v1/revoke", state.issuer);
    let client = match authenticate(&state, &headers, &params, &endpoint) {
        Ok(client) => client,
        Err(answer) => return *answer,
    };
    let client_id = client.id(&state);
    let Some(token) = param(&params, "token") else {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "The revocation request is missing a required parameter: 'token'.",
        );
    };
    // An access token names its client in `cid` (ID tokens have none: not revocable).
    let access_jti = state.verify_own(token).and_then(|claims| {
        let cid = claims.get("cid").and_then(Value::as_str)?;
        let jti = claims.get("jti").and_then(Value::as_str)?;
        (cid == client_id).then(|| jti.to_owned())
    });
    let mut grants = lock(&state.grants);
    if grants.refresh_client(token) == Some(client_id) {
        if let Some(family) = grants.refresh_family(token) {
            grants.revoke_family(family);
        }
    }
    if let Some(jti) = access_jti {
        grants.revoked_access.insert(jti);
    }
    drop(grants);
    let mut response = Response::new(Body::empty());
    no_store(&mut response);
    response
}
