//! `GET /v1/logout`: ends the (notional) Okta session and redirects to a registered sign-out
//! redirect URI.

use std::sync::Arc;

use axum::extract::State;
use axum::http::{StatusCode, Uri};
use serde_json::Value;

use crate::params::{param, parse};
use crate::reply::{error_page, redirect, Answer, Mode};
use crate::state::Shared;

/// The handler.
pub(crate) async fn get(State(state): State<Arc<Shared>>, uri: Uri) -> Answer {
    let Ok(params) = parse(uri.query().unwrap_or("").as_bytes()) else {
        return error_page(
            StatusCode::BAD_REQUEST,
            "A parameter was included more than once.",
        );
    };
    // The hint may have expired; it must be ours and for this client.
    let hint_ok = param(&params, "id_token_hint")
        .and_then(|hint| state.verify_own(hint))
        .is_some_and(|claims| {
            claims.get("aud").and_then(Value::as_str) == Some(state.client_id.as_str())
                && claims.get("sub").and_then(Value::as_str) == Some(state.user.id.as_str())
        });
    if !hint_ok {
        return error_page(
            StatusCode::BAD_REQUEST,
            "The 'id_token_hint' parameter is missing or is not an ID token issued to this \
             client.",
        );
    }
    match param(&params, "post_logout_redirect_uri") {
        None => error_page(StatusCode::OK, "You are signed out."),
        Some(uri)
            if state
                .config
                .post_logout_redirect_uris
                .iter()
                .any(|r| r == uri) =>
        {
            let mut answer = Vec::new();
            if let Some(oauth_state) = param(&params, "state") {
                answer.push(("state", oauth_state));
            }
            redirect(uri, Mode::Query, &answer)
        }
        Some(_) => error_page(
            StatusCode::BAD_REQUEST,
            "The 'post_logout_redirect_uri' parameter must be a Logout redirect URI in the client \
             app settings.",
        ),
    }
}
