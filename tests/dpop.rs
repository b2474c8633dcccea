//! DPoP (RFC 9449) through the real layer: sender-constrained tokens from the mock Okta, proofs
//! made by `tower_okta_mock::DpopKey` (an implementation independent of the crate's), each policy,
//! server nonces, the `iat` window on the verifier's clock, `htu` behind proxies, the key-fetch
//! path, the verified-token cache and the `verify_*` methods. The attack rows are in
//! `tests/attacks.rs`.

mod common;
use common::{app, send_with, Answer, MockExt};

use std::sync::Arc;
use std::time::Duration;

use axum::routing::get;
use axum::{Json, Router};
use http::StatusCode;
use tower_okta::clock::{Clock, FixedClock};
use tower_okta::{
    AccessClaims, AuthError, Claims, ConfigError, Dpop, DpopAlgorithm, DpopError, DpopOptions,
    TokenError, Verifier,
};
use tower_okta_mock::{DpopAlg, DpopKey, MockOkta};

const HOST: &str = "api.test";
const URL: &str = "http://api.test/api/me";
const BOTH: &str = r#"DPoP algs="ES256 RS256""#;

/// `GET /api/me` with `Authorization: {scheme} {token}`, `Host: api.test` and the proofs given.
async fn call(app: &Router, scheme: &str, token: &str, proofs: &[&str]) -> Answer {
    call_with(app, scheme, token, proofs, &[]).await
}

async fn call_with(
    app: &Router,
    scheme: &str,
    token: &str,
    proofs: &[&str],
    headers: &[(&str, &str)],
) -> Answer {
    send_with(app, |mut r| {
        r = r
            .uri("/api/me")
            .header("host", HOST)
            .header("authorization", format!("{scheme} {token}"));
        for proof in proofs {
            r = r.header("dpop", *proof);
        }
        for (name, value) in headers {
            r = r.header(*name, *value);
        }
        r
    })
    .await
}

/// The exact challenge of a DPoP-side error, with the Bearer challenge after it.
fn dpop_challenge(code: &str, description: &str) -> String {
    format!(r#"{BOTH}, error="{code}", error_description="{description}", Bearer realm="api""#)
}

#[track_caller]
fn assert_refused(answer: &Answer, code: &str, description: &str) {
    assert_eq!(answer.status, StatusCode::UNAUTHORIZED, "{answer:?}");
    assert_eq!(
        answer.www_authenticate(),
        Some(dpop_challenge(code, description).as_str())
    );
    assert_eq!(answer.json()["error"], code);
    assert_eq!(answer.json()["error_description"], description);
}

fn now() -> i64 {
    let since = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap();
    i64::try_from(since.as_secs()).unwrap()
}

async fn setup() -> (MockOkta, Verifier, Router) {
    let okta = MockOkta::start().await.expect("mock Okta starts");
    let verifier = okta.verifier_builder().build().expect("verifier builds");
    let app = app(&verifier);
    (okta, verifier, app)
}

#[tokio::test]
async fn a_dpop_request_passes_and_the_handler_sees_the_binding() {
    let (okta, _verifier, app) = setup().await;
    for key in [DpopKey::es256().unwrap(), DpopKey::rs256().unwrap()] {
        let token = okta.dpop_access_token(&key);
        for _ in 0..2 {
            // A fresh proof each time; the second request also finds the token verified before.
            let proof = key.proof("GET", URL).access_token(&token).build();
            let answer = call(&app, "DPoP", &token, &[&proof]).await;
            assert_eq!(answer.status, StatusCode::OK, "{} {answer:?}", key.alg());
            assert_eq!(answer.json()["cnf"]["jkt"], key.thumbprint());
        }
    }
}

#[tokio::test]
async fn claims_say_whether_the_token_was_sender_constrained() {
    let (okta, verifier, _) = setup().await;
    async fn bound(claims: Claims<AccessClaims>) -> Json<bool> {
        Json(claims.is_sender_constrained() && claims.confirmation().is_some())
    }
    let app = Router::new()
        .route("/api/me", get(bound))
        .layer(verifier.layer());
    let key = DpopKey::es256().unwrap();
    let token = okta.dpop_access_token(&key);
    let proof = key.proof("GET", URL).access_token(&token).build();
    assert_eq!(call(&app, "DPoP", &token, &[&proof]).await.body, "true");
    assert_eq!(
        call(&app, "Bearer", &okta.access_token(), &[]).await.body,
        "false"
    );
}

#[tokio::test]
async fn a_bound_token_as_bearer_and_an_unbound_token_as_dpop_are_refused() {
    let (okta, _verifier, app) = setup().await;
    let key = DpopKey::es256().unwrap();
    let bound = okta.dpop_access_token(&key);
    let answer = call(&app, "Bearer", &bound, &[]).await;
    assert_refused(
        &answer,
        "invalid_token",
        TokenError::BoundTokenAsBearer.description(),
    );
    // Even with a valid proof next to it: the scheme says Bearer.
    let proof = key.proof("GET", URL).access_token(&bound).build();
    let answer = call(&app, "Bearer", &bound, &[&proof]).await;
    assert_eq!(answer.status, StatusCode::UNAUTHORIZED);

    let unbound = okta.access_token();
    let proof = key.proof("GET", URL).access_token(&unbound).build();
    let answer = call(&app, "DPoP", &unbound, &[&proof]).await;
    assert_refused(
        &answer,
        "invalid_token",
        TokenError::NotSenderConstrained.description(),
    );
}

#[tokio::test]
async fn a_replayed_proof_and_a_proof_of_another_key_are_refused() {
    let (okta, _verifier, app) = setup().await;
    let key = DpopKey::es256().unwrap();
    let token = okta.dpop_access_token(&key);
    let proof = key.proof("GET", URL).access_token(&token).build();
    assert_eq!(
        call(&app, "DPoP", &token, &[&proof]).await.status,
        StatusCode::OK
    );
    let answer = call(&app, "DPoP", &token, &[&proof]).await;
    assert_refused(
        &answer,
        "invalid_dpop_proof",
        DpopError::Replayed.description(),
    );

    let thief = DpopKey::es256().unwrap();
    let proof = thief.proof("GET", URL).access_token(&token).build();
    let answer = call(&app, "DPoP", &token, &[&proof]).await;
    assert_refused(
        &answer,
        "invalid_token",
        TokenError::KeyBindingMismatch.description(),
    );
}

#[tokio::test]
async fn a_proof_refused_for_its_token_does_not_use_up_its_jti() {
    let (okta, _verifier, app) = setup().await;
    let key = DpopKey::es256().unwrap();
    let token = okta.dpop_access_token(&key);
    // The same jti first on a bound token of another key: refused before the replay check.
    let other = okta.dpop_access_token(&DpopKey::es256().unwrap());
    let first = key
        .proof("GET", URL)
        .access_token(&other)
        .jti("one-jti")
        .build();
    assert_eq!(
        call(&app, "DPoP", &other, &[&first]).await.status,
        StatusCode::UNAUTHORIZED
    );
    let proof = key
        .proof("GET", URL)
        .access_token(&token)
        .jti("one-jti")
        .build();
    assert_eq!(
        call(&app, "DPoP", &token, &[&proof]).await.status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn bearer_tokens_still_pass_and_401s_advertise_both_schemes() {
    let (okta, _verifier, app) = setup().await;
    let answer = call(&app, "Bearer", &okta.access_token(), &[]).await;
    assert_eq!(answer.status, StatusCode::OK);
    let answer = send_with(&app, |r| r.uri("/api/me")).await;
    assert_eq!(answer.status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        answer.www_authenticate(),
        Some(format!(r#"Bearer realm="api", {BOTH}"#).as_str())
    );
    // A bearer token's own error stays in the Bearer challenge.
    let expired = okta.access_token_builder().claim("exp", 1_000_000).build();
    let answer = call(&app, "Bearer", &expired, &[]).await;
    assert_eq!(
        answer.www_authenticate(),
        Some(
            format!(
                r#"Bearer realm="api", error="invalid_token", error_description="{}", {BOTH}"#,
                TokenError::Expired.description()
            )
            .as_str()
        )
    );
    // The same error for a DPoP request goes in the DPoP challenge.
    let key = DpopKey::es256().unwrap();
    let expired = okta
        .access_token_builder()
        .dpop_bound(&key)
        .claim("exp", 1_000_000)
        .build();
    let proof = key.proof("GET", URL).access_token(&expired).build();
    let answer = call(&app, "DPoP", &expired, &[&proof]).await;
    assert_refused(&answer, "invalid_token", TokenError::Expired.description());
}

#[tokio::test]
async fn the_required_and_disabled_policies() {
    let (okta, verifier, _) = setup().await;
    async fn ok(_: Claims<AccessClaims>) -> &'static str {
        "ok"
    }
    let required = Router::new()
        .route("/api/me", get(ok))
        .layer(verifier.layer().dpop(Dpop::Required));
    let disabled = Router::new()
        .route("/api/me", get(ok))
        .layer(verifier.layer().dpop(Dpop::Disabled));
    let key = DpopKey::es256().unwrap();
    let bound = okta.dpop_access_token(&key);

    // Required: DPoP passes, Bearer is refused with a DPoP challenge only.
    let proof = key.proof("GET", URL).access_token(&bound).build();
    assert_eq!(
        call(&required, "DPoP", &bound, &[&proof]).await.status,
        StatusCode::OK
    );
    let answer = call(&required, "Bearer", &okta.access_token(), &[]).await;
    assert_eq!(answer.status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        answer.www_authenticate(),
        Some(
            format!(
                r#"{BOTH}, error="invalid_token", error_description="{}""#,
                TokenError::DpopRequired.description()
            )
            .as_str()
        )
    );
    let answer = send_with(&required, |r| r.uri("/api/me")).await;
    assert_eq!(answer.www_authenticate(), Some(BOTH));

    // Disabled: a DPoP credential is no credential; a bound token is still refused as Bearer.
    let proof = key.proof("GET", URL).access_token(&bound).build();
    let answer = call(&disabled, "DPoP", &bound, &[&proof]).await;
    assert_eq!(answer.status, StatusCode::UNAUTHORIZED);
    assert_eq!(answer.www_authenticate(), Some(r#"Bearer realm="api""#));
    let answer = call(&disabled, "Bearer", &bound, &[]).await;
    assert_eq!(
        answer.www_authenticate(),
        Some(
            format!(
                r#"Bearer realm="api", error="invalid_token", error_description="{}""#,
                TokenError::BoundTokenAsBearer.description()
            )
            .as_str()
        )
    );
    assert_eq!(
        call(&disabled, "Bearer", &okta.access_token(), &[])
            .await
            .status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn server_nonces_are_required_handed_out_and_rotate() {
    let okta = MockOkta::start().await.unwrap();
    let clock = Arc::new(FixedClock::new(now()));
    let verifier = okta
        .verifier_builder()
        .clock(Arc::clone(&clock))
        .dpop(DpopOptions::new().require_nonce(Duration::from_secs(60)))
        .build()
        .unwrap();
    let app = app(&verifier);
    let key = DpopKey::es256().unwrap();
    let token = okta.dpop_access_token(&key);
    let proof = |nonce: Option<&str>| {
        let iat = clock.now_millis() / 1000;
        let p = key.proof("GET", URL).access_token(&token).iat(iat);
        match nonce {
            Some(n) => p.nonce(n).build(),
            None => p.build(),
        }
    };

    let answer = call(&app, "DPoP", &token, &[&proof(None)]).await;
    assert_refused(
        &answer,
        "use_dpop_nonce",
        "the resource server requires a nonce in the DPoP proof",
    );
    let nonce = answer.headers["dpop-nonce"].to_str().unwrap().to_owned();
    let answer = call(&app, "DPoP", &token, &[&proof(Some("made-up"))]).await;
    assert_eq!(answer.json()["error"], "use_dpop_nonce");
    let answer = call(&app, "DPoP", &token, &[&proof(Some(&nonce))]).await;
    assert_eq!(answer.status, StatusCode::OK, "{answer:?}");

    // The next window: the previous nonce still passes; two windows on, it does not.
    clock.advance(60);
    let answer = call(&app, "DPoP", &token, &[&proof(Some(&nonce))]).await;
    assert_eq!(answer.status, StatusCode::OK, "{answer:?}");
    clock.advance(60);
    let answer = call(&app, "DPoP", &token, &[&proof(Some(&nonce))]).await;
    assert_eq!(answer.json()["error"], "use_dpop_nonce");
    assert_ne!(answer.headers["dpop-nonce"], nonce.as_str());
}

#[tokio::test]
async fn the_iat_window_follows_the_verifier_clock() {
    let okta = MockOkta::start().await.unwrap();
    let now = now();
    let clock = Arc::new(FixedClock::new(now));
    let verifier = okta
        .verifier_builder()
        .clock(Arc::clone(&clock))
        .dpop(DpopOptions::new().proof_window(Duration::from_secs(30)))
        .build()
        .unwrap();
    let app = app(&verifier);
    let key = DpopKey::es256().unwrap();
    let token = okta.dpop_access_token(&key);
    let at = |iat: i64| key.proof("GET", URL).access_token(&token).iat(iat).build();
    let cases = [
        (now - 31, Err(DpopError::TooOld)),
        (now - 30, Ok(())),
        (now + 30, Ok(())),
        (now + 31, Err(DpopError::IssuedInFuture)),
    ];
    for (iat, want) in cases {
        let answer = call(&app, "DPoP", &token, &[&at(iat)]).await;
        match want {
            Ok(()) => assert_eq!(answer.status, StatusCode::OK, "iat {iat}: {answer:?}"),
            Err(e) => assert_refused(&answer, "invalid_dpop_proof", e.description()),
        }
    }
}

#[tokio::test]
async fn htu_behind_a_proxy_external_origin_or_forwarded_headers() {
    let okta = MockOkta::start().await.unwrap();
    let key = DpopKey::es256().unwrap();
    let token = okta.dpop_access_token(&key);
    let public = "https://api.example.com/api/me";
    let internal = [("host", "10.0.0.7:8080")];
    let proof = |url: &str| key.proof("GET", url).access_token(&token).build();
    let send = |app: Router, url: &'static str, headers: Vec<(&'static str, &'static str)>| {
        let proof = proof(url);
        let token = token.clone();
        async move {
            send_with(&app, |mut r| {
                r = r
                    .uri("/api/me")
                    .header("authorization", format!("DPoP {token}"))
                    .header("dpop", proof);
                for (name, value) in headers {
                    r = r.header(name, value);
                }
                r
            })
            .await
            .status
        }
    };

    let fixed = okta
        .verifier_builder()
        .dpop(DpopOptions::new().external_origin("https://API.example.com:443"))
        .build()
        .unwrap();
    assert_eq!(
        send(app(&fixed), public, internal.to_vec()).await,
        StatusCode::OK
    );
    assert_eq!(
        send(
            app(&fixed),
            "http://10.0.0.7:8080/api/me",
            internal.to_vec()
        )
        .await,
        StatusCode::UNAUTHORIZED
    );

    let forwarded = okta
        .verifier_builder()
        .dpop(DpopOptions::new().trust_forwarded_headers(true))
        .build()
        .unwrap();
    let proxied = vec![
        ("host", "10.0.0.7:8080"),
        ("x-forwarded-proto", "https"),
        ("x-forwarded-host", "api.example.com"),
    ];
    assert_eq!(
        send(app(&forwarded), public, proxied.clone()).await,
        StatusCode::OK
    );
    // Not trusted by default: the same headers change nothing.
    let (_, _, plain) = setup().await;
    assert_eq!(send(plain, public, proxied).await, StatusCode::UNAUTHORIZED);

    let https = okta
        .verifier_builder()
        .dpop(DpopOptions::new().https(true))
        .build()
        .unwrap();
    assert_eq!(
        send(
            app(&https),
            "https://10.0.0.7:8080/api/me",
            internal.to_vec()
        )
        .await,
        StatusCode::OK
    );
}

#[tokio::test]
async fn a_dpop_request_whose_signing_key_must_be_fetched_first() {
    let (okta, verifier, app) = setup().await;
    verifier.refresh_keys().await.unwrap();
    common::sign_with_a_new_key(&okta);
    let key = DpopKey::es256().unwrap();
    let token = okta.dpop_access_token(&key);
    let proof = key.proof("GET", URL).access_token(&token).build();
    let fetches = verifier.jwks_stats().fetches;
    assert_eq!(
        call(&app, "DPoP", &token, &[&proof]).await.status,
        StatusCode::OK
    );
    assert_eq!(verifier.jwks_stats().fetches, fetches + 1);
    // The slow path checks the binding and the replay too.
    let answer = call(&app, "DPoP", &token, &[&proof]).await;
    assert_eq!(
        answer.json()["error_description"],
        DpopError::Replayed.description()
    );
    common::sign_with_a_new_key(&okta);
    let token = okta.dpop_access_token(&key);
    let answer = call(&app, "Bearer", &token, &[]).await;
    assert_eq!(
        answer.json()["error_description"],
        TokenError::BoundTokenAsBearer.description()
    );
}

#[tokio::test]
async fn cached_tokens_are_checked_against_every_request() {
    let okta = MockOkta::start().await.unwrap();
    let verifier = okta
        .verifier_builder()
        .token_cache(1000, Duration::from_secs(300))
        .build()
        .unwrap();
    let app = app(&verifier);
    let key = DpopKey::es256().unwrap();
    let token = okta.dpop_access_token(&key);
    // Cached from its second verification.
    for _ in 0..2 {
        let proof = key.proof("GET", URL).access_token(&token).build();
        assert_eq!(
            call(&app, "DPoP", &token, &[&proof]).await.status,
            StatusCode::OK
        );
    }
    assert_eq!(verifier.token_cache_len(), 1);
    let answer = call(&app, "Bearer", &token, &[]).await;
    assert_eq!(
        answer.json()["error_description"],
        TokenError::BoundTokenAsBearer.description()
    );
    let thief = DpopKey::es256().unwrap();
    let proof = thief.proof("GET", URL).access_token(&token).build();
    let answer = call(&app, "DPoP", &token, &[&proof]).await;
    assert_eq!(
        answer.json()["error_description"],
        TokenError::KeyBindingMismatch.description()
    );
    let proof = key.proof("GET", URL).access_token(&token).build();
    assert_eq!(
        call(&app, "DPoP", &token, &[&proof]).await.status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn verify_methods_have_no_proof_and_refuse_bound_tokens() {
    let (okta, verifier, _) = setup().await;
    let key = DpopKey::es256().unwrap();
    assert_eq!(
        verifier
            .verify_access_token(&okta.dpop_access_token(&key))
            .await
            .unwrap_err(),
        AuthError::InvalidToken(TokenError::BoundTokenAsBearer)
    );
    assert!(verifier
        .verify_access_token(&okta.access_token())
        .await
        .is_ok());
}

#[tokio::test]
async fn opt_in_algorithms_and_the_default_list() {
    let okta = MockOkta::start().await.unwrap();
    let es384 = DpopKey::generate(DpopAlg::ES384).unwrap();
    let ps256 = DpopKey::generate(DpopAlg::PS256).unwrap();
    let default_app = app(&okta.verifier_builder().build().unwrap());
    let all = okta
        .verifier_builder()
        .dpop(DpopOptions::new().algorithms(DpopAlgorithm::ALL))
        .build()
        .unwrap();
    let all_app = app(&all);
    for key in [es384, ps256] {
        let token = okta.dpop_access_token(&key);
        let proof = key.proof("GET", URL).access_token(&token).build();
        let answer = call(&default_app, "DPoP", &token, &[&proof]).await;
        assert_refused(
            &answer,
            "invalid_dpop_proof",
            DpopError::UnsupportedAlgorithm.description(),
        );
        let proof = key.proof("GET", URL).access_token(&token).build();
        let answer = call(&all_app, "DPoP", &token, &[&proof]).await;
        assert_eq!(answer.status, StatusCode::OK, "{}: {answer:?}", key.alg());
        assert!(answer.www_authenticate().is_none());
    }
    // The challenge lists the configured algorithms.
    let answer = send_with(&all_app, |r| r.uri("/api/me")).await;
    assert_eq!(
        answer.www_authenticate(),
        Some(r#"Bearer realm="api", DPoP algs="ES256 ES384 RS256 PS256""#)
    );
}

#[test]
fn dpop_settings_are_checked_when_the_verifier_is_built() {
    let build = |options: DpopOptions| {
        Verifier::builder()
            .issuer("https://dev-1.okta.com/oauth2/default")
            .client_id("0oa1")
            .dpop(options)
            .build()
    };
    for bad in [
        DpopOptions::new().algorithms([]),
        DpopOptions::new().proof_window(Duration::ZERO),
        DpopOptions::new().proof_window(Duration::from_secs(301)),
        DpopOptions::new().replay_cache_size(0),
        DpopOptions::new().require_nonce(Duration::from_secs(1)),
        DpopOptions::new().external_origin("https://api.example.com/base"),
        DpopOptions::new().external_origin("api.example.com"),
        DpopOptions::new().external_origin("https://api.example.com?x=1"),
    ] {
        let error = build(bad.clone()).unwrap_err();
        assert!(matches!(error, ConfigError::Dpop(_)), "{bad:?}: {error}");
    }
    assert!(build(DpopOptions::new().external_origin("https://api.example.com/")).is_ok());
    assert!("HS256".parse::<DpopAlgorithm>().is_err());
}
