//! A machine client (an Okta service app using client credentials with `private_key_jwt`)
//! calling an API protected by tower-okta.
//!
//! With no configuration it runs the whole picture in-process against the embedded mock Okta:
//! it registers a service app with a freshly generated key, starts an axum API behind the layer,
//! gets a token with `ClientCredentials`, calls `GET /api/me` through the `AddBearerLayer` (the
//! API sees a client token: `sub` = client ID, no `uid`), and shows a refused scope.
//!
//! ```sh
//! cargo run --example service_client
//! ```
//!
//! As an ops tool against your org it prints a token for the service app:
//!
//! ```sh
//! OKTA_ISSUER=https://dev-123.okta.com/oauth2/default OKTA_SERVICE_CLIENT_ID=0oa... \
//! OKTA_PRIVATE_KEY="$(cat service-app.pem)" OKTA_KEY_ID=my-key-id OKTA_SCOPES="orders:read" \
//!   cargo run --example service_client
//! ```
//!
//! `OKTA_PRIVATE_KEY` holds a PEM private key or a private JWK (JSON, with its `kid`; then
//! `OKTA_KEY_ID` is not needed). `cargo run --example okta_keygen` makes a key pair.

mod common;
use common::MockExt;

use axum::routing::get;
use axum::{Json, Router};
use bytes::Bytes;
use http_body_util::{BodyExt, Empty};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use tower::{Service, ServiceBuilder};
use tower_okta::client::{ClientCredentials, ClientError, SigningKey};
use tower_okta::{AccessClaims, Claims};
use tower_okta_mock::MockOkta;

async fn me(claims: Claims<AccessClaims>) -> Json<Claims<AccessClaims>> {
    Json(claims)
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    if let Ok(issuer) = std::env::var("OKTA_ISSUER") {
        let client_id = std::env::var("OKTA_SERVICE_CLIENT_ID")?;
        let kid = std::env::var("OKTA_KEY_ID").unwrap_or_default();
        let scopes = std::env::var("OKTA_SCOPES").unwrap_or_default();
        let client = ClientCredentials::builder()
            .issuer(issuer)
            .client_id(client_id)
            .private_key_from_env("OKTA_PRIVATE_KEY", kid)?
            .scopes(scopes.split_whitespace())
            .build()?;
        let token = client.token().await?;
        eprintln!(
            "access token, expires at {} (Unix time):",
            token.expires_at()
        );
        println!("{}", token.secret());
        return Ok(());
    }

    // The mock Okta, a service app registered with a new key, and the API.
    let okta = MockOkta::start().await?;
    let key = SigningKey::generate()?;
    okta.register_service_app("0oa-ingestion-bot", &key.public_jwk(), &["orders:read"])?;
    let verifier = okta.verifier_builder().build()?;
    let api = Router::new()
        .route("/api/me", get(me))
        .route_layer(verifier.layer());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let api_addr = listener.local_addr()?;
    tokio::spawn(async move { axum::serve(listener, api).await });
    println!("mock Okta issuer: {}", okta.issuer());
    println!("API:              http://{api_addr}/api/me");

    let client = ClientCredentials::builder()
        .issuer(okta.issuer())
        .client_id("0oa-ingestion-bot")
        .key(key.clone())
        .scopes(["orders:read"])
        .build()?;

    // An HTTP client whose requests carry the service app's token.
    let mut http = ServiceBuilder::new()
        .layer(client.layer())
        .service(Client::builder(TokioExecutor::new()).build_http::<Empty<Bytes>>());
    let request = http::Request::get(format!("http://{api_addr}/api/me")).body(Empty::new())?;
    let response = http.call(request).await?;
    let status = response.status();
    let body = response.into_body().collect().await?.to_bytes();
    println!("GET /api/me as the service app: {status}");
    println!("{}", String::from_utf8_lossy(&body));

    // A scope the access policy does not grant is refused by Okta, with a typed error.
    let greedy = ClientCredentials::builder()
        .issuer(okta.issuer())
        .client_id("0oa-ingestion-bot")
        .key(key)
        .scopes(["orders:admin"])
        .build()?;
    match greedy.token().await {
        Err(ClientError::OAuth { kind, description }) => {
            println!(
                "asking for orders:admin: {kind} ({})",
                description.unwrap_or_default()
            );
        }
        other => println!("unexpected: {other:?}"),
    }
    Ok(())
}
