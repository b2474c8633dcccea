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
//!   workers (`threads/N`, one iteration = one verification), and an unknown-kid storm: 10,000
//!   concurrent verifications of a token whose `kid` the verifier has never seen
//!   (`unknown_kid_storm_10k`); each storm prints the mock's key fetch count (must be 1);
//! - `cache_hit`: a request through the layer with the verified-token cache on and the token
//!   cached (`layer_hit`), next to the bare router (`bare_router`).
//!
//! After the criterion groups, an interleaved check measures the floor, `verify`, the bare router
//! and the layer in alternation (100 rounds of 100 calls each) and prints the per-round times as
//! one `interleaved: {json}` line, from which the report takes per-round ratios and their median:
//! robust to the load changes of a shared machine.
//!
//! `cargo bench --bench verify -- --measurement-time 3` runs it; the report passes its own times.

use std::future::Future;
use std::hint::black_box;
use std::sync::{Arc, OnceLock};
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use aws_lc_rs::signature::{
    ParsedPublicKey, RsaPublicKeyComponents, UnparsedPublicKey, RSA_PKCS1_2048_8192_SHA256,
};
use axum::body::Body;
use axum::routing::get;
use axum::Router;
use base64::Engine;
use criterion::{BenchmarkId, Criterion, SamplingMode, Throughput};
use http::{header, HeaderValue, Request, StatusCode};
use tokio::runtime::Runtime;
use tower::ServiceExt;
use tower_okta::{AccessClaims, AuthError, Claims, TokenError, Verifier};
use tower_okta_mock::MockOkta;

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
        let verifier = okta.verifier_builder().build().expect("verifier builds");
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

/// The floor's key, parsed once, and the token's signing input and signature.
fn floor_parts(fx: &Fixture) -> (ParsedPublicKey, &str, Vec<u8>) {
    let key = fx.okta.signing_key();
    let (modulus, exponent) = (key.modulus(), key.exponent());
    let (input, signature) = signing_input_and_signature(&fx.token);
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
    let (parsed, input, signature) = floor_parts(fx);

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
    let okta = mock_rt
        .block_on(MockOkta::start())
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

/// The verified-token cache (`VerifierBuilder::token_cache`; target: a hit <= 1 us). Only the
/// layer uses it (`verify_*` always verify), so a hit is measured as a request through the layer
/// whose token is cached, next to the bare router of the same group; the report subtracts it.
fn cache_hit(c: &mut Criterion) {
    let fx = fixture();
    let rt = current_thread();
    let cached = fx
        .okta
        .verifier_builder()
        .token_cache(10_000, Duration::from_secs(300))
        .build()
        .expect("verifier builds");
    fx.mock_rt
        .block_on(cached.refresh_keys())
        .expect("keys fetched");
    let with_cache = Router::new()
        .route("/api/me", get(me))
        .route_layer(cached.layer());
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

/// Rounds of the interleaved check, and calls of each case per round.
const ROUNDS: usize = 100;
const BATCH: u32 = 100;

/// Measures `cases` in turn, `BATCH` calls each, for `ROUNDS` rounds (the order reversed every
/// other round), and prints the time per call of every case in every round as one JSON line
/// (`interleaved: {...}`) for the report. On a shared machine the load changes between criterion's
/// benchmarks, seconds apart; a ratio taken within each round and its median over the rounds
/// cancels most of that.
fn interleaved(name: &str, cases: &mut [(&str, &mut dyn FnMut())]) {
    let mut ns = vec![Vec::with_capacity(ROUNDS); cases.len()];
    for round in 0..ROUNDS {
        for k in 0..cases.len() {
            let i = if round % 2 == 0 {
                k
            } else {
                cases.len() - 1 - k
            };
            let call = &mut cases[i].1;
            let start = Instant::now();
            for _ in 0..BATCH {
                call();
            }
            ns[i].push(start.elapsed().as_nanos() as f64 / f64::from(BATCH));
        }
    }
    let ns: serde_json::Map<String, serde_json::Value> = cases
        .iter()
        .zip(ns)
        .map(|((case, _), times)| ((*case).to_owned(), times.into()))
        .collect();
    let line = serde_json::json!({ "name": name, "rounds": ROUNDS, "batch": BATCH, "ns": ns });
    println!("interleaved: {line}");
}

/// The floor, verification, bare router and layer, interleaved (see [`interleaved`]).
fn interleaved_main() {
    let fx = fixture();
    let rt = current_thread();
    let (parsed, input, signature) = floor_parts(fx);
    let with_layer = Router::new()
        .route("/api/me", get(me))
        .route_layer(fx.verifier.layer());
    let bare_router = Router::new().route("/api/me", get(bare));
    let request = authorized_request(&fx.token);
    let token = fx.token.as_str();
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
        ],
    );
}

fn main() {
    // What `criterion_group!`/`criterion_main!` expand to, without their undocumented `pub fn`.
    let mut c = Criterion::default().configure_from_args();
    floor(&mut c);
    verify(&mut c);
    verify_reject(&mut c);
    breakdown(&mut c);
    layer(&mut c);
    concurrent(&mut c);
    cache_hit(&mut c);
    c.final_summary();
    // Only under `cargo bench` (not `cargo test --benches`, which runs each benchmark once).
    if std::env::args().any(|a| a == "--bench") {
        interleaved_main();
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
