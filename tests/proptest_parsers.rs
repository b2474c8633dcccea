//! Property tests of the parsers that see untrusted input first: the compact-JWS parser
//! (`__private::parse_token`: size cap, split, strict base64url, header and claims JSON), the JWKS
//! parser (`__private::parse_jwks`) and the `Authorization` header parser (`bearer_token`).
//!
//! - nothing panics, whatever the input;
//! - a token built from random JSON objects parses, and stops parsing as soon as one character
//!   outside the base64url alphabet is inserted anywhere or a key is repeated in any object (with
//!   or without a `\u` escape);
//! - the size cap is exact; the `Authorization` rules of RFC 6750 hold for random tokens;
//! - a sane RSA key is read whatever else its JWK holds, and refused when its `kid` repeats.

use std::sync::OnceLock;

use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use base64::Engine;
use http::header::AUTHORIZATION;
use http::{HeaderMap, HeaderValue, Uri};
use proptest::prelude::*;
use proptest::sample::Index;
use serde_json::json;
use tower_okta::__private::{parse_jwks, parse_token};
use tower_okta::{bearer_token, AuthError, RequestError, TokenError};
use tower_okta_mock::MockKey;

/// Cases per property: enough to shake the parsers, few enough for a debug build in seconds.
const CASES: u32 = 256;

/// Claims and header parameters the parsers give a type to: kept out of random objects so that
/// "well formed" only depends on the JSON and base64url layers under test.
const TYPED: [&str; 11] = [
    "iss", "sub", "aud", "exp", "nbf", "iat", "nonce", "alg", "kid", "typ", "crit",
];

// ---------------------------------------------------------------------------------------------
// Random JSON, written by hand so that tests control escapes and repeated keys.

#[derive(Debug, Clone)]
enum J {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
    Arr(Vec<J>),
    /// Members with distinct keys.
    Obj(Vec<(String, J)>),
}

fn key() -> impl Strategy<Value = String> {
    "[a-z_][a-z0-9_]{0,7}".prop_filter("a typed name", |k| !TYPED.contains(&k.as_str()))
}

fn value() -> impl Strategy<Value = J> {
    let leaf = prop_oneof![
        Just(J::Null),
        any::<bool>().prop_map(J::Bool),
        any::<i64>().prop_map(J::Int),
        (-1e9f64..1e9).prop_map(J::Float),
        any::<String>().prop_map(J::Str),
    ];
    leaf.prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(J::Arr),
            prop::collection::btree_map(key(), inner, 0..6)
                .prop_map(|m| J::Obj(m.into_iter().collect())),
        ]
    })
}

/// A non-empty object with distinct, untyped keys.
fn object() -> impl Strategy<Value = Vec<(String, J)>> {
    prop::collection::btree_map(key(), value(), 1..8).prop_map(|m| m.into_iter().collect())
}

/// A JOSE header: `alg` first, then random members.
fn header() -> impl Strategy<Value = J> {
    object().prop_map(|mut members| {
        members.insert(0, ("alg".to_owned(), J::Str("RS256".to_owned())));
        J::Obj(members)
    })
}

fn quoted(s: &str) -> String {
    serde_json::to_string(s).unwrap()
}

/// `"key"` with its first character written as a `\u` escape.
fn escaped(key: &str) -> String {
    let mut chars = key.chars();
    let first = chars.next().expect("keys are not empty");
    format!("\"\\u{:04x}{}\"", u32::from(first), chars.as_str())
}

/// Serializes `j`; when `dup` is `Some((n, escape))`, the `n`-th non-empty object (pre-order)
/// gets its first member repeated at its end, the key escaped if `escape`.
fn write(j: &J, dup: Option<(usize, bool)>) -> String {
    fn go(j: &J, dup: Option<(usize, bool)>, seen: &mut usize, out: &mut String) {
        match j {
            J::Null => out.push_str("null"),
            J::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
            J::Int(i) => out.push_str(&i.to_string()),
            J::Float(f) => out.push_str(&serde_json::to_string(f).unwrap()),
            J::Str(s) => out.push_str(&quoted(s)),
            J::Arr(items) => {
                out.push('[');
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    go(item, dup, seen, out);
                }
                out.push(']');
            }
            J::Obj(members) => {
                let me = *seen;
                if !members.is_empty() {
                    *seen += 1;
                }
                out.push('{');
                for (i, (k, v)) in members.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    out.push_str(&quoted(k));
                    out.push(':');
                    go(v, dup, seen, out);
                }
                if let (Some((n, escape)), Some((k, v))) = (dup, members.first()) {
                    if n == me {
                        out.push(',');
                        out.push_str(&if escape { escaped(k) } else { quoted(k) });
                        out.push(':');
                        out.push_str(&write(v, None));
                    }
                }
                out.push('}');
            }
        }
    }
    let mut out = String::new();
    go(j, dup, &mut 0, &mut out);
    out
}

/// Non-empty objects in `j`.
fn objects(j: &J) -> usize {
    match j {
        J::Arr(items) => items.iter().map(objects).sum(),
        J::Obj(members) => {
            usize::from(!members.is_empty())
                + members.iter().map(|(_, v)| objects(v)).sum::<usize>()
        }
        _ => 0,
    }
}

fn token(header: &str, payload: &str, signature: &[u8]) -> String {
    format!(
        "{}.{}.{}",
        B64.encode(header),
        B64.encode(payload),
        B64.encode(signature)
    )
}

fn signature() -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(any::<u8>(), 1..600)
}

/// Characters outside the base64url alphabet (the separator `.` included).
fn foreign_char() -> impl Strategy<Value = char> {
    any::<char>().prop_filter("base64url", |c| {
        !(c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
    })
}

// ---------------------------------------------------------------------------------------------
// parse_token

proptest! {
    #![proptest_config(ProptestConfig::with_cases(CASES))]

    #[test]
    fn parse_token_never_panics(input in any::<String>(), cap in 0usize..20_000) {
        let _ = parse_token(&input, cap);
    }

    #[test]
    fn parse_token_never_panics_on_token_shaped_input(
        input in "[A-Za-z0-9._=+/ -]{0,600}",
    ) {
        let _ = parse_token(&input, 8192);
    }

    #[test]
    fn parse_token_never_panics_on_random_segments(
        h in prop::collection::vec(any::<u8>(), 0..300),
        p in prop::collection::vec(any::<u8>(), 0..300),
        s in prop::collection::vec(any::<u8>(), 0..300),
    ) {
        let t = format!("{}.{}.{}", B64.encode(&h), B64.encode(&p), B64.encode(&s));
        let _ = parse_token(&t, 8192);
    }

    #[test]
    fn well_formed_tokens_parse(h in header(), p in object(), s in signature()) {
        let t = token(&write(&h, None), &write(&J::Obj(p), None), &s);
        prop_assert_eq!(parse_token(&t, 1 << 20), Ok(()));
    }

    #[test]
    fn the_size_cap_is_exact(h in header(), p in object(), s in signature(), slack in -3isize..3) {
        let t = token(&write(&h, None), &write(&J::Obj(p), None), &s);
        let cap = t.len().saturating_add_signed(slack);
        let result = parse_token(&t, cap);
        if t.len() > cap {
            prop_assert_eq!(result, Err(TokenError::TooLarge));
        } else {
            prop_assert_eq!(result, Ok(()));
        }
    }

    #[test]
    fn one_foreign_character_anywhere_breaks_the_token(
        h in header(),
        p in object(),
        s in signature(),
        at in any::<Index>(),
        c in foreign_char(),
    ) {
        let mut t = token(&write(&h, None), &write(&J::Obj(p), None), &s);
        t.insert(at.index(t.len() + 1), c);
        let result = parse_token(&t, 1 << 20);
        prop_assert!(result.is_err(), "{:?} accepted with {:?} inserted", t, c);
    }

    #[test]
    fn a_repeated_key_is_refused_at_any_depth(
        h in header(),
        p in object(),
        in_header in any::<bool>(),
        which in any::<Index>(),
        escape in any::<bool>(),
        s in signature(),
    ) {
        let p = J::Obj(p);
        let (header_text, payload_text) = if in_header {
            (write(&h, Some((which.index(objects(&h)), escape))), write(&p, None))
        } else {
            (write(&h, None), write(&p, Some((which.index(objects(&p)), escape))))
        };
        let t = token(&header_text, &payload_text, &s);
        prop_assert_eq!(parse_token(&t, 1 << 20), Err(TokenError::DuplicateKey));
    }

    #[test]
    fn non_object_json_is_refused(v in value(), p in object(), s in signature(), in_header in any::<bool>()) {
        prop_assume!(!matches!(v, J::Obj(_)));
        let object_text = write(&J::Obj(p), None);
        let other = write(&v, None);
        let t = if in_header {
            token(&other, &object_text, &s)
        } else {
            let h = write(&J::Obj(vec![("alg".into(), J::Str("RS256".into()))]), None);
            token(&h, &other, &s)
        };
        prop_assert!(parse_token(&t, 1 << 20).is_err());
    }
}

// ---------------------------------------------------------------------------------------------
// bearer_token

/// The `base64` crate's engine with the rules of a JWS part: the reference for the SIMD decoder.
const REFERENCE: base64::engine::GeneralPurpose = base64::engine::GeneralPurpose::new(
    &base64::alphabet::URL_SAFE,
    base64::engine::GeneralPurposeConfig::new()
        .with_decode_padding_mode(base64::engine::DecodePaddingMode::RequireNone)
        .with_decode_allow_trailing_bits(false),
);

/// base64url-ish text: mostly the alphabet, sometimes padding or other characters.
fn part_text() -> impl Strategy<Value = String> {
    proptest::collection::vec(
        prop_oneof![
            20 => proptest::sample::select(
                "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
                    .chars()
                    .collect::<Vec<_>>()
            ),
            1 => proptest::sample::select(vec!['=', '+', '/', ' ', '.', '\n', 'é']),
        ],
        0..200,
    )
    .prop_map(|chars| chars.into_iter().collect())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn the_simd_decoder_is_exactly_as_strict_as_the_reference(text in part_text()) {
        let ours = tower_okta::__private::decode_part(&text);
        let reference = REFERENCE.decode(&text).ok();
        prop_assert_eq!(ours, reference, "{:?}", text);
    }

    #[test]
    fn every_trailing_bit_variant_of_an_encoding_but_the_canonical_one_is_refused(
        bytes in proptest::collection::vec(any::<u8>(), 1..100),
    ) {
        let canonical = B64.encode(&bytes);
        prop_assert_eq!(tower_okta::__private::decode_part(&canonical), Some(bytes.clone()));
        // Change the last character's value within its unused bits: non-canonical.
        let last = canonical.chars().last().unwrap();
        let alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
        let index = alphabet.find(last).unwrap();
        let unused_bits = match bytes.len() % 3 { 1 => 4, 2 => 2, _ => 0 };
        for flip in 1..(1usize << unused_bits) {
            let other = alphabet.chars().nth(index ^ flip).unwrap();
            let text = format!("{}{other}", &canonical[..canonical.len() - 1]);
            prop_assert_eq!(tower_okta::__private::decode_part(&text), None, "{}", text);
        }
    }
}

fn request(values: &[&[u8]], uri: &str) -> Option<(HeaderMap, Uri)> {
    let mut headers = HeaderMap::new();
    for v in values {
        headers.append(AUTHORIZATION, HeaderValue::from_bytes(v).ok()?);
    }
    Some((headers, uri.parse().ok()?))
}

/// `bearer` in a random mix of cases.
fn scheme() -> impl Strategy<Value = String> {
    prop::collection::vec(any::<bool>(), 6).prop_map(|upper| {
        "bearer"
            .chars()
            .zip(upper)
            .map(|(c, u)| if u { c.to_ascii_uppercase() } else { c })
            .collect()
    })
}

const B64TOKEN: &str = "[A-Za-z0-9._~+/-]{1,64}={0,2}";

proptest! {
    #![proptest_config(ProptestConfig::with_cases(CASES))]

    #[test]
    fn bearer_token_never_panics(
        values in prop::collection::vec(prop::collection::vec(any::<u8>(), 0..120), 0..3),
        query in any::<String>(),
    ) {
        let refs: Vec<&[u8]> = values.iter().map(Vec::as_slice).collect();
        if let Some((headers, uri)) = request(&refs, &format!("/api?{query}")) {
            if let Ok(token) = bearer_token(&headers, &uri) {
                prop_assert_eq!(values.len(), 1);
                prop_assert!(!token.is_empty());
                prop_assert!(token.bytes().all(|b| b.is_ascii_alphanumeric() || b"-._~+/=".contains(&b)));
            }
        }
    }

    #[test]
    fn bearer_token_reads_any_b64token(t in B64TOKEN, s in scheme(), spaces in 1usize..4) {
        let value = format!("{s}{}{t}", " ".repeat(spaces));
        let (headers, uri) = request(&[value.as_bytes()], "/api").unwrap();
        prop_assert_eq!(bearer_token(&headers, &uri), Ok(t.as_str()));
    }

    #[test]
    fn whitespace_inside_credentials_is_a_bad_request(
        a in B64TOKEN,
        b in B64TOKEN,
        ws in prop_oneof![Just(" "), Just("\t"), Just("  ")],
    ) {
        let value = format!("Bearer {a}{ws}{b}");
        let (headers, uri) = request(&[value.as_bytes()], "/api").unwrap();
        prop_assert_eq!(
            bearer_token(&headers, &uri),
            Err(AuthError::InvalidRequest(RequestError::MalformedAuthorizationHeader))
        );
    }

    #[test]
    fn several_headers_or_methods_are_a_bad_request(a in B64TOKEN, b in B64TOKEN, q in B64TOKEN) {
        let (a, b) = (format!("Bearer {a}"), format!("Bearer {b}"));
        let (headers, uri) = request(&[a.as_bytes(), b.as_bytes()], "/api").unwrap();
        prop_assert_eq!(
            bearer_token(&headers, &uri),
            Err(AuthError::InvalidRequest(RequestError::MultipleAuthorizationHeaders))
        );
        let query = format!("/api?x=1&access_token={}", q.replace('+', "%2B"));
        let (headers, uri) = request(&[a.as_bytes()], &query).unwrap();
        prop_assert_eq!(
            bearer_token(&headers, &uri),
            Err(AuthError::InvalidRequest(RequestError::TokenInHeaderAndQuery))
        );
    }
}

// ---------------------------------------------------------------------------------------------
// parse_jwks

/// One RSA 2048 public JWK for the whole run (key generation is the slow part).
fn sane_jwk() -> &'static serde_json::Map<String, serde_json::Value> {
    static JWK: OnceLock<serde_json::Map<String, serde_json::Value>> = OnceLock::new();
    JWK.get_or_init(|| {
        let key = MockKey::generate().expect("key generation");
        let serde_json::Value::Object(mut jwk) = key.jwk() else {
            unreachable!()
        };
        jwk.remove("alg");
        jwk
    })
}

fn jwk_with(kid: &str, extra: &[(String, J)]) -> serde_json::Value {
    let mut jwk = sane_jwk().clone();
    for (k, v) in extra {
        jwk.insert(k.clone(), serde_json::from_str(&write(v, None)).unwrap());
    }
    jwk.insert("kid".into(), kid.into());
    serde_json::Value::Object(jwk)
}

/// Members that mean nothing to a JWK reader.
fn jwk_extra() -> impl Strategy<Value = Vec<(String, J)>> {
    prop::collection::btree_map(
        key().prop_filter("a JWK member", |k| {
            !["kty", "use", "key_ops", "n", "e"].contains(&k.as_str())
        }),
        value(),
        0..5,
    )
    .prop_map(|m| m.into_iter().collect())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(CASES))]

    #[test]
    fn parse_jwks_never_panics(body in prop::collection::vec(any::<u8>(), 0..2000)) {
        let _ = parse_jwks(&body);
    }

    #[test]
    fn parse_jwks_never_panics_on_json(keys in prop::collection::vec(value(), 0..8)) {
        let body = write(&J::Obj(vec![("keys".into(), J::Arr(keys))]), None);
        let _ = parse_jwks(body.as_bytes());
    }

    #[test]
    fn a_sane_key_is_read_whatever_else_its_jwk_holds(kid in "[A-Za-z0-9_-]{1,43}", extra in jwk_extra()) {
        let body = json!({"keys": [jwk_with(&kid, &extra)]}).to_string();
        prop_assert_eq!(parse_jwks(body.as_bytes()), Some((1, 0)));
    }

    #[test]
    fn a_repeated_kid_disables_every_key_with_it(copies in 2usize..6, others in 0usize..4) {
        let mut keys: Vec<_> = (0..copies).map(|_| jwk_with("same", &[])).collect();
        keys.extend((0..others).map(|i| jwk_with(&format!("other-{i}"), &[])));
        let body = json!({"keys": keys}).to_string();
        prop_assert_eq!(parse_jwks(body.as_bytes()), Some((others, copies)));
    }

    #[test]
    fn a_key_not_for_signatures_is_refused(use_ in "[a-z]{1,6}") {
        prop_assume!(use_ != "sig");
        let mut jwk = jwk_with("k", &[]);
        jwk["use"] = use_.into();
        let body = json!({"keys": [jwk]}).to_string();
        prop_assert_eq!(parse_jwks(body.as_bytes()), Some((0, 1)));
    }
}

proptest! {
    // Each case parses up to 100 RSA keys.
    #![proptest_config(ProptestConfig::with_cases(32))]

    #[test]
    fn at_most_64_keys_are_read(count in 0usize..100) {
        let keys: Vec<_> = (0..count).map(|i| jwk_with(&format!("k{i}"), &[])).collect();
        let body = json!({"keys": keys}).to_string();
        prop_assert_eq!(parse_jwks(body.as_bytes()), Some((count.min(64), 0)));
    }
}
