//! Per-route authorization with tower-okta: scope guards, a group guard, an in-handler scope
//! check and optional authentication, on one axum router.
//!
//! ```sh
//! cargo run --example scopes          # against the embedded mock Okta; prints tokens and curls
//! OKTA_ISSUER=https://dev-123.okta.com/oauth2/default OKTA_CLIENT_ID=0oa... \
//!   cargo run --example scopes
//! ```
//!
//! Routes:
//! - `GET /health`: public;
//! - `GET /api/hello`: optional authentication (greets the user if a valid token is sent; a bad
//!   token is still a 401);
//! - `GET /api/orders`: needs the scope `orders:read` (403 `insufficient_scope` otherwise);
//! - `POST /api/orders`: needs both `orders:read` and `orders:write`;
//! - `GET /api/admin`: needs membership in the `Admins` group (Okta `groups` claim);
//! - `DELETE /api/orders/{id}`: checks `orders:delete` inside the handler with `?`.
//!
//! Environment as in the `axum` example: `OKTA_ISSUER`, `OKTA_CLIENT_ID`, `OKTA_AUDIENCE`,
//! `BIND` (default `127.0.0.1:3000`).

mod common;

use std::net::SocketAddr;

use axum::extract::Path;
use axum::routing::{delete, get};
use axum::Router;
use serde_json::json;
use tower_okta::{AccessClaims, AuthError, Claims, RequireGroupLayer, RequireScopeLayer};

async fn hello(claims: Option<Claims<AccessClaims>>) -> String {
    match claims {
        Some(claims) => format!("hello {}", claims.sub),
        None => "hello, anonymous".to_owned(),
    }
}

async fn delete_order(
    claims: Claims<AccessClaims>,
    Path(id): Path<u32>,
) -> Result<String, AuthError> {
    claims.require_all_scopes(["orders:delete"])?;
    Ok(format!("order {id} deleted"))
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(false)
        .init();
    let bind: SocketAddr = std::env::var("BIND")
        .unwrap_or_else(|_| "127.0.0.1:3000".to_owned())
        .parse()?;
    // With no OKTA_ISSUER, the embedded mock Okta (kept alive for the whole run).
    let (verifier, mock) = common::verifier_from_env_or_mock().await?;

    // Layers added last run first: the auth layer wraps each guard.
    let read = Router::new()
        .route("/api/orders", get(|| async { "orders: []" }))
        .route_layer(RequireScopeLayer::any(["orders:read"]))
        .route_layer(verifier.layer());
    let write = Router::new()
        .route(
            "/api/orders",
            axum::routing::post(|| async { "order created" }),
        )
        .route_layer(RequireScopeLayer::all(["orders:read", "orders:write"]))
        .route_layer(verifier.layer());
    let admin = Router::new()
        .route("/api/admin", get(|| async { "admin area" }))
        .route_layer(RequireGroupLayer::any(["Admins"]))
        .route_layer(verifier.layer());
    let deleting = Router::new()
        .route("/api/orders/{id}", delete(delete_order))
        .route_layer(verifier.layer());
    let optional = Router::new()
        .route("/api/hello", get(hello))
        .route_layer(verifier.layer().optional());
    let app = Router::new()
        .route("/health", get(|| async { "ok" }))
        .merge(read)
        .merge(write)
        .merge(admin)
        .merge(deleting)
        .merge(optional);

    let listener = tokio::net::TcpListener::bind(bind).await?;
    let addr = listener.local_addr()?;
    println!("issuer: {}", verifier.issuer());
    if let Some(okta) = &mock {
        let reader = okta
            .access_token_builder()
            .claim("scp", json!(["openid", "orders:read"]))
            .build();
        let admin = okta
            .access_token_builder()
            .claim(
                "scp",
                json!(["openid", "orders:read", "orders:write", "orders:delete"]),
            )
            .claim("groups", json!(["Everyone", "Admins"]))
            .build();
        println!("a reader (scope orders:read) and an admin token, valid for 1 hour:");
        println!("READER={reader}");
        println!("ADMIN={admin}");
        println!("curl http://{addr}/api/hello");
        println!("curl -H \"Authorization: Bearer $READER\" http://{addr}/api/orders");
        println!(
            "curl -i -X POST -H \"Authorization: Bearer $READER\" http://{addr}/api/orders   # 403"
        );
        println!("curl -X POST -H \"Authorization: Bearer $ADMIN\" http://{addr}/api/orders");
        println!(
            "curl -i -H \"Authorization: Bearer $READER\" http://{addr}/api/admin           # 403"
        );
        println!("curl -X DELETE -H \"Authorization: Bearer $ADMIN\" http://{addr}/api/orders/7");
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
