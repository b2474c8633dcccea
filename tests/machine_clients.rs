//! Service-app tokens (client credentials with private_key_jwt) and opt-in introspection, over
//! real HTTP against the mock Okta.

mod common;
use common::MockExt;

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::routing::get;
use axum::Router;
use common::get_with_token;
use http::StatusCode;
use tower_okta::client::{ClientCredentials, ClientError, OAuthErrorKind, SigningKey};
use tower_okta::clock::FixedClock;
use tower_okta::{
    AccessClaims, AuthError, Claims, ErrorKind, Introspection, TokenError, WhenUnavailable,
};
use tower_okta_mock::{KeysFault, ManualClock, MockOkta};

const APP: &str = "0oa-ingestion-bot";

/// POSTs a form and returns the status and the JSON answer.
async fn post_form(url: String, pairs: Vec<(&str, String)>) -> (StatusCode, serde_json::Value) {
    let body = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(pairs)
        .finish();
    let response = reqwest::Client::new()
        .post(url)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body)
        .send()
        .await
        .unwrap();
    let status = response.status();
    let bytes = response.bytes().await.unwrap();
    (status, serde_json::from_slice(&bytes).unwrap())
}

fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

async fn service_app() -> (MockOkta, SigningKey) {
    let okta = MockOkta::start().await.unwrap();
    let key = SigningKey::generate().unwrap();
    okta.register_service_app(APP, &key.public_jwk(), &["orders:read", "orders:write"])
        .unwrap();
    (okta, key)
}

fn client(okta: &MockOkta, key: SigningKey, scopes: &[&str]) -> ClientCredentials {
    ClientCredentials::builder()
        .issuer(okta.issuer())
        .client_id(APP)
        .key(key)
        .scopes(scopes.iter().copied())
        .build()
        .unwrap()
}

#[tokio::test]
async fn a_service_app_token_passes_the_layer_as_a_client_token() {
    let (okta, key) = service_app().await;
    let token = client(&okta, key, &["orders:read"]).token().await.unwrap();
    assert!(token.expires_at() > now() + 3000);
    assert!(
        !format!("{token:?}").contains(token.secret()),
        "Debug hides the token"
    );

    let verifier = okta.verifier_builder().build().unwrap();
    async fn whoami(claims: Claims<AccessClaims>) -> String {
        format!(
            "{} client={} scopes={}",
            claims.sub,
            claims.is_client_token(),
            claims.scp.join(",")
        )
    }
    let app = Router::new()
        .route("/whoami", get(whoami))
        .layer(verifier.layer());
    let answer = get_with_token(&app, "/whoami", token.secret()).await;
    assert_eq!(answer.status, StatusCode::OK, "{answer:?}");
    assert_eq!(answer.body, format!("{APP} client=true scopes=orders:read"));
    // A user's token is not a client token.
    let user = get_with_token(&app, "/whoami", &okta.access_token()).await;
    assert!(user.body.contains("client=false"));
}

#[tokio::test]
async fn tokens_are_cached_until_shortly_before_expiry_and_refreshed_single_flight() {
    // The client's clock dates its assertions, and the mock checks them with its own clock
    // (`iat` at most a minute ahead, `exp` in the future): both clocks move together.
    let okta_clock = ManualClock::default();
    let okta = MockOkta::builder()
        .clock(okta_clock.clone())
        .start()
        .await
        .unwrap();
    let key = SigningKey::generate().unwrap();
    okta.register_service_app(APP, &key.public_jwk(), &["orders:read", "orders:write"])
        .unwrap();
    let clock = Arc::new(FixedClock::new(now()));
    let client = ClientCredentials::builder()
        .issuer(okta.issuer())
        .client_id(APP)
        .key(key)
        .scopes(["orders:read"])
        .clock(clock.clone())
        .build()
        .unwrap();
    let tasks: Vec<_> = (0..20)
        .map(|_| {
            let client = client.clone();
            tokio::spawn(async move { client.token().await.unwrap().secret().to_owned() })
        })
        .collect();
    let mut tokens = Vec::new();
    for task in tasks {
        tokens.push(task.await.unwrap());
    }
    tokens.dedup();
    assert_eq!(
        tokens.len(),
        1,
        "one token request for 20 concurrent callers"
    );
    clock.advance(3600 - 61);
    okta_clock.advance(Duration::from_secs(3600 - 61));
    assert_eq!(
        client.token().await.unwrap().secret(),
        tokens[0],
        "still cached"
    );
    clock.advance(1);
    okta_clock.advance(Duration::from_secs(1));
    assert_ne!(
        client.token().await.unwrap().secret(),
        tokens[0],
        "renewed a minute early"
    );
}

#[tokio::test]
async fn okta_errors_are_typed() {
    let (okta, key) = service_app().await;
    let oauth_kind = |e: ClientError| match e {
        ClientError::OAuth { kind, description } => {
            assert!(description.is_some());
            kind
        }
        other => panic!("not an OAuth error: {other}"),
    };
    // A key that is not the registered one.
    let stranger = SigningKey::generate().unwrap();
    let err = client(&okta, stranger, &["orders:read"])
        .token()
        .await
        .unwrap_err();
    assert_eq!(oauth_kind(err), OAuthErrorKind::InvalidClient);
    // A scope not granted to the app.
    let err = client(&okta, key.clone(), &["admin"])
        .token()
        .await
        .unwrap_err();
    assert_eq!(oauth_kind(err), OAuthErrorKind::InvalidScope);
    // An expired assertion (the client's clock is two hours behind).
    let late = ClientCredentials::builder()
        .issuer(okta.issuer())
        .client_id(APP)
        .key(key.clone())
        .scopes(["orders:read"])
        .clock(FixedClock::new(now() - 7200))
        .build()
        .unwrap();
    assert_eq!(
        oauth_kind(late.token().await.unwrap_err()),
        OAuthErrorKind::InvalidClient
    );
    // A replayed assertion.
    let c = client(&okta, key, &["orders:read"]);
    let assertion = c.client_assertion().unwrap();
    let post = |assertion: String| {
        post_form(
            okta.token_endpoint(),
            vec![
                ("grant_type", "client_credentials".to_owned()),
                ("scope", "orders:read".to_owned()),
                (
                    "client_assertion_type",
                    "urn:ietf:params:oauth:client-assertion-type:jwt-bearer".to_owned(),
                ),
                ("client_assertion", assertion),
            ],
        )
    };
    assert_eq!(post(assertion.clone()).await.0, StatusCode::OK);
    let (status, body) = post(assertion).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(body["error"], "invalid_client");
    // The SPA (a public client) may not use the grant.
    let (_, body) = post_form(
        okta.token_endpoint(),
        vec![
            ("grant_type", "client_credentials".to_owned()),
            ("client_id", okta.client_id().to_owned()),
        ],
    )
    .await;
    assert_eq!(body["error"], "unauthorized_client");
}

#[tokio::test]
async fn the_bearer_layer_adds_the_token_to_outgoing_requests() {
    use tower::{service_fn, Layer, ServiceExt};
    let (okta, key) = service_app().await;
    let client = client(&okta, key, &["orders:read"]);
    let verifier = okta.verifier_builder().build().unwrap();
    let echo = service_fn(|req: http::Request<()>| async move {
        Ok::<_, std::convert::Infallible>(
            req.headers()
                .get(http::header::AUTHORIZATION)
                .map(|v| (v.to_str().unwrap().to_owned(), v.is_sensitive())),
        )
    });
    let (header, sensitive) = client
        .layer()
        .layer(echo)
        .oneshot(http::Request::new(()))
        .await
        .unwrap()
        .expect("an Authorization header");
    assert!(sensitive, "marked sensitive so that it is not logged");
    let token = header.strip_prefix("Bearer ").unwrap();
    let claims = verifier.verify_access_token(token).await.unwrap();
    assert_eq!(claims.sub, APP);
}

async fn introspecting(
    introspection: Introspection,
) -> (MockOkta, tower_okta::Verifier, Arc<FixedClock>) {
    let okta = MockOkta::start().await.unwrap();
    let clock = Arc::new(FixedClock::new(now()));
    let verifier = okta
        .verifier_builder()
        .clock(clock.clone())
        .introspection(introspection)
        .build()
        .unwrap();
    (okta, verifier, clock)
}

#[tokio::test]
async fn revoked_tokens_are_refused_within_the_cache_ttl() {
    let (okta, verifier, clock) = introspecting(
        Introspection::public_client(tower_okta_mock::DEFAULT_CLIENT_ID)
            .cache_ttl(Duration::from_secs(30)),
    )
    .await;
    let plain = okta.verifier_builder().build().unwrap();
    let app = Router::new()
        .route("/x", get(|| async { "x" }))
        .layer(verifier.layer());
    let token = okta.access_token();
    assert_eq!(
        get_with_token(&app, "/x", &token).await.status,
        StatusCode::OK
    );
    assert_eq!(okta.introspection_count(), 1);
    assert!(okta.revoke(&token));
    // Cached answer: still accepted, no new request.
    assert_eq!(
        get_with_token(&app, "/x", &token).await.status,
        StatusCode::OK
    );
    assert_eq!(okta.introspection_count(), 1);
    // After the TTL Okta is asked again and the token is refused.
    clock.advance(30);
    let refused = get_with_token(&app, "/x", &token).await;
    refused.assert_invalid_token();
    assert!(refused.body.contains(TokenError::Inactive.description()));
    assert_eq!(okta.introspection_count(), 2);
    assert_eq!(
        verifier.verify_access_token(&token).await.unwrap_err(),
        AuthError::InvalidToken(TokenError::Inactive)
    );
    // The documented trade-off: local verification alone still accepts it until exp.
    assert!(plain.verify_access_token(&token).await.is_ok());
}

#[tokio::test]
async fn introspection_is_single_flight_per_token() {
    let (okta, verifier, _clock) = introspecting(Introspection::public_client(
        tower_okta_mock::DEFAULT_CLIENT_ID,
    ))
    .await;
    verifier.refresh_keys().await.unwrap();
    okta.set_introspect_fault(KeysFault::Delay(Duration::from_millis(200)));
    let token = okta.access_token();
    let tasks: Vec<_> = (0..50)
        .map(|_| {
            let (verifier, token) = (verifier.clone(), token.clone());
            tokio::spawn(async move { verifier.verify_access_token(&token).await })
        })
        .collect();
    for task in tasks {
        assert!(task.await.unwrap().is_ok());
    }
    assert_eq!(okta.introspection_count(), 1);
}

#[tokio::test]
async fn unavailable_introspection_trusts_local_verification_or_fails_closed() {
    let (okta, trusting, _clock) = introspecting(Introspection::public_client(
        tower_okta_mock::DEFAULT_CLIENT_ID,
    ))
    .await;
    okta.set_introspect_fault(KeysFault::Status(500));
    assert!(trusting
        .verify_access_token(&okta.access_token())
        .await
        .is_ok());

    let (okta, closed, _clock) = introspecting(
        Introspection::public_client(tower_okta_mock::DEFAULT_CLIENT_ID)
            .when_unavailable(WhenUnavailable::FailClosed),
    )
    .await;
    okta.set_introspect_fault(KeysFault::CloseConnection);
    assert_eq!(
        closed
            .verify_access_token(&okta.access_token())
            .await
            .unwrap_err()
            .kind(),
        ErrorKind::IntrospectionUnavailable
    );
    let app = Router::new()
        .route("/x", get(|| async { "x" }))
        .layer(closed.layer());
    let answer = get_with_token(&app, "/x", &okta.access_token()).await;
    assert_eq!(answer.status, StatusCode::SERVICE_UNAVAILABLE);
    // Its own answer, not the signing keys': no challenge, a body that says what is missing.
    assert!(answer.www_authenticate().is_none(), "{answer:?}");
    assert_eq!(answer.json()["error"], "temporarily_unavailable");
    assert_eq!(
        answer.json()["error_description"],
        "the token issuer cannot confirm the token is active; try again later"
    );
    // Forgeries never reach Okta: local verification comes first.
    let before = okta.introspection_count();
    get_with_token(&app, "/x", "not.a.token")
        .await
        .assert_invalid_token();
    assert_eq!(okta.introspection_count(), before);
}

#[tokio::test]
async fn rate_limited_introspection_backs_off() {
    let (okta, verifier, clock) = introspecting(
        Introspection::public_client(tower_okta_mock::DEFAULT_CLIENT_ID)
            .when_unavailable(WhenUnavailable::FailClosed),
    )
    .await;
    okta.set_introspect_fault(KeysFault::Status(429));
    let first = okta.access_token();
    assert_eq!(
        verifier
            .verify_access_token(&first)
            .await
            .unwrap_err()
            .kind(),
        ErrorKind::IntrospectionUnavailable
    );
    assert_eq!(okta.introspection_count(), 1);
    // Paused: other tokens do not reach Okta during the backoff.
    for _ in 0..5 {
        let other = okta.access_token();
        assert!(verifier.verify_access_token(&other).await.is_err());
    }
    assert_eq!(okta.introspection_count(), 1);
    okta.set_introspect_fault(KeysFault::None);
    // Okta's X-Rate-Limit-Reset is a minute ahead (the mock's clock); with jitter, at most 72 s.
    clock.advance(73);
    assert!(verifier.verify_access_token(&first).await.is_ok());
    assert_eq!(okta.introspection_count(), 2);
}

#[tokio::test]
async fn a_confidential_client_introspects_with_private_key_jwt() {
    let okta = MockOkta::start().await.unwrap();
    let key = SigningKey::generate().unwrap();
    okta.register_service_app("0oa-api", &key.public_jwk(), &[])
        .unwrap();
    let verifier = okta
        .verifier_builder()
        .introspection(Introspection::private_key_jwt("0oa-api", key))
        .build()
        .unwrap();
    let token = okta.access_token();
    assert!(verifier.verify_access_token(&token).await.is_ok());
    okta.revoke(&token);
    let other = okta.access_token();
    okta.revoke(&other);
    assert_eq!(
        verifier.verify_access_token(&other).await.unwrap_err(),
        AuthError::InvalidToken(TokenError::Inactive)
    );
    // With an unregistered key the endpoint refuses the client: unavailable, trusted locally.
    let stranger = SigningKey::generate().unwrap();
    let wrong = okta
        .verifier_builder()
        .introspection(
            Introspection::private_key_jwt("0oa-api", stranger)
                .when_unavailable(WhenUnavailable::FailClosed),
        )
        .build()
        .unwrap();
    assert_eq!(
        wrong
            .verify_access_token(&okta.access_token())
            .await
            .unwrap_err()
            .kind(),
        ErrorKind::IntrospectionUnavailable
    );
}

#[tokio::test]
async fn a_rate_limited_token_endpoint_is_a_typed_error_and_is_not_asked_again_before_its_reset() {
    let t0 = now();
    let okta_clock = ManualClock::new(UNIX_EPOCH + Duration::from_secs(t0 as u64));
    let okta = MockOkta::builder()
        .clock(okta_clock.clone())
        .start()
        .await
        .unwrap();
    let key = SigningKey::generate().unwrap();
    okta.register_service_app(APP, &key.public_jwk(), &["orders:read"])
        .unwrap();
    let clock = Arc::new(FixedClock::new(t0));
    let client = ClientCredentials::builder()
        .issuer(okta.issuer())
        .client_id(APP)
        .key(key)
        .scopes(["orders:read"])
        .clock(clock.clone())
        .build()
        .unwrap();
    // Okta's 429: E0000047, X-Rate-Limit-Reset 30 s ahead, no Retry-After.
    okta.set_token_fault(KeysFault::RateLimited {
        reset_after: Duration::from_secs(30),
    });
    let wait = match client.token().await.unwrap_err() {
        ClientError::RateLimited {
            retry_after: Some(wait),
        } => wait,
        other => panic!("not a typed 429: {other:?}"),
    };
    assert!(
        wait >= Duration::from_secs(29) && wait <= Duration::from_secs(37),
        "{wait:?}"
    );
    // Okta is fine again, but the client waits as asked: no request before the reset.
    okta.set_token_fault(KeysFault::None);
    clock.advance(20);
    okta_clock.advance(Duration::from_secs(20));
    assert!(matches!(
        client.token().await.unwrap_err(),
        ClientError::RateLimited {
            retry_after: Some(_)
        }
    ));
    clock.advance(20);
    okta_clock.advance(Duration::from_secs(20));
    assert!(client.token().await.is_ok());
}

#[tokio::test]
async fn an_okta_error_body_is_a_typed_error() {
    let (okta, key) = service_app().await;
    let client = client(&okta, key, &["orders:read"]);
    // Okta's own API errors carry `errorCode`/`errorSummary`, not OAuth's `error`.
    okta.set_token_fault(KeysFault::Status(500));
    match client.token().await.unwrap_err() {
        ClientError::Okta { code, summary } => {
            assert!(code.starts_with('E'), "{code}");
            assert!(summary.is_some());
        }
        other => panic!("not an Okta error: {other:?}"),
    }
    okta.set_token_fault(KeysFault::None);
    assert!(client.token().await.is_ok());
}
