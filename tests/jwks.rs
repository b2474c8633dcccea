//! The JWKS cache against the mock Okta over real HTTP: rotation, removal, outages, single-flight
//! and cooldown.

mod common;
use common::MockExt;

use std::time::Duration;

use common::{app, get_with_token};
use http::StatusCode;
use tower_okta::{AuthError, ErrorKind, TokenError};
use tower_okta_mock::{KeysFault, MockOkta};

#[tokio::test]
async fn rotation_is_picked_up_with_one_fetch() {
    let okta = MockOkta::start().await.unwrap();
    let verifier = okta
        .verifier_builder()
        .jwks_cooldown(Duration::ZERO)
        .build()
        .unwrap();
    let app = app(&verifier);
    let old_token = okta.access_token();
    assert_eq!(
        get_with_token(&app, "/api/me", &old_token).await.status,
        StatusCode::OK
    );
    assert_eq!(okta.key_fetch_count(), 1);

    common::sign_with_a_new_key(&okta);
    let new_token = okta.access_token();
    assert_eq!(
        get_with_token(&app, "/api/me", &new_token).await.status,
        StatusCode::OK
    );
    assert_eq!(okta.key_fetch_count(), 2, "one fetch for the new kid");
    // Both keys are published: the old token still verifies, without a fetch.
    assert_eq!(
        get_with_token(&app, "/api/me", &old_token).await.status,
        StatusCode::OK
    );
    assert_eq!(
        get_with_token(&app, "/api/me", &new_token).await.status,
        StatusCode::OK
    );
    assert_eq!(okta.key_fetch_count(), 2);
    assert_eq!(verifier.jwks_stats().fetches, 2);
    // The signing key, Okta's announced next key and the new one.
    assert_eq!(verifier.jwks_stats().keys, 3);
}

#[tokio::test]
async fn okta_publishes_the_next_key_ahead_so_its_rotation_needs_no_fetch() {
    // Like Okta, the mock publishes two keys: the signing key and the next one.
    let okta = MockOkta::start().await.unwrap();
    let verifier = okta.verifier_builder().build().unwrap();
    let before = okta.access_token();
    assert!(verifier.verify_access_token(&before).await.is_ok());
    assert_eq!(verifier.jwks_stats().keys, 2);
    // Okta's scheduled rotation: the next key signs from now on, the old one stays published
    // for a while and a new next key is announced (three keys at once).
    okta.rotate_key().unwrap();
    let after = okta.access_token();
    assert!(verifier.verify_access_token(&after).await.is_ok());
    assert!(verifier.verify_access_token(&before).await.is_ok());
    assert_eq!(
        okta.key_fetch_count(),
        1,
        "the new signing key was already known"
    );
    assert_eq!(okta.jwks()["keys"].as_array().unwrap().len(), 3);
    // A fetch of the three-key set keeps every key usable.
    verifier.refresh_keys().await.unwrap();
    let fresh = okta.verifier_builder().build().unwrap();
    fresh.refresh_keys().await.unwrap();
    assert_eq!(fresh.jwks_stats().keys, 3);
    for token in [&before, &after] {
        assert!(fresh.verify_access_token(token).await.is_ok());
    }
}

#[tokio::test]
async fn a_removed_key_stops_verifying_after_the_next_fetch() {
    let okta = MockOkta::start().await.unwrap();
    let verifier = okta
        .verifier_builder()
        .jwks_cooldown(Duration::ZERO)
        .build()
        .unwrap();
    let old_key = okta.signing_key();
    let old_token = okta.access_token();
    assert!(verifier.verify_access_token(&old_token).await.is_ok());

    common::sign_with_a_new_key(&okta);
    okta.unpublish_key(old_key.kid());
    // The next fetch (caused by the new kid) drops the old key.
    assert!(verifier
        .verify_access_token(&okta.access_token())
        .await
        .is_ok());
    assert_eq!(
        verifier.verify_access_token(&old_token).await.unwrap_err(),
        AuthError::InvalidToken(TokenError::UnknownKeyId)
    );
}

#[tokio::test]
async fn unknown_kid_within_the_cooldown_causes_no_fetch() {
    let okta = MockOkta::start().await.unwrap();
    let verifier = okta.verifier_builder().build().unwrap();
    assert!(verifier
        .verify_access_token(&okta.access_token())
        .await
        .is_ok());
    assert_eq!(okta.key_fetch_count(), 1);
    for i in 0..100 {
        let token = okta
            .access_token_builder()
            .header("kid", format!("random-{i}"))
            .build();
        assert_eq!(
            verifier.verify_access_token(&token).await.unwrap_err(),
            AuthError::InvalidToken(TokenError::UnknownKeyId)
        );
    }
    // The first random kid is fetched for (fruitlessly: that starts the cooldown), the other
    // 99 are answered from the cooldown.
    assert_eq!(okta.key_fetch_count(), 2);
    assert_eq!(verifier.jwks_stats().cooldown_hits, 99);
    // A rotation inside the cooldown is not seen until it ends (Okta publishes new keys weeks
    // before signing with them, so this does not happen in practice).
    common::sign_with_a_new_key(&okta);
    assert_eq!(
        verifier
            .verify_access_token(&okta.access_token())
            .await
            .unwrap_err(),
        AuthError::InvalidToken(TokenError::UnknownKeyId)
    );
}

#[tokio::test]
async fn concurrent_requests_for_a_new_kid_share_one_fetch() {
    let okta = MockOkta::start().await.unwrap();
    // Slow keys endpoint so that every request arrives while the fetch is in flight.
    okta.set_keys_fault(KeysFault::Delay(Duration::from_millis(200)));
    let verifier = okta.verifier_builder().build().unwrap();
    let token = okta.access_token();
    let tasks: Vec<_> = (0..500)
        .map(|_| {
            let verifier = verifier.clone();
            let token = token.clone();
            tokio::spawn(async move { verifier.verify_access_token(&token).await })
        })
        .collect();
    for task in tasks {
        assert!(task.await.unwrap().is_ok());
    }
    assert_eq!(okta.key_fetch_count(), 1);
}

#[tokio::test]
async fn cold_start_with_okta_down_is_503_and_recovers_without_restart() {
    let okta = MockOkta::start().await.unwrap();
    okta.set_keys_fault(KeysFault::Status(503));
    let verifier = okta
        .verifier_builder()
        .jwks_retry(Duration::ZERO, Duration::ZERO)
        .build()
        .unwrap();
    let app = app(&verifier);
    let token = okta.access_token();
    assert_eq!(
        get_with_token(&app, "/api/me", &token).await.status,
        StatusCode::SERVICE_UNAVAILABLE
    );
    okta.set_keys_fault(KeysFault::CloseConnection);
    assert_eq!(
        get_with_token(&app, "/api/me", &token).await.status,
        StatusCode::SERVICE_UNAVAILABLE
    );
    okta.set_keys_fault(KeysFault::Body("<html>oops</html>".into()));
    assert_eq!(
        get_with_token(&app, "/api/me", &token).await.status,
        StatusCode::SERVICE_UNAVAILABLE
    );
    okta.set_keys_fault(KeysFault::Body(r#"{"keys":[]}"#.into()));
    assert_eq!(
        get_with_token(&app, "/api/me", &token).await.status,
        StatusCode::SERVICE_UNAVAILABLE
    );
    okta.set_keys_fault(KeysFault::None);
    assert_eq!(
        get_with_token(&app, "/api/me", &token).await.status,
        StatusCode::OK
    );
    let stats = verifier.jwks_stats();
    assert_eq!(stats.failures, 4);
    assert_eq!(stats.fetches, 5);
}

#[tokio::test]
async fn cold_start_retries_wait_for_the_backoff() {
    let okta = MockOkta::start().await.unwrap();
    okta.set_keys_fault(KeysFault::Status(500));
    let verifier = okta
        .verifier_builder()
        .jwks_retry(Duration::from_secs(60), Duration::from_secs(60))
        .build()
        .unwrap();
    let token = okta.access_token();
    for _ in 0..20 {
        assert_eq!(
            verifier
                .verify_access_token(&token)
                .await
                .unwrap_err()
                .kind(),
            ErrorKind::KeysUnavailable
        );
    }
    assert_eq!(
        okta.key_fetch_count(),
        1,
        "no retry before the backoff delay"
    );
}

#[tokio::test]
async fn known_keys_keep_verifying_while_okta_is_down() {
    let okta = MockOkta::start().await.unwrap();
    let verifier = okta
        .verifier_builder()
        .jwks_cooldown(Duration::ZERO)
        .jwks_retry(Duration::ZERO, Duration::ZERO)
        .build()
        .unwrap();
    let token = okta.access_token();
    assert!(verifier.verify_access_token(&token).await.is_ok());
    okta.set_keys_fault(KeysFault::Status(500));
    // A new kid needs a fetch, which fails: 503 (not the client's fault).
    let unknown = okta.access_token_builder().header("kid", "new").build();
    assert_eq!(
        verifier
            .verify_access_token(&unknown)
            .await
            .unwrap_err()
            .kind(),
        ErrorKind::KeysUnavailable
    );
    // The last good set still serves.
    assert!(verifier.verify_access_token(&token).await.is_ok());
}

#[tokio::test]
async fn jwks_uri_can_be_set_explicitly() {
    let okta = MockOkta::start().await.unwrap();
    let verifier = okta
        .verifier_builder()
        .jwks_uri(okta.jwks_uri())
        .build()
        .unwrap();
    assert!(verifier
        .verify_access_token(&okta.access_token())
        .await
        .is_ok());
    assert_eq!(okta.discovery_fetch_count(), 0);
    assert_eq!(okta.key_fetch_count(), 1);
}

#[tokio::test]
async fn refresh_keys_prefetches() {
    let okta = MockOkta::start().await.unwrap();
    let verifier = okta.verifier_builder().build().unwrap();
    verifier.refresh_keys().await.unwrap();
    assert_eq!(okta.key_fetch_count(), 1);
    assert!(verifier
        .verify_access_token(&okta.access_token())
        .await
        .is_ok());
    assert_eq!(okta.key_fetch_count(), 1);
}

#[tokio::test]
async fn odd_keys_in_the_set_are_skipped() {
    let okta = MockOkta::start().await.unwrap();
    let good = okta.signing_key();
    let mut enc = good.jwk();
    enc["kid"] = "enc".into();
    enc["use"] = "enc".into();
    let mut short = good.jwk();
    short["kid"] = "short".into();
    short["n"] = "AQAB".into();
    let dup_a = good.with_kid("dup");
    let dup_b = tower_okta_mock::MockKey::generate()
        .unwrap()
        .with_kid("dup");
    okta.set_extra_jwks(vec![enc, short, dup_a.jwk(), dup_b.jwk()]);
    let verifier = okta
        .verifier_builder()
        .jwks_cooldown(Duration::ZERO)
        .build()
        .unwrap();
    assert!(verifier
        .verify_access_token(&okta.access_token())
        .await
        .is_ok());
    for kid in ["enc", "short"] {
        let token = okta.access_token_builder().header("kid", kid).build();
        assert_eq!(
            verifier.verify_access_token(&token).await.unwrap_err(),
            AuthError::InvalidToken(TokenError::UnknownKeyId),
            "{kid}"
        );
    }
    let token = okta.access_token_builder().signed_with(&dup_a).build();
    assert_eq!(
        verifier.verify_access_token(&token).await.unwrap_err(),
        AuthError::InvalidToken(TokenError::UnknownKeyId),
        "a duplicated kid is refused"
    );
}
