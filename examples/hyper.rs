//! tower-okta in front of a plain hyper service, without axum: the layer inserts
//! `Arc<AccessClaims>` into the request extensions and the service reads them.
//!
//! ```sh
//! cargo run --example hyper            # against the embedded mock Okta
//! OKTA_ISSUER=https://dev-123.okta.com/oauth2/default OKTA_CLIENT_ID=0oa... \
//!   cargo run --example hyper
//! ```
//!
//! Environment as in the `axum` example: `OKTA_ISSUER`, `OKTA_CLIENT_ID`, `OKTA_AUDIENCE`, `BIND`.
//! `GET /health` is public; every other path requires an access token and `GET /api/me` returns
//! its claims.

mod common;

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;

use bytes::Bytes;
use http::{Request, Response, StatusCode};
use http_body_util::Full;
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use hyper_util::service::TowerToHyperService;
use tower::{service_fn, ServiceBuilder, ServiceExt};
use tower_okta::AccessClaims;

async fn api(req: Request<Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
    let claims = req.extensions().get::<Arc<AccessClaims>>().cloned();
    let response = match (req.uri().path(), claims) {
        ("/api/me", Some(claims)) => Response::builder()
            .header("content-type", "application/json")
            .body(Full::new(Bytes::from(
                serde_json::to_vec(&*claims).unwrap_or_default(),
            ))),
        _ => Response::builder()
            .status(StatusCode::NOT_FOUND)
            .body(Full::new(Bytes::from_static(b"not found"))),
    };
    Ok(response.unwrap_or_default())
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let bind: SocketAddr = std::env::var("BIND")
        .unwrap_or_else(|_| "127.0.0.1:3000".to_owned())
        .parse()?;
    // With no OKTA_ISSUER, the embedded mock Okta (kept alive for the whole run).
    let (verifier, mock) = common::verifier_from_env_or_mock().await?;

    let protected = ServiceBuilder::new()
        .layer(verifier.layer())
        .service(service_fn(api));

    let listener = tokio::net::TcpListener::bind(bind).await?;
    let addr = listener.local_addr()?;
    println!("issuer: {}", verifier.issuer());
    if let Some(okta) = &mock {
        let token = okta.access_token();
        println!("mock Okta is running; a test access token (valid for 1 hour):");
        println!("{token}");
        println!("curl -H \"Authorization: Bearer {token}\" http://{addr}/api/me");
    }
    println!("listening on http://{addr}");

    loop {
        let (stream, _) = listener.accept().await?;
        let protected = protected.clone();
        tokio::spawn(async move {
            // /health is public; everything else goes through the layer.
            let service = service_fn(move |req: Request<Incoming>| {
                let protected = protected.clone();
                async move {
                    if req.uri().path() == "/health" {
                        let body = Full::new(Bytes::from_static(b"ok"));
                        return Ok::<_, Infallible>(
                            Response::new(body).map(tower_okta::ResponseBody::new),
                        );
                    }
                    protected.oneshot(req).await
                }
            });
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(stream), TowerToHyperService::new(service))
                .await;
        });
    }
}
