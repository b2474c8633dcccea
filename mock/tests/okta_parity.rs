//! Where the mock behaves like Okta rather than like a minimal OAuth server: two published keys
//! and their rotations, the default `api://default` audience, the refresh-token grace period and
//! reuse detection, revocation of a client's own tokens only, an honest discovery document,
//! introspection from the browser, rate-limit headers and client-assertion times. Time-dependent
//! checks move a `ManualClock`; nothing sleeps.

use std::collections::HashMap;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aws_lc_rs::digest::{digest, SHA256};
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use jsonwebtoken::{decode, decode_header, Algorithm, DecodingKey, Validation};
use reqwest::{header, redirect, Client, Method, StatusCode};
use serde_json::{json, Value};
use tower_okta_mock::{
    KeysFault, ManualClock, MockKey, MockOkta, DEFAULT_SPA_ORIGIN, OKTA_DEFAULT_AUDIENCE,
};
use url::Url;

const CALLBACK: &str = "http://localhost:8585/callback";
const JWT_BEARER: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";
/// 2023-11-14T22:13:20Z: a whole second, so that header values are exact.
const EPOCH: u64 = 1_700_000_000;

fn client() -> Client {
    Client::builder()
        .redirect(redirect::Policy::none())
        .no_proxy()
        .build()
        .unwrap()
}

fn manual_clock() -> ManualClock {
    ManualClock::new(UNIX_EPOCH + Duration::from_secs(EPOCH))
}

fn form(pairs: &[(&str, &str)]) -> String {
    let mut serializer = url::form_urlencoded::Serializer::new(String::new());
    for (name, value) in pairs {
        serializer.append_pair(name, value);
    }
    serializer.finish()
}

/// An answer: status, headers and the JSON body (`Null` if not JSON).
type Answer = (StatusCode, header::HeaderMap, Value);

async fn answer(response: reqwest::Response) -> Answer {
    let status = response.status();
    let headers = response.headers().clone();
    let json = serde_json::from_str(&response.text().await.unwrap()).unwrap_or(Value::Null);
    (status, headers, json)
}

async fn post_form(url: &str, pairs: &[(&str, &str)]) -> Answer {
    let response = client()
        .post(url)
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(form(pairs))
        .send()
        .await
        .unwrap();
    answer(response).await
}

async fn get_json(url: &str) -> Answer {
    answer(client().get(url).send().await.unwrap()).await
}

fn kids(jwks: &Value) -> Vec<String> {
    jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["kid"].as_str().unwrap().to_owned())
        .collect()
}

fn kid(token: &str) -> String {
    decode_header(token).unwrap().kid.unwrap()
}

/// The payload of a JWT, unchecked.
fn payload(token: &str) -> Value {
    let part = token.split('.').nth(1).unwrap();
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(part).unwrap()).unwrap()
}

/// Verifies `token` with jsonwebtoken against `jwks` (signature, issuer; not the audience).
fn verifies_with(okta: &MockOkta, jwks: &Value, token: &str) -> bool {
    let kid = kid(token);
    let Some(jwk) = jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["kid"] == kid.as_str())
    else {
        return false;
    };
    let key =
        DecodingKey::from_rsa_components(jwk["n"].as_str().unwrap(), jwk["e"].as_str().unwrap())
            .unwrap();
    let mut validation = Validation::new(Algorithm::RS256);
    validation.set_issuer(&[okta.issuer()]);
    validation.validate_aud = false;
    validation.validate_exp = false;
    decode::<Value>(token, &key, &validation).is_ok()
}

async fn introspect(okta: &MockOkta, token: &str) -> bool {
    let (status, _, body) = post_form(
        &okta.introspection_endpoint(),
        &[("client_id", okta.client_id()), ("token", token)],
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body["active"].as_bool().unwrap()
}

/// Signs in with PKCE for `scope` and exchanges the code: the token answer.
async fn sign_in(okta: &MockOkta, scope: &str) -> Value {
    let mut bytes = [0u8; 32];
    aws_lc_rs::rand::fill(&mut bytes).unwrap();
    let verifier = URL_SAFE_NO_PAD.encode(bytes);
    let challenge = URL_SAFE_NO_PAD.encode(digest(&SHA256, verifier.as_bytes()));
    let query = form(&[
        ("client_id", okta.client_id()),
        ("redirect_uri", CALLBACK),
        ("response_type", "code"),
        ("scope", scope),
        ("state", "s"),
        ("code_challenge", &challenge),
        ("code_challenge_method", "S256"),
    ]);
    let response = client()
        .get(format!("{}?{query}", okta.authorize_endpoint()))
        .send()
        .await
        .unwrap();
    let location = Url::parse(response.headers()[header::LOCATION].to_str().unwrap()).unwrap();
    let params: HashMap<String, String> = location.query_pairs().into_owned().collect();
    let (status, _, tokens) = post_form(
        &okta.token_endpoint(),
        &[
            ("client_id", okta.client_id()),
            ("redirect_uri", CALLBACK),
            ("grant_type", "authorization_code"),
            ("code_verifier", &verifier),
            ("code", &params["code"]),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{tokens}");
    tokens
}

async fn refresh(okta: &MockOkta, refresh_token: &str) -> Answer {
    post_form(
        &okta.token_endpoint(),
        &[
            ("client_id", okta.client_id()),
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh_token),
        ],
    )
    .await
}

fn str_of<'v>(value: &'v Value, name: &str) -> &'v str {
    value[name]
        .as_str()
        .unwrap_or_else(|| panic!("no {name}: {value}"))
}

#[tokio::test]
async fn two_keys_are_published_and_rotation_promotes_the_next_one() {
    let okta = MockOkta::start().await.unwrap();
    let (active, next) = (okta.signing_key(), okta.next_key().unwrap());
    let (_, _, before) = get_json(&okta.jwks_uri()).await;
    assert_eq!(kids(&before), [active.kid(), next.kid()]);
    let old_token = okta.access_token();
    assert_eq!(kid(&old_token), active.kid());

    // A scheduled rotation: the next key signs; a verifier holding the JWKS fetched before the
    // rotation already has it.
    let promoted = okta.rotate_key().unwrap();
    assert_eq!(promoted.kid(), next.kid());
    assert_eq!(okta.signing_key().kid(), next.kid());
    let new_token = okta.access_token();
    assert_eq!(kid(&new_token), next.kid());
    assert!(verifies_with(&okta, &before, &new_token));
    // A fresh next key is announced; the old one stays published, its tokens still verify.
    let fresh = okta.next_key().unwrap();
    assert!(fresh.kid() != active.kid() && fresh.kid() != next.kid());
    let (_, _, after) = get_json(&okta.jwks_uri()).await;
    assert_eq!(kids(&after), [active.kid(), next.kid(), fresh.kid()]);
    assert!(verifies_with(&okta, &after, &old_token));
    assert!(introspect(&okta, &old_token).await);
    assert_eq!(okta.key_fetch_count(), 2);
}

#[tokio::test]
async fn emergency_rotation_removes_the_signing_key_at_once() {
    let okta = MockOkta::start().await.unwrap();
    let (compromised, next) = (okta.signing_key(), okta.next_key().unwrap());
    let old_token = okta.access_token();
    assert!(introspect(&okta, &old_token).await);

    let promoted = okta.emergency_rotate().unwrap();
    assert_eq!(promoted.kid(), next.kid());
    let fresh = okta.next_key().unwrap();
    let (_, _, jwks) = get_json(&okta.jwks_uri()).await;
    assert_eq!(kids(&jwks), [next.kid(), fresh.kid()]);
    assert!(!kids(&jwks).contains(&compromised.kid().to_owned()));
    assert!(!verifies_with(&okta, &jwks, &old_token));
    assert!(
        !introspect(&okta, &old_token).await,
        "signed by a removed key"
    );
    let new_token = okta.access_token();
    assert_eq!(kid(&new_token), next.kid());
    assert!(verifies_with(&okta, &jwks, &new_token));
    assert!(introspect(&okta, &new_token).await);
}

#[tokio::test]
async fn without_a_next_key_a_rotation_signs_with_an_unannounced_key() {
    let okta = MockOkta::builder()
        .publish_next_key(false)
        .start()
        .await
        .unwrap();
    assert!(okta.next_key().is_none());
    let first = okta.signing_key();
    let (_, _, before) = get_json(&okta.jwks_uri()).await;
    assert_eq!(kids(&before), [first.kid()]);
    let second = okta.rotate_key().unwrap();
    assert!(!verifies_with(&okta, &before, &okta.access_token()));
    assert_eq!(kids(&okta.jwks()), [first.kid(), second.kid()]);
    let third = okta.emergency_rotate().unwrap();
    assert_eq!(kids(&okta.jwks()), [first.kid(), third.kid()]);
    assert!(okta.next_key().is_none());
}

#[tokio::test]
async fn default_audience_is_for_access_tokens_only() {
    let okta = MockOkta::builder()
        .default_audience()
        .start()
        .await
        .unwrap();
    assert_eq!(okta.audience(), OKTA_DEFAULT_AUDIENCE);
    assert_eq!(OKTA_DEFAULT_AUDIENCE, "api://default");
    let tokens = sign_in(&okta, "openid profile").await;
    assert_eq!(
        payload(str_of(&tokens, "access_token"))["aud"],
        "api://default"
    );
    assert_eq!(
        payload(str_of(&tokens, "id_token"))["aud"],
        okta.client_id()
    );
    assert_eq!(payload(&okta.access_token())["aud"], "api://default");
    assert_eq!(payload(&okta.id_token(None))["aud"], okta.client_id());
    let (_, _, body) = post_form(
        &okta.introspection_endpoint(),
        &[
            ("client_id", okta.client_id()),
            ("token", str_of(&tokens, "access_token")),
        ],
    )
    .await;
    assert_eq!(body["aud"], "api://default");
}

#[tokio::test]
async fn a_rotated_refresh_token_still_works_within_the_grace_period() {
    let clock = manual_clock();
    let okta = MockOkta::builder()
        .clock(clock.clone())
        .start()
        .await
        .unwrap();
    let first = sign_in(&okta, "openid offline_access").await;
    let rt1 = str_of(&first, "refresh_token");
    let (status, _, second) = refresh(&okta, rt1).await;
    assert_eq!(status, StatusCode::OK, "{second}");
    let rt2 = str_of(&second, "refresh_token");

    // 29 s later (default grace 30 s): the spent token gets a new pair, as Okta answers.
    clock.advance(Duration::from_secs(29));
    let (status, _, again) = refresh(&okta, rt1).await;
    assert_eq!(status, StatusCode::OK, "{again}");
    let rt2b = str_of(&again, "refresh_token");
    assert!(rt2b != rt1 && rt2b != rt2);
    assert_ne!(again["access_token"], second["access_token"]);
    // Nothing was revoked: every token of the family still works.
    for token in [&first, &second, &again] {
        assert!(introspect(&okta, str_of(token, "access_token")).await);
    }
    let (status, _, third) = refresh(&okta, rt2).await;
    assert_eq!(status, StatusCode::OK, "{third}");
    let (status, _, _) = refresh(&okta, rt2b).await;
    assert_eq!(status, StatusCode::OK);

    // A configured grace period: 10 s.
    let okta = MockOkta::builder()
        .clock(clock.clone())
        .refresh_token_grace(Duration::from_secs(10))
        .start()
        .await
        .unwrap();
    let rt1 = str_of(
        &sign_in(&okta, "openid offline_access").await,
        "refresh_token",
    )
    .to_owned();
    assert_eq!(refresh(&okta, &rt1).await.0, StatusCode::OK);
    clock.advance(Duration::from_secs(9));
    assert_eq!(refresh(&okta, &rt1).await.0, StatusCode::OK);
    clock.advance(Duration::from_secs(1));
    assert_eq!(refresh(&okta, &rt1).await.2["error"], "invalid_grant");
}

#[tokio::test]
async fn reuse_after_the_grace_period_revokes_the_family_and_its_access_tokens() {
    let clock = manual_clock();
    let okta = MockOkta::builder()
        .clock(clock.clone())
        .start()
        .await
        .unwrap();
    let first = sign_in(&okta, "openid offline_access").await;
    let other = sign_in(&okta, "openid offline_access").await;
    let rt1 = str_of(&first, "refresh_token");
    let (_, _, second) = refresh(&okta, rt1).await;
    let rt2 = str_of(&second, "refresh_token");
    let access = [
        str_of(&first, "access_token"),
        str_of(&second, "access_token"),
    ];
    for token in access {
        assert!(introspect(&okta, token).await);
        assert!(!okta.is_revoked(token));
    }

    clock.advance(Duration::from_secs(30));
    let (status, _, body) = refresh(&okta, rt1).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_grant"))
    );
    // The whole family: the live refresh token and every access token since sign-in.
    assert_eq!(refresh(&okta, rt2).await.2["error"], "invalid_grant");
    for token in access {
        assert!(!introspect(&okta, token).await);
        assert!(okta.is_revoked(token));
    }
    // Another sign-in, and tokens minted outside any sign-in, are left alone.
    assert!(introspect(&okta, str_of(&other, "access_token")).await);
    assert_eq!(
        refresh(&okta, str_of(&other, "refresh_token")).await.0,
        StatusCode::OK
    );
    let minted = okta.access_token();
    assert!(introspect(&okta, &minted).await);
    assert!(okta.revoke(&minted));
    assert!(okta.is_revoked(&minted));
    assert!(!okta.is_revoked("not.a.token"));
}

/// A `private_key_jwt` client assertion signed with `key` (`iat` left out when `None`).
fn assertion(key: &MockKey, client_id: &str, aud: &str, iat: Option<u64>, exp: u64) -> String {
    let mut jti = [0u8; 16];
    aws_lc_rs::rand::fill(&mut jti).unwrap();
    let mut claims = json!({
        "iss": client_id, "sub": client_id, "aud": aud, "exp": exp,
        "jti": URL_SAFE_NO_PAD.encode(jti),
    });
    if let Some(iat) = iat {
        claims["iat"] = json!(iat);
    }
    let header = json!({ "alg": "RS256", "kid": key.kid() });
    let input = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header.to_string()),
        URL_SAFE_NO_PAD.encode(claims.to_string())
    );
    format!(
        "{input}.{}",
        URL_SAFE_NO_PAD.encode(key.sign(input.as_bytes()))
    )
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// `/v1/revoke` as okta-auth-js calls it: `Authorization: Basic base64(client_id)`.
async fn spa_revokes(okta: &MockOkta, token: &str) -> StatusCode {
    client()
        .post(format!("{}/v1/revoke", okta.issuer()))
        .header(
            header::AUTHORIZATION,
            format!("Basic {}", STANDARD.encode(okta.client_id())),
        )
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(form(&[("token", token)]))
        .send()
        .await
        .unwrap()
        .status()
}

#[tokio::test]
async fn revocation_touches_only_the_calling_clients_tokens() {
    let okta = MockOkta::start().await.unwrap();
    let key = MockKey::generate().unwrap();
    okta.register_service_app("0oa-bot", &key.jwk(), &["orders:read"])
        .unwrap();
    let exp = unix_now() + 300;
    let revoke_endpoint = format!("{}/v1/revoke", okta.issuer());
    let bot_revokes = |token: String| {
        let assertion = assertion(&key, "0oa-bot", &revoke_endpoint, None, exp);
        let url = revoke_endpoint.clone();
        async move {
            let pairs = [
                ("token", token.as_str()),
                ("client_assertion_type", JWT_BEARER),
                ("client_assertion", &assertion),
            ];
            post_form(&url, &pairs).await.0
        }
    };
    let (status, _, bot) = post_form(
        &okta.token_endpoint(),
        &[
            ("grant_type", "client_credentials"),
            ("scope", "orders:read"),
            ("client_assertion_type", JWT_BEARER),
            (
                "client_assertion",
                &assertion(&key, "0oa-bot", &okta.token_endpoint(), None, exp),
            ),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{bot}");
    let bot_token = str_of(&bot, "access_token").to_owned();
    let spa = sign_in(&okta, "openid offline_access").await;
    let (spa_access, spa_refresh) = (str_of(&spa, "access_token"), str_of(&spa, "refresh_token"));

    // Each client's attempt on the other's tokens: 200, and nothing revoked.
    assert_eq!(spa_revokes(&okta, &bot_token).await, StatusCode::OK);
    assert!(introspect(&okta, &bot_token).await);
    assert_eq!(bot_revokes(spa_access.to_owned()).await, StatusCode::OK);
    assert_eq!(bot_revokes(spa_refresh.to_owned()).await, StatusCode::OK);
    assert!(introspect(&okta, spa_access).await);
    assert!(!okta.is_revoked(spa_access));

    // Their own tokens: revoked (a refresh token with the access tokens of its sign-in).
    assert_eq!(bot_revokes(bot_token.clone()).await, StatusCode::OK);
    assert!(!introspect(&okta, &bot_token).await);
    assert_eq!(spa_revokes(&okta, spa_refresh).await, StatusCode::OK);
    assert_eq!(
        refresh(&okta, spa_refresh).await.2["error"],
        "invalid_grant"
    );
    assert!(!introspect(&okta, spa_access).await);
    // Unknown tokens: 200 (RFC 7009 2.2).
    assert_eq!(spa_revokes(&okta, "unknown").await, StatusCode::OK);
}

#[tokio::test]
async fn every_advertised_response_type_and_mode_is_served() {
    let okta = MockOkta::start().await.unwrap();
    let url = format!("{}/.well-known/openid-configuration", okta.issuer());
    let (_, _, doc) = get_json(&url).await;
    let list = |name: &str| -> Vec<String> {
        doc[name]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap().to_owned())
            .collect()
    };
    let modes = list("response_modes_supported");
    assert_eq!(
        modes,
        ["query", "fragment"],
        "no form_post, no okta_post_message"
    );
    assert!(!list("grant_types_supported").contains(&"password".to_owned()));
    let challenge = URL_SAFE_NO_PAD.encode(digest(&SHA256, b"a-verifier"));
    let mut served = 0;
    for response_type in list("response_types_supported") {
        let returns_tokens = response_type != "code";
        for mode in &modes {
            // OAuth 2.0 Multiple Response Types 2.1: tokens never go in the query.
            if returns_tokens && mode == "query" {
                continue;
            }
            let query = form(&[
                ("client_id", okta.client_id()),
                ("redirect_uri", CALLBACK),
                ("response_type", &response_type),
                ("response_mode", mode),
                ("scope", "openid"),
                ("state", "s"),
                ("nonce", "n"),
                ("code_challenge", &challenge),
                ("code_challenge_method", "S256"),
            ]);
            let response = client()
                .get(format!("{}?{query}", okta.authorize_endpoint()))
                .send()
                .await
                .unwrap();
            assert_eq!(
                response.status(),
                StatusCode::FOUND,
                "{response_type} {mode}"
            );
            let location =
                Url::parse(response.headers()[header::LOCATION].to_str().unwrap()).unwrap();
            let part = if mode == "query" {
                location.query()
            } else {
                location.fragment()
            };
            let params: HashMap<String, String> =
                url::form_urlencoded::parse(part.unwrap_or("").as_bytes())
                    .into_owned()
                    .collect();
            assert!(
                !params.contains_key("error"),
                "{response_type} {mode}: {params:?}"
            );
            assert_eq!(params["state"], "s");
            served += 1;
        }
    }
    assert!(served >= 5, "{served}");
}

#[tokio::test]
async fn introspection_takes_basic_with_an_empty_secret_and_answers_cors() {
    let okta = MockOkta::start().await.unwrap();
    let token = okta.access_token();
    let introspect_with = |credentials: String, origin: Option<&'static str>| {
        let mut request = client()
            .post(okta.introspection_endpoint())
            .header(
                header::AUTHORIZATION,
                format!("Basic {}", STANDARD.encode(credentials)),
            )
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(form(&[
                ("token", &token),
                ("token_type_hint", "access_token"),
            ]));
        if let Some(origin) = origin {
            request = request.header(header::ORIGIN, origin);
        }
        async move { answer(request.send().await.unwrap()).await }
    };
    // As okta-auth-js sends it, from the SPA's origin.
    let (status, headers, body) =
        introspect_with(format!("{}:", okta.client_id()), Some(DEFAULT_SPA_ORIGIN)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["active"], true);
    assert_eq!(
        headers[header::ACCESS_CONTROL_ALLOW_ORIGIN],
        DEFAULT_SPA_ORIGIN
    );
    let (_, headers, _) = introspect_with(
        format!("{}:", okta.client_id()),
        Some("http://evil.example"),
    )
    .await;
    assert!(headers.get(header::ACCESS_CONTROL_ALLOW_ORIGIN).is_none());
    // Another client, or a secret: refused with a Basic challenge.
    for credentials in [
        "0oa-other:".to_owned(),
        format!("{}:s3cr3t", okta.client_id()),
    ] {
        let (status, headers, body) = introspect_with(credentials, None).await;
        assert_eq!(
            (status, body["error"].as_str()),
            (StatusCode::UNAUTHORIZED, Some("invalid_client"))
        );
        assert!(headers[header::WWW_AUTHENTICATE]
            .to_str()
            .unwrap()
            .starts_with("Basic"));
    }

    // The preflight for that request: allowed for the trusted origin only, never counted.
    let count = okta.introspection_count();
    let preflight = |origin: &'static str| {
        client()
            .request(Method::OPTIONS, okta.introspection_endpoint())
            .header(header::ORIGIN, origin)
            .header(header::ACCESS_CONTROL_REQUEST_METHOD, "POST")
            .header(
                header::ACCESS_CONTROL_REQUEST_HEADERS,
                "authorization,content-type",
            )
            .send()
    };
    let response = preflight(DEFAULT_SPA_ORIGIN).await.unwrap();
    assert!(response.status().is_success(), "{}", response.status());
    let h = response.headers();
    assert_eq!(h[header::ACCESS_CONTROL_ALLOW_ORIGIN], DEFAULT_SPA_ORIGIN);
    let allowed = h[header::ACCESS_CONTROL_ALLOW_HEADERS].to_str().unwrap();
    assert!(allowed.contains("authorization"), "{allowed}");
    let response = preflight("http://evil.example").await.unwrap();
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert_eq!(okta.introspection_count(), count);
}

fn header_value<'h>(headers: &'h header::HeaderMap, name: &str) -> &'h str {
    headers[name].to_str().unwrap()
}

#[tokio::test]
async fn rate_limits_carry_oktas_headers() {
    let clock = manual_clock();
    let okta = MockOkta::builder()
        .clock(clock.clone())
        .start()
        .await
        .unwrap();
    okta.set_keys_fault(KeysFault::Status(429));
    let (status, headers, body) = get_json(&okta.jwks_uri()).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(body["errorCode"], "E0000047");
    assert!(
        header_value(&headers, "x-rate-limit-limit")
            .parse::<u32>()
            .unwrap()
            > 0
    );
    assert_eq!(header_value(&headers, "x-rate-limit-remaining"), "0");
    assert_eq!(
        header_value(&headers, "x-rate-limit-reset"),
        (EPOCH + 60).to_string()
    );
    assert!(headers.get(header::RETRY_AFTER).is_none());

    // A configured reset, on introspection, by the mock's clock (rounded up to a second).
    okta.set_introspect_fault(KeysFault::RateLimited {
        reset_after: Duration::from_secs(5),
    });
    let endpoint = okta.introspection_endpoint();
    let pairs = [("client_id", okta.client_id())];
    let rate_limited = || post_form(&endpoint, &pairs);
    let (status, headers, _) = rate_limited().await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(
        header_value(&headers, "x-rate-limit-reset"),
        (EPOCH + 5).to_string()
    );
    assert_eq!(header_value(&headers, "x-rate-limit-remaining"), "0");
    assert!(headers.get(header::RETRY_AFTER).is_none());
    clock.advance(Duration::from_millis(10_500));
    let (_, headers, _) = rate_limited().await;
    assert_eq!(
        header_value(&headers, "x-rate-limit-reset"),
        (EPOCH + 16).to_string()
    );
}

#[tokio::test]
async fn client_assertions_dated_in_the_future_or_living_too_long_are_refused() {
    let clock = manual_clock();
    let okta = MockOkta::builder()
        .clock(clock.clone())
        .start()
        .await
        .unwrap();
    let key = MockKey::generate().unwrap();
    okta.register_service_app("0oa-bot", &key.jwk(), &["orders:read"])
        .unwrap();
    let token_request = |iat: Option<u64>, exp: u64| {
        let assertion = assertion(&key, "0oa-bot", &okta.token_endpoint(), iat, exp);
        let url = okta.token_endpoint();
        async move {
            let pairs = [
                ("grant_type", "client_credentials"),
                ("scope", "orders:read"),
                ("client_assertion_type", JWT_BEARER),
                ("client_assertion", assertion.as_str()),
            ];
            post_form(&url, &pairs).await
        }
    };
    let refused = |(status, _, body): Answer| {
        assert_eq!(
            (status, body["error"].as_str()),
            (StatusCode::UNAUTHORIZED, Some("invalid_client")),
            "{body}"
        );
        body["error_description"].as_str().unwrap().to_owned()
    };
    let now = EPOCH;
    // Fine: no iat, iat now, iat within the 60 s skew, a lifetime of exactly an hour.
    for (iat, exp) in [
        (None, now + 300),
        (Some(now), now + 300),
        (Some(now + 60), now + 300),
        (Some(now - 3000), now + 600),
    ] {
        let (status, _, body) = token_request(iat, exp).await;
        assert_eq!(status, StatusCode::OK, "iat {iat:?} exp {exp}: {body}");
    }
    // Issued in the future (beyond the skew).
    assert!(refused(token_request(Some(now + 61), now + 300).await).contains("future"));
    // Living more than an hour, though it expires within the hour.
    assert!(refused(token_request(Some(now - 3000), now + 601).await).contains("one hour"));
    // The mock's clock decides: an hour later the same dates are in the past.
    clock.advance(Duration::from_secs(3600));
    assert!(refused(token_request(Some(now), now + 300).await).contains("expired"));
}
