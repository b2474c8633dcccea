//! JWKS resilience: single-flight under a storm, cooldown against random kids, stale
//! keys while Okta is down, hanging endpoints, cold-start recovery, Cache-Control clamping and
//! background refresh. Time is a `FixedClock` moved by hand; nothing here sleeps to decide.

mod common;
use common::MockExt;

use std::sync::Arc;
use std::time::Duration;

use tower_okta::clock::FixedClock;
use tower_okta::{AuthError, ErrorKind, TokenError, Verifier};
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
    common::sign_with_a_new_key(&okta);
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
    // A fruitless fetch (for a kid Okta does not publish either) starts the cooldown.
    assert_eq!(
        verifier
            .verify_access_token(&token_with_kid(&okta, "never-published"))
            .await
            .unwrap_err(),
        AuthError::InvalidToken(TokenError::UnknownKeyId)
    );
    assert_eq!(okta.key_fetch_count(), 2);
    common::sign_with_a_new_key(&okta);
    let new_token = token(&okta);
    clock.advance(29);
    assert_eq!(
        verifier.verify_access_token(&new_token).await.unwrap_err(),
        AuthError::InvalidToken(TokenError::UnknownKeyId)
    );
    assert_eq!(okta.key_fetch_count(), 2);
    clock.advance(1);
    assert!(verifier.verify_access_token(&new_token).await.is_ok());
    assert_eq!(okta.key_fetch_count(), 3);
}

#[tokio::test]
async fn startup_scheduled_and_fruitful_fetches_start_no_cooldown() {
    let (okta, verifier, clock) = setup(|b| b).await;
    // Startup fetch, then a key published after it: found at once, not after 30 s.
    verifier.refresh_keys().await.unwrap();
    assert_eq!(okta.key_fetch_count(), 1);
    let publish_and_sign = || {
        common::sign_with_a_new_key(&okta);
        token(&okta)
    };
    let second = publish_and_sign();
    assert!(verifier.verify_access_token(&second).await.is_ok());
    assert_eq!(okta.key_fetch_count(), 2);
    // That fetch found its kid (fruitful): the next new key is fetched at once too.
    clock.advance(1);
    let third = publish_and_sign();
    assert!(verifier.verify_access_token(&third).await.is_ok());
    assert_eq!(okta.key_fetch_count(), 3);
    assert_eq!(verifier.jwks_stats().cooldown_hits, 0);
    // A scheduled refresh (past 90% of the lifetime) starts none either.
    clock.advance(3300);
    assert!(verifier.verify_access_token(&third).await.is_ok());
    wait_for_fetches(&okta, 4).await;
    // Waits for the background fetch to end (it holds the fetch lock); fetches nothing itself,
    // since a fetch just succeeded.
    verifier.refresh_keys().await.unwrap();
    assert_eq!(okta.key_fetch_count(), 4);
    let fourth = publish_and_sign();
    assert!(verifier.verify_access_token(&fourth).await.is_ok());
    assert_eq!(okta.key_fetch_count(), 5);
    // Random kids still cost one fetch per cooldown.
    for i in 0..50 {
        let random = token_with_kid(&okta, &format!("random-{i}"));
        assert!(verifier.verify_access_token(&random).await.is_err());
    }
    assert_eq!(okta.key_fetch_count(), 6);
    assert_eq!(verifier.jwks_stats().cooldown_hits, 49);
}

#[tokio::test]
async fn stale_keys_keep_verifying_while_okta_is_down() {
    let (okta, verifier, clock) = setup(|b| b).await;
    let good = token(&okta);
    assert!(verifier.verify_access_token(&good).await.is_ok());
    assert_eq!(verifier.jwks_stats().ttl, Duration::from_secs(3600));
    okta.set_keys_fault(KeysFault::Status(500));
    // Past the set's lifetime: requests trigger background refreshes, which fail.
    clock.advance(3600 + 10);
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
    assert_eq!(outcome.unwrap_err().kind(), ErrorKind::KeysUnavailable);
    assert!(verifier.verify_access_token(&good).await.is_ok());
}

#[tokio::test]
async fn cold_start_with_okta_down_backs_off_then_recovers() {
    let (okta, verifier, clock) = setup(|b| b).await;
    okta.set_keys_fault(KeysFault::Status(502));
    let good = token(&okta);
    assert_eq!(
        verifier
            .verify_access_token(&good)
            .await
            .unwrap_err()
            .kind(),
        ErrorKind::KeysUnavailable
    );
    assert_eq!(okta.key_fetch_count(), 1);
    // Within the first retry delay (1 s +-20%): no new fetch, still 503.
    clock.advance_millis(700);
    assert_eq!(
        verifier
            .verify_access_token(&good)
            .await
            .unwrap_err()
            .kind(),
        ErrorKind::KeysUnavailable
    );
    assert_eq!(okta.key_fetch_count(), 1);
    // After it: one more attempt.
    clock.advance_millis(600);
    assert_eq!(
        verifier
            .verify_access_token(&good)
            .await
            .unwrap_err()
            .kind(),
        ErrorKind::KeysUnavailable
    );
    assert_eq!(okta.key_fetch_count(), 2);
    // The delay doubles but never exceeds about 10 s (+20% jitter).
    for attempt in 3..=10 {
        clock.advance(12);
        assert_eq!(
            verifier
                .verify_access_token(&good)
                .await
                .unwrap_err()
                .kind(),
            ErrorKind::KeysUnavailable
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
                .unwrap_err()
                .kind(),
            ErrorKind::KeysUnavailable,
            "{fault:?}"
        );
        assert_eq!(verifier.jwks_stats().failures, 1, "{fault:?}");
    }
}

#[tokio::test]
async fn cache_control_max_age_is_clamped() {
    for (cache_control, expected) in [
        // Okta's ~44 days: at most an hour, the window in which a removed key still verifies.
        ("max-age=3317760, must-revalidate", 3600),
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
    common::sign_with_a_new_key(&okta);
    clock.advance(396);
    assert!(verifier.verify_access_token(&good).await.is_ok());
    wait_for_fetches(&okta, 2).await;
    // While the refresh hangs, requests with known keys go through.
    for _ in 0..50 {
        assert!(verifier.verify_access_token(&good).await.is_ok());
    }
    // The refresh completes and brings the rotated key, with no request having fetched it.
    tokio::time::timeout(Duration::from_secs(10), async {
        while verifier.jwks_stats().keys < 3 {
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_retry_delay_counts_from_the_failure_and_no_request_queues_behind_a_hanging_fetch() {
    let (okta, verifier, clock) = setup(|b| {
        b.jwks_timeouts(Duration::from_secs(1), Duration::from_millis(300))
            .jwks_retry(Duration::from_secs(2), Duration::from_secs(2))
    })
    .await;
    okta.set_keys_fault(KeysFault::Delay(Duration::from_secs(60)));
    let good = token(&okta);
    // Two requests for a key the verifier lacks (a cold start) while the keys endpoint hangs.
    let spawn = || {
        let verifier = verifier.clone();
        let good = good.clone();
        tokio::spawn(async move { verifier.verify_access_token(&good).await })
    };
    let (first, second) = (spawn(), spawn());
    wait_for_fetches(&okta, 1).await;
    // The fetch hangs for its whole timeout while the clock moves on by 5 s.
    clock.advance(5);
    let mut retry_after = Vec::new();
    for pending in [first, second] {
        let error = tokio::time::timeout(Duration::from_secs(10), pending)
            .await
            .expect("answered within the fetch timeout")
            .unwrap()
            .unwrap_err();
        assert_eq!(error.kind(), ErrorKind::KeysUnavailable);
        retry_after.push(error.retry_after_secs().unwrap());
    }
    // The request that fetched learns the retry delay (2 s +-20%), which starts at the failure;
    // the one that gave up waiting (at most one fetch timeout) says at least a second.
    retry_after.sort_unstable();
    assert!(retry_after[0] >= 1, "Retry-After {retry_after:?}");
    assert!(
        (2..=3).contains(&retry_after[1]),
        "Retry-After {retry_after:?}"
    );
    // The waiting request did not start a fetch of its own after the first one failed.
    assert_eq!(okta.key_fetch_count(), 1);
    // 1 s after the failure (6 s after the fetch started): still inside the delay.
    clock.advance(1);
    let error = verifier.verify_access_token(&good).await.unwrap_err();
    assert_eq!(error.kind(), ErrorKind::KeysUnavailable);
    assert!((1..=2).contains(&error.retry_after_secs().unwrap()));
    assert_eq!(okta.key_fetch_count(), 1);
    // After the delay: one new attempt, which finds Okta back.
    okta.set_keys_fault(KeysFault::None);
    clock.advance(2);
    assert!(verifier.verify_access_token(&good).await.is_ok());
    assert_eq!(okta.key_fetch_count(), 2);
}

#[tokio::test]
async fn a_rate_limited_keys_endpoint_is_asked_again_only_after_its_reset() {
    // The mock and the verifier share the time, as Okta and a server with a synced clock do.
    let okta_clock =
        tower_okta_mock::ManualClock::new(std::time::UNIX_EPOCH + Duration::from_secs(T0 as u64));
    let okta = MockOkta::builder()
        .clock(okta_clock.clone())
        .start()
        .await
        .unwrap();
    let clock = Arc::new(FixedClock::new(T0));
    let verifier = okta
        .verifier_builder()
        .clock(clock.clone())
        .build()
        .unwrap();
    // Okta's 429: X-Rate-Limit-Reset 20 s ahead, no Retry-After.
    okta.set_keys_fault(KeysFault::RateLimited {
        reset_after: Duration::from_secs(20),
    });
    let good = token(&okta);
    let error = verifier.verify_access_token(&good).await.unwrap_err();
    assert_eq!(error.kind(), ErrorKind::KeysUnavailable);
    // Until the reset, plus up to 20% jitter.
    let secs = error.retry_after_secs().unwrap();
    assert!((20..=24).contains(&secs), "Retry-After {secs}");
    assert_eq!(okta.key_fetch_count(), 1);
    okta.set_keys_fault(KeysFault::None);
    // Before the reset: no request, however many tokens come.
    clock.advance(19);
    for _ in 0..10 {
        let error = verifier.verify_access_token(&good).await.unwrap_err();
        assert_eq!(error.kind(), ErrorKind::KeysUnavailable);
    }
    assert_eq!(okta.key_fetch_count(), 1);
    clock.advance(6);
    assert!(verifier.verify_access_token(&good).await.is_ok());
    assert_eq!(okta.key_fetch_count(), 2);
}
