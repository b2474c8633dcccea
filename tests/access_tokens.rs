//! Valid tokens through the layer and through the verifier alone.

mod common;
use common::MockExt;

use common::{app, get_with_token, send_with, start};
use http::StatusCode;
use serde::Deserialize;
use tower_okta::{AuthError, TokenError};

#[tokio::test]
async fn valid_access_token_reaches_the_handler_with_its_claims() {
    let (okta, verifier) = start().await;
    let app = app(&verifier);
    let answer = get_with_token(&app, "/api/me", &okta.access_token()).await;
    assert_eq!(answer.status, StatusCode::OK, "{answer:?}");
    let claims = answer.json();
    assert_eq!(claims["iss"], okta.issuer());
    assert_eq!(claims["aud"], okta.client_id());
    assert_eq!(claims["cid"], okta.client_id());
    assert_eq!(claims["sub"], "jane.doe@example.com");
    assert_eq!(claims["scp"][0], "openid");
    assert_eq!(claims["ver"], 1, "unnamed claims are kept");
    assert!(claims["uid"].as_str().unwrap().starts_with("00u"));
    assert_eq!(okta.key_fetch_count(), 1);
    // A second request uses the cached key.
    let again = get_with_token(&app, "/api/me", &okta.access_token()).await;
    assert_eq!(again.status, StatusCode::OK);
    assert_eq!(okta.key_fetch_count(), 1);
    assert_eq!(okta.discovery_fetch_count(), 1);
}

#[tokio::test]
async fn public_route_needs_no_token() {
    let (_okta, verifier) = start().await;
    let answer = send_with(&app(&verifier), |r| r.uri("/health")).await;
    assert_eq!(answer.status, StatusCode::OK);
    assert_eq!(answer.body, "ok");
}

#[tokio::test]
async fn valid_id_token_through_the_id_token_layer() {
    let (okta, verifier) = start().await;
    let answer = get_with_token(
        &app(&verifier),
        "/id/me",
        &okta.id_token(Some("n-0S6_WzA2Mj")),
    )
    .await;
    assert_eq!(answer.status, StatusCode::OK, "{answer:?}");
    let claims = answer.json();
    assert_eq!(claims["aud"], okta.client_id());
    assert_eq!(claims["nonce"], "n-0S6_WzA2Mj");
    assert_eq!(claims["amr"][0], "pwd");
}

#[tokio::test]
async fn id_token_nonce_is_checked_when_given() {
    let (okta, verifier) = start().await;
    let token = okta.id_token(Some("abc"));
    let claims = verifier.verify_id_token(&token, Some("abc")).await.unwrap();
    assert_eq!(claims.nonce.as_deref(), Some("abc"));
    assert_eq!(
        verifier
            .verify_id_token(&token, Some("xyz"))
            .await
            .unwrap_err(),
        AuthError::InvalidToken(TokenError::NonceMismatch)
    );
    let without = okta.id_token(None);
    assert_eq!(
        verifier
            .verify_id_token(&without, Some("abc"))
            .await
            .unwrap_err(),
        AuthError::InvalidToken(TokenError::NonceMismatch)
    );
    assert!(verifier.verify_id_token(&without, None).await.is_ok());
}

#[tokio::test]
async fn verifier_works_without_tower_and_with_a_custom_claims_type() {
    #[derive(Deserialize)]
    struct Mine {
        sub: String,
        scp: Vec<String>,
        department: String,
    }
    let (okta, verifier) = start().await;
    let token = okta
        .access_token_builder()
        .claim("department", "sales")
        .build();
    let mine: Mine = verifier.verify_access_token_as(&token).await.unwrap();
    assert_eq!(mine.sub, "jane.doe@example.com");
    assert_eq!(mine.department, "sales");
    assert_eq!(mine.scp.len(), 3);
    // A payload that does not fit the caller's type is an invalid claim, not a panic.
    let no_department = okta.access_token();
    assert_eq!(
        verifier
            .verify_access_token_as::<Mine>(&no_department)
            .await
            .err(),
        Some(AuthError::InvalidToken(TokenError::InvalidClaim))
    );
}

#[tokio::test]
async fn custom_claims_type_through_the_layer() {
    use axum::routing::get;
    use axum::Router;
    use tower_okta::Claims;

    #[derive(Deserialize)]
    struct Mine {
        sub: String,
    }
    let (okta, verifier) = start().await;
    let app = Router::new()
        .route("/who", get(|c: Claims<Mine>| async move { c.sub.clone() }))
        .layer(verifier.layer().claims::<Mine>());
    let answer = get_with_token(&app, "/who", &okta.access_token()).await;
    assert_eq!(answer.status, StatusCode::OK);
    assert_eq!(answer.body, "jane.doe@example.com");
}

#[tokio::test]
async fn client_credentials_token_is_an_access_token_without_uid() {
    let (okta, verifier) = start().await;
    let token = okta
        .access_token_builder()
        .without_claim("uid")
        .claim("sub", okta.client_id())
        .claim("scp", ["orders:read"])
        .build();
    let claims = verifier.verify_access_token(&token).await.unwrap();
    assert!(claims.is_client_token());
    assert!(claims.has_scope("orders:read"));
}

#[tokio::test]
async fn audience_can_differ_from_the_client_id() {
    let okta = tower_okta_mock::MockOkta::builder()
        .audience("api://default")
        .start()
        .await
        .unwrap();
    let verifier = okta.verifier_builder().build().unwrap();
    let claims = verifier
        .verify_access_token(&okta.access_token())
        .await
        .unwrap();
    assert_eq!(
        claims.aud,
        tower_okta::Audience::One("api://default".into())
    );
    // ID tokens are still for the client ID.
    assert!(verifier
        .verify_id_token(&okta.id_token(None), None)
        .await
        .is_ok());
    // An access token whose audience is the client ID is not for this API.
    let wrong = okta
        .access_token_builder()
        .claim("aud", okta.client_id())
        .build();
    assert_eq!(
        verifier.verify_access_token(&wrong).await.unwrap_err(),
        AuthError::InvalidToken(TokenError::WrongAudience)
    );
}

#[tokio::test]
async fn cors_preflight_passes_without_a_token_and_can_be_turned_off() {
    use axum::routing::{get, options};
    use axum::Router;
    let (_okta, verifier) = start().await;
    let routes = || {
        Router::new()
            .route("/api/x", get(|| async { "x" }))
            .route("/api/x", options(|| async { "preflight" }))
    };
    let preflight = |r: http::request::Builder| {
        r.method("OPTIONS")
            .uri("/api/x")
            .header("Origin", "http://localhost:8585")
            .header("Access-Control-Request-Method", "GET")
    };
    let open = routes().layer(verifier.layer());
    let answer = send_with(&open, preflight).await;
    assert_eq!(answer.status, StatusCode::OK);
    assert_eq!(answer.body, "preflight");
    // A plain OPTIONS without the CORS header is not a preflight.
    let plain = send_with(&open, |r| r.method("OPTIONS").uri("/api/x")).await;
    assert_eq!(plain.status, StatusCode::UNAUTHORIZED);
    let closed = routes().layer(verifier.layer().allow_cors_preflight(false));
    assert_eq!(
        send_with(&closed, preflight).await.status,
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn claims_extractor_without_the_layer_is_a_500_naming_it() {
    use axum::routing::get;
    use axum::Router;
    use tower_okta::{AccessClaims, Claims};
    let app = Router::new()
        .route("/a", get(|_: Claims<AccessClaims>| async { "never" }))
        .route(
            "/b",
            get(|c: Option<Claims<AccessClaims>>| async move { format!("{}", c.is_some()) }),
        );
    let answer = send_with(&app, |r| r.uri("/a")).await;
    assert_eq!(answer.status, StatusCode::INTERNAL_SERVER_ERROR);
    assert!(answer.body.contains("OktaAuthLayer"), "{}", answer.body);
    let optional = send_with(&app, |r| r.uri("/b")).await;
    assert_eq!(optional.status, StatusCode::OK);
    assert_eq!(optional.body, "false");
}

#[tokio::test]
async fn one_pass_access_claims_equal_the_serde_deserialization() {
    use base64::Engine;
    let (okta, verifier) = start().await;
    let token = okta
        .access_token_builder()
        .claim("groups", serde_json::json!(["Everyone", "Admins"]))
        .claim(
            "nested",
            serde_json::json!({"a": [1, 2.5, null, {"b": "c"}], "d": true}),
        )
        .claim("uid", serde_json::Value::Null)
        .claim("aud", serde_json::json!(["other", okta.client_id()]))
        .claim("big", u64::MAX)
        .claim("neg", -3)
        .build();
    let fast = verifier.verify_access_token(&token).await.unwrap();
    let payload = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(token.split('.').nth(1).unwrap())
        .unwrap();
    let serde: tower_okta::AccessClaims = serde_json::from_slice(&payload).unwrap();
    assert_eq!(fast, serde);
    assert_eq!(fast.uid, None);
    assert_eq!(fast.extra["nested"]["a"][3]["b"], "c");
    // A custom type still gets the serde path, from the same token.
    let value: serde_json::Value = verifier.verify_access_token_as(&token).await.unwrap();
    assert_eq!(value["big"], u64::MAX);
}
