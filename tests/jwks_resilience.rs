//! JWKS resilience (DESIGN 4): single-flight under a storm, cooldown against random kids, stale
//! keys while Okta is down, hanging endpoints, cold-start recovery, Cache-Control clamping and
//! background refresh. Time is a `FixedClock` moved by hand; nothing here sleeps to decide.

mod common;
use common::MockExt;

use std::sync::Arc;
use std::time::Duration;

use tower_okta::clock::FixedClock;
use tower_okta::{AuthError, TokenError, Verifier};
use tower_okta_mock::{KeysFault, MockOkta};

const T0: i64 = 1_800_000_000;

async fn setup(
    configure: impl FnOnce(tower_okta::VerifierBuilder) -> tower_okta::VerifierBuilder,
) -> (MockOkta, Verifier, Arc<FixedClock>) {
    let okta = MockOkta::start().await.unwrap();
    let clock = Arc::new(FixedClock::new(T0));
    let verifier = configure(okta.verifier_builder().clock(clock.clone()))
        .build()
        .unwrap();
    (okta, verifier, clock)
}

/// A token valid around `T0` (and a day after), signed with the mock's current key.
fn token(okta: &MockOkta) -> String {
    okta.access_token_builder()
        .claim("iat", T0)
        .claim("exp", T0 + 3 * 86_400)
        .build()
}

fn token_with_kid(okta: &MockOkta, kid: &str) -> String {
    okta.access_token_builder()
        .claim("iat", T0)
        .claim("exp", T0 + 3 * 86_400)
        .header("kid", kid)
        .build()
}

/// Waits until the mock has seen `n` key requests (a background task's request arriving).
async fn wait_for_fetches(okta: &MockOkta, n: usize) {
    tokio::time::timeout(Duration::from_secs(10), async {
        while okta.key_fetch_count() < n {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await
    .expect("the expected JWKS request arrives");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_thousand_concurrent_requests_with_a_new_kid_cause_one_fetch() {
    let (okta, verifier, _clock) = setup(|b| b).await;
    assert!(verifier.verify_access_token(&token(&okta)).await.is_ok());
    okta.rotate_key().unwrap();
    okta.set_keys_fault(KeysFault::Delay(Duration::from_millis(100)));
    // The cooldown after the first fetch is over.
    _clock.advance(31);
    let new_token = token(&okta);
    let tasks: Vec<_> = (0..10_000)
        .map(|_| {
            let (verifier, token) = (verifier.clone(), new_token.clone());
            tokio::spawn(async move { verifier.verify_access_token(&token).await })
        })
        .collect();
    for task in tasks {
        assert!(task.await.unwrap().is_ok());
    }
    assert_eq!(
        okta.key_fetch_count(),
        2,
        "warm-up fetch + exactly one for the new kid"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_random_kids_cause_at_most_one_fetch() {
    let (okta, verifier, _clock) = setup(|b| b).await;
    let tasks: Vec<_> = (0..1000)
        .map(|i| {
            let verifier = verifier.clone();
            let token = token_with_kid(&okta, &format!("random-{i}"));
            tokio::spawn(async move { verifier.verify_access_token(&token).await })
        })
        .collect();
    for task in tasks {
        assert_eq!(
            task.await.unwrap().unwrap_err(),
            AuthError::InvalidToken(TokenError::UnknownKeyId)
        );
    }
    assert_eq!(okta.key_fetch_count(), 1);
    let stats = verifier.jwks_stats();
    assert_eq!(stats.fetches, 1);
    assert_eq!(stats.cooldown_hits, 999);
}

#[tokio::test]
async fn the_cooldown_ends_on_time() {
    let (okta, verifier, clock) = setup(|b| b.jwks_cooldown(Duration::from_secs(30))).await;
    assert!(verifier.verify_access_token(&token(&okta)).await.is_ok());
    okta.rotate_key().unwrap();
    let new_token = token(&okta);
    clock.advance(29);
    assert_eq!(
        verifier.verify_access_token(&new_token).await.unwrap_err(),
        AuthError::InvalidToken(TokenError::UnknownKeyId)
    );
    assert_eq!(okta.key_fetch_count(), 1);
    clock.advance(1);
    assert!(verifier.verify_access_token(&new_token).await.is_ok());
    assert_eq!(okta.key_fetch_count(), 2);
}

#[tokio::test]
async fn stale_keys_keep_verifying_while_okta_is_down() {
    let (okta, verifier, clock) = setup(|b| b).await;
    let good = token(&okta);
    assert!(verifier.verify_access_token(&good).await.is_ok());
    assert_eq!(verifier.jwks_stats().ttl, Duration::from_secs(86_400));
    okta.set_keys_fault(KeysFault::Status(500));
    // Past the set's lifetime: requests trigger background refreshes, which fail.
    clock.advance(86_400 + 10);
    for round in 0..5 {
        assert!(
            verifier.verify_access_token(&good).await.is_ok(),
            "round {round}"
        );
        wait_for_fetches(&okta, 2 + round).await;
        // Wait for the failed attempt to be recorded, then let the retry delay (at most ~12 s) pass.
        tokio::time::timeout(Duration::from_secs(10), async {
            while verifier.jwks_stats().failures < (round + 1) as u64 {
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        })
        .await
        .unwrap();
        clock.advance(13);
    }
    assert!(verifier.verify_access_token(&good).await.is_ok());
    // Okta is back: the next refresh succeeds and failures stop growing.
    okta.set_keys_fault(KeysFault::None);
    clock.advance(13);
    assert!(verifier.verify_access_token(&good).await.is_ok());
    wait_for_fetches(&okta, 7).await;
    tokio::time::timeout(Duration::from_secs(10), async {
        while verifier.jwks_stats().fetches - verifier.jwks_stats().failures < 2 {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await
    .unwrap();
    assert_eq!(verifier.jwks_stats().failures, 5);
}

#[tokio::test]
async fn a_hanging_keys_endpoint_delays_only_unknown_kids_and_only_up_to_the_timeout() {
    let (okta, verifier, clock) =
        setup(|b| b.jwks_timeouts(Duration::from_secs(1), Duration::from_millis(500))).await;
    let good = token(&okta);
    assert!(verifier.verify_access_token(&good).await.is_ok());
    okta.set_keys_fault(KeysFault::Delay(Duration::from_secs(60)));
    clock.advance(31);
    let unknown = token_with_kid(&okta, "not-yet-published");
    let pending = {
        let verifier = verifier.clone();
        tokio::spawn(async move { verifier.verify_access_token(&unknown).await })
    };
    wait_for_fetches(&okta, 2).await;
    // The fetch hangs; a known kid does not wait for it.
    for _ in 0..100 {
        assert!(verifier.verify_access_token(&good).await.is_ok());
    }
    assert!(
        !pending.is_finished(),
        "the unknown kid is still waiting for the fetch"
    );
    // The fetch times out: the unknown kid gets 503, the known keys stay.
    let outcome = tokio::time::timeout(Duration::from_secs(10), pending)
        .await
        .expect("answered within the fetch timeout")
        .unwrap();
    assert_eq!(outcome.unwrap_err(), AuthError::KeysUnavailable);
    assert!(verifier.verify_access_token(&good).await.is_ok());
}

#[tokio::test]
async fn cold_start_with_okta_down_backs_off_then_recovers() {
    let (okta, verifier, clock) = setup(|b| b).await;
    okta.set_keys_fault(KeysFault::Status(502));
    let good = token(&okta);
    assert_eq!(
        verifier.verify_access_token(&good).await.unwrap_err(),
        AuthError::KeysUnavailable
    );
    assert_eq!(okta.key_fetch_count(), 1);
    // Within the first retry delay (1 s +-20%): no new fetch, still 503.
    clock.advance_millis(700);
    assert_eq!(
        verifier.verify_access_token(&good).await.unwrap_err(),
        AuthError::KeysUnavailable
    );
    assert_eq!(okta.key_fetch_count(), 1);
    // After it: one more attempt.
    clock.advance_millis(600);
    assert_eq!(
        verifier.verify_access_token(&good).await.unwrap_err(),
        AuthError::KeysUnavailable
    );
    assert_eq!(okta.key_fetch_count(), 2);
    // The delay doubles but never exceeds about 10 s (+20% jitter).
    for attempt in 3..=10 {
        clock.advance(12);
        assert_eq!(
            verifier.verify_access_token(&good).await.unwrap_err(),
            AuthError::KeysUnavailable
        );
        assert_eq!(okta.key_fetch_count(), attempt);
    }
    okta.set_keys_fault(KeysFault::None);
    clock.advance(12);
    assert!(verifier.verify_access_token(&good).await.is_ok());
    assert_eq!(okta.key_fetch_count(), 11);
}

#[tokio::test]
async fn oversize_and_garbage_answers_count_as_failures() {
    for fault in [
        KeysFault::Body("x".repeat(2 * 1024 * 1024)),
        KeysFault::Body("{\"keys\":".into()),
        KeysFault::Body("{\"keys\":[{\"kty\":\"oct\",\"kid\":\"k\",\"k\":\"AAAA\"}]}".into()),
        KeysFault::CloseConnection,
        KeysFault::Status(404),
    ] {
        let (okta, verifier, _clock) = setup(|b| b).await;
        okta.set_keys_fault(fault.clone());
        assert_eq!(
            verifier
                .verify_access_token(&token(&okta))
                .await
                .unwrap_err(),
            AuthError::KeysUnavailable,
            "{fault:?}"
        );
        assert_eq!(verifier.jwks_stats().failures, 1, "{fault:?}");
    }
}

#[tokio::test]
async fn cache_control_max_age_is_clamped() {
    for (cache_control, expected) in [
        ("max-age=3317760, must-revalidate", 86_400),
        ("max-age=0", 300),
        ("no-cache", 300),
        ("max-age=3600", 3600),
        ("", 300),
    ] {
        let (okta, verifier, _clock) = setup(|b| b).await;
        okta.set_keys_cache_control(cache_control);
        verifier.refresh_keys().await.unwrap();
        assert_eq!(
            verifier.jwks_stats().ttl,
            Duration::from_secs(expected),
            "{cache_control:?}"
        );
    }
    // The clamp range is configurable.
    let (okta, verifier, _clock) =
        setup(|b| b.jwks_ttl_range(Duration::from_secs(60), Duration::from_secs(600))).await;
    verifier.refresh_keys().await.unwrap();
    assert_eq!(verifier.jwks_stats().ttl, Duration::from_secs(600));
    drop(okta);
}

#[tokio::test]
async fn background_refresh_happens_before_expiry_and_no_request_waits_for_it() {
    let (okta, verifier, clock) = setup(|b| b).await;
    okta.set_keys_cache_control("max-age=3600");
    let good = token(&okta);
    assert!(verifier.verify_access_token(&good).await.is_ok());
    // 80% of the lifetime: nothing happens.
    clock.advance(2880);
    assert!(verifier.verify_access_token(&good).await.is_ok());
    assert_eq!(verifier.jwks_stats().fetches, 1);
    // 91%: the next request starts a refresh in the background, and does not wait for it.
    okta.set_keys_fault(KeysFault::Delay(Duration::from_secs(3)));
    okta.rotate_key().unwrap();
    clock.advance(396);
    assert!(verifier.verify_access_token(&good).await.is_ok());
    wait_for_fetches(&okta, 2).await;
    // While the refresh hangs, requests with known keys go through.
    for _ in 0..50 {
        assert!(verifier.verify_access_token(&good).await.is_ok());
    }
    // The refresh completes and brings the rotated key, with no request having fetched it.
    tokio::time::timeout(Duration::from_secs(10), async {
        while verifier.jwks_stats().keys < 2 {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await
    .expect("background refresh completes");
    let misses = verifier.jwks_stats().cache_misses;
    assert!(verifier.verify_access_token(&token(&okta)).await.is_ok());
    assert_eq!(
        verifier.jwks_stats().cache_misses,
        misses,
        "new kid already cached"
    );
    assert_eq!(okta.key_fetch_count(), 2);
}
