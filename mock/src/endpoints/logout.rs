//! `GET /v1/logout`: ends the (notional) Okta session and redirects to a sign-out redirect URI
//! registered for the client the `id_token_hint` was issued to (the SPA or a web app).
//!
//! The mock keeps no session (every `/v1/authorize` signs the user in without asking); it counts
//! accepted sign-outs for tests (`MockOkta::logout_count`).

use std::sync::atomic::Ordering;
use std::sync::Arc;

use axum::extract::State;
use axum::http::{StatusCode, Uri};
use serde_json::Value;

use crate::params::{param, parse};
use crate::reply::{error_page, redirect, Answer, Mode};
use crate::state::Shared;

/// The sign-out redirect URIs of the client an ID token names (its `aud`), if the token is one
/// of the mock's ID tokens for its user, issued to the SPA or a web app. The hint may have
/// expired.
fn hinted_client(state: &Shared, hint: &str) -> Option<Vec<String>> {
    let claims = state.verify_own(hint)?;
    if claims.get("sub").and_then(Value::as_str) != Some(state.user.id.as_str()) {
        return None;
    }
    let client_id = claims.get("aud").and_then(Value::as_str)?;
    if client_id == state.client_id {
        return Some(state.config.post_logout_redirect_uris.clone());
    }
    state
        .web_app(client_id)
        .map(|app| app.sign_out_redirect_uris().to_vec())
}

/// The handler.
pub(crate) async fn get(State(state): State<Arc<Shared>>, uri: Uri) -> Answer {
    let Ok(params) = parse(uri.query().unwrap_or("").as_bytes()) else {
        return error_page(
            StatusCode::BAD_REQUEST,
            "A parameter was included more than once.",
        );
    };
    let Some(sign_out_uris) =
        param(&params, "id_token_hint").and_then(|hint| hinted_client(&state, hint))
    else {
        return error_page(
            StatusCode::BAD_REQUEST,
            "The 'id_token_hint' parameter is missing or is not an ID token issued to this \
             client.",
        );
    };
    match param(&params, "post_logout_redirect_uri") {
        None => {
            state.logouts.fetch_add(1, Ordering::SeqCst);
            error_page(StatusCode::OK, "You are signed out.")
        }
        Some(uri) if sign_out_uris.iter().any(|r| r == uri) => {
            state.logouts.fetch_add(1, Ordering::SeqCst);
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
