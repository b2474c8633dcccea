//! An axum API for a single-page app served from another origin (`http://localhost:8585`, the
//! origin of the SPA's Okta sign-in redirect URIs): tower-http's `CorsLayer` lets that origin call
//! the API with `GET`/`POST` and the `authorization`, `content-type` and `dpop` (RFC 9449 proofs)
//! headers; the tower-okta layer guards the `/api/*` routes (`route_layer`), and `GET /health`
//! stays public.
//!
//! - `GET /api/me` returns the token's claims; `POST /api/messages` takes `{"text": "..."}` (JSON,
//!   hence `content-type` in the allowed headers) and echoes it with the caller's `sub`.
//!
//! Why the CORS preflight needs no token: before a cross-origin request with an `Authorization`
//! header, the browser sends an `OPTIONS` preflight (`Access-Control-Request-Method`,
//! `Access-Control-Request-Headers: authorization`) and never attaches credentials to it; a
//! preflight answered `401` fails the real request before it is sent. Here `CorsLayer` answers
//! preflights itself, before the tower-okta layer; and the tower-okta layer lets preflights through
//! unauthenticated by default anyway (`allow_cors_preflight(false)` turns that off), so a stack
//! with the layers the other way round still passes its preflights.
//!
//! Why `CorsLayer` must be the outermost layer: a browser hides from the page every cross-origin
//! response that lacks `Access-Control-Allow-Origin`, error answers included. With `CorsLayer`
//! outside the tower-okta layer, the `401`/`400`/`403`/`503` answers of the tower-okta layer carry
//! the CORS headers too, so the SPA can read the status and the JSON error (and, since it is listed
//! in `expose_headers`, the `WWW-Authenticate` challenge and a DPoP server nonce) and send the user to sign in again. Put
//! the tower-okta layer outside and the SPA only sees an opaque network error.
//!
//! (Okta's *Trusted Origins* setting is a different thing: it lets the SPA call Okta itself.)
//!
//! ```sh
//! cargo run --example spa_cors     # against the embedded mock Okta; prints a token and curl lines
//! OKTA_ISSUER=https://dev-123.okta.com/oauth2/default OKTA_CLIENT_ID=0oa... \
//!   cargo run --example spa_cors
//! ```
//!
//! Environment: `OKTA_ISSUER`, `OKTA_CLIENT_ID`, optional `OKTA_AUDIENCE` (if the authorization
//! server's Audience is not the client ID), `BIND` (default `127.0.0.1:3000`), `RUST_LOG`.

mod common;

use std::net::SocketAddr;
use std::time::Duration;

use axum::routing::{get, post};
use axum::{Json, Router};
use http::header::{AUTHORIZATION, CONTENT_TYPE, WWW_AUTHENTICATE};
use http::{HeaderName, HeaderValue, Method};
use serde_json::{json, Value};
use tower_http::cors::{AllowOrigin, CorsLayer};
use tower_okta::{AccessClaims, Claims, Verifier};
use tracing_subscriber::EnvFilter;

/// Where the SPA is served from.
const SPA_ORIGIN: &str = "http://localhost:8585";

async fn me(claims: Claims<AccessClaims>) -> Json<Claims<AccessClaims>> {
    Json(claims)
}

async fn post_message(claims: Claims<AccessClaims>, Json(message): Json<Value>) -> Json<Value> {
    Json(json!({ "from": claims.sub, "text": message["text"] }))
}

async fn health() -> &'static str {
    "ok"
}

/// CORS for the SPA's origin only.
fn cors() -> CorsLayer {
    CorsLayer::new()
        // `list` echoes the request's Origin only when it is listed; other origins get no
        // `Access-Control-Allow-Origin` (a single `HeaderValue` would be sent to everyone).
        .allow_origin(AllowOrigin::list([HeaderValue::from_static(SPA_ORIGIN)]))
        .allow_methods([Method::GET, Method::POST])
        .allow_headers([AUTHORIZATION, CONTENT_TYPE, HeaderName::from_static("dpop")])
        // Let the SPA read the challenge of a 401 (the JSON body is readable without this).
        .expose_headers([WWW_AUTHENTICATE, HeaderName::from_static("dpop-nonce")])
        .max_age(Duration::from_secs(600))
}

/// The API: `/api/*` behind the tower-okta layer, `/health` public, CORS outermost.
fn app(verifier: &Verifier) -> Router {
    let api = Router::new()
        .route("/api/me", get(me))
        .route("/api/messages", post(post_message))
        .route_layer(verifier.layer());
    Router::new()
        .route("/health", get(health))
        .merge(api)
        // Added last, so it wraps everything: its headers go on the layer's rejections too.
        .layer(cors())
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    // Logs go to stderr; stdout carries only the lines below (issuer, token, curl commands).
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();

    let bind: SocketAddr = std::env::var("BIND")
        .unwrap_or_else(|_| "127.0.0.1:3000".to_owned())
        .parse()?;

    // With no OKTA_ISSUER, run against the embedded mock Okta (kept alive for the whole run).
    let (verifier, mock) = common::verifier_from_env_or_mock().await?;
    if let Err(error) = verifier.refresh_keys().await {
        tracing::warn!(%error, "could not fetch the issuer's keys yet; will retry on demand");
    }

    let listener = tokio::net::TcpListener::bind(bind).await?;
    let addr = listener.local_addr()?;
    println!("issuer:     {}", verifier.issuer());
    println!("client id:  {}", verifier.client_id());
    println!("SPA origin: {SPA_ORIGIN}");
    if let Some(okta) = &mock {
        let token = okta.access_token();
        println!("mock Okta is running; a test access token (valid for 1 hour):");
        println!("{token}");
        println!("try (-i shows the CORS headers):");
        println!(
            "# the preflight a browser sends first, without a token: 200 with the CORS headers"
        );
        println!(
            "curl -i -X OPTIONS -H \"Origin: {SPA_ORIGIN}\" -H \"Access-Control-Request-Method: GET\" -H \"Access-Control-Request-Headers: authorization\" http://{addr}/api/me"
        );
        println!("# the call itself: 200 with the claims and access-control-allow-origin");
        println!(
            "curl -i -H \"Origin: {SPA_ORIGIN}\" -H \"Authorization: Bearer {token}\" http://{addr}/api/me"
        );
        println!("# with JSON (content-type is allowed)");
        println!(
            "curl -i -H \"Origin: {SPA_ORIGIN}\" -H \"Authorization: Bearer {token}\" -H \"Content-Type: application/json\" -d '{{\"text\":\"hello\"}}' http://{addr}/api/messages"
        );
        println!("# no token: 401, still with access-control-allow-origin so the SPA can read it");
        println!("curl -i -H \"Origin: {SPA_ORIGIN}\" http://{addr}/api/me");
    }
    println!("listening on http://{addr}");
    axum::serve(listener, app(&verifier))
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await?;
    drop(mock);
    Ok(())
}
