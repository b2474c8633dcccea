//! The verified-token cache of the layer, on by default: these tests run with the default
//! configuration (10,000 entries, 5 min), except where a test needs another lifetime or the cache
//! off, and says so.

mod common;
use common::MockExt;

use std::sync::Arc;
use std::time::Duration;

use common::{app, get_with_token};
use http::StatusCode;
use tower_okta::clock::FixedClock;
use tower_okta::{ConfigError, Verifier, VerifierBuilder};
use tower_okta_mock::MockOkta;

const T0: i64 = 1_800_000_000;

/// A mock Okta and a verifier with the default token cache, on a fixed clock.
async fn setup() -> (MockOkta, Verifier, Arc<FixedClock>) {
    setup_with(|b| b).await
}

async fn setup_with(
    configure: impl FnOnce(VerifierBuilder) -> VerifierBuilder,
) -> (MockOkta, Verifier, Arc<FixedClock>) {
    let okta = MockOkta::start().await.unwrap();
    let clock = Arc::new(FixedClock::new(T0));
    let builder = okta
        .verifier_builder()
        .clock(clock.clone())
        .jwks_cooldown(Duration::ZERO);
    let verifier = configure(builder).build().unwrap();
    (okta, verifier, clock)
}

#[tokio::test]
async fn the_cache_is_on_by_default_and_without_token_cache_turns_it_off() {
    let (okta, default, clock) = setup().await;
    let off = okta
        .verifier_builder()
        .clock(clock)
        .without_token_cache()
        .build()
        .unwrap();
    let t = token(&okta, T0 + 3600);
    let lookups = |v: &Verifier| v.jwks_stats().cache_hits + v.jwks_stats().cache_misses;
    let mut repeat_lookups = Vec::new();
    for verifier in [&default, &off] {
        let app = app(verifier);
        let first = get_with_token(&app, "/api/me", &t).await;
        assert_eq!(first.status, StatusCode::OK);
        // Verified once: no entry yet (the doorkeeper remembers only its hash).
        assert_eq!(verifier.token_cache_len(), 0);
        let second = get_with_token(&app, "/api/me", &t).await;
        assert_eq!(second.status, StatusCode::OK);
        let before = lookups(verifier);
        for _ in 0..2 {
            let answer = get_with_token(&app, "/api/me", &t).await;
            assert_eq!(answer.status, StatusCode::OK);
        }
        repeat_lookups.push(lookups(verifier) - before);
    }
    assert_eq!(default.token_cache_len(), 1);
    assert_eq!(off.token_cache_len(), 0);
    // Cached: the repeats looked up no key; without the cache, each one did.
    assert_eq!(repeat_lookups, [0, 2]);
    assert_eq!(tower_okta::DEFAULT_TOKEN_CACHE_ENTRIES, 10_000);
    assert_eq!(
        tower_okta::DEFAULT_TOKEN_CACHE_TTL,
        Duration::from_secs(300)
    );
}

/// Two requests with `t`: a token gets its cache entry the second time it is verified.
async fn verified_twice(app: &axum::Router, t: &str) {
    for _ in 0..2 {
        assert_eq!(
            get_with_token(app, "/api/me", t).await.status,
            StatusCode::OK
        );
    }
}

fn token(okta: &MockOkta, exp: i64) -> String {
    okta.access_token_builder()
        .claim("iat", T0)
        .claim("exp", exp)
        .build()
}

#[tokio::test]
async fn a_cached_token_skips_the_key_lookup_and_signature() {
    let (okta, verifier, _clock) = setup().await;
    let app = app(&verifier);
    let t = token(&okta, T0 + 3600);
    verified_twice(&app, &t).await;
    let lookups = verifier.jwks_stats().cache_hits + verifier.jwks_stats().cache_misses;
    assert_eq!(verifier.token_cache_len(), 1);
    for _ in 0..10 {
        let answer = get_with_token(&app, "/api/me", &t).await;
        assert_eq!(answer.status, StatusCode::OK);
        assert_eq!(answer.json()["sub"], "jane.doe@example.com");
    }
    let after = verifier.jwks_stats().cache_hits + verifier.jwks_stats().cache_misses;
    assert_eq!(after, lookups, "no key lookup: served from the token cache");
    // A different token (one character changed) is not a hit and fails verification.
    let mut forged = t.clone().into_bytes();
    let i = forged.len() - 10;
    forged[i] = if forged[i] == b'A' { b'B' } else { b'A' };
    let forged = String::from_utf8(forged).unwrap();
    get_with_token(&app, "/api/me", &forged)
        .await
        .assert_invalid_token();
}

#[tokio::test]
async fn entries_end_at_the_ttl() {
    // The default lifetime: 5 minutes.
    let (okta, verifier, clock) = setup().await;
    let app = app(&verifier);
    let t = token(&okta, T0 + 3600);
    verified_twice(&app, &t).await;
    let hits = verifier.jwks_stats().cache_hits;
    clock.advance(299);
    assert_eq!(
        get_with_token(&app, "/api/me", &t).await.status,
        StatusCode::OK
    );
    assert_eq!(verifier.jwks_stats().cache_hits, hits, "still cached");
    clock.advance(1);
    assert_eq!(
        get_with_token(&app, "/api/me", &t).await.status,
        StatusCode::OK
    );
    assert_eq!(verifier.jwks_stats().cache_hits, hits + 1, "verified again");
}

#[tokio::test]
async fn entries_end_when_the_token_expires() {
    let (okta, verifier, clock) = setup().await;
    let app = app(&verifier);
    let t = token(&okta, T0 + 30);
    verified_twice(&app, &t).await;
    // exp + 60 s leeway.
    clock.advance(89);
    assert_eq!(
        get_with_token(&app, "/api/me", &t).await.status,
        StatusCode::OK
    );
    clock.advance(1);
    get_with_token(&app, "/api/me", &t)
        .await
        .assert_invalid_token();
}

#[tokio::test]
async fn a_removed_key_stops_cached_tokens_after_the_next_fetch() {
    let (okta, verifier, _clock) = setup().await;
    let app = app(&verifier);
    let old_kid = okta.signing_key().kid().to_owned();
    let old = token(&okta, T0 + 3600);
    verified_twice(&app, &old).await;
    assert_eq!(verifier.token_cache_len(), 1);
    common::sign_with_a_new_key(&okta);
    okta.unpublish_key(&old_kid);
    // Cached, and the verifier has not fetched the new set yet.
    assert_eq!(
        get_with_token(&app, "/api/me", &old).await.status,
        StatusCode::OK
    );
    // A token with the new kid makes the verifier fetch the set without the old key.
    assert_eq!(
        get_with_token(&app, "/api/me", &token(&okta, T0 + 3600))
            .await
            .status,
        StatusCode::OK
    );
    get_with_token(&app, "/api/me", &old)
        .await
        .assert_invalid_token();
}

/// Key lookups made by full verifications (a token-cache hit makes none).
fn lookups(verifier: &Verifier) -> u64 {
    verifier.jwks_stats().cache_hits + verifier.jwks_stats().cache_misses
}

#[tokio::test]
async fn fetches_keep_the_cached_tokens_of_the_keys_that_stay() {
    let (okta, verifier, _clock) = setup().await;
    let app = app(&verifier);
    let first_kid = okta.signing_key().kid().to_owned();
    let first = token(&okta, T0 + 3600);
    verified_twice(&app, &first).await;
    // A new key: the fetch its first token causes adds a key and removes none.
    common::sign_with_a_new_key(&okta);
    let second = token(&okta, T0 + 3600);
    verified_twice(&app, &second).await;
    assert_eq!(verifier.jwks_stats().fetches, 2);
    let before = lookups(&verifier);
    for t in [&first, &second] {
        assert_eq!(
            get_with_token(&app, "/api/me", t).await.status,
            StatusCode::OK
        );
    }
    assert_eq!(
        lookups(&verifier),
        before,
        "both served from the token cache"
    );
    // A third key, and the first one leaves the set: the fetch removes it.
    common::sign_with_a_new_key(&okta);
    okta.unpublish_key(&first_kid);
    let third = token(&okta, T0 + 3600);
    assert_eq!(
        get_with_token(&app, "/api/me", &third).await.status,
        StatusCode::OK
    );
    assert_eq!(verifier.jwks_stats().fetches, 3);
    let before = lookups(&verifier);
    // The second key stayed: its token is still a hit (its key checked in the set once more).
    assert_eq!(
        get_with_token(&app, "/api/me", &second).await.status,
        StatusCode::OK
    );
    assert_eq!(lookups(&verifier), before, "no full verification");
    get_with_token(&app, "/api/me", &first)
        .await
        .assert_invalid_token();
}

#[tokio::test]
async fn cached_access_tokens_are_not_served_to_the_id_token_layer() {
    let (okta, verifier, _clock) = setup().await;
    let app = app(&verifier);
    let t = token(&okta, T0 + 3600);
    verified_twice(&app, &t).await;
    assert_eq!(verifier.token_cache_len(), 1);
    get_with_token(&app, "/id/me", &t)
        .await
        .assert_invalid_token();
}

#[test]
fn settings_are_validated() {
    let base = || {
        Verifier::builder()
            .issuer("https://dev-1.okta.com/oauth2/default")
            .client_id("0oa1")
    };
    for (entries, ttl) in [(0, 60), (10, 0), (10, 3601)] {
        assert!(matches!(
            base()
                .token_cache(entries, Duration::from_secs(ttl))
                .build(),
            Err(ConfigError::TokenCache)
        ));
    }
    assert!(base()
        .token_cache(10, Duration::from_secs(30))
        .build()
        .is_ok());
}

#[tokio::test]
async fn a_key_removed_by_okta_stops_cached_tokens_within_one_jwks_lifetime() {
    // Okta's keys answer says max-age of ~44 days; the verifier keeps a set at most an hour.
    // Not the default: entries of up to an hour, so that only the key's removal ends this one.
    let (okta, verifier, clock) =
        setup_with(|b| b.token_cache(1000, Duration::from_secs(3600))).await;
    let app = app(&verifier);
    let leaked = token(&okta, T0 + 86_400);
    verified_twice(&app, &leaked).await;
    assert_eq!(verifier.jwks_stats().ttl, Duration::from_secs(3600));
    assert_eq!(verifier.token_cache_len(), 1);
    // An emergency rotation: Okta removes the signing key at once.
    okta.emergency_rotate().unwrap();
    // Within the hour the verifier has not looked again: the documented window.
    clock.advance(3000);
    assert_eq!(
        get_with_token(&app, "/api/me", &leaked).await.status,
        StatusCode::OK
    );
    assert_eq!(okta.key_fetch_count(), 1);
    // Past 90% of the lifetime, a cache hit starts the background refresh...
    clock.advance(300);
    get_with_token(&app, "/api/me", &leaked).await;
    tokio::time::timeout(Duration::from_secs(10), async {
        while okta.key_fetch_count() < 2 {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await
    .expect("the background refresh asks Okta");
    // (refresh_keys waits for it to end, and fetches nothing itself after a fresh success.)
    verifier.refresh_keys().await.unwrap();
    // ...and from then on the cached token is refused: its key left the set.
    get_with_token(&app, "/api/me", &leaked)
        .await
        .assert_invalid_token();
    // Tokens signed with the promoted key verify, without another fetch for their kid.
    let fresh = token(&okta, T0 + 86_400);
    assert_eq!(
        get_with_token(&app, "/api/me", &fresh).await.status,
        StatusCode::OK
    );
}
