//! `bearer_token`: the RFC 6750 `Authorization` header rules, then the token parser on what it
//! returns.
//!
//! Input: `query \n value \n value ...`: the first line is the request's query string, every other
//! line an `Authorization` header value.
#![no_main]

use http::header::AUTHORIZATION;
use http::{HeaderMap, HeaderValue, Uri};
use libfuzzer_sys::fuzz_target;
use tower_okta::__private::parse_token;
use tower_okta::bearer_token;

fn b64token(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"-._~+/=".contains(&b)
}

fuzz_target!(|data: &[u8]| {
    let mut lines = data.split(|&b| b == b'\n');
    let query = lines.next().unwrap_or_default();
    let uri: Uri = match std::str::from_utf8(query)
        .ok()
        .and_then(|q| format!("/api?{q}").parse().ok())
    {
        Some(uri) => uri,
        None => Uri::from_static("/api"),
    };
    let mut headers = HeaderMap::new();
    let mut values = 0usize;
    for line in lines {
        if let Ok(value) = HeaderValue::from_bytes(line) {
            headers.append(AUTHORIZATION, value);
            values += 1;
        }
    }
    if let Ok(token) = bearer_token(&headers, &uri) {
        assert_eq!(values, 1, "a token out of several Authorization headers");
        assert!(!token.is_empty() && token.bytes().all(b64token));
        let value = headers[AUTHORIZATION].as_bytes();
        assert!(value.len() > 7 && value[..7].eq_ignore_ascii_case(b"bearer "));
        assert!(!uri
            .query()
            .unwrap_or("")
            .split('&')
            .any(|pair| pair.split('=').next() == Some("access_token")));
        let _ = parse_token(token, 8 * 1024);
    }
});
