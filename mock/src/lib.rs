//! A mock Okta custom authorization server on loopback, **for tests and local development only:
//! never use it in production** (it signs in anyone, keeps everything in memory and serves plain
//! HTTP).
//!
//! [`MockOkta::start`] binds a real HTTP server on `127.0.0.1` with an ephemeral port, on the
//! current tokio runtime, until the [`MockOkta`] is dropped. Like an Okta custom authorization
//! server it serves, under the issuer `http://127.0.0.1:{port}/oauth2/default`:
//! - `/.well-known/openid-configuration` and `/.well-known/oauth-authorization-server`;
//! - `/v1/keys`: the JWKS (RSA 2048 keys with `kid`, `use: sig`, `alg: RS256`), with Okta's very
//!   long `Cache-Control: max-age`. Like Okta it publishes **two keys** from the start: the
//!   signing key and the next one ([`MockOkta::next_key`]), announced before it signs.
//!   [`MockOkta::rotate_key`] promotes the next key (verifiers already have it) and publishes a
//!   fresh next key, keeping the old one published; [`MockOkta::emergency_rotate`] also removes
//!   the old key at once; [`MockOktaBuilder::publish_next_key`]`(false)` starts with the signing
//!   key alone;
//! - the browser flows of an SPA app integration (a public client), enough for
//!   `@okta/okta-auth-js` to sign in against it: `/v1/authorize` (Authorization Code with PKCE
//!   S256, required; Implicit `id_token token` with `nonce`; `response_mode` `query` or
//!   `fragment`; sign-in auto-approved for the [`MockUser`]), `/v1/token` (`authorization_code`
//!   with the code verifier checked, codes single-use and valid 60 s; `refresh_token` with
//!   rotation when `offline_access` was granted: a rotated-away refresh token still works for a
//!   grace period, 30 s by default ([`MockOktaBuilder::refresh_token_grace`]), and its reuse
//!   after that revokes the whole family, with the access tokens issued since sign-in),
//!   `/v1/userinfo`, `/v1/revoke` (a client's own tokens only) and `/v1/logout`. Redirect
//!   URIs must match a registered one exactly (default `http://localhost:8585/callback` and
//!   `/silent-callback`; [`MockOktaBuilder::spa_origin`]); an unknown one gets a `400` page, never
//!   a redirect. The endpoints a browser calls with `fetch` (discovery, keys, token, userinfo,
//!   revoke, introspect) answer CORS preflights and carry `Access-Control-Allow-Origin` for the
//!   trusted origins (default `http://localhost:8585`). Discovery advertises only what the mock
//!   serves (response modes `query` and `fragment`, no hybrid response types);
//! - the Authorization Code flow of a **Web Application** integration (a confidential client: a
//!   backend-for-frontend that signs users in itself). Every mock has one ([`MockOkta::web_app`]:
//!   client ID [`DEFAULT_WEB_CLIENT_ID`], secret [`DEFAULT_WEB_CLIENT_SECRET`], a test value;
//!   [`MockOktaBuilder::web_app`] replaces it, [`MockOkta::register_web_app`] adds more, see
//!   [`WebApp`]). `/v1/authorize` takes response type `code` only from it, PKCE optional (checked
//!   when sent); `/v1/token`, `/v1/revoke` and `/v1/introspect` want its client authentication
//!   (`client_secret_basic`, `client_secret_post` or `private_key_jwt`, as
//!   [`ClientAuthMethod`] says; none, a wrong secret or another method the app does not use is
//!   `401 invalid_client`); codes and refresh tokens are bound to the client they were issued
//!   to (another client's are `invalid_grant`, and revoking or introspecting them does nothing);
//!   refresh tokens rotate as the SPA's; `/v1/logout` takes its ID tokens as `id_token_hint`
//!   with its own sign-out redirect URIs ([`MockOkta::logout_count`] counts sign-outs; the mock
//!   keeps no session). [`MockOkta::set_authorize_outcome`] makes `/v1/authorize` answer
//!   `access_denied` (any client);
//! - machine clients: `client_credentials` at `/v1/token` for service apps
//!   ([`MockOkta::register_service_app`]) authenticating with `private_key_jwt` (assertions
//!   checked as Okta does: `aud`, `exp` at most an hour away and after `iat`, `iat` not in the
//!   future, single-use `jti`), and `/v1/introspect` (RFC 7662; the SPA client names itself in
//!   the form or with `Authorization: Basic base64(client_id:)`).
//!
//! - DPoP (RFC 9449), as Okta serves it: `/v1/token` takes a `DPoP` proof (checked with
//!   jsonwebtoken: `typ: dpop+jwt`, an `alg` of Okta's list, a public `jwk`, `htm`, `htu`, `iat`
//!   within 60 s, a single-use `jti`), first answers `use_dpop_nonce` with a `DPoP-Nonce` header
//!   (nonces live five minutes of the mock clock; [`MockOkta::dpop_nonce`] skips the round trip),
//!   then issues `token_type: DPoP` access tokens bound to the proof's key (`cnf.jkt`, its RFC
//!   7638 thumbprint) and refresh tokens that only refresh with a proof by the same key.
//!   [`MockOktaBuilder::require_dpop`] is the app's "Require DPoP" setting. `/v1/userinfo` takes
//!   `Authorization: DPoP` with a proof (`ath` checked, no nonce asked) and refuses a bound token
//!   sent as `Bearer`; discovery advertises `dpop_signing_alg_values_supported`; CORS exposes
//!   `DPoP-Nonce` and `WWW-Authenticate`. On the client side, a [`DpopKey`] (ES256, ES384, RS256,
//!   PS256) signs proofs ([`ProofBuilder`], any member changeable, or [`DpopKey::sign_raw`] for
//!   exact bytes) and [`MockOkta::dpop_access_token`] mints a token bound to it; see [`dpop`].
//!
//! Access tokens carry `aud` = the SPA's client ID (the SPA setup tower-okta targets), whichever
//! client they were issued to (a web app's too: `cid` names the client), so one verifier accepts
//! them all; [`MockOktaBuilder::default_audience`] gives them the `api://default` of the
//! authorization server Okta ships. ID tokens always carry the client ID they were issued to.
//!
//! It mints Okta-shaped access and ID tokens (claims as Okta issues them: `ver`, `jti`, `cid`,
//! `uid`, `scp`... for access tokens; `nonce`, `amr`, `idp`... for ID tokens) and lets tests change
//! any claim or header, rotate keys, publish odd keys, inject faults into the keys and
//! introspection endpoints (a `429` carries Okta's `X-Rate-Limit-*` headers, see
//! [`KeysFault::RateLimited`]), and move its [`Clock`].
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use jsonwebtoken::{decode, Algorithm, DecodingKey, Validation};
//! use tower_okta_mock::MockOkta;
//!
//! let okta = MockOkta::start().await?;
//!
//! // The JWKS, as a verifier fetches it.
//! let jwks: serde_json::Value =
//!     serde_json::from_str(&reqwest::get(okta.jwks_uri()).await?.text().await?)?;
//! // The signing key first, then the next one.
//! assert_eq!(jwks["keys"][0]["kid"], okta.signing_key().kid());
//! assert_eq!(jwks["keys"][1]["kid"], okta.next_key().unwrap().kid());
//! assert_eq!(okta.key_fetch_count(), 1);
//!
//! // A minted access token verifies with the published key.
//! let key = &jwks["keys"][0];
//! let key = DecodingKey::from_rsa_components(
//!     key["n"].as_str().unwrap(),
//!     key["e"].as_str().unwrap(),
//! )?;
//! let mut validation = Validation::new(Algorithm::RS256);
//! validation.set_issuer(&[okta.issuer()]);
//! validation.set_audience(&[okta.audience()]);
//! let token = decode::<serde_json::Value>(&okta.access_token(), &key, &validation)?;
//! assert_eq!(token.claims["sub"], "jane.doe@example.com");
//! # Ok(()) }
//! ```

//! A web app's sign-in, as a backend runs it (no redirect followed: the browser would):
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use tower_okta_mock::MockOkta;
//!
//! let okta = MockOkta::start().await?;
//! let app = okta.web_app(); // client ID, secret and redirect URIs, from the mock
//! let redirect_uri = &app.sign_in_redirect_uris()[0];
//! let mut authorize = url::Url::parse(&okta.authorize_endpoint())?;
//! authorize
//!     .query_pairs_mut()
//!     .append_pair("client_id", app.client_id())
//!     .append_pair("response_type", "code")
//!     .append_pair("scope", "openid profile email offline_access")
//!     .append_pair("redirect_uri", redirect_uri)
//!     .append_pair("state", "st4te")
//!     .append_pair("nonce", "n0nce");
//! let http = reqwest::Client::builder()
//!     .redirect(reqwest::redirect::Policy::none())
//!     .build()?;
//! let answer = http.get(authorize.as_str()).send().await?;
//! let callback = url::Url::parse(answer.headers()["location"].to_str()?)?;
//! let (_, code) = callback.query_pairs().find(|(name, _)| name == "code").unwrap();
//!
//! // The callback exchanges the code, authenticating with client_secret_basic.
//! let form = url::form_urlencoded::Serializer::new(String::new())
//!     .append_pair("grant_type", "authorization_code")
//!     .append_pair("code", &code)
//!     .append_pair("redirect_uri", redirect_uri)
//!     .finish();
//! let tokens = http
//!     .post(okta.token_endpoint())
//!     .basic_auth(app.client_id(), app.secret())
//!     .header("content-type", "application/x-www-form-urlencoded")
//!     .body(form)
//!     .send()
//!     .await?;
//! assert_eq!(tokens.status(), 200);
//! let tokens: serde_json::Value = serde_json::from_str(&tokens.text().await?)?;
//! assert!(tokens["refresh_token"].is_string());
//! let id_token: serde_json::Value =
//!     jsonwebtoken::dangerous::insecure_decode_claims(tokens["id_token"].as_str().unwrap())?;
//! assert_eq!(id_token["aud"], app.client_id());
//! assert_eq!(id_token["nonce"], "n0nce");
//! # Ok(()) }
//! ```

#![forbid(unsafe_code)]

mod apps;
mod builder;
mod clock;
mod config;
mod cors;
pub mod dpop;
mod endpoints;
mod error;
mod fault;
mod grants;
mod jwt;
mod keys;
mod keyset;
mod okta;
mod params;
mod proof_memory;
mod reply;
mod server;
mod state;
mod token;
mod user;
mod util;
mod web_app;

pub use builder::MockOktaBuilder;
pub use clock::{Clock, ManualClock, SystemClock};
pub use config::{
    DEFAULT_CLIENT_ID, DEFAULT_REFRESH_TOKEN_GRACE, DEFAULT_SPA_ORIGIN, DEFAULT_WEB_CLIENT_ID,
    DEFAULT_WEB_CLIENT_SECRET, OKTA_DEFAULT_AUDIENCE, OKTA_KEYS_CACHE_CONTROL,
};
pub use dpop::{DpopAlg, DpopKey, ProofBuilder};
pub use error::MockError;
pub use fault::KeysFault;
pub use keys::MockKey;
pub use okta::MockOkta;
pub use token::TokenBuilder;
pub use user::{AuthorizeOutcome, MockUser};
pub use web_app::{ClientAuthMethod, WebApp};
