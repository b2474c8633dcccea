//! A gRPC server behind tower-okta: tonic's `Server::builder().layer(...)` puts the layer in front
//! of every service, here the standard `grpc.health.v1.Health` service from `tonic-health` (its
//! code is generated ahead of time, so no `protoc` is needed). A call without a valid Okta access
//! token fails with the gRPC status `UNAUTHENTICATED`; a call with one reaches the service, which
//! finds the verified `Arc<AccessClaims>` in the request extensions.
//!
//! Run it with no configuration to use the embedded mock Okta; it prints a freshly minted access
//! token and a ready `grpcurl` command:
//!
//! ```sh
//! cargo run --example tonic
//! ```
//!
//! Or let the example be its own client: it starts the server in-process, calls `Check` with and
//! without the token (the `authorization` metadata is added by a tonic interceptor) and prints the
//! results:
//!
//! ```sh
//! cargo run --example tonic -- client
//! ```
//!
//! Against your Okta org (a custom authorization server whose Audience is the SPA's client ID):
//!
//! ```sh
//! OKTA_ISSUER=https://dev-123.okta.com/oauth2/default OKTA_CLIENT_ID=0oa... \
//!   cargo run --example tonic
//! ```
//!
//! Environment: `OKTA_ISSUER`, `OKTA_CLIENT_ID`, optional `OKTA_AUDIENCE` (if the authorization
//! server's Audience is not the client ID), `BIND` (default `127.0.0.1:50051`; in client mode an
//! ephemeral loopback port unless set), `OKTA_ACCESS_TOKEN` (client mode against a real Okta: the
//! token to send), `RUST_LOG`.
//!
//! Nothing else is needed: for gRPC requests (`content-type: application/grpc`) the layer answers
//! a rejection as a gRPC status (a trailers-only response with `grpc-status` and `grpc-message`):
//! `UNAUTHENTICATED` for a missing, malformed or invalid token, `PERMISSION_DENIED` for a missing
//! scope, `UNAVAILABLE` when Okta's keys cannot be had; the `WWW-Authenticate` challenge is kept as
//! metadata. The layer's `ResponseBody<tonic::body::Body>` is an `http_body::Body<Data = Bytes>`,
//! which is all `Server::layer` asks for.

mod common;

use std::net::SocketAddr;
use std::sync::Arc;

use tokio_stream::wrappers::TcpListenerStream;
use tonic::transport::{Channel, Server};
use tonic::{Code, Request, Status};
use tonic_health::pb::health_client::HealthClient;
use tonic_health::pb::health_server::HealthServer;
use tonic_health::pb::HealthCheckRequest;
use tonic_health::server::{HealthReporter, HealthService};
use tower_okta::{AccessClaims, Verifier};
use tracing_subscriber::EnvFilter;

/// A server-side tonic interceptor: the claims the layer verified are in the request extensions.
fn log_caller(request: Request<()>) -> Result<Request<()>, Status> {
    match request.extensions().get::<Arc<AccessClaims>>() {
        Some(claims) => tracing::info!(sub = %claims.sub, scopes = ?claims.scp, "health check"),
        None => return Err(Status::internal("the tower-okta layer is missing")),
    }
    Ok(request)
}

/// Serves the health service behind the layer on `listener` until the process ends.
async fn serve(
    verifier: &Verifier,
    reporter: HealthReporter,
    listener: tokio::net::TcpListener,
) -> Result<(), tonic::transport::Error> {
    let health =
        HealthServer::with_interceptor(HealthService::from_health_reporter(reporter), log_caller);
    Server::builder()
        .layer(verifier.layer())
        .add_service(health)
        .serve_with_incoming(TcpListenerStream::new(listener))
        .await
}

/// Calls `Check` with the token (when there is one) and without, and prints the answers. Fails if
/// either answer is not the expected one.
async fn client(addr: SocketAddr, token: Option<String>) -> Result<(), Box<dyn std::error::Error>> {
    let channel = Channel::from_shared(format!("http://{addr}"))?
        .connect()
        .await?;
    let check = || HealthCheckRequest {
        service: String::new(),
    };

    match token {
        Some(token) => {
            let bearer: tonic::metadata::MetadataValue<_> = format!("Bearer {token}").parse()?;
            let mut authorized =
                HealthClient::with_interceptor(channel.clone(), move |mut request: Request<()>| {
                    request
                        .metadata_mut()
                        .insert("authorization", bearer.clone());
                    Ok(request)
                });
            let answer = authorized.check(check()).await?.into_inner();
            println!("with the token:    {:?}", answer.status());
        }
        None => println!("with the token:    skipped (set OKTA_ACCESS_TOKEN)"),
    }

    let mut anonymous = HealthClient::new(channel);
    match anonymous.check(check()).await {
        Err(status) if status.code() == Code::Unauthenticated => {
            println!(
                "without a token:   {:?}: {}",
                status.code(),
                status.message()
            );
            Ok(())
        }
        other => Err(format!("expected UNAUTHENTICATED without a token, got {other:?}").into()),
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    // Logs go to stderr; stdout carries only the lines below.
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();

    let client_mode = std::env::args().nth(1).as_deref() == Some("client");
    let default_bind = if client_mode {
        "127.0.0.1:0"
    } else {
        "127.0.0.1:50051"
    };
    let bind: SocketAddr = std::env::var("BIND")
        .unwrap_or_else(|_| default_bind.to_owned())
        .parse()?;

    // With no OKTA_ISSUER, run against the embedded mock Okta (kept alive for the whole run).
    let (verifier, mock) = common::verifier_from_env_or_mock().await?;
    if let Err(error) = verifier.refresh_keys().await {
        tracing::warn!(%error, "could not fetch the issuer's keys yet; will retry on demand");
    }

    let listener = tokio::net::TcpListener::bind(bind).await?;
    let addr = listener.local_addr()?;
    let token = match &mock {
        Some(okta) => Some(okta.access_token()),
        None => std::env::var("OKTA_ACCESS_TOKEN").ok(),
    };
    println!("issuer:    {}", verifier.issuer());
    println!("client id: {}", verifier.client_id());

    if client_mode {
        let server = {
            let verifier = verifier.clone();
            tokio::spawn(async move { serve(&verifier, HealthReporter::new(), listener).await })
        };
        let result = client(addr, token).await;
        server.abort();
        drop(mock);
        return result;
    }

    if let (Some(token), Some(_)) = (&token, &mock) {
        // grpcurl needs the service's schema: the server has no reflection service, so give it
        // tonic-health's compiled descriptor set (or `-import-path DIR -proto health.proto`).
        let protoset = std::env::temp_dir().join("grpc-health-v1.protoset");
        std::fs::write(&protoset, tonic_health::pb::FILE_DESCRIPTOR_SET)?;
        println!("mock Okta is running; a test access token (valid for 1 hour):");
        println!("{token}");
        println!("try:");
        println!(
            "grpcurl -plaintext -protoset {} -H \"authorization: Bearer {token}\" {addr} grpc.health.v1.Health/Check",
            protoset.display()
        );
        println!("or: cargo run --example tonic -- client");
    }
    println!("listening on http://{addr} (gRPC, HTTP/2 without TLS)");
    tokio::select! {
        served = serve(&verifier, HealthReporter::new(), listener) => served?,
        _ = tokio::signal::ctrl_c() => {}
    }
    drop(mock);
    Ok(())
}
