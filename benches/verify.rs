//! Benchmarks of tower-okta against the RSA floor (the performance targets in README).
//!
//! Every group measures its own baseline in the same run, so the report
//! (`cargo run --manifest-path bench-peers/Cargo.toml --bin bench-report`) can print ratios that
//! do not depend on the machine:
//!
//! - `floor`: one raw aws-lc-rs RSA-2048 PKCS#1 v1.5 SHA-256 verification of the token's signing
//!   input with a key parsed once (`parsed_key`), and with the key parsed on every call
//!   (`unparsed_der`, for reference);
//! - `verify`: `Verifier::verify_access_token` on an Okta-shaped access token (about 900 bytes,
//!   12 claims), key cached: polled once without a runtime (`poll_once`, the cached path never
//!   awaits), through a current-thread runtime's `block_on` (`block_on`), and the runtime's own
//!   cost (`block_on_empty`) so that it can be subtracted;
//! - `verify_reject`: garbage, a bad signature and an expired token;
//! - `breakdown`: the steps of `verify` one at a time (decode the three parts, parse the header,
//!   the strict claims pass, the key cache lookup, the clock, building and dropping the owned
//!   `AccessClaims`), to show where the time over the floor goes;
//! - `layer`: one request through an axum router with `verifier.layer()` and a handler that
//!   extracts `Claims<AccessClaims>` (`with_layer`), next to the same router without the layer
//!   (`bare_router`);
//! - `concurrent`: verifications per second on a multi-thread runtime with 1, 2 and all available
//!   workers (`threads/N`, one iteration = one verification), requests through the layer on
//!   the same worker counts with the verified-token cache off and on (`layer_cache_off/N`,
//!   `layer_cache_on/N`: every request after the first a hit on the same entry, so moka's read
//!   path is what scales; `layer_cache_on_tokens/N`: hits too, each worker's task sending its
//!   own user's token), and the router without the layer (`bare_router/N`: how far requests
//!   of that size scale on the machine at all), the report giving each as a speed-up over one
//!   worker; and an unknown-kid storm: 10,000
//!   concurrent verifications of a token whose `kid` the verifier has never seen
//!   (`unknown_kid_storm_10k`); each storm prints the mock's key fetch count (must be 1);
//! - `cache_hit`: a request through the layer with the verified-token cache on and the token
//!   cached (`layer_hit`), next to the bare router (`bare_router`);
//! - `dpop`: DPoP (RFC 9449, target: a DPoP request <= 1.15x the RSA floor plus the raw verify of
//!   the proof's signature). `floor`: the RSA floor on the DPoP-bound access token (as the
//!   `floor` group's `parsed_key`); `floor_es256`: one raw aws-lc-rs ECDSA P-256 SHA-256 (fixed
//!   `r || s`) verify of a proof's signing input with the proof key's point
//!   (`UnparsedPublicKey`, built once), a different proof on each call from a pool of 256 fresh
//!   ones (as the layer sees a fresh proof per request: one proof verified over and over keeps
//!   ECDSA's signature-dependent table entries in the caches); `floor_rs256_proof`: the same for
//!   RS256 proofs (`RsaPublicKeyComponents::verify`, components built once, as the crate
//!   verifies a proof's RSA key); `bare_router`: the `layer` group's bare router, sent the same DPoP requests;
//!   `with_layer_dpop`: `GET /api/me` with `Host: api.test`, `Authorization: DPoP {token}` (a
//!   token bound to an ES256 key) and a fresh ES256 proof through the `layer` group's router
//!   (`verifier.layer()`, default DPoP policy); `with_layer_dpop_rs256`: the same with an RS256
//!   key and proofs. Proofs are single-use (the replay cache refuses a second `jti`), so each
//!   request is built with a fresh proof outside the timed routine (`iter_batched`); every
//!   response must be 200. Signing an RS256 proof takes far longer than the request, so
//!   `with_layer_dpop_rs256` takes several times the measurement time in wall time.
//!
//! Every group but `cache_hit` and `concurrent/layer_cache_on` measures full verification: the
//! fixture's verifier has the verified-token cache (on by default) turned off.
//!
//! After the criterion groups, an interleaved check measures the floor, `verify`, the bare router,
//! the layer and a verified-token cache hit through the layer (`cache_hit`: the default settings,
//! the token cached) in alternation (100 rounds of 100 calls each) and prints the per-round times as
//! one `interleaved: {json}` line (name `main`), from which the report takes per-round ratios and
//! their median: robust to the load changes of a shared machine. A second check (name `dpop`)
//! does the same for the RSA floor on the bound token (`floor`), `floor_es256`, the bare router
//! and the DPoP layer (`with_layer_dpop`), with its 10,000 requests and fresh ES256 proofs built
//! before the timed loop (within the proofs' 60 s `iat` window); a third (`dpop_rs256`: `floor`,
//! `floor_rs256_proof`, `bare_router`, `with_layer_dpop_rs256`) the same with RS256 proofs, 100
//! rounds of 20 calls (signing 2,000 RS256 proofs takes a few seconds). The interleaved checks run
//! only under `cargo bench`.
//!
//! `cargo bench --bench verify -- --measurement-time 3` runs it; the report passes its own times.
//! `TOWER_OKTA_BENCH_ONLY` (a comma-separated list of names) runs only the criterion groups and
//! interleaved checks it names: the groups above, `main` for the first interleaved check and
//! `dpop` for the `dpop` group and both DPoP interleaved checks. The DPoP part alone:
//!
//! ```sh
//! TOWER_OKTA_BENCH_ONLY=dpop cargo bench --bench verify -- --measurement-time 2 --warm-up-time 1
//! ```

use std::future::Future;
use std::hint::black_box;
use std::sync::{Arc, OnceLock};
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use aws_lc_rs::signature::{
    ParsedPublicKey, RsaPublicKeyComponents, UnparsedPublicKey, ECDSA_P256_SHA256_FIXED,
    RSA_PKCS1_2048_8192_SHA256,
};
use axum::body::Body;
use axum::routing::get;
use axum::Router;
use base64::Engine;
use criterion::{BatchSize, BenchmarkId, Criterion, SamplingMode, Throughput};
use http::{header, HeaderValue, Request, StatusCode};
use tokio::runtime::Runtime;
use tower::ServiceExt;
use tower_okta::{AccessClaims, AuthError, Claims, TokenError, Verifier};
use tower_okta_mock::{DpopKey, MockOkta};

/// Concurrent verifications in one unknown-kid storm.
const STORM: usize = 10_000;

/// The base64url alphabet without padding, as in compact JWS.
const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::URL_SAFE_NO_PAD;

/// A mock Okta serving from its own runtime, a warmed verifier and the token under test.
struct Fixture {
    /// Keeps the mock's server task running between `block_on` calls.
    mock_rt: Runtime,
    okta: MockOkta,
    verifier: Verifier,
    /// A valid access token (about 900 bytes).
    token: String,
}

fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        let mock_rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .expect("runtime");
        let okta = mock_rt
            .block_on(MockOkta::start())
            .expect("mock Okta starts");
        // The hot path is full verification: the verified-token cache (on by default) is off
        // here, and measured on its own in `cache_hit` and `concurrent/layer_cache_on`.
        let verifier = okta
            .verifier_builder()
            .without_token_cache()
            .build()
            .expect("verifier builds");
        // Okta's claims for a user's access token (ver, jti, iss, aud, iat, exp, cid, uid, scp,
        // auth_time, sub) and a groups claim, as many APIs configure: about 900 bytes.
        let builder = okta
            .access_token_builder()
            .claim("groups", ["Everyone", "Engineering"]);
        let token = builder.build();
        eprintln!(
            "token under test: {} bytes, {} claims",
            token.len(),
            builder.claims().len()
        );
        // Warm the key cache: the only fetch of the main fixture.
        mock_rt
            .block_on(verifier.verify_access_token(&token))
            .expect("the token verifies");
        Fixture {
            mock_rt,
            okta,
            verifier,
            token,
        }
    })
}

/// A current-thread runtime, as `#[tokio::main(flavor = "current_thread")]` builds.
fn current_thread() -> Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
}

/// Polls `future` once with a no-op waker; the cached verification path completes in one poll.
fn poll_once<F: Future>(future: F) -> F::Output {
    let mut future = std::pin::pin!(future);
    match future
        .as_mut()
        .poll(&mut Context::from_waker(Waker::noop()))
    {
        Poll::Ready(output) => output,
        Poll::Pending => panic!("the cached verification path awaited"),
    }
}

/// `(signing input, signature)` of a compact JWS.
fn signing_input_and_signature(token: &str) -> (&str, Vec<u8>) {
    let (input, signature) = token.rsplit_once('.').expect("a compact JWS");
    (input, B64.decode(signature).expect("base64url signature"))
}

/// The floor's key, parsed once, and `token`'s signing input and signature.
fn floor_parts<'t>(fx: &Fixture, token: &'t str) -> (ParsedPublicKey, &'t str, Vec<u8>) {
    let key = fx.okta.signing_key();
    let (modulus, exponent) = (key.modulus(), key.exponent());
    let (input, signature) = signing_input_and_signature(token);
    let parsed = RsaPublicKeyComponents {
        n: modulus.as_slice(),
        e: exponent.as_slice(),
    }
    .to_parsed_public_key(&RSA_PKCS1_2048_8192_SHA256)
    .expect("the mock's key parses");
    parsed
        .verify_sig(input.as_bytes(), &signature)
        .expect("the mock's signature verifies");
    (parsed, input, signature)
}

fn floor(c: &mut Criterion) {
    let fx = fixture();
    let der = fx.okta.signing_key().public_key_der();
    let (parsed, input, signature) = floor_parts(fx, &fx.token);

    let mut group = c.benchmark_group("floor");
    group.bench_function("parsed_key", |b| {
        b.iter(|| {
            parsed
                .verify_sig(black_box(input.as_bytes()), black_box(&signature))
                .expect("verifies");
        });
    });
    group.bench_function("unparsed_der", |b| {
        b.iter(|| {
            UnparsedPublicKey::new(&RSA_PKCS1_2048_8192_SHA256, black_box(der.as_slice()))
                .verify(black_box(input.as_bytes()), black_box(&signature))
                .expect("verifies");
        });
    });
    group.finish();
}

fn verify(c: &mut Criterion) {
    let fx = fixture();
    let rt = current_thread();
    let token = fx.token.as_str();
    poll_once(fx.verifier.verify_access_token(token)).expect("verifies with the cached key");

    let mut group = c.benchmark_group("verify");
    group.bench_function("poll_once", |b| {
        b.iter(|| poll_once(fx.verifier.verify_access_token(black_box(token))).expect("valid"));
    });
    group.bench_function("block_on", |b| {
        b.iter(|| {
            rt.block_on(fx.verifier.verify_access_token(black_box(token)))
                .expect("valid")
        });
    });
    group.bench_function("block_on_empty", |b| {
        b.iter(|| rt.block_on(black_box(async {})));
    });
    group.finish();
}

fn verify_reject(c: &mut Criterion) {
    let fx = fixture();
    let garbage = "this is not a token at all, just 64 bytes of printable garbage!";
    // Change one character in the middle of the signature: still strict base64url, wrong bytes.
    let bad_signature = {
        let mut bytes = fx.token.clone().into_bytes();
        let at = bytes.len() - 100;
        bytes[at] = if bytes[at] == b'A' { b'B' } else { b'A' };
        String::from_utf8(bytes).expect("ASCII")
    };
    let expired = fx.okta.access_token_builder().claim("exp", 1000).build();

    let cases = [
        ("garbage", garbage, None),
        (
            "bad_signature",
            bad_signature.as_str(),
            Some(TokenError::BadSignature),
        ),
        ("expired", expired.as_str(), Some(TokenError::Expired)),
    ];
    let mut group = c.benchmark_group("verify_reject");
    for (name, token, expected) in cases {
        let error = poll_once(fx.verifier.verify_access_token(token)).expect_err("refused");
        if let Some(expected) = expected {
            assert!(
                matches!(&error, AuthError::InvalidToken(e) if *e == expected),
                "{name}: {error:?}"
            );
        }
        group.bench_function(name, |b| {
            b.iter(|| poll_once(fx.verifier.verify_access_token(black_box(token))).is_err());
        });
    }
    group.finish();
}

/// The steps of the hot path one at a time (`tower_okta::__private::steps`), to show where the
/// time over the floor goes. Each step runs on the fixture's token exactly as `verify` runs it.
fn breakdown(c: &mut Criterion) {
    use tower_okta::__private::steps;
    use tower_okta::{Clock, SystemClock};

    let fx = fixture();
    let token = fx.token.as_str();
    let max = tower_okta::DEFAULT_MAX_TOKEN_SIZE;
    let decoded = steps::decode(token, max).expect("decodes");
    let header: serde_json::Value = serde_json::from_str(decoded.header()).expect("header JSON");
    let kid = header["kid"].as_str().expect("a kid").to_owned();
    let now_ms = SystemClock.now_millis();
    assert_eq!(steps::header(decoded.header()), Ok(kid.len()));
    assert!(steps::access_claims(decoded.payload()).expect("claims") > 0);
    assert!(steps::key_lookup(&fx.verifier, &kid, now_ms));
    let claims = poll_once(fx.verifier.verify_access_token(token)).expect("valid");

    let mut group = c.benchmark_group("breakdown");
    group.bench_function("decode", |b| {
        b.iter(|| steps::decode(black_box(token), max).is_ok());
    });
    group.bench_function("header", |b| {
        b.iter(|| steps::header(black_box(decoded.header())));
    });
    group.bench_function("claims", |b| {
        b.iter(|| steps::access_claims(black_box(decoded.payload())));
    });
    group.bench_function("key_lookup", |b| {
        b.iter(|| steps::key_lookup(&fx.verifier, black_box(&kid), now_ms));
    });
    group.bench_function("clock", |b| b.iter(|| SystemClock.now_millis()));
    group.bench_function("owned_claims", |b| {
        b.iter(|| black_box(&claims).clone());
    });
    group.finish();
}

async fn me(claims: Claims<AccessClaims>) -> String {
    claims.sub.clone()
}

async fn bare() -> String {
    "jane.doe@example.com".to_owned()
}

/// `GET /api/me` with `Authorization: Bearer {token}`; the header value is built once.
fn authorized_request(token: &str) -> impl Fn() -> Request<Body> {
    let authorization =
        HeaderValue::try_from(format!("Bearer {token}")).expect("a valid header value");
    move || {
        Request::builder()
            .uri("/api/me")
            .header(header::AUTHORIZATION, authorization.clone())
            .body(Body::empty())
            .expect("request")
    }
}

fn layer(c: &mut Criterion) {
    let fx = fixture();
    let rt = current_thread();
    let with_layer = Router::new()
        .route("/api/me", get(me))
        .route_layer(fx.verifier.layer());
    let bare_router = Router::new().route("/api/me", get(bare));
    let request = authorized_request(&fx.token);
    for app in [&with_layer, &bare_router] {
        let response = rt
            .block_on(app.clone().oneshot(request()))
            .expect("infallible");
        assert_eq!(response.status(), StatusCode::OK);
    }

    let mut group = c.benchmark_group("layer");
    group.bench_function("bare_router", |b| {
        b.iter(|| rt.block_on(bare_router.clone().oneshot(request())));
    });
    group.bench_function("with_layer", |b| {
        b.iter(|| rt.block_on(with_layer.clone().oneshot(request())));
    });
    group.finish();
}

/// `iters` requests through `app` spread over `workers` tasks on `rt`; the time scaled to
/// exactly `iters`.
fn layer_concurrently(
    rt: &Runtime,
    app: &Router,
    tokens: &[String],
    workers: usize,
    iters: u64,
) -> Duration {
    let per_task = iters.div_ceil(workers as u64);
    let start = Instant::now();
    rt.block_on(async {
        let tasks: Vec<_> = (0..workers)
            .map(|task| {
                let app = app.clone();
                // Task `i` sends `tokens[i % len]`: one token for all, or one token per task.
                let request = authorized_request(&tokens[task % tokens.len()]);
                tokio::spawn(async move {
                    for _ in 0..per_task {
                        let response = app.clone().oneshot(request()).await.expect("infallible");
                        assert_eq!(response.status(), StatusCode::OK);
                    }
                })
            })
            .collect();
        for task in tasks {
            task.await.expect("task");
        }
    });
    let done = per_task * workers as u64;
    start.elapsed().mul_f64(iters as f64 / done as f64)
}

/// `iters` verifications spread over `workers` tasks on `rt`; the time scaled to exactly `iters`.
fn verify_concurrently(
    rt: &Runtime,
    verifier: &Verifier,
    token: &Arc<str>,
    workers: usize,
    iters: u64,
) -> Duration {
    let per_task = iters.div_ceil(workers as u64);
    let start = Instant::now();
    rt.block_on(async {
        let tasks: Vec<_> = (0..workers)
            .map(|_| {
                let (verifier, token) = (verifier.clone(), Arc::clone(token));
                tokio::spawn(async move {
                    for _ in 0..per_task {
                        black_box(verifier.verify_access_token(&token).await.expect("valid"));
                    }
                })
            })
            .collect();
        for task in tasks {
            task.await.expect("task");
        }
    });
    let done = per_task * workers as u64;
    start.elapsed().mul_f64(iters as f64 / done as f64)
}

fn concurrent(c: &mut Criterion) {
    let fx = fixture();
    let token: Arc<str> = fx.token.as_str().into();
    let available = std::thread::available_parallelism().map_or(1, |n| n.get());
    let mut workers = vec![1, 2, available];
    workers.sort_unstable();
    workers.dedup();
    eprintln!("available parallelism: {available}");

    let mut group = c.benchmark_group("concurrent");
    group.throughput(Throughput::Elements(1));
    for &n in &workers {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(n)
            .enable_all()
            .build()
            .expect("runtime");
        group.bench_with_input(BenchmarkId::new("threads", n), &n, |b, &n| {
            b.iter_custom(|iters| verify_concurrently(&rt, &fx.verifier, &token, n, iters));
        });
    }
    // Requests through the layer, with the verified-token cache off (every request verified)
    // and on (the default: every request after the first is a hit, the moka read path).
    let cached = fx
        .mock_rt
        .block_on(async { fx.okta.verifier_builder().build() })
        .expect("verifier builds");
    // One token per task (a user each): hits on `n` entries rather than all on one.
    let per_task_tokens: Vec<String> = (0..available)
        .map(|i| {
            let user = format!("user{i}@example.com");
            let token = fx.okta.access_token_builder();
            let token = token
                .claim("sub", user.as_str())
                .claim("groups", ["Everyone"]);
            token.build()
        })
        .collect();
    let one_token = std::slice::from_ref(&fx.token);
    let bare_router = Router::new().route("/api/me", get(bare));
    let layered = |verifier: &Verifier| {
        Router::new()
            .route("/api/me", get(me))
            .route_layer(verifier.layer())
    };
    for (name, app, tokens) in [
        ("bare_router", bare_router, one_token),
        ("layer_cache_off", layered(&fx.verifier), one_token),
        ("layer_cache_on", layered(&cached), one_token),
        (
            "layer_cache_on_tokens",
            layered(&cached),
            &per_task_tokens[..],
        ),
    ] {
        for &n in &workers {
            let rt = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(n)
                .enable_all()
                .build()
                .expect("runtime");
            // Twice each: the token cache makes an entry on a token's second verification.
            for token in tokens.iter().chain(tokens) {
                let first = rt
                    .block_on(app.clone().oneshot(authorized_request(token)()))
                    .expect("infallible");
                assert_eq!(first.status(), StatusCode::OK);
            }
            group.bench_with_input(BenchmarkId::new(name, n), &n, |b, &n| {
                b.iter_custom(|iters| layer_concurrently(&rt, &app, tokens, n, iters));
            });
        }
    }
    group.finish();

    unknown_kid_storm(c, available);
}

/// 10,000 concurrent verifications of a token signed with a key the verifier has never seen.
fn unknown_kid_storm(c: &mut Criterion, workers: usize) {
    // Its own mock, so that rotating keys does not touch the other groups' fixture.
    let mock_rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("runtime");
    // The next key is not announced ahead: every rotation brings a kid the verifier has not
    // seen (with it announced, as Okta does, the verifier already holds it and no fetch is due).
    let okta = mock_rt
        .block_on(MockOkta::builder().publish_next_key(false).start())
        .expect("mock Okta starts");
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(workers)
        .enable_all()
        .build()
        .expect("runtime");
    // No cooldown: every storm may fetch, so a count above 1 would be a single-flight failure.
    let verifier = okta
        .verifier_builder()
        .jwks_cooldown(Duration::ZERO)
        .build()
        .expect("verifier builds");
    rt.block_on(verifier.verify_access_token(&okta.access_token()))
        .expect("warm-up verifies");

    let mut group = c.benchmark_group("concurrent");
    group.sample_size(10);
    group.sampling_mode(SamplingMode::Flat);
    group.bench_function("unknown_kid_storm_10k", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            let mut fetches = Vec::new();
            for _ in 0..iters {
                // A rotation as Okta does it, then the old key leaves the set (not timed).
                let old = okta.signing_key();
                okta.rotate_key().expect("a new key");
                okta.unpublish_key(old.kid());
                let token: Arc<str> = okta.access_token().into();
                let before = okta.key_fetch_count();

                let start = Instant::now();
                let ok = rt.block_on(async {
                    let tasks: Vec<_> = (0..STORM)
                        .map(|_| {
                            let (verifier, token) = (verifier.clone(), Arc::clone(&token));
                            tokio::spawn(async move {
                                verifier.verify_access_token(&token).await.is_ok()
                            })
                        })
                        .collect();
                    let mut ok = 0usize;
                    for task in tasks {
                        ok += usize::from(task.await.expect("task"));
                    }
                    ok
                });
                total += start.elapsed();

                assert_eq!(ok, STORM, "every verification in the storm succeeds");
                fetches.push(okta.key_fetch_count() - before);
            }
            // Read by the report: one line per batch of storms.
            println!(
                "unknown-kid storm: {STORM} verifications each, key fetches per storm: {fetches:?}"
            );
            total
        });
    });
    group.finish();
}

/// `GET /api/me` through a layer with the default settings (the verified-token cache on:
/// 10,000 entries, 5 min), its keys fetched.
fn cached_router(fx: &Fixture) -> Router {
    let cached = fx.okta.verifier_builder().build().expect("verifier builds");
    fx.mock_rt
        .block_on(cached.refresh_keys())
        .expect("keys fetched");
    Router::new()
        .route("/api/me", get(me))
        .route_layer(cached.layer())
}

/// The verified-token cache (`VerifierBuilder::token_cache`; target: a hit <= 1 us). Only the
/// layer uses it (`verify_*` always verify), so a hit is measured as a request through the layer
/// whose token is cached, next to the bare router of the same group; the report subtracts it.
fn cache_hit(c: &mut Criterion) {
    let fx = fixture();
    let rt = current_thread();
    let with_cache = cached_router(fx);
    let bare_router = Router::new().route("/api/me", get(bare));
    let request = authorized_request(&fx.token);
    for app in [&with_cache, &bare_router] {
        // The first request through the cached layer verifies and fills the cache.
        let response = rt
            .block_on(app.clone().oneshot(request()))
            .expect("infallible");
        assert_eq!(response.status(), StatusCode::OK);
    }

    let mut group = c.benchmark_group("cache_hit");
    group.bench_function("bare_router", |b| {
        b.iter(|| rt.block_on(bare_router.clone().oneshot(request())));
    });
    group.bench_function("layer_hit", |b| {
        b.iter(|| rt.block_on(with_cache.clone().oneshot(request())));
    });
    group.finish();
}

/// The `Host` and URL of the DPoP requests: the layer's default `htu` is `http://{Host}{path}`.
const DPOP_HOST: &str = "api.test";
const DPOP_URL: &str = "http://api.test/api/me";

/// A DPoP client: its key, an access token bound to it (`cnf.jkt`; Okta's claims and a groups
/// claim, as the main fixture's token) and the `Authorization: DPoP` value (built once).
struct DpopClient {
    key: DpopKey,
    token: String,
    authorization: HeaderValue,
}

impl DpopClient {
    fn new(okta: &MockOkta, key: DpopKey) -> DpopClient {
        let token = okta
            .access_token_builder()
            .claim("groups", ["Everyone", "Engineering"])
            .dpop_bound(&key)
            .build();
        let authorization =
            HeaderValue::try_from(format!("DPoP {token}")).expect("a valid header value");
        DpopClient {
            key,
            token,
            authorization,
        }
    }

    /// A fresh proof (new `jti`, `iat` now) for `GET /api/me`, bound to the token (`ath`).
    fn proof(&self) -> HeaderValue {
        let proof = self
            .key
            .proof("GET", DPOP_URL)
            .access_token(&self.token)
            .build();
        HeaderValue::try_from(proof).expect("a valid header value")
    }

    /// `GET /api/me` with `Host`, `Authorization: DPoP {token}` and `proof` as the `DPoP` header.
    fn request(&self, proof: HeaderValue) -> Request<Body> {
        Request::builder()
            .uri("/api/me")
            .header(header::HOST, HeaderValue::from_static(DPOP_HOST))
            .header(header::AUTHORIZATION, self.authorization.clone())
            .header("dpop", proof)
            .body(Body::empty())
            .expect("request")
    }

    /// A request with a fresh proof: what every request through the DPoP layer needs.
    fn fresh_request(&self) -> Request<Body> {
        self.request(self.proof())
    }

    /// A fresh proof's signing input and signature.
    fn proof_parts(&self) -> (String, Vec<u8>) {
        let proof = self.proof();
        let (input, signature) =
            signing_input_and_signature(proof.to_str().expect("an ASCII proof"));
        (input.to_owned(), signature)
    }

    /// A member of the key's public JWK, base64url-decoded.
    fn jwk_member(&self, name: &str) -> Vec<u8> {
        let jwk = self.key.public_jwk();
        let member = jwk[name].as_str().expect("a JWK member");
        B64.decode(member).expect("base64url")
    }
}

/// DPoP clients of the main fixture's mock, one per proof algorithm.
struct DpopFixture {
    es256: DpopClient,
    rs256: DpopClient,
}

fn dpop_fixture() -> &'static DpopFixture {
    static FIXTURE: OnceLock<DpopFixture> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        let okta = &fixture().okta;
        let es256 = DpopClient::new(okta, DpopKey::es256().expect("an ES256 key"));
        let rs256 = DpopClient::new(okta, DpopKey::rs256().expect("an RS256 key"));
        eprintln!(
            "DPoP under test: bound token {} bytes, ES256 proof {} bytes, RS256 proof {} bytes",
            es256.token.len(),
            es256.proof().len(),
            rs256.proof().len()
        );
        DpopFixture { es256, rs256 }
    })
}

/// Distinct proofs in a proof floor's pool: the floor verifies a different proof on each call,
/// as the layer does (every DPoP request carries a fresh proof). Verifying one signature over
/// and over is faster than the real work: ECDSA's table lookups depend on the signature, and the
/// same entries stay in the CPU's caches (measured: ES256 about 9% faster on one repeated proof
/// than on fresh ones, RS256 no different).
const PROOF_POOL: usize = 256;

/// A pool of distinct proofs' signing inputs and signatures, verified in turn.
struct ProofPool {
    proofs: Vec<(String, Vec<u8>)>,
    next: usize,
}

impl ProofPool {
    /// `PROOF_POOL` fresh proofs of `client`, each checked with `verify`.
    fn new(client: &DpopClient, verify: impl Fn(&[u8], &[u8]) -> bool) -> ProofPool {
        let proofs: Vec<_> = (0..PROOF_POOL).map(|_| client.proof_parts()).collect();
        for (input, signature) in &proofs {
            assert!(
                verify(input.as_bytes(), signature),
                "the proof's signature verifies"
            );
        }
        ProofPool { proofs, next: 0 }
    }

    /// The next proof's signing input and signature (round robin).
    fn next(&mut self) -> (&[u8], &[u8]) {
        self.next = (self.next + 1) % self.proofs.len();
        let (input, signature) = &self.proofs[self.next];
        (input.as_bytes(), signature)
    }
}

/// The raw verify of ES256 proofs' signatures: the key's point (`04 || x || y`, decoded from the
/// proof's JWK once) and a pool of proofs (signing input and fixed `r || s` signature).
fn es256_floor_parts(client: &DpopClient) -> (UnparsedPublicKey<Vec<u8>>, ProofPool) {
    let mut point = vec![0x04];
    point.extend(client.jwk_member("x"));
    point.extend(client.jwk_member("y"));
    let key = UnparsedPublicKey::new(&ECDSA_P256_SHA256_FIXED, point);
    let pool = ProofPool::new(client, |input, signature| {
        key.verify(input, signature).is_ok()
    });
    (key, pool)
}

/// The raw verify of RS256 proofs' signatures, as the crate verifies a proof's RSA key
/// (`RsaPublicKeyComponents::verify`): the components, decoded from the proof's JWK once, and a
/// pool of proofs.
fn rs256_proof_floor_parts(client: &DpopClient) -> (RsaPublicKeyComponents<Vec<u8>>, ProofPool) {
    let key = RsaPublicKeyComponents {
        n: client.jwk_member("n"),
        e: client.jwk_member("e"),
    };
    let pool = ProofPool::new(client, |input, signature| {
        key.verify(&RSA_PKCS1_2048_8192_SHA256, input, signature)
            .is_ok()
    });
    (key, pool)
}

/// The `layer` group's routers: with `verifier.layer()` (default DPoP policy) and the `me`
/// handler, and bare.
fn routers(verifier: &Verifier) -> (Router, Router) {
    let with_layer = Router::new()
        .route("/api/me", get(me))
        .route_layer(verifier.layer());
    (with_layer, Router::new().route("/api/me", get(bare)))
}

/// One request through `app`; the answer must be 200 (a refused proof would otherwise be
/// measured as a fast 401). Returned so that it is dropped outside the timed routine.
fn send_ok(rt: &Runtime, app: &Router, request: Request<Body>) -> axum::response::Response {
    let response = rt
        .block_on(app.clone().oneshot(request))
        .expect("infallible");
    assert_eq!(response.status(), StatusCode::OK, "a DPoP request refused");
    response
}

fn dpop(c: &mut Criterion) {
    let fx = fixture();
    let dp = dpop_fixture();
    let rt = current_thread();
    let (parsed, input, signature) = floor_parts(fx, &dp.es256.token);
    let (es256_key, mut es256_pool) = es256_floor_parts(&dp.es256);
    let (rs256_key, mut rs256_pool) = rs256_proof_floor_parts(&dp.rs256);
    let (with_layer, bare_router) = routers(&fx.verifier);
    // The bare router ignores the proof: one proof for all its requests, so that its setup costs
    // no signing.
    let bare_proof = dp.es256.proof();
    for (app, client) in [
        (&with_layer, &dp.es256),
        (&with_layer, &dp.rs256),
        (&bare_router, &dp.es256),
    ] {
        send_ok(&rt, app, client.fresh_request());
    }

    let mut group = c.benchmark_group("dpop");
    group.bench_function("floor", |b| {
        b.iter(|| {
            parsed
                .verify_sig(black_box(input.as_bytes()), black_box(&signature))
                .expect("verifies");
        });
    });
    group.bench_function("floor_es256", |b| {
        b.iter(|| {
            let (input, signature) = es256_pool.next();
            es256_key
                .verify(black_box(input), black_box(signature))
                .expect("verifies");
        });
    });
    group.bench_function("floor_rs256_proof", |b| {
        b.iter(|| {
            let (input, signature) = rs256_pool.next();
            rs256_key
                .verify(
                    &RSA_PKCS1_2048_8192_SHA256,
                    black_box(input),
                    black_box(signature),
                )
                .expect("verifies");
        });
    });
    group.bench_function("bare_router", |b| {
        b.iter_batched(
            || dp.es256.request(bare_proof.clone()),
            |request| send_ok(&rt, &bare_router, request),
            BatchSize::SmallInput,
        );
    });
    group.bench_function("with_layer_dpop", |b| {
        b.iter_batched(
            || dp.es256.fresh_request(),
            |request| send_ok(&rt, &with_layer, request),
            BatchSize::SmallInput,
        );
    });
    group.bench_function("with_layer_dpop_rs256", |b| {
        b.iter_batched(
            || dp.rs256.fresh_request(),
            |request| send_ok(&rt, &with_layer, request),
            BatchSize::SmallInput,
        );
    });
    group.finish();
}

/// Rounds of the interleaved check, and calls of each case per round.
const ROUNDS: usize = 100;
const BATCH: u32 = 100;

/// Rounds and calls per round of the RS256 DPoP check: signing an RS256 proof costs far more
/// than an ES256 one, so it runs on 2,000 proofs.
const RS256_ROUNDS: usize = 100;
const RS256_BATCH: u32 = 20;

/// Measures `cases` in turn, `BATCH` calls each, for `ROUNDS` rounds (the order reversed every
/// other round), and prints the time per call of every case in every round as one JSON line
/// (`interleaved: {...}`) for the report. On a shared machine the load changes between criterion's
/// benchmarks, seconds apart; a ratio taken within each round and its median over the rounds
/// cancels most of that.
fn interleaved(name: &str, cases: &mut [(&str, &mut dyn FnMut())]) {
    interleaved_rounds(name, ROUNDS, BATCH, cases);
}

/// [`interleaved`] with `rounds` rounds of `batch` calls.
fn interleaved_rounds(
    name: &str,
    rounds: usize,
    batch: u32,
    cases: &mut [(&str, &mut dyn FnMut())],
) {
    let mut ns = vec![Vec::with_capacity(rounds); cases.len()];
    for round in 0..rounds {
        for k in 0..cases.len() {
            let i = if round % 2 == 0 {
                k
            } else {
                cases.len() - 1 - k
            };
            let call = &mut cases[i].1;
            let start = Instant::now();
            for _ in 0..batch {
                call();
            }
            ns[i].push(start.elapsed().as_nanos() as f64 / f64::from(batch));
        }
    }
    let ns: serde_json::Map<String, serde_json::Value> = cases
        .iter()
        .zip(ns)
        .map(|((case, _), times)| ((*case).to_owned(), times.into()))
        .collect();
    let line = serde_json::json!({ "name": name, "rounds": rounds, "batch": batch, "ns": ns });
    println!("interleaved: {line}");
}

/// The floor, verification, bare router and layer, interleaved (see [`interleaved`]).
fn interleaved_main() {
    let fx = fixture();
    let rt = current_thread();
    let (parsed, input, signature) = floor_parts(fx, &fx.token);
    let with_layer = Router::new()
        .route("/api/me", get(me))
        .route_layer(fx.verifier.layer());
    let bare_router = Router::new().route("/api/me", get(bare));
    let request = authorized_request(&fx.token);
    let token = fx.token.as_str();
    // The verified-token cache on (the default settings), the token cached: every call a hit.
    let with_cache = cached_router(fx);
    for _ in 0..2 {
        let response = rt.block_on(with_cache.clone().oneshot(request()));
        assert_eq!(response.expect("infallible").status(), StatusCode::OK);
    }
    interleaved(
        "main",
        &mut [
            ("floor", &mut || {
                parsed
                    .verify_sig(black_box(input.as_bytes()), black_box(&signature))
                    .expect("verifies");
            }),
            ("verify", &mut || {
                poll_once(fx.verifier.verify_access_token(black_box(token))).expect("valid");
            }),
            ("bare_router", &mut || {
                black_box(rt.block_on(bare_router.clone().oneshot(request())).ok());
            }),
            ("with_layer", &mut || {
                black_box(rt.block_on(with_layer.clone().oneshot(request())).ok());
            }),
            ("cache_hit", &mut || {
                black_box(rt.block_on(with_cache.clone().oneshot(request())).ok());
            }),
        ],
    );
}

/// The DPoP checks (see [`interleaved`]): `dpop` (ES256 proofs) and `dpop_rs256` (RS256 proofs).
fn interleaved_dpop() {
    let dp = dpop_fixture();
    let (es256_key, mut es256_pool) = es256_floor_parts(&dp.es256);
    dpop_check(
        "dpop",
        &dp.es256,
        (ROUNDS, BATCH),
        ("floor_es256", &mut || {
            let (input, signature) = es256_pool.next();
            es256_key
                .verify(black_box(input), black_box(signature))
                .expect("verifies");
        }),
        "with_layer_dpop",
    );
    let (rs256_key, mut rs256_pool) = rs256_proof_floor_parts(&dp.rs256);
    dpop_check(
        "dpop_rs256",
        &dp.rs256,
        (RS256_ROUNDS, RS256_BATCH),
        ("floor_rs256_proof", &mut || {
            let (input, signature) = rs256_pool.next();
            rs256_key
                .verify(
                    &RSA_PKCS1_2048_8192_SHA256,
                    black_box(input),
                    black_box(signature),
                )
                .expect("verifies");
        }),
        "with_layer_dpop_rs256",
    );
}

/// One DPoP check: the RSA floor on `client`'s bound token (`floor`), the raw verify of its proof
/// (`proof_floor`), the bare router and the DPoP layer (`layer_case`), interleaved over
/// `rounds_batch` (see [`interleaved_rounds`]). Every request through the layer needs a fresh
/// proof: all of them are built before the timed loop, well within the proofs' `iat` window (60 s
/// by default); every response must be 200.
fn dpop_check(
    name: &str,
    client: &DpopClient,
    (rounds, batch): (usize, u32),
    (proof_case, proof_floor): (&str, &mut impl FnMut()),
    layer_case: &str,
) {
    let fx = fixture();
    let rt = current_thread();
    let (parsed, input, signature) = floor_parts(fx, &client.token);
    let (with_layer, bare_router) = routers(&fx.verifier);
    let calls = rounds * batch as usize;
    let started = Instant::now();
    let mut dpop_requests = (0..calls)
        .map(|_| client.fresh_request())
        .collect::<Vec<_>>()
        .into_iter();
    // The bare router ignores the proof: the same one in all its requests.
    let bare_proof = client.proof();
    let mut bare_requests = (0..calls)
        .map(|_| client.request(bare_proof.clone()))
        .collect::<Vec<_>>()
        .into_iter();
    eprintln!(
        "interleaved {name}: {calls} requests with fresh proofs built in {:.2?}",
        started.elapsed()
    );
    interleaved_rounds(
        name,
        rounds,
        batch,
        &mut [
            ("floor", &mut || {
                parsed
                    .verify_sig(black_box(input.as_bytes()), black_box(&signature))
                    .expect("verifies");
            }),
            (proof_case, proof_floor),
            ("bare_router", &mut || {
                let request = bare_requests.next().expect("a request per call");
                black_box(send_ok(&rt, &bare_router, request));
            }),
            (layer_case, &mut || {
                let request = dpop_requests.next().expect("a request per call");
                black_box(send_ok(&rt, &with_layer, request));
            }),
        ],
    );
    eprintln!(
        "interleaved {name}: done {:.2?} after the first proof",
        started.elapsed()
    );
}

/// A criterion group's function.
type Group = fn(&mut Criterion);

fn main() {
    // What `criterion_group!`/`criterion_main!` expand to, without their undocumented `pub fn`.
    let mut c = Criterion::default().configure_from_args();
    let only = Only::from_env();
    let groups: [(&str, Group); 8] = [
        ("floor", floor),
        ("verify", verify),
        ("verify_reject", verify_reject),
        ("breakdown", breakdown),
        ("layer", layer),
        ("concurrent", concurrent),
        ("cache_hit", cache_hit),
        ("dpop", dpop),
    ];
    for (name, group) in groups {
        if only.runs(name) {
            group(&mut c);
        }
    }
    c.final_summary();
    // Only under `cargo bench` (not `cargo test --benches`, which runs each benchmark once).
    if std::env::args().any(|a| a == "--bench") {
        if only.runs("main") {
            interleaved_main();
        }
        if only.runs("dpop") {
            interleaved_dpop();
        }
    }
}

/// The names `TOWER_OKTA_BENCH_ONLY` may list: the criterion groups and the interleaved checks.
const NAMES: [&str; 9] = [
    "floor",
    "verify",
    "verify_reject",
    "breakdown",
    "layer",
    "concurrent",
    "cache_hit",
    "dpop",
    "main",
];

/// What to run: everything, or the names listed in `TOWER_OKTA_BENCH_ONLY` (comma-separated).
struct Only(Option<Vec<String>>);

impl Only {
    fn from_env() -> Only {
        let Some(list) = std::env::var_os("TOWER_OKTA_BENCH_ONLY") else {
            return Only(None);
        };
        let list = list.to_string_lossy();
        let names: Vec<String> = list
            .split(',')
            .map(str::trim)
            .filter(|name| !name.is_empty())
            .map(str::to_owned)
            .collect();
        for name in &names {
            assert!(
                NAMES.contains(&name.as_str()),
                "TOWER_OKTA_BENCH_ONLY: unknown name {name:?} (known: {NAMES:?})"
            );
        }
        eprintln!("TOWER_OKTA_BENCH_ONLY: running only {names:?}");
        Only(Some(names))
    }

    fn runs(&self, name: &str) -> bool {
        self.0
            .as_ref()
            .is_none_or(|names| names.iter().any(|n| n == name))
    }
}

/// A verifier builder preset with a mock's issuer, client ID and audience.
trait MockExt {
    fn verifier_builder(&self) -> tower_okta::VerifierBuilder;
}

impl MockExt for tower_okta_mock::MockOkta {
    fn verifier_builder(&self) -> tower_okta::VerifierBuilder {
        tower_okta::Verifier::builder()
            .issuer(self.issuer())
            .client_id(self.client_id())
    }
}
