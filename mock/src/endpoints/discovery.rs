//! `GET /.well-known/openid-configuration` and `/.well-known/oauth-authorization-server`.

use std::sync::atomic::Ordering;
use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;
use serde_json::Value;

use super::OIDC_SCOPES;
use crate::reply::{json, Answer};
use crate::state::Shared;

/// The discovery document (counted).
pub(crate) async fn get(State(state): State<Arc<Shared>>) -> Answer {
    state.discovery_fetches.fetch_add(1, Ordering::SeqCst);
    json(StatusCode::OK, &document(&state))
}

fn document(state: &Shared) -> Value {
    let i = &state.issuer;
    let mut scopes: Vec<&str> = OIDC_SCOPES.to_vec();
    scopes.extend(state.config.custom_scopes.iter().map(String::as_str));
    serde_json::json!({
        "issuer": i,
        "authorization_endpoint": format!("{i}/v1/authorize"),
        "token_endpoint": format!("{i}/v1/token"),
        "userinfo_endpoint": format!("{i}/v1/userinfo"),
        "registration_endpoint": format!("{i}/v1/clients"),
        "jwks_uri": format!("{i}/v1/keys"),
        "response_types_supported": ["code", "id_token", "code id_token", "code token",
            "id_token token", "code id_token token"],
        "response_modes_supported": ["query", "fragment", "form_post", "okta_post_message"],
        "grant_types_supported": ["authorization_code", "implicit", "refresh_token",
            "password", "client_credentials"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "scopes_supported": scopes,
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post",
            "client_secret_jwt", "private_key_jwt", "none"],
        "claims_supported": ["ver", "jti", "iss", "aud", "iat", "exp", "cid", "uid", "scp",
            "sub", "name", "email", "preferred_username", "nonce", "auth_time", "at_hash",
            "amr", "idp"],
        "code_challenge_methods_supported": ["S256"],
        "introspection_endpoint": format!("{i}/v1/introspect"),
        "revocation_endpoint": format!("{i}/v1/revoke"),
        "end_session_endpoint": format!("{i}/v1/logout"),
    })
}
