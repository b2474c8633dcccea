//! The layer in front of a plain hyper service (no axum), over real HTTP on loopback.

mod common;
use common::MockExt;

use std::convert::Infallible;
use std::sync::Arc;

use bytes::Bytes;
use http::{Request, Response, StatusCode};
use http_body_util::Full;
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use hyper_util::service::TowerToHyperService;
use tower::{service_fn, ServiceBuilder};
use tower_okta::AccessClaims;
use tower_okta_mock::MockOkta;

async fn handler(req: Request<Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
    let sub = req
        .extensions()
        .get::<Arc<AccessClaims>>()
        .map_or("none".to_owned(), |c| c.sub.clone());
    Ok(Response::new(Full::new(Bytes::from(sub))))
}

#[tokio::test]
async fn hyper_service_behind_the_layer() {
    let okta = MockOkta::start().await.unwrap();
    let verifier = okta.verifier_builder().build().unwrap();
    let service = ServiceBuilder::new()
        .layer(verifier.layer())
        .service(service_fn(handler));

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let (stream, _) = listener.accept().await.unwrap();
            let service = TowerToHyperService::new(service.clone());
            tokio::spawn(async move {
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    });

    let client = reqwest::Client::new();
    let url = format!("http://{addr}/anything");
    let ok = client
        .get(&url)
        .bearer_auth(okta.access_token())
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), StatusCode::OK);
    assert_eq!(ok.text().await.unwrap(), "jane.doe@example.com");

    let missing = client.get(&url).send().await.unwrap();
    assert_eq!(missing.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        missing.headers()[http::header::WWW_AUTHENTICATE],
        "Bearer realm=\"api\", DPoP algs=\"ES256 RS256\""
    );

    let bad = client
        .get(&url)
        .bearer_auth("not.a.token")
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), StatusCode::UNAUTHORIZED);
    assert!(bad.headers()[http::header::WWW_AUTHENTICATE]
        .to_str()
        .unwrap()
        .contains("invalid_token"));
}
