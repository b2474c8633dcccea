//! `__private::parse_jwks`: the JWKS document and JWK import (as after a fetch), every RSA
//! algorithm allowed.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tower_okta::__private::parse_jwks;

/// Keys read from one JWKS (`jwks::MAX_KEYS`).
const MAX_KEYS: usize = 64;

fuzz_target!(|data: &[u8]| {
    if let Some((usable, skipped)) = parse_jwks(data) {
        let doc: serde_json::Value = serde_json::from_slice(data).expect("a JWKS is JSON");
        // A JWKS is an object with a "keys" array. The parser (a serde-derived struct) also reads
        // the array form `[[...keys]]`, the struct's fields by position: lenient, but only for
        // documents from the issuer's own endpoint; reported with issue 4.
        let keys = match &doc {
            serde_json::Value::Array(fields) => fields[0].as_array(),
            _ => doc["keys"].as_array(),
        }
        .expect("a JWKS has a keys array");
        assert!(usable <= MAX_KEYS.min(keys.len()));
        // Each entry read is usable or skipped; a duplicated kid adds a second skip record.
        assert!(usable + skipped >= MAX_KEYS.min(keys.len()));
        assert!(usable + skipped <= 2 * MAX_KEYS.min(keys.len()));
    }
});
