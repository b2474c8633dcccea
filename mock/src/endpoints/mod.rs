//! The endpoints of the mock custom authorization server, one module each, and what several of
//! them share (scopes, minting).
//!
//! The client is an Okta SPA app integration: a public client (no secret), Authorization
//! Code with PKCE (S256, required), Implicit (`token`, `id_token`, `id_token token`), Refresh Token
//! with rotation (a spent refresh token still works within the grace period; a use after it is
//! reuse, which revokes the family: see `crate::grants`). Sign-in is auto-approved for the
//! configured user. Web apps (confidential clients) use Authorization Code (PKCE optional, checked
//! when sent) and Refresh Token with the same rotation, authenticating with a client secret or
//! `private_key_jwt` (see `client_auth`). Service apps use client credentials with
//! `private_key_jwt`.

mod assertion;
pub(crate) mod authorize;
mod client_auth;
pub(crate) mod discovery;
mod dpop;
pub(crate) mod introspect;
pub(crate) mod keys;
pub(crate) mod logout;
mod mint;
mod pkce;
pub(crate) mod revoke;
pub(crate) mod token;
pub(crate) mod userinfo;

/// Scopes every Okta custom authorization server has.
pub(crate) const OIDC_SCOPES: &[&str] = &[
    "openid",
    "profile",
    "email",
    "address",
    "phone",
    "offline_access",
];

fn has_scope(scopes: &[String], scope: &str) -> bool {
    scopes.iter().any(|s| s == scope)
}
