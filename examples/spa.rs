//! A real single-page app against tower-okta: `@okta/okta-auth-js` signs in (Authorization Code
//! with PKCE, or the implicit flow with `?flow=implicit`), the page shows the ID token's claims and
//! calls this example's API with the access token: as a Bearer token, or in DPoP mode (`?dpop=1`,
//! PKCE only) as a sender-constrained token with a fresh DPoP proof for every request (RFC 9449).
//!
//! Three servers in one process:
//! - the embedded mock Okta (a custom authorization server on an ephemeral loopback port: it
//!   signs Jane Doe in without asking, and trusts the SPA's origin for CORS);
//! - the SPA, on `http://localhost:8585` (`SPA_BIND`): `index.html` (also at `/callback`, the
//!   sign-in redirect URI), the esbuild bundle under `/dist/`, and a generated `/config.json`
//!   telling the page the issuer, the client ID and the API's URL;
//! - the API, on `http://127.0.0.1:3000` (`BIND`): `GET /health` public, `GET /api/me` behind
//!   `verifier.layer()` (which accepts both `Authorization: Bearer` and `Authorization: DPoP` with
//!   a `DPoP` proof) returning the token's claims, tower-http's `CorsLayer` outermost so that the
//!   page can send the `DPoP` header and read the answers, `401`s included (`WWW-Authenticate`
//!   and `DPoP-Nonce` are exposed).
//!
//! The page needs the npm bundle once (Node.js 20 or later):
//!
//! ```sh
//! npm --prefix examples/spa ci && npm --prefix examples/spa run build
//! cargo run --example spa       # then open http://localhost:8585/
//! ```
//!
//! On the page: sign in, see the claims, call the API; "Call with a tampered token" changes one
//! character of the access token's signature (the API answers `401 invalid_token`), and "Renew
//! tokens" spends the refresh token (PKCE asks for `offline_access`) for new tokens and a rotated
//! refresh token. `MOCK_ACCESS_TOKEN_LIFETIME=20` makes the mock issue 20-second access tokens:
//! okta-auth-js counts a token as expired 30 s before its `exp`, so every API call then renews
//! first, which is what an expired session looks like.
//!
//! DPoP mode, `http://localhost:8585/?dpop=1` (or `?flow=pkce&dpop=1`): okta-auth-js keeps a
//! non-extractable key pair in IndexedDB, proves it at the token endpoint (the mock asks for a
//! nonce first, as Okta does) and gets `token_type: DPoP` tokens bound to the key (`cnf.jkt`, shown
//! in the API's answer); every API call carries `Authorization: DPoP <token>` and a new proof for
//! that URL and method. Three buttons show what the API refuses: the bound token replayed as a
//! Bearer token (`401 invalid_token`), the last proof sent again (`401 invalid_dpop_proof`: a proof
//! is single-use) and a proof made for another URL (`401 invalid_dpop_proof`). "Renew tokens" proves
//! the same key to the token endpoint. `?dpop=0` goes back to Bearer tokens.
//!
//! `examples/spa/e2e/run.sh` drives all of it in headless Chromium.
//!
//! Against your Okta org: an SPA app integration with the sign-in redirect URI
//! `http://localhost:8585/callback`, the sign-out redirect URI `http://localhost:8585/`, grant
//! types Authorization Code (PKCE) and Refresh Token, and `http://localhost:8585` as a Trusted
//! Origin (CORS); for DPoP mode, also tick "Require Demonstrating Proof of Possession (DPoP)
//! header in token requests" in the app integration's settings:
//!
//! ```sh
//! OKTA_ISSUER=https://dev-123.okta.com/oauth2/default OKTA_CLIENT_ID=0oa... \
//!   cargo run --example spa
//! ```
//!
//! Environment: `OKTA_ISSUER`, `OKTA_CLIENT_ID`, optional `OKTA_AUDIENCE` (if the authorization
//! server's Audience is not the client ID), `BIND` (the API, default `127.0.0.1:3000`),
//! `SPA_BIND` (the page, default `127.0.0.1:8585`; its origin is `http://localhost:{port}`; port 0
//! picks a free one, and the printed lines say which), `MOCK_REFRESH_TOKEN_GRACE` (seconds within which a
//! spent refresh token still works, mock only, default Okta's 30), `MOCK_ACCESS_TOKEN_LIFETIME` (seconds, mock
//! only), `SPA_DIR` (where `index.html` and `dist/` are, default `examples/spa`), `RUST_LOG`.

mod common;
use common::MockExt;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use axum::routing::get;
use axum::{Json, Router};
use http::header::{AUTHORIZATION, CONTENT_TYPE, WWW_AUTHENTICATE};
use http::{HeaderName, HeaderValue, Method};
use serde_json::json;
use tower_http::cors::CorsLayer;
use tower_http::services::{ServeDir, ServeFile};
use tower_okta::{AccessClaims, Claims, Verifier};
use tower_okta_mock::MockOkta;
use tracing_subscriber::EnvFilter;

/// How to build the page's bundle, from the crate's root.
const BUILD_COMMAND: &str = "npm --prefix examples/spa ci && npm --prefix examples/spa run build";

async fn me(claims: Claims<AccessClaims>) -> Json<Claims<AccessClaims>> {
    Json(claims)
}

async fn health() -> &'static str {
    "ok"
}

/// The DPoP proof of a request (RFC 9449).
const DPOP: HeaderName = HeaderName::from_static("dpop");
/// The server nonce a DPoP client must put in its next proof (RFC 9449, section 8).
const DPOP_NONCE: HeaderName = HeaderName::from_static("dpop-nonce");

/// The API: `/api/me` behind the tower-okta layer, `/health` public, CORS for the SPA outermost.
fn api(verifier: &Verifier, spa_origin: &str) -> Result<Router, http::header::InvalidHeaderValue> {
    let cors = CorsLayer::new()
        .allow_origin(HeaderValue::from_str(spa_origin)?)
        .allow_methods([Method::GET])
        // `Authorization: Bearer` or `Authorization: DPoP` with its `DPoP` proof.
        .allow_headers([AUTHORIZATION, CONTENT_TYPE, DPOP])
        // The page shows the challenge of a 401, and a DPoP client reads the server's nonce.
        .expose_headers([WWW_AUTHENTICATE, DPOP_NONCE])
        .max_age(Duration::from_secs(600));
    let protected = Router::new()
        .route("/api/me", get(me))
        .route_layer(verifier.layer());
    Ok(Router::new()
        .route("/health", get(health))
        .merge(protected)
        .layer(cors))
}

/// The SPA: the page (at `/` and at its redirect URIs), the bundle, and `/config.json`.
fn spa(dir: &std::path::Path, config: serde_json::Value) -> Router {
    let index = dir.join("index.html");
    Router::new()
        .route_service("/", ServeFile::new(&index))
        .route_service("/callback", ServeFile::new(&index))
        .route_service("/silent-callback", ServeFile::new(&index))
        .route("/config.json", get(move || async move { Json(config) }))
        .nest_service("/dist", ServeDir::new(dir.join("dist")))
}

/// `http://{addr}` as a browser should call it: `localhost` for an unspecified address.
fn browser_url(addr: SocketAddr) -> String {
    if addr.ip().is_unspecified() {
        format!("http://localhost:{}", addr.port())
    } else {
        format!("http://{addr}")
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    // Logs go to stderr; stdout carries only the lines below (URLs, token, curl command).
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();

    let spa_dir = std::env::var_os("SPA_DIR").map_or_else(
        || PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("examples/spa"),
        PathBuf::from,
    );
    if !spa_dir.join("dist/app.js").is_file() {
        eprintln!(
            "The SPA's bundle {} is missing. Build it once (Node.js 20 or later) from the crate's \
             root with:\n\n    {BUILD_COMMAND}\n",
            spa_dir.join("dist/app.js").display()
        );
        std::process::exit(2);
    }

    let bind: SocketAddr = std::env::var("BIND")
        .unwrap_or_else(|_| "127.0.0.1:3000".to_owned())
        .parse()?;
    let spa_bind: SocketAddr = std::env::var("SPA_BIND")
        .unwrap_or_else(|_| "127.0.0.1:8585".to_owned())
        .parse()?;
    let spa_listener = tokio::net::TcpListener::bind(spa_bind).await?;
    let api_listener = tokio::net::TcpListener::bind(bind).await?;
    // The page's origin is `localhost`, like the redirect URIs registered in Okta.
    let spa_origin = format!("http://localhost:{}", spa_listener.local_addr()?.port());
    let api_url = browser_url(api_listener.local_addr()?);

    // With no OKTA_ISSUER, run against the embedded mock Okta (kept alive for the whole run),
    // registered for this page's origin.
    let mut mock = None;
    let verifier = if std::env::var("OKTA_ISSUER").is_ok_and(|v| !v.trim().is_empty()) {
        Verifier::from_env()?
    } else {
        eprintln!("{}", common::MOCK_BANNER);
        let mut builder = MockOkta::builder().spa_origin(&spa_origin);
        if let Ok(seconds) = std::env::var("MOCK_ACCESS_TOKEN_LIFETIME") {
            builder = builder.access_token_lifetime(Duration::from_secs(seconds.trim().parse()?));
        }
        if let Ok(seconds) = std::env::var("MOCK_REFRESH_TOKEN_GRACE") {
            builder = builder.refresh_token_grace(Duration::from_secs(seconds.trim().parse()?));
        }
        let okta = builder.start().await?;
        let verifier = okta.verifier_builder().build()?;
        mock = Some(okta);
        verifier
    };
    if let Err(error) = verifier.refresh_keys().await {
        tracing::warn!(%error, "could not fetch the issuer's keys yet; will retry on demand");
    }

    let config = json!({
        "issuer": verifier.issuer(),
        "clientId": verifier.client_id(),
        "apiUrl": api_url,
    });

    println!("issuer:    {}", verifier.issuer());
    println!("client id: {}", verifier.client_id());
    println!("api:       {api_url}");
    if let Some(okta) = &mock {
        let token = okta.access_token();
        println!("mock Okta is running; a test access token (valid for 1 hour):");
        println!("{token}");
        println!("try:");
        println!("curl -H \"Authorization: Bearer {token}\" {api_url}/api/me");
    }
    println!("spa:       {spa_origin}/");
    println!(
        "open {spa_origin}/ in a browser (Authorization Code with PKCE; {spa_origin}/?dpop=1 for \
         DPoP-bound tokens; {spa_origin}/?flow=implicit for the implicit flow)"
    );

    let api = axum::serve(api_listener, api(&verifier, &spa_origin)?);
    let page = axum::serve(spa_listener, spa(&spa_dir, config));
    tokio::select! {
        result = api => result?,
        result = page => result?,
        _ = tokio::signal::ctrl_c() => {}
    }
    drop(mock);
    Ok(())
}
