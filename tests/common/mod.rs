//! Helpers shared by the integration tests: a mock Okta, an axum app behind the layer, and a way
//! to send one request through it.
#![allow(dead_code, unreachable_pub)]

use axum::body::Body;
use axum::routing::get;
use axum::{Json, Router};
use http::{HeaderMap, Request, StatusCode};
use tower::ServiceExt;
use tower_okta::{AccessClaims, Claims, IdClaims, Verifier, VerifierBuilder};
use tower_okta_mock::MockOkta;

/// A verifier builder preset with a mock's issuer, client ID and audience (the mock is its own
/// crate and knows nothing of tower-okta).
pub trait MockExt {
    fn verifier_builder(&self) -> VerifierBuilder;
}

impl MockExt for MockOkta {
    fn verifier_builder(&self) -> VerifierBuilder {
        let builder = Verifier::builder()
            .issuer(self.issuer())
            .client_id(self.client_id());
        if self.audience() == self.client_id() {
            builder
        } else {
            builder.audience(self.audience())
        }
    }
}

/// What came back.
#[derive(Debug)]
pub struct Answer {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: String,
}

impl Answer {
    pub fn www_authenticate(&self) -> Option<&str> {
        self.headers
            .get(http::header::WWW_AUTHENTICATE)
            .map(|v| v.to_str().unwrap())
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap()
    }

    /// Asserts an RFC 6750 `invalid_token` answer.
    #[track_caller]
    pub fn assert_invalid_token(&self) {
        assert_eq!(self.status, StatusCode::UNAUTHORIZED, "{self:?}");
        let challenge = self.www_authenticate().expect("WWW-Authenticate");
        assert!(challenge.starts_with("Bearer realm=\"api\""), "{challenge}");
        assert!(challenge.contains("error=\"invalid_token\""), "{challenge}");
        assert!(challenge.contains("error_description=\""), "{challenge}");
        assert_eq!(self.json()["error"], "invalid_token");
    }
}

/// Publishes a brand-new key and signs with it from now on: a `kid` the verifier has never seen
/// (unlike `rotate_key`, which promotes the next key Okta already announced).
pub fn sign_with_a_new_key(okta: &MockOkta) -> String {
    let key = tower_okta_mock::MockKey::generate().expect("key");
    let kid = key.kid().to_owned();
    okta.publish_key(key.clone());
    okta.set_signing_key(key);
    kid
}

pub async fn start() -> (MockOkta, Verifier) {
    let okta = MockOkta::start().await.expect("mock Okta starts");
    let verifier = okta.verifier_builder().build().expect("verifier builds");
    (okta, verifier)
}

async fn me(claims: Claims<AccessClaims>) -> Json<Claims<AccessClaims>> {
    Json(claims)
}

async fn id_me(claims: Claims<IdClaims>) -> Json<Claims<IdClaims>> {
    Json(claims)
}

/// `/api/me` (access tokens) and `/id/me` (ID tokens) behind the layers; `/health` public.
pub fn app(verifier: &Verifier) -> Router {
    let api = Router::new()
        .route("/api/me", get(me))
        .layer(verifier.layer());
    let id = Router::new()
        .route("/id/me", get(id_me))
        .layer(verifier.id_token_layer());
    Router::new()
        .route("/health", get(|| async { "ok" }))
        .merge(api)
        .merge(id)
}

/// Sends a request built by `f` through `app`.
pub async fn send_with(
    app: &Router,
    f: impl FnOnce(http::request::Builder) -> http::request::Builder,
) -> Answer {
    let request = f(Request::builder()).body(Body::empty()).unwrap();
    let response = app.clone().oneshot(request).await.unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    let bytes = axum::body::to_bytes(response.into_body(), 1 << 20)
        .await
        .unwrap();
    Answer {
        status,
        headers,
        body: String::from_utf8(bytes.to_vec()).unwrap(),
    }
}

/// `GET path` with `Authorization: Bearer {token}`.
pub async fn get_with_token(app: &Router, path: &str, token: &str) -> Answer {
    send_with(app, |r| {
        r.uri(path)
            .header(http::header::AUTHORIZATION, format!("Bearer {token}"))
    })
    .await
}
