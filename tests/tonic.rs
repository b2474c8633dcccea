//! tonic behind the layer: a real gRPC server (tonic-health's `grpc.health.v1.Health`) on
//! 127.0.0.1 with `Server::builder().layer(...)`, called by tonic-health's generated client. The
//! layer answers gRPC requests with gRPC statuses by itself.

mod common;
use common::MockExt;

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use tokio_stream::wrappers::TcpListenerStream;
use tonic::metadata::MetadataValue;
use tonic::transport::{Channel, Server};
use tonic::{Code, Request, Status};
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;
use tonic_health::pb::health_server::HealthServer;
use tonic_health::pb::HealthCheckRequest;
use tonic_health::server::{HealthReporter, HealthService};
use tower_okta::AccessClaims;
use tower_okta_mock::MockOkta;

/// A mock Okta and a gRPC server behind the layer; `seen` holds the `sub` of every call that
/// reached the health service.
struct Fixture {
    okta: MockOkta,
    addr: SocketAddr,
    seen: Arc<Mutex<Vec<String>>>,
}

async fn start() -> Fixture {
    let okta = MockOkta::start().await.expect("mock Okta starts");
    let verifier = okta.verifier_builder().build().expect("verifier builds");
    let seen = Arc::new(Mutex::new(Vec::new()));
    let record = {
        let seen = seen.clone();
        move |request: Request<()>| {
            let claims = request
                .extensions()
                .get::<Arc<AccessClaims>>()
                .ok_or_else(|| Status::internal("no claims in the request extensions"))?;
            seen.lock().unwrap().push(claims.sub.clone());
            Ok(request)
        }
    };
    let health = HealthServer::with_interceptor(
        HealthService::from_health_reporter(HealthReporter::new()),
        record,
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = Server::builder()
        .layer(verifier.layer())
        .add_service(health)
        .serve_with_incoming(TcpListenerStream::new(listener));
    tokio::spawn(server);
    Fixture { okta, addr, seen }
}

/// Calls `Health/Check` for the whole server, with `authorization` metadata when given.
async fn check(addr: SocketAddr, authorization: Option<String>) -> Result<ServingStatus, Status> {
    let channel = Channel::from_shared(format!("http://{addr}"))
        .unwrap()
        .connect()
        .await
        .expect("connects to the server");
    let authorization: Option<MetadataValue<_>> = authorization.map(|a| a.parse().unwrap());
    let mut client = HealthClient::with_interceptor(channel, move |mut request: Request<()>| {
        if let Some(value) = &authorization {
            request
                .metadata_mut()
                .insert("authorization", value.clone());
        }
        Ok(request)
    });
    let request = HealthCheckRequest {
        service: String::new(),
    };
    Ok(client.check(request).await?.into_inner().status())
}

fn challenge(status: &Status) -> &str {
    status
        .metadata()
        .get("www-authenticate")
        .expect("the WWW-Authenticate challenge is kept as metadata")
        .to_str()
        .unwrap()
}

#[track_caller]
fn assert_invalid_token(status: &Status) {
    assert_eq!(status.code(), Code::Unauthenticated, "{status:?}");
    let challenge = challenge(status);
    assert!(
        challenge.starts_with(r#"Bearer realm="api", error="invalid_token", error_description=""#),
        "{challenge}"
    );
    assert!(!status.message().is_empty(), "{status:?}");
    assert!(challenge.contains(status.message()), "{status:?}");
}

#[tokio::test]
async fn valid_access_token_reaches_the_service() {
    let fixture = start().await;
    let builder = fixture.okta.access_token_builder();
    let sub = builder.claims()["sub"].as_str().unwrap().to_owned();
    let token = builder.build();

    let answer = check(fixture.addr, Some(format!("Bearer {token}"))).await;
    assert_eq!(answer.expect("Check succeeds"), ServingStatus::Serving);
    assert_eq!(*fixture.seen.lock().unwrap(), vec![sub]);
}

#[tokio::test]
async fn no_token_is_unauthenticated() {
    let fixture = start().await;

    let status = check(fixture.addr, None).await.unwrap_err();
    assert_eq!(status.code(), Code::Unauthenticated, "{status:?}");
    assert_eq!(status.message(), "a bearer token is required");
    assert_eq!(
        challenge(&status),
        r#"Bearer realm="api", DPoP algs="ES256 RS256""#
    );
    assert!(fixture.seen.lock().unwrap().is_empty());
}

#[tokio::test]
async fn tampered_token_is_unauthenticated() {
    let fixture = start().await;
    let token = fixture.okta.access_token();
    let parts: Vec<&str> = token.split('.').collect();
    assert_eq!(parts.len(), 3);
    let mut claims: serde_json::Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[1]).unwrap()).unwrap();
    claims["sub"] = "someone.else@example.com".into();
    let payload = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&claims).unwrap());
    let tampered = format!("{}.{payload}.{}", parts[0], parts[2]);
    assert_ne!(tampered, token);

    let status = check(fixture.addr, Some(format!("Bearer {tampered}")))
        .await
        .unwrap_err();
    assert_invalid_token(&status);
    assert!(fixture.seen.lock().unwrap().is_empty());

    // The untouched token still works, so the rejection was the tampering.
    let answer = check(fixture.addr, Some(format!("Bearer {token}"))).await;
    assert_eq!(answer.expect("Check succeeds"), ServingStatus::Serving);
}

#[tokio::test]
async fn id_token_is_unauthenticated() {
    let fixture = start().await;
    let id_token = fixture.okta.id_token(None);

    let status = check(fixture.addr, Some(format!("Bearer {id_token}")))
        .await
        .unwrap_err();
    assert_invalid_token(&status);
    assert!(fixture.seen.lock().unwrap().is_empty());
}

#[tokio::test]
async fn malformed_authorization_is_unauthenticated() {
    let fixture = start().await;

    let status = check(fixture.addr, Some("Bearer a b".to_owned()))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::Unauthenticated, "{status:?}");
    assert!(
        challenge(&status).contains(r#"error="invalid_request""#),
        "{status:?}"
    );
    assert!(fixture.seen.lock().unwrap().is_empty());
}
