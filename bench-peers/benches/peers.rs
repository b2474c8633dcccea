//! tower-okta's peers on the same Okta-shaped access token and the same RSA-2048 key, next to the
//! raw aws-lc-rs floor and tower-okta itself, all measured in this one run (group `peers`):
//!
//! - `floor_parsed_key`: one aws-lc-rs RSA PKCS#1 v1.5 SHA-256 verification of the token's
//!   signing input with a key parsed once (the floor of DESIGN section 5);
//! - `tower_okta`: `Verifier::verify_access_token`, key cached;
//! - `jsonwebtoken`: `jsonwebtoken::decode` (v11, aws-lc-rs backend) with a prepared
//!   `DecodingKey::from_rsa_components` and an RS256 `Validation` with issuer and audience;
//! - `jwt_authorizer`: `Authorizer::check_auth` (jwt-authorizer 0.15, JWKS fetched from the mock,
//!   issuer and audience validated);
//! - `axum_jwks`: `Jwks::validate_claims` (axum-jwks 0.12, JWKS fetched from the mock; it
//!   validates the audience but has no issuer check).
//!
//! After the group, an interleaved check measures the same five in alternation (100 rounds of 100
//! calls each) and prints the per-round times as one `interleaved: {json}` line for the report.
//!
//! Every verifier deserializes into the same claims type, `tower_okta::AccessClaims`. The async
//! ones (`tower_okta`, `jwt_authorizer`) are polled once without a runtime: with the key cached
//! neither awaits anything.

use std::future::Future;
use std::hint::black_box;
use std::task::{Context, Poll, Waker};
use std::time::Instant;

use aws_lc_rs::signature::{RsaPublicKeyComponents, RSA_PKCS1_2048_8192_SHA256};
use base64::Engine;
use criterion::Criterion;
use tower_okta::AccessClaims;
use tower_okta_mock::MockOkta;

const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::URL_SAFE_NO_PAD;

/// Polls `future` once with a no-op waker; panics if it is not ready.
fn poll_once<F: Future>(future: F) -> F::Output {
    let mut future = std::pin::pin!(future);
    match future
        .as_mut()
        .poll(&mut Context::from_waker(Waker::noop()))
    {
        Poll::Ready(output) => output,
        Poll::Pending => panic!("expected the cached path to complete in one poll"),
    }
}

fn peers(c: &mut Criterion) {
    // The mock serves from its own runtime; the peers fetch its JWKS there once.
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("runtime");
    let okta = rt.block_on(MockOkta::start()).expect("mock Okta starts");
    // The token of benches/verify.rs: Okta's access-token claims and a groups claim.
    let builder = okta
        .access_token_builder()
        .claim("groups", ["Everyone", "Engineering"]);
    let token = builder.build();
    eprintln!(
        "token under test: {} bytes, {} claims",
        token.len(),
        builder.claims().len()
    );
    let key = okta.signing_key();
    let (issuer, audience) = (okta.issuer().to_owned(), okta.audience().to_owned());

    // The floor.
    let (input, signature) = token.rsplit_once('.').expect("a compact JWS");
    let signature = B64.decode(signature).expect("base64url signature");
    let (modulus, exponent) = (key.modulus(), key.exponent());
    let floor_key = RsaPublicKeyComponents {
        n: modulus.as_slice(),
        e: exponent.as_slice(),
    }
    .to_parsed_public_key(&RSA_PKCS1_2048_8192_SHA256)
    .expect("the mock's key parses");
    floor_key
        .verify_sig(input.as_bytes(), &signature)
        .expect("verifies");

    // tower-okta.
    let verifier = okta.verifier_builder().build().expect("verifier builds");
    rt.block_on(verifier.verify_access_token(&token))
        .expect("tower-okta verifies");

    // jsonwebtoken.
    let jwt_key = jsonwebtoken::DecodingKey::from_rsa_components(
        &B64.encode(&modulus),
        &B64.encode(&exponent),
    )
    .expect("jsonwebtoken key");
    let mut jwt_validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::RS256);
    jwt_validation.set_issuer(&[&issuer]);
    jwt_validation.set_audience(&[&audience]);
    jsonwebtoken::decode::<AccessClaims>(&token, &jwt_key, &jwt_validation)
        .expect("jsonwebtoken verifies");

    // jwt-authorizer.
    let authorizer: jwt_authorizer::Authorizer<AccessClaims> = rt
        .block_on(
            jwt_authorizer::AuthorizerBuilder::from_jwks_url(&okta.jwks_uri())
                .validation(
                    jwt_authorizer::Validation::new()
                        .iss(&[&issuer])
                        .aud(&[&audience]),
                )
                .build(),
        )
        .expect("jwt-authorizer builds");
    rt.block_on(authorizer.check_auth(&token))
        .expect("jwt-authorizer verifies");

    // axum-jwks.
    let jwks = rt
        .block_on(axum_jwks::Jwks::from_jwks_url(
            &okta.jwks_uri(),
            Some(&audience),
            None,
        ))
        .expect("axum-jwks fetches the keys");
    jwks.validate_claims::<AccessClaims>(&token)
        .expect("axum-jwks verifies");

    // Each refuses a token for another audience: the checks are on.
    let foreign = okta
        .access_token_builder()
        .claim("aud", "api://other")
        .build();
    assert!(poll_once(verifier.verify_access_token(&foreign)).is_err());
    assert!(jsonwebtoken::decode::<AccessClaims>(&foreign, &jwt_key, &jwt_validation).is_err());
    assert!(poll_once(authorizer.check_auth(&foreign)).is_err());
    assert!(jwks.validate_claims::<AccessClaims>(&foreign).is_err());

    let mut group = c.benchmark_group("peers");
    group.bench_function("floor_parsed_key", |b| {
        b.iter(|| {
            floor_key
                .verify_sig(black_box(input.as_bytes()), black_box(&signature))
                .expect("verifies");
        });
    });
    group.bench_function("tower_okta", |b| {
        b.iter(|| poll_once(verifier.verify_access_token(black_box(&token))).expect("valid"));
    });
    group.bench_function("jsonwebtoken", |b| {
        b.iter(|| {
            jsonwebtoken::decode::<AccessClaims>(black_box(&token), &jwt_key, &jwt_validation)
                .expect("valid")
        });
    });
    group.bench_function("jwt_authorizer", |b| {
        b.iter(|| poll_once(authorizer.check_auth(black_box(&token))).expect("valid"));
    });
    group.bench_function("axum_jwks", |b| {
        b.iter(|| {
            jwks.validate_claims::<AccessClaims>(black_box(&token))
                .expect("valid")
        });
    });
    group.finish();

    // Only under `cargo bench` (not `cargo test --benches`, which runs each benchmark once).
    if std::env::args().any(|a| a == "--bench") {
        interleaved(
            "peers",
            &mut [
                ("floor", &mut || {
                    floor_key
                        .verify_sig(black_box(input.as_bytes()), black_box(&signature))
                        .expect("verifies");
                }),
                ("tower_okta", &mut || {
                    poll_once(verifier.verify_access_token(black_box(&token))).expect("valid");
                }),
                ("jsonwebtoken", &mut || {
                    jsonwebtoken::decode::<AccessClaims>(
                        black_box(&token),
                        &jwt_key,
                        &jwt_validation,
                    )
                    .expect("valid");
                }),
                ("jwt_authorizer", &mut || {
                    poll_once(authorizer.check_auth(black_box(&token))).expect("valid");
                }),
                ("axum_jwks", &mut || {
                    jwks.validate_claims::<AccessClaims>(black_box(&token))
                        .expect("valid");
                }),
            ],
        );
    }
}

/// Rounds of the interleaved check, and calls of each case per round.
const ROUNDS: usize = 100;
const BATCH: u32 = 100;

/// Measures `cases` in turn, `BATCH` calls each, for `ROUNDS` rounds (the order reversed every
/// other round), and prints the time per call of every case in every round as one JSON line
/// (`interleaved: {...}`) for the report, which takes per-round ratios and their median: robust
/// to the load changes of a shared machine. The same as in `benches/verify.rs`.
fn interleaved(name: &str, cases: &mut [(&str, &mut dyn FnMut())]) {
    let mut ns = vec![Vec::with_capacity(ROUNDS); cases.len()];
    for round in 0..ROUNDS {
        for k in 0..cases.len() {
            let i = if round.is_multiple_of(2) {
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

fn main() {
    let mut c = Criterion::default().configure_from_args();
    peers(&mut c);
    c.final_summary();
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
