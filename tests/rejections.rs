//! Every row of the RFC 6750 table (README "What the API answers") and the token rules, through the real layer.

mod common;
use common::MockExt;

use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use base64::Engine;
use common::{app, get_with_token, send_with, start, Answer};
use http::StatusCode;
use serde_json::json;
use tower_okta::clock::FixedClock;
use tower_okta::{AuthError, TokenError};
use tower_okta_mock::{MockKey, MockOkta};

const AUTH: http::HeaderName = http::header::AUTHORIZATION;

/// No answer may echo the token or any claim value.
#[track_caller]
fn assert_no_leak(answer: &Answer, token: &str, okta: &MockOkta) {
    let mut all = answer.body.clone();
    for (name, value) in &answer.headers {
        all.push_str(name.as_str());
        all.push_str(value.to_str().unwrap_or(""));
    }
    for part in token.split('.').filter(|p| p.len() > 8) {
        assert!(!all.contains(part), "answer echoes the token: {all}");
    }
    for secret in [
        "jane.doe@example.com",
        okta.client_id(),
        okta.issuer(),
        "AT.",
    ] {
        assert!(
            !all.contains(secret),
            "answer echoes a claim value `{secret}`: {all}"
        );
    }
}

#[tokio::test]
async fn no_credentials_is_a_bare_401_challenge() {
    let (_okta, verifier) = start().await;
    let app = app(&verifier);
    for request in [
        send_with(&app, |r| r.uri("/api/me")).await,
        send_with(&app, |r| {
            r.uri("/api/me").header(AUTH, "Basic dXNlcjpwYXNz")
        })
        .await,
        // Query tokens are an unsupported method: no credentials as far as this API goes.
        send_with(&app, |r| r.uri("/api/me?access_token=abc.def.ghi")).await,
    ] {
        assert_eq!(request.status, StatusCode::UNAUTHORIZED);
        assert_eq!(
            request.www_authenticate(),
            Some(r#"Bearer realm="api", DPoP algs="ES256 RS256""#)
        );
    }
}

#[tokio::test]
async fn malformed_requests_are_400_invalid_request() {
    let (okta, verifier) = start().await;
    let app = app(&verifier);
    let token = okta.access_token();
    let cases: Vec<(&str, Answer)> = vec![
        (
            "empty bearer",
            send_with(&app, |r| r.uri("/api/me").header(AUTH, "Bearer ")).await,
        ),
        (
            "scheme only",
            send_with(&app, |r| r.uri("/api/me").header(AUTH, "Bearer")).await,
        ),
        (
            "two tokens",
            send_with(&app, |r| r.uri("/api/me").header(AUTH, "Bearer a b")).await,
        ),
        (
            "two headers",
            send_with(&app, |r| {
                r.uri("/api/me")
                    .header(AUTH, format!("Bearer {token}"))
                    .header(AUTH, format!("Bearer {token}"))
            })
            .await,
        ),
        (
            "header and query",
            send_with(&app, |r| {
                r.uri(format!("/api/me?access_token={token}"))
                    .header(AUTH, format!("Bearer {token}"))
            })
            .await,
        ),
    ];
    for (name, answer) in cases {
        assert_eq!(answer.status, StatusCode::BAD_REQUEST, "{name}: {answer:?}");
        let challenge = answer.www_authenticate().unwrap();
        assert!(
            challenge.contains("error=\"invalid_request\""),
            "{name}: {challenge}"
        );
        assert_eq!(answer.json()["error"], "invalid_request");
        assert_no_leak(&answer, &token, &okta);
    }
}

#[tokio::test]
async fn scheme_is_case_insensitive() {
    let (okta, verifier) = start().await;
    let app = app(&verifier);
    let token = okta.access_token();
    for scheme in ["bearer", "BEARER", "BeArEr"] {
        let answer = send_with(&app, |r| {
            r.uri("/api/me").header(AUTH, format!("{scheme} {token}"))
        })
        .await;
        assert_eq!(answer.status, StatusCode::OK, "{scheme}");
    }
}

fn hs256(
    key: &[u8],
    header: serde_json::Value,
    claims: &serde_json::Map<String, serde_json::Value>,
) -> String {
    let input = format!(
        "{}.{}",
        B64.encode(header.to_string()),
        B64.encode(serde_json::to_string(claims).unwrap())
    );
    let key = aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA256, key);
    let tag = aws_lc_rs::hmac::sign(&key, input.as_bytes());
    format!("{input}.{}", B64.encode(tag.as_ref()))
}

#[tokio::test]
async fn token_rules_answer_401_invalid_token() {
    let (okta, verifier) = start().await;
    let app = app(&verifier);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let good = okta.access_token();
    let key = okta.signing_key();
    let claims = okta.access_token_builder().claims().clone();
    let other_key = MockKey::generate().unwrap().with_kid(key.kid());
    let (h, p, s) = {
        let mut it = good.split('.');
        (it.next().unwrap(), it.next().unwrap(), it.next().unwrap())
    };
    let flipped = {
        let mut sig: Vec<u8> = s.bytes().collect();
        sig[10] = if sig[10] == b'A' { b'B' } else { b'A' };
        format!("{h}.{p}.{}", String::from_utf8(sig).unwrap())
    };
    let none_header = B64.encode(r#"{"alg":"none","kid":"x"}"#);

    let cases: Vec<(&str, String, TokenError)> = vec![
        (
            "expired",
            okta.access_token_builder().claim("exp", now - 3600).build(),
            TokenError::Expired,
        ),
        (
            "no exp",
            okta.access_token_builder().without_claim("exp").build(),
            TokenError::Expired,
        ),
        (
            "exp as string",
            okta.access_token_builder()
                .claim("exp", (now + 3600).to_string())
                .build(),
            TokenError::InvalidClaim,
        ),
        (
            "not yet valid",
            okta.access_token_builder().claim("nbf", now + 3600).build(),
            TokenError::NotYetValid,
        ),
        (
            "issued in the future",
            okta.access_token_builder().claim("iat", now + 3600).build(),
            TokenError::IssuedInFuture,
        ),
        (
            "wrong issuer",
            okta.access_token_builder()
                .claim("iss", "https://evil.example/oauth2/default")
                .build(),
            TokenError::WrongIssuer,
        ),
        (
            "issuer with trailing slash",
            okta.access_token_builder()
                .claim("iss", format!("{}/", okta.issuer()))
                .build(),
            TokenError::WrongIssuer,
        ),
        (
            "issuer as array",
            okta.access_token_builder()
                .claim("iss", json!([okta.issuer()]))
                .build(),
            TokenError::InvalidClaim,
        ),
        (
            "wrong audience",
            okta.access_token_builder()
                .claim("aud", "api://default")
                .build(),
            TokenError::WrongAudience,
        ),
        (
            "empty audience array",
            okta.access_token_builder().claim("aud", json!([])).build(),
            TokenError::WrongAudience,
        ),
        (
            "no audience",
            okta.access_token_builder().without_claim("aud").build(),
            TokenError::WrongAudience,
        ),
        (
            "alg none, no signature",
            format!("{none_header}.{p}."),
            TokenError::Malformed,
        ),
        (
            "alg none, with signature",
            format!("{none_header}.{p}.{s}"),
            TokenError::UnsupportedAlgorithm,
        ),
        (
            "alg RS384 header",
            okta.access_token_builder().header("alg", "RS384").build(),
            TokenError::UnsupportedAlgorithm,
        ),
        (
            "HS256 keyed with the public key (DER)",
            hs256(
                &key.public_key_der(),
                json!({"alg":"HS256","kid":key.kid()}),
                &claims,
            ),
            TokenError::UnsupportedAlgorithm,
        ),
        (
            "missing kid",
            okta.access_token_builder().without_header("kid").build(),
            TokenError::MissingKeyId,
        ),
        (
            "empty kid",
            okta.access_token_builder().header("kid", "").build(),
            TokenError::MissingKeyId,
        ),
        (
            "crit header",
            okta.access_token_builder()
                .header("crit", json!(["exp"]))
                .build(),
            TokenError::CriticalHeader,
        ),
        (
            "org server token",
            okta.access_token_builder()
                .header("typ", "application/okta-internal-at+jwt")
                .build(),
            TokenError::OrgAuthorizationServerToken,
        ),
        (
            "signed by another key",
            okta.access_token_builder().signed_with(&other_key).build(),
            TokenError::BadSignature,
        ),
        ("flipped signature", flipped, TokenError::BadSignature),
        (
            "truncated",
            good[..good.len() - 18].to_owned(),
            TokenError::BadSignature,
        ),
        (
            "five parts (JWE)",
            format!("{h}.{p}.{s}.{s}.{s}"),
            TokenError::Encrypted,
        ),
        ("two parts", format!("{h}.{p}"), TokenError::Malformed),
        (
            "padded signature",
            format!("{good}=="),
            TokenError::Malformed,
        ),
        (
            "oversize",
            okta.access_token_builder()
                .claim("pad", "x".repeat(17_000))
                .build(),
            TokenError::TooLarge,
        ),
        (
            "ID token as access token",
            okta.id_token(None),
            TokenError::NotAnAccessToken,
        ),
        (
            "duplicate claim",
            okta.sign_raw(
                &format!(r#"{{"alg":"RS256","kid":"{}"}}"#, key.kid()),
                &serde_json::to_string(&claims)
                    .unwrap()
                    .replacen('{', r#"{"sub":"admin","#, 1),
            ),
            TokenError::DuplicateKey,
        ),
        (
            "jku ignored, unknown kid",
            okta.access_token_builder()
                .header("kid", "attacker")
                .header("jku", "https://evil.example/keys")
                .build(),
            TokenError::UnknownKeyId,
        ),
    ];
    for (name, token, reason) in cases {
        let direct = verifier.verify_access_token(&token).await.unwrap_err();
        assert_eq!(direct, AuthError::InvalidToken(reason), "{name}");
        let answer = get_with_token(&app, "/api/me", &token).await;
        answer.assert_invalid_token();
        assert!(
            answer
                .www_authenticate()
                .unwrap()
                .contains(reason.description()),
            "{name}: {answer:?}"
        );
        assert_no_leak(&answer, &token, &okta);
    }
}

#[tokio::test]
async fn access_token_is_refused_by_the_id_token_layer() {
    let (okta, verifier) = start().await;
    let answer = get_with_token(&app(&verifier), "/id/me", &okta.access_token()).await;
    answer.assert_invalid_token();
    assert!(answer.body.contains(TokenError::NotAnIdToken.description()));
    // An ID token for another client is refused too.
    let other = okta
        .id_token_builder()
        .claim("aud", "0oaOTHERclient")
        .build();
    assert_eq!(
        verifier.verify_id_token(&other, None).await.unwrap_err(),
        AuthError::InvalidToken(TokenError::WrongAudience)
    );
}

#[tokio::test]
async fn leeway_is_applied_to_exp_nbf_and_iat() {
    let okta = MockOkta::start().await.unwrap();
    let now = 1_800_000_000;
    let clock = std::sync::Arc::new(FixedClock::new(now));
    let verifier = okta
        .verifier_builder()
        .clock(clock.clone())
        .build()
        .unwrap();
    let token = |exp: i64, nbf: i64, iat: i64| {
        okta.access_token_builder()
            .claim("exp", exp)
            .claim("nbf", nbf)
            .claim("iat", iat)
            .build()
    };
    let check = |t: String| {
        let v = verifier.clone();
        async move { v.verify_access_token(&t).await.map(|_| ()) }
    };
    assert_eq!(check(token(now - 59, now - 100, now - 100)).await, Ok(()));
    assert_eq!(
        check(token(now - 60, now - 100, now - 100)).await,
        Err(TokenError::Expired.into())
    );
    assert_eq!(check(token(now + 100, now + 60, now)).await, Ok(()));
    assert_eq!(
        check(token(now + 100, now + 61, now)).await,
        Err(TokenError::NotYetValid.into())
    );
    assert_eq!(
        check(token(now + 100, now, now + 61)).await,
        Err(TokenError::IssuedInFuture.into())
    );
    clock.advance(200);
    assert_eq!(
        check(token(now + 100, now, now)).await,
        Err(TokenError::Expired.into())
    );
}

#[tokio::test]
async fn keys_unavailable_is_503_without_challenge() {
    let okta = MockOkta::start().await.unwrap();
    okta.set_keys_fault(tower_okta_mock::KeysFault::Status(500));
    let verifier = okta.verifier_builder().build().unwrap();
    let answer = get_with_token(&app(&verifier), "/api/me", &okta.access_token()).await;
    assert_eq!(answer.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(answer.www_authenticate(), None);
    assert_eq!(answer.json()["error"], "temporarily_unavailable");
}

#[tokio::test]
async fn id_tokens_only_verifier_refuses_access_tokens() {
    let okta = MockOkta::start().await.unwrap();
    let verifier = okta.verifier_builder().id_tokens_only().build().unwrap();
    assert_eq!(
        verifier
            .verify_access_token(&okta.access_token())
            .await
            .unwrap_err(),
        AuthError::InvalidToken(TokenError::AccessTokensDisabled)
    );
    assert!(verifier
        .verify_id_token(&okta.id_token(None), None)
        .await
        .is_ok());
}
