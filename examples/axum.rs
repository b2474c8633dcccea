//! An axum API behind tower-okta: `GET /health` is public, `GET /api/me` requires a valid Okta
//! access token and returns its claims as JSON.
//!
//! Run it with no configuration to use the embedded mock Okta; it prints a freshly minted access
//! token and a ready `curl` command:
//!
//! ```sh
//! cargo run --example axum
//! ```
//!
//! Against your Okta org (a custom authorization server whose Audience is the SPA's client ID):
//!
//! ```sh
//! OKTA_ISSUER=https://dev-123.okta.com/oauth2/default OKTA_CLIENT_ID=0oa... \
//!   cargo run --example axum
//! ```
//!
//! Environment: `OKTA_ISSUER`, `OKTA_CLIENT_ID`, optional `OKTA_AUDIENCE` (if the authorization
//! server's Audience is not the client ID), `BIND` (default `127.0.0.1:3000`), `RUST_LOG`.

mod common;

use std::net::SocketAddr;

use axum::routing::get;
use axum::{Json, Router};
use tower_okta::{AccessClaims, Claims};
use tracing_subscriber::EnvFilter;

async fn me(claims: Claims<AccessClaims>) -> Json<Claims<AccessClaims>> {
    Json(claims)
}

async fn health() -> &'static str {
    "ok"
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    // Logs go to stderr; stdout carries only the lines below (issuer, token, curl command).
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

    let api = Router::new()
        .route("/api/me", get(me))
        .route_layer(verifier.layer());
    let app = Router::new().route("/health", get(health)).merge(api);

    let listener = tokio::net::TcpListener::bind(bind).await?;
    let addr = listener.local_addr()?;
    println!("issuer:    {}", verifier.issuer());
    println!("client id: {}", verifier.client_id());
    if let Some(okta) = &mock {
        let token = okta.access_token();
        println!("mock Okta is running; a test access token (valid for 1 hour):");
        println!("{token}");
        println!("try:");
        println!("curl -H \"Authorization: Bearer {token}\" http://{addr}/api/me");
    }
    println!("listening on http://{addr}");
    axum::serve(listener, app)
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await?;
    drop(mock);
    Ok(())
}
