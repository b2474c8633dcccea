//! CORS for a single-page app on another origin, with tower-http's `CorsLayer` outside the
//! tower-okta layer (the shape of the `spa_cors` example): preflights need no token, and the
//! layer's 401 answers carry the CORS headers so the SPA can read them.

mod common;
use common::MockExt;

use axum::body::Body;
use axum::routing::{get, post};
use axum::{Json, Router};
use http::header::{
    ACCESS_CONTROL_ALLOW_HEADERS, ACCESS_CONTROL_ALLOW_METHODS, ACCESS_CONTROL_ALLOW_ORIGIN,
    ACCESS_CONTROL_EXPOSE_HEADERS, ACCESS_CONTROL_REQUEST_HEADERS, ACCESS_CONTROL_REQUEST_METHOD,
    AUTHORIZATION, CONTENT_TYPE, ORIGIN, WWW_AUTHENTICATE,
};
use http::{HeaderMap, HeaderName, HeaderValue, Method, Request, Response, StatusCode};
use http_body_util::BodyExt;
use serde_json::{json, Value};
use tower::ServiceExt;
use tower_http::cors::{AllowOrigin, CorsLayer};
use tower_okta::{AccessClaims, Claims, Verifier};
use tower_okta_mock::MockOkta;

const SPA_ORIGIN: &str = "http://localhost:8585";

async fn me(claims: Claims<AccessClaims>) -> Json<Claims<AccessClaims>> {
    Json(claims)
}

async fn post_message(claims: Claims<AccessClaims>, Json(message): Json<Value>) -> Json<Value> {
    Json(json!({ "from": claims.sub, "text": message["text"] }))
}

fn cors() -> CorsLayer {
    CorsLayer::new()
        .allow_origin(AllowOrigin::list([HeaderValue::from_static(SPA_ORIGIN)]))
        .allow_methods([Method::GET, Method::POST])
        .allow_headers([AUTHORIZATION, CONTENT_TYPE, HeaderName::from_static("dpop")])
        .expose_headers([WWW_AUTHENTICATE, HeaderName::from_static("dpop-nonce")])
}

/// The example's shape: `/api/*` behind the layer with `route_layer`, `/health` public, CORS
/// outermost.
fn app(verifier: &Verifier) -> Router {
    let api = Router::new()
        .route("/api/me", get(me))
        .route("/api/messages", post(post_message))
        .route_layer(verifier.layer());
    Router::new()
        .route("/health", get(|| async { "ok" }))
        .merge(api)
        .layer(cors())
}

async fn start() -> (MockOkta, Verifier) {
    let okta = MockOkta::start().await.expect("mock Okta starts");
    let verifier = okta.verifier_builder().build().expect("verifier builds");
    (okta, verifier)
}

struct Answer {
    status: StatusCode,
    headers: HeaderMap,
    body: Vec<u8>,
}

impl Answer {
    fn header(&self, name: impl http::header::AsHeaderName) -> Option<&str> {
        self.headers.get(name).map(|v| v.to_str().unwrap())
    }

    /// The lower-cased items of a comma-separated header (absent: none).
    fn list(&self, name: impl http::header::AsHeaderName) -> Vec<String> {
        self.headers
            .get_all(name)
            .iter()
            .flat_map(|v| v.to_str().unwrap().split(','))
            .map(|item| item.trim().to_ascii_lowercase())
            .filter(|item| !item.is_empty())
            .collect()
    }

    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap()
    }
}

async fn send(app: &Router, request: Request<Body>) -> Answer {
    let response: Response<_> = app.clone().oneshot(request).await.unwrap();
    let (parts, body) = response.into_parts();
    let body = body.collect().await.unwrap().to_bytes().to_vec();
    Answer {
        status: parts.status,
        headers: parts.headers,
        body,
    }
}

fn preflight(origin: &str, path: &str, method: &str, headers: &str) -> Request<Body> {
    Request::builder()
        .method(Method::OPTIONS)
        .uri(path)
        .header(ORIGIN, origin)
        .header(ACCESS_CONTROL_REQUEST_METHOD, method)
        .header(ACCESS_CONTROL_REQUEST_HEADERS, headers)
        .body(Body::empty())
        .unwrap()
}

fn get_me(token: Option<&str>) -> Request<Body> {
    let mut request = Request::builder().uri("/api/me").header(ORIGIN, SPA_ORIGIN);
    if let Some(token) = token {
        request = request.header(AUTHORIZATION, format!("Bearer {token}"));
    }
    request.body(Body::empty()).unwrap()
}

#[tokio::test]
async fn preflight_from_the_spa_needs_no_token() {
    let (_okta, verifier) = start().await;
    let app = app(&verifier);

    let answer = send(
        &app,
        preflight(SPA_ORIGIN, "/api/me", "GET", "authorization"),
    )
    .await;
    assert_eq!(answer.status, StatusCode::OK);
    assert_eq!(answer.header(ACCESS_CONTROL_ALLOW_ORIGIN), Some(SPA_ORIGIN));
    let allowed = answer.list(ACCESS_CONTROL_ALLOW_HEADERS);
    assert!(allowed.contains(&"authorization".to_owned()), "{allowed:?}");
    let methods = answer.list(ACCESS_CONTROL_ALLOW_METHODS);
    assert!(methods.contains(&"get".to_owned()), "{methods:?}");
    assert_eq!(answer.header(WWW_AUTHENTICATE), None);

    // The preflight of a JSON POST asks for content-type as well.
    let answer = send(
        &app,
        preflight(
            SPA_ORIGIN,
            "/api/messages",
            "POST",
            "authorization,content-type",
        ),
    )
    .await;
    assert_eq!(answer.status, StatusCode::OK);
    assert_eq!(answer.header(ACCESS_CONTROL_ALLOW_ORIGIN), Some(SPA_ORIGIN));
    let allowed = answer.list(ACCESS_CONTROL_ALLOW_HEADERS);
    assert!(allowed.contains(&"authorization".to_owned()), "{allowed:?}");
    assert!(allowed.contains(&"content-type".to_owned()), "{allowed:?}");
    assert!(answer
        .list(ACCESS_CONTROL_ALLOW_METHODS)
        .contains(&"post".to_owned()));
}

#[tokio::test]
async fn preflight_from_another_origin_is_not_allowed() {
    let (_okta, verifier) = start().await;
    let app = app(&verifier);

    for origin in [
        "http://evil.example",
        "http://localhost:8586",
        "https://localhost:8585",
    ] {
        let answer = send(&app, preflight(origin, "/api/me", "GET", "authorization")).await;
        assert_eq!(answer.header(ACCESS_CONTROL_ALLOW_ORIGIN), None, "{origin}");
    }
}

#[tokio::test]
async fn get_with_a_valid_token_carries_cors_headers() {
    let (okta, verifier) = start().await;
    let app = app(&verifier);
    let builder = okta.access_token_builder();
    let sub = builder.claims()["sub"].clone();
    let token = builder.build();

    let answer = send(&app, get_me(Some(&token))).await;
    assert_eq!(answer.status, StatusCode::OK);
    assert_eq!(answer.header(ACCESS_CONTROL_ALLOW_ORIGIN), Some(SPA_ORIGIN));
    assert_eq!(answer.json()["sub"], sub);

    let request = Request::builder()
        .method(Method::POST)
        .uri("/api/messages")
        .header(ORIGIN, SPA_ORIGIN)
        .header(AUTHORIZATION, format!("Bearer {token}"))
        .header(CONTENT_TYPE, "application/json")
        .body(Body::from(r#"{"text":"hello"}"#))
        .unwrap();
    let answer = send(&app, request).await;
    assert_eq!(answer.status, StatusCode::OK);
    assert_eq!(answer.header(ACCESS_CONTROL_ALLOW_ORIGIN), Some(SPA_ORIGIN));
    assert_eq!(answer.json(), json!({ "from": sub, "text": "hello" }));
}

#[tokio::test]
async fn get_without_a_token_is_a_401_the_spa_can_read() {
    let (_okta, verifier) = start().await;
    let app = app(&verifier);

    let answer = send(&app, get_me(None)).await;
    assert_eq!(answer.status, StatusCode::UNAUTHORIZED);
    assert_eq!(answer.header(ACCESS_CONTROL_ALLOW_ORIGIN), Some(SPA_ORIGIN));
    assert_eq!(
        answer.header(WWW_AUTHENTICATE),
        Some(r#"Bearer realm="api", DPoP algs="ES256 RS256""#)
    );
    let exposed = answer.list(ACCESS_CONTROL_EXPOSE_HEADERS);
    assert!(
        exposed.contains(&"www-authenticate".to_owned()),
        "{exposed:?}"
    );
    assert_eq!(answer.json()["error"], "unauthorized");
}

#[tokio::test]
async fn invalid_token_is_a_401_the_spa_can_read() {
    let (okta, verifier) = start().await;
    let app = app(&verifier);

    let answer = send(&app, get_me(Some(&okta.id_token(None)))).await;
    assert_eq!(answer.status, StatusCode::UNAUTHORIZED);
    assert_eq!(answer.header(ACCESS_CONTROL_ALLOW_ORIGIN), Some(SPA_ORIGIN));
    let challenge = answer.header(WWW_AUTHENTICATE).unwrap();
    assert!(
        challenge.starts_with(r#"Bearer realm="api", error="invalid_token""#),
        "{challenge}"
    );
}

#[tokio::test]
async fn health_is_public() {
    let (_okta, verifier) = start().await;
    let app = app(&verifier);

    let request = Request::builder()
        .uri("/health")
        .header(ORIGIN, SPA_ORIGIN)
        .body(Body::empty())
        .unwrap();
    let answer = send(&app, request).await;
    assert_eq!(answer.status, StatusCode::OK);
    assert_eq!(answer.body, b"ok");
    assert_eq!(answer.header(ACCESS_CONTROL_ALLOW_ORIGIN), Some(SPA_ORIGIN));
}

/// The wrong order, tower-okta outside CORS: preflights still pass (the layer lets them through),
/// but the 401 has no CORS headers, so a browser hides it from the SPA.
#[tokio::test]
async fn auth_outside_cors_hides_the_401_from_the_spa() {
    let (_okta, verifier) = start().await;
    let wrong = Router::new()
        .route("/api/me", get(me))
        .layer(cors())
        .layer(verifier.layer());

    let answer = send(&wrong, get_me(None)).await;
    assert_eq!(answer.status, StatusCode::UNAUTHORIZED);
    assert_eq!(answer.header(ACCESS_CONTROL_ALLOW_ORIGIN), None);

    let answer = send(
        &wrong,
        preflight(SPA_ORIGIN, "/api/me", "GET", "authorization"),
    )
    .await;
    assert_eq!(answer.status, StatusCode::OK);
    assert_eq!(answer.header(ACCESS_CONTROL_ALLOW_ORIGIN), Some(SPA_ORIGIN));

    // Without the layer's preflight pass-through, that order breaks the preflight too.
    let strict = Router::new()
        .route("/api/me", get(me))
        .layer(cors())
        .layer(verifier.layer().allow_cors_preflight(false));
    let answer = send(
        &strict,
        preflight(SPA_ORIGIN, "/api/me", "GET", "authorization"),
    )
    .await;
    assert_eq!(answer.status, StatusCode::UNAUTHORIZED);
    assert_eq!(answer.header(ACCESS_CONTROL_ALLOW_ORIGIN), None);
}
