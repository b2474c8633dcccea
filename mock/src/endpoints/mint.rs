//! The tokens `/v1/authorize` and `/v1/token` issue to the SPA and web apps.

use aws_lc_rs::digest::{digest, SHA256};
use base64::Engine;

use super::has_scope;
use crate::state::Shared;
use crate::token::TokenBuilder;
use crate::util::{random_id, B64};

/// A fresh access-token ID, as Okta shapes them.
pub(super) fn access_jti() -> String {
    format!("AT.{}", random_id(43))
}

/// An access token for the test user issued to `client_id` (`cid`; `aud` is the authorization
/// server's audience whatever the client) with this `jti`, with the configured lifetime; bound
/// to the DPoP key with thumbprint `jkt` (`cnf.jkt`) when there is one.
pub(super) fn access_token(
    state: &Shared,
    client_id: &str,
    scopes: &[String],
    auth_time: i64,
    jti: &str,
    jkt: Option<&str>,
) -> String {
    let iat = state.now_secs();
    let lifetime =
        i64::try_from(state.config.access_token_lifetime.as_secs()).unwrap_or(i64::MAX / 2);
    let mut builder = TokenBuilder::access(state, state.signing_key());
    if let Some(jkt) = jkt {
        builder = builder.claim("cnf", serde_json::json!({ "jkt": jkt }));
    }
    builder
        .claim("cid", client_id)
        .claim("jti", jti)
        .claim("iat", iat)
        .claim("exp", iat.saturating_add(lifetime))
        .claim("scp", scopes.to_vec())
        .claim("auth_time", auth_time)
        .build()
}

/// An ID token for the test user issued to `client_id` (its `aud`): `nonce` when
/// `/v1/authorize` had one, `at_hash` when issued with an access token (OIDC Core 3.1.3.6: the
/// left half of SHA-256 of the token's ASCII, in base64url), profile and email claims by scope.
pub(super) fn id_token(
    state: &Shared,
    client_id: &str,
    scopes: &[String],
    nonce: Option<&str>,
    auth_time: i64,
    access_token: Option<&str>,
) -> String {
    let mut builder = TokenBuilder::id(state, state.signing_key())
        .claim("aud", client_id)
        .claim("auth_time", auth_time);
    if let Some(nonce) = nonce {
        builder = builder.claim("nonce", nonce);
    }
    if let Some(access_token) = access_token {
        builder = builder.claim("at_hash", at_hash(access_token));
    }
    if !has_scope(scopes, "profile") {
        builder = builder
            .without_claim("name")
            .without_claim("preferred_username");
    }
    if !has_scope(scopes, "email") {
        builder = builder.without_claim("email");
    }
    builder.build()
}

/// `at_hash`: base64url of the left half of SHA-256 of the access token.
fn at_hash(access_token: &str) -> String {
    let hash = digest(&SHA256, access_token.as_bytes());
    B64.encode(&hash.as_ref()[..16])
}
