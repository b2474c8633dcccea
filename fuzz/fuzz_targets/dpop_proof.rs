//! `__private::parse_dpop_proof`: the DPoP proof parser (size cap, compact JWS, strict base64url,
//! the header with its `jwk`, the claims) and the proof key import and signature check.
//!
//! Input without a NUL byte is a proof as sent. Input with a NUL byte is `header JSON \0 claims
//! JSON`, encoded here into a proof, so that libFuzzer mutates the JSON itself rather than its
//! base64url form.
#![no_main]

use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use base64::Engine;
use libfuzzer_sys::fuzz_target;
use tower_okta::__private::parse_dpop_proof;
use tower_okta::DpopError;

fuzz_target!(|data: &[u8]| {
    let proof = match data.iter().position(|&b| b == 0) {
        Some(nul) => format!(
            "{}.{}.c2ln",
            B64.encode(&data[..nul]),
            B64.encode(&data[nul + 1..])
        ),
        None => match std::str::from_utf8(data) {
            Ok(text) => text.to_owned(),
            Err(_) => return,
        },
    };
    match parse_dpop_proof(&proof) {
        Ok((thumbprint, _)) => {
            // A usable key always has a 43-character base64url SHA-256 thumbprint.
            assert_eq!(thumbprint.len(), 43);
            assert_eq!(proof.matches('.').count(), 2);
        }
        Err(DpopError::TooLarge) => assert!(proof.len() > 8192),
        Err(_) => {}
    }
});
