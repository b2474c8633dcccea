//! # tower-okta
//!
//! A [tower](https://docs.rs/tower) middleware that lets an API trust the bearer tokens a
//! single-page app got from Okta.
//!
//! For every request, [`OktaAuthLayer`]:
//! 1. extracts the bearer token from the `Authorization` header (RFC 6750);
//! 2. verifies it against your Okta custom authorization server: RS256 signature with the key its
//!    `kid` names (from the issuer's JWKS, fetched once and cached), `iss` exact match, audience,
//!    `exp`/`nbf`/`iat` with leeway, and the access-token (or ID-token) profile;
//! 3. inserts the verified claims into the request extensions (read them with the [`Claims`]
//!    extractor in axum), or answers with the RFC 6750 status and `WWW-Authenticate` header.
//!
//! ```no_run
//! use axum::{routing::get, Json, Router};
//! use tower_okta::{AccessClaims, Claims, Verifier};
//!
//! async fn me(claims: Claims<AccessClaims>) -> Json<Claims<AccessClaims>> {
//!     Json(claims)
//! }
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let verifier = Verifier::builder()
//!     .issuer("https://dev-123.okta.com/oauth2/default")
//!     .client_id("0oa1example2SPAclient") // the audience defaults to the client ID
//!     .build()?;
//!
//! let app = Router::new()
//!     .route("/api/me", get(me))
//!     .layer(verifier.layer());
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:3000").await?;
//! axum::serve(listener, app).await?;
//! # Ok(()) }
//! ```
//!
//! The verifier also works without tower: [`Verifier::verify_access_token`] and
//! [`Verifier::verify_id_token`].
//!
//! ## Features
//! - `axum` (default): the [`Claims`] extractor.
//!
//! For tests and local development without an Okta account, the `tower-okta-mock` crate (a
//! dev-dependency) runs a mock Okta authorization server on loopback.
//!
//! ## Security
//! Only RSA algorithms can be allowed (RS256 by default), `kid` is required, `jku`/`x5u`/`jwk`/`x5c`
//! are ignored, `crit` is refused, encrypted tokens are refused, the token size is capped before
//! decoding, base64url and JSON are parsed strictly (no padding, no duplicate keys), keys come only
//! from the issuer's JWKS and must be RSA of 2048 bits or more. Error answers carry fixed
//! descriptions and never echo token contents.

#![forbid(unsafe_code)]
#![cfg_attr(docsrs, feature(doc_cfg))]

#[cfg(feature = "__private")]
#[doc(hidden)]
#[path = "private.rs"]
pub mod __private;
mod algorithm;
mod b64;
mod bearer;
mod builder;
mod claims;
pub mod client;
pub mod clock;
mod config_error;
mod decode;
mod diagnose;
mod dpop;
mod error;
#[cfg(feature = "axum")]
mod extract;
mod future;
mod guard;
mod introspect;
mod issuer;
mod json;
mod jwks;
mod layer;
mod net;
mod response;
mod signing;
mod token;
mod token_cache;
mod validate;
mod verifier;
#[cfg(feature = "web-app")]
#[cfg_attr(docsrs, doc(cfg(feature = "web-app")))]
pub mod web_app;

pub use algorithm::Algorithm;
pub use bearer::bearer_token;
pub use builder::{
    VerifierBuilder, DEFAULT_LEEWAY, DEFAULT_MAX_TOKEN_SIZE, DEFAULT_TOKEN_CACHE_ENTRIES,
    DEFAULT_TOKEN_CACHE_TTL, MAX_LEEWAY,
};
pub use claims::{AccessClaims, Audience, Confirmation, Extra, IdClaims};
pub use clock::{Clock, SystemClock};
pub use dpop::{
    Dpop, DpopAlgorithm, DpopError, DpopOptions, DEFAULT_PROOF_WINDOW, DEFAULT_REPLAY_CACHE_SIZE,
};
pub use error::{AuthError, ConfigError, ErrorKind, RequestError, TokenError, DEFAULT_REALM};
#[cfg(feature = "axum")]
pub use extract::{Claims, MissingClaims};
pub use future::ResponseFuture;
pub use guard::{Grants, Require, RequireGroupLayer, RequireScopeLayer};
pub use introspect::{Introspection, WhenUnavailable};
pub use jwks::{JwksStats, KeyError};
pub use layer::{OktaAuth, OktaAuthLayer};
pub use response::{grpc_rejection_response, rejection_response, ResponseBody};
pub use verifier::Verifier;
