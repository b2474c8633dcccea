//! `GET /.well-known/openid-configuration` and `/.well-known/oauth-authorization-server`.
//!
//! The document advertises only what the mock serves: the response types and modes
//! `/v1/authorize` implements, the grants `/v1/token` implements, and the client authentication
//! it checks (none for the public SPA client, client secrets and `private_key_jwt` for web apps,
//! `private_key_jwt` for service apps). Okta's own document lists more (hybrid response types,
//! `form_post`, `okta_post_message`, `client_secret_jwt`, dynamic registration).

use std::sync::atomic::Ordering;
use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;
use serde_json::Value;

use super::dpop::ALGS as DPOP_ALGS;
use super::OIDC_SCOPES;
use crate::reply::{json, Answer};
use crate::state::Shared;

/// The `response_type`s `/v1/authorize` serves (Okta's hybrid ones, `code id_token`... are not).
const RESPONSE_TYPES: [&str; 4] = ["code", "token", "id_token", "id_token token"];

/// The `response_mode`s `/v1/authorize` serves (not Okta's `form_post` or `okta_post_message`).
const RESPONSE_MODES: [&str; 2] = ["query", "fragment"];

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
        "jwks_uri": format!("{i}/v1/keys"),
        "response_types_supported": RESPONSE_TYPES,
        "response_modes_supported": RESPONSE_MODES,
        "grant_types_supported": ["authorization_code", "implicit", "refresh_token",
            "client_credentials"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "scopes_supported": scopes,
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post",
            "private_key_jwt", "none"],
        "claims_supported": ["ver", "jti", "iss", "aud", "iat", "exp", "cid", "uid", "scp",
            "sub", "name", "email", "preferred_username", "nonce", "auth_time", "at_hash",
            "amr", "idp"],
        "code_challenge_methods_supported": ["S256"],
        "introspection_endpoint": format!("{i}/v1/introspect"),
        "revocation_endpoint": format!("{i}/v1/revoke"),
        "end_session_endpoint": format!("{i}/v1/logout"),
        "dpop_signing_alg_values_supported": DPOP_ALGS,
    })
}
