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
//! One adapter is needed: the layer answers a rejection in plain HTTP (`401` with
//! `WWW-Authenticate` and a small JSON body). A gRPC client reads that JSON as a gRPC message frame
//! and reports `INTERNAL` ("invalid compression flag"), so `grpc_rejection` below, added with
//! `tower::ServiceBuilder::map_response` outside the layer, turns rejections into gRPC statuses:
//! `401`/`400` -> `UNAUTHENTICATED`, `403` -> `PERMISSION_DENIED`, `503` -> `UNAVAILABLE`, with
//! the `error_description` as the message and the `WWW-Authenticate` challenge kept as metadata.
//! The body types need nothing: the layer's `ResponseBody<tonic::body::Body>` is an
//! `http_body::Body<Data = Bytes>`, which is all `Server::layer` asks for.

use std::net::SocketAddr;
use std::sync::Arc;

use http::header::WWW_AUTHENTICATE;
use http::StatusCode;
use tokio_stream::wrappers::TcpListenerStream;
use tonic::transport::{Channel, Server};
use tonic::{Code, Request, Status};
use tonic_health::pb::health_client::HealthClient;
use tonic_health::pb::health_server::HealthServer;
use tonic_health::pb::HealthCheckRequest;
use tonic_health::server::{HealthReporter, HealthService};
use tower::ServiceBuilder;
use tower_okta::mock::MockOkta;
use tower_okta::{AccessClaims, ResponseBody, Verifier};
use tracing_subscriber::EnvFilter;

/// Turns the layer's HTTP rejections into gRPC statuses (a trailers-only gRPC response: HTTP 200,
/// `grpc-status`, `grpc-message`); gRPC answers from tonic (always HTTP 200) pass unchanged.
pub(crate) fn grpc_rejection<B: Default>(
    response: http::Response<ResponseBody<B>>,
) -> http::Response<ResponseBody<B>> {
    let status = response.status();
    if status == StatusCode::OK {
        return response;
    }
    let challenge = response.headers().get(WWW_AUTHENTICATE).cloned();
    let code = match status {
        StatusCode::UNAUTHORIZED | StatusCode::BAD_REQUEST => Code::Unauthenticated,
        StatusCode::FORBIDDEN => Code::PermissionDenied,
        StatusCode::SERVICE_UNAVAILABLE => Code::Unavailable,
        _ => Code::Unknown,
    };
    let message = challenge
        .as_ref()
        .and_then(|value| value.to_str().ok())
        .and_then(error_description)
        .unwrap_or_else(|| match code {
            Code::Unauthenticated => "a bearer token is required".to_owned(),
            Code::Unavailable => "the token issuer's signing keys are unavailable".to_owned(),
            _ => format!("request rejected with HTTP {status}"),
        });
    let mut grpc = Status::new(code, message).into_http::<B>();
    if let Some(challenge) = challenge {
        grpc.headers_mut().insert(WWW_AUTHENTICATE, challenge);
    }
    grpc.map(ResponseBody::new)
}

/// The `error_description` of a `WWW-Authenticate: Bearer ...` challenge, unquoted.
fn error_description(challenge: &str) -> Option<String> {
    const KEY: &str = "error_description=\"";
    let start = challenge.find(KEY)? + KEY.len();
    let mut description = String::new();
    let mut chars = challenge[start..].chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => description.push(chars.next()?),
            '"' => return Some(description),
            c => description.push(c),
        }
    }
    None
}

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
        // `map_response` wraps the layer, so it sees (and converts) the layer's rejections.
        .layer(
            ServiceBuilder::new()
                .map_response(grpc_rejection)
                .layer(verifier.layer()),
        )
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
    let mut mock = None;
    let verifier = if std::env::var("OKTA_ISSUER").is_ok_and(|v| !v.trim().is_empty()) {
        Verifier::from_env()?
    } else {
        let okta = MockOkta::start().await?;
        let verifier = okta.verifier_builder().build()?;
        mock = Some(okta);
        verifier
    };
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
