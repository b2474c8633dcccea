//! `__private::parse_token`: the size cap, the strict compact-JWS split, strict base64url and the
//! header and claims JSON parsers of the verification path.
//!
//! Input without a NUL byte is a token as sent. Input with a NUL byte is `header JSON \0 claims
//! JSON`, encoded here into a token, so that libFuzzer mutates the JSON itself rather than its
//! base64url form.
#![no_main]

use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use base64::Engine;
use libfuzzer_sys::fuzz_target;
use tower_okta::__private::parse_token;
use tower_okta::TokenError;

const CAP: usize = 8 * 1024;

fn base64url(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'-' || b == b'_'
}

fuzz_target!(|data: &[u8]| {
    let token = match data.iter().position(|&b| b == 0) {
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
    let uncapped = parse_token(&token, usize::MAX);
    let capped = parse_token(&token, CAP);
    // The cap is checked first and only ever adds TooLarge.
    if token.len() > CAP {
        assert_eq!(capped, Err(TokenError::TooLarge));
    } else {
        assert_eq!(capped, uncapped);
    }
    if uncapped.is_ok() {
        // Well formed: three non-empty base64url segments, and both JSON texts are objects.
        let segments: Vec<&str> = token.split('.').collect();
        assert_eq!(segments.len(), 3);
        for segment in &segments {
            assert!(!segment.is_empty() && segment.bytes().all(base64url));
        }
        for segment in &segments[..2] {
            let json = B64.decode(segment).expect("a segment that parsed decodes");
            let value: serde_json::Value =
                serde_json::from_slice(&json).expect("a segment that parsed is JSON");
            assert!(value.is_object());
        }
    }
});
