//! The OAuth endpoints over plain HTTP: the authorization-code flow with PKCE, refresh-token
//! rotation, userinfo, CORS, service apps with `private_key_jwt`, introspection, and the clock.

use std::collections::HashMap;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aws_lc_rs::digest::{digest, SHA256};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use reqwest::{header, redirect, Client, StatusCode};
use serde_json::{json, Value};
use tower_okta_mock::{ManualClock, MockKey, MockOkta, DEFAULT_SPA_ORIGIN};
use url::Url;

const CALLBACK: &str = "http://localhost:8585/callback";

fn client() -> Client {
    Client::builder()
        .redirect(redirect::Policy::none())
        .no_proxy()
        .build()
        .unwrap()
}

fn form(pairs: &[(&str, &str)]) -> String {
    let mut serializer = url::form_urlencoded::Serializer::new(String::new());
    for (name, value) in pairs {
        serializer.append_pair(name, value);
    }
    serializer.finish()
}

async fn post_form(url: &str, pairs: &[(&str, &str)]) -> (StatusCode, header::HeaderMap, Value) {
    let response = client()
        .post(url)
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(form(pairs))
        .send()
        .await
        .unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    let json = serde_json::from_str(&response.text().await.unwrap()).unwrap_or(Value::Null);
    (status, headers, json)
}

/// A PKCE verifier and its S256 challenge.
fn pkce() -> (String, String) {
    let mut bytes = [0u8; 32];
    aws_lc_rs::rand::fill(&mut bytes).unwrap();
    let verifier = URL_SAFE_NO_PAD.encode(bytes);
    let challenge = URL_SAFE_NO_PAD.encode(digest(&SHA256, verifier.as_bytes()));
    (verifier, challenge)
}

/// Signs in with PKCE; returns the code and the verifier.
async fn sign_in(okta: &MockOkta, scope: &str) -> (String, String) {
    let (verifier, challenge) = pkce();
    let query = form(&[
        ("client_id", okta.client_id()),
        ("redirect_uri", CALLBACK),
        ("response_type", "code"),
        ("scope", scope),
        ("state", "st4te"),
        ("nonce", "n0nce"),
        ("code_challenge", &challenge),
        ("code_challenge_method", "S256"),
    ]);
    let url = format!("{}?{query}", okta.authorize_endpoint());
    let response = client().get(url).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::FOUND);
    let location = Url::parse(response.headers()[header::LOCATION].to_str().unwrap()).unwrap();
    assert_eq!(&location[..url::Position::AfterPath], CALLBACK);
    let params: HashMap<String, String> = location.query_pairs().into_owned().collect();
    assert_eq!(params["state"], "st4te");
    (params["code"].clone(), verifier)
}

async fn exchange(
    okta: &MockOkta,
    code: &str,
    verifier: &str,
) -> (StatusCode, header::HeaderMap, Value) {
    post_form(
        &okta.token_endpoint(),
        &[
            ("client_id", okta.client_id()),
            ("redirect_uri", CALLBACK),
            ("grant_type", "authorization_code"),
            ("code_verifier", verifier),
            ("code", code),
        ],
    )
    .await
}

/// The payload of a JWT (the mock's own; signatures are checked in `tests/server.rs`).
fn payload(token: &str) -> Value {
    let part = token.split('.').nth(1).unwrap();
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(part).unwrap()).unwrap()
}

async fn introspect(okta: &MockOkta, token: &str) -> Value {
    let (status, _, body) = post_form(
        &okta.introspection_endpoint(),
        &[("client_id", okta.client_id()), ("token", token)],
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body
}

#[tokio::test]
async fn pkce_flow_issues_tokens_and_refresh_rotates() {
    // No grace period: any second use of a refresh token is reuse (see tests/okta_parity.rs).
    let okta = MockOkta::builder()
        .refresh_token_grace(Duration::ZERO)
        .start()
        .await
        .unwrap();
    let (code, verifier) = sign_in(&okta, "openid profile email offline_access").await;
    // A wrong verifier burns the code.
    let (wrong, _) = pkce();
    let (status, _, body) = exchange(&okta, &code, &wrong).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_grant"))
    );
    assert_eq!(
        exchange(&okta, &code, &verifier).await.0,
        StatusCode::BAD_REQUEST
    );

    let (code, verifier) = sign_in(&okta, "openid profile email offline_access").await;
    let (status, headers, tokens) = exchange(&okta, &code, &verifier).await;
    assert_eq!(status, StatusCode::OK, "{tokens}");
    assert_eq!(headers[header::CACHE_CONTROL], "no-store");
    assert_eq!(tokens["token_type"], "Bearer");
    assert_eq!(tokens["expires_in"], 3600);
    let access = payload(tokens["access_token"].as_str().unwrap());
    assert_eq!(
        access["scp"],
        json!(["openid", "profile", "email", "offline_access"])
    );
    assert_eq!(access["cid"], okta.client_id());
    let id = payload(tokens["id_token"].as_str().unwrap());
    assert_eq!(id["nonce"], "n0nce");
    assert!(id["at_hash"].is_string());

    // Refresh: rotated; the spent token is refused and its reuse revokes the family.
    let rt1 = tokens["refresh_token"].as_str().unwrap();
    let refresh = |rt: String| {
        let okta = &okta;
        async move {
            post_form(
                &okta.token_endpoint(),
                &[
                    ("client_id", okta.client_id()),
                    ("grant_type", "refresh_token"),
                    ("refresh_token", &rt),
                ],
            )
            .await
        }
    };
    let (status, _, second) = refresh(rt1.to_owned()).await;
    assert_eq!(status, StatusCode::OK, "{second}");
    let rt2 = second["refresh_token"].as_str().unwrap().to_owned();
    assert_ne!(rt1, rt2);

    // Userinfo with the access token.
    let userinfo = || {
        client()
            .get(format!("{}/v1/userinfo", okta.issuer()))
            .bearer_auth(second["access_token"].as_str().unwrap())
            .send()
    };
    let response = userinfo().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let info: Value = serde_json::from_str(&response.text().await.unwrap()).unwrap();
    assert_eq!(info["sub"], okta.user().id.as_str());
    assert_eq!(info["email"], "jane.doe@example.com");

    // Reuse revokes the family, with the access tokens issued since sign-in.
    assert_eq!(refresh(rt1.to_owned()).await.2["error"], "invalid_grant");
    assert_eq!(refresh(rt2).await.2["error"], "invalid_grant");
    let response = userinfo().await.unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);

    // A public client sending a secret is refused.
    let (status, _, body) = post_form(
        &okta.token_endpoint(),
        &[
            ("client_id", okta.client_id()),
            ("client_secret", "s"),
            ("grant_type", "refresh_token"),
        ],
    )
    .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("invalid_client"))
    );
}

#[tokio::test]
async fn an_unregistered_redirect_uri_gets_a_page_not_a_redirect() {
    let okta = MockOkta::start().await.unwrap();
    let query = form(&[
        ("client_id", okta.client_id()),
        ("redirect_uri", "https://evil.example/callback"),
        ("response_type", "code"),
        ("scope", "openid"),
        ("state", "s"),
    ]);
    let response = client()
        .get(format!("{}?{query}", okta.authorize_endpoint()))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert!(response.headers().get(header::LOCATION).is_none());
    assert!(response.headers()[header::CONTENT_TYPE]
        .to_str()
        .unwrap()
        .starts_with("text/html"));
}

#[tokio::test]
async fn cors_for_the_trusted_origin_only() {
    let okta = MockOkta::start().await.unwrap();
    let preflight = |origin: &'static str, headers: &'static str| {
        client()
            .request(reqwest::Method::OPTIONS, okta.token_endpoint())
            .header(header::ORIGIN, origin)
            .header(header::ACCESS_CONTROL_REQUEST_METHOD, "POST")
            .header(header::ACCESS_CONTROL_REQUEST_HEADERS, headers)
            .send()
    };
    let response = preflight(
        DEFAULT_SPA_ORIGIN,
        "content-type,x-okta-user-agent-extended",
    )
    .await
    .unwrap();
    assert!(response.status().is_success(), "{}", response.status());
    let h = response.headers();
    assert_eq!(h[header::ACCESS_CONTROL_ALLOW_ORIGIN], DEFAULT_SPA_ORIGIN);
    assert!(h[header::ACCESS_CONTROL_ALLOW_METHODS]
        .to_str()
        .unwrap()
        .contains("POST"));
    let allowed = h[header::ACCESS_CONTROL_ALLOW_HEADERS].to_str().unwrap();
    assert!(allowed.contains("content-type") && allowed.contains("x-okta-user-agent-extended"));
    assert_eq!(h[header::ACCESS_CONTROL_MAX_AGE], "600");

    // An untrusted origin: refused like Okta does; an unknown header: no permission.
    let response = preflight("http://evil.example", "content-type")
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert!(response
        .headers()
        .get(header::ACCESS_CONTROL_ALLOW_ORIGIN)
        .is_none());
    let body: Value = serde_json::from_str(&response.text().await.unwrap()).unwrap();
    assert_eq!(body["errorCode"], "E0000006");
    let response = preflight(DEFAULT_SPA_ORIGIN, "x-custom-header")
        .await
        .unwrap();
    assert!(response
        .headers()
        .get(header::ACCESS_CONTROL_ALLOW_ORIGIN)
        .is_none());

    // Actual requests.
    for url in [
        format!("{}/.well-known/openid-configuration", okta.issuer()),
        okta.jwks_uri(),
        format!("{}/v1/userinfo", okta.issuer()),
    ] {
        let get = |origin: &'static str| client().get(&url).header(header::ORIGIN, origin).send();
        let response = get(DEFAULT_SPA_ORIGIN).await.unwrap();
        assert_eq!(
            response.headers()[header::ACCESS_CONTROL_ALLOW_ORIGIN],
            DEFAULT_SPA_ORIGIN,
            "{url}"
        );
        let response = get("http://evil.example").await.unwrap();
        assert!(
            response
                .headers()
                .get(header::ACCESS_CONTROL_ALLOW_ORIGIN)
                .is_none(),
            "{url}"
        );
    }
    let response = client()
        .get(format!("{}/v1/userinfo", okta.issuer()))
        .header(header::ORIGIN, DEFAULT_SPA_ORIGIN)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert!(response.headers()[header::ACCESS_CONTROL_EXPOSE_HEADERS]
        .to_str()
        .unwrap()
        .eq_ignore_ascii_case("www-authenticate,dpop-nonce"));
    assert!(response.headers()[header::WWW_AUTHENTICATE]
        .to_str()
        .unwrap()
        .starts_with("Bearer "));
    // Navigations carry no CORS headers.
    let response = client()
        .get(okta.authorize_endpoint())
        .header(header::ORIGIN, DEFAULT_SPA_ORIGIN)
        .send()
        .await
        .unwrap();
    assert!(response
        .headers()
        .get(header::ACCESS_CONTROL_ALLOW_ORIGIN)
        .is_none());
}

/// A `private_key_jwt` client assertion signed with `key`.
fn assertion(key: &MockKey, client_id: &str, audience: &str, exp: u64, jti: &str) -> String {
    let header = json!({ "alg": "RS256", "kid": key.kid() });
    let claims = json!({
        "iss": client_id, "sub": client_id, "aud": audience, "exp": exp, "jti": jti,
    });
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

fn unix(time: SystemTime) -> u64 {
    time.duration_since(UNIX_EPOCH).unwrap().as_secs()
}

#[tokio::test]
async fn service_apps_get_tokens_with_private_key_jwt() {
    let okta = MockOkta::start().await.unwrap();
    let key = MockKey::generate().unwrap();
    okta.register_service_app("0oa-bot", &key.jwk(), &["orders:read"])
        .unwrap();
    let jwt_bearer = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";
    let exp = unix(SystemTime::now()) + 300;
    let token_request = |assertion: String, scope: &'static str| {
        let okta = &okta;
        async move {
            post_form(
                &okta.token_endpoint(),
                &[
                    ("grant_type", "client_credentials"),
                    ("scope", scope),
                    ("client_assertion_type", jwt_bearer),
                    ("client_assertion", &assertion),
                ],
            )
            .await
        }
    };
    let first = assertion(&key, "0oa-bot", &okta.token_endpoint(), exp, "j1");
    let (status, _, body) = token_request(first.clone(), "orders:read").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let claims = payload(body["access_token"].as_str().unwrap());
    assert_eq!(
        (claims["sub"].as_str(), claims["cid"].as_str()),
        (Some("0oa-bot"), Some("0oa-bot"))
    );
    assert_eq!(claims["scp"], json!(["orders:read"]));
    assert!(claims.get("uid").is_none());

    let refused = |(status, _, body): (StatusCode, header::HeaderMap, Value)| {
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
        assert_eq!(body["error"], "invalid_client");
        body["error_description"].as_str().unwrap().to_owned()
    };
    assert!(refused(token_request(first, "orders:read").await).contains("already been used"));
    let stranger = MockKey::generate().unwrap().with_kid(key.kid());
    let forged = assertion(&stranger, "0oa-bot", &okta.token_endpoint(), exp, "j2");
    assert!(refused(token_request(forged, "orders:read").await).contains("signature"));
    let elsewhere = assertion(&key, "0oa-bot", &okta.introspection_endpoint(), exp, "j3");
    assert!(refused(token_request(elsewhere, "orders:read").await).contains("audience"));
    let late = assertion(&key, "0oa-bot", &okta.token_endpoint(), exp - 3600, "j4");
    assert!(refused(token_request(late, "orders:read").await).contains("expired"));
    let far = assertion(&key, "0oa-bot", &okta.token_endpoint(), exp + 7200, "j5");
    assert!(refused(token_request(far, "orders:read").await).contains("one hour"));
    let unknown = assertion(&key, "0oa-nobody", &okta.token_endpoint(), exp, "j6");
    assert!(refused(token_request(unknown, "orders:read").await).contains("not registered"));
    let scope = assertion(&key, "0oa-bot", &okta.token_endpoint(), exp, "j7");
    let (status, _, body) = token_request(scope, "admin").await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_scope"))
    );

    // The app may introspect with an assertion for the introspection endpoint.
    let token = okta.access_token();
    let (status, _, body) = post_form(
        &okta.introspection_endpoint(),
        &[
            ("token", &token),
            ("client_assertion_type", jwt_bearer),
            (
                "client_assertion",
                &assertion(&key, "0oa-bot", &okta.introspection_endpoint(), exp, "j8"),
            ),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["active"], true);
    assert_eq!(body["username"], "jane.doe@example.com");
    assert_eq!(body["scope"], "openid profile email");
}

#[tokio::test]
async fn introspection_revocation_and_faults() {
    let okta = MockOkta::start().await.unwrap();
    let token = okta.access_token();
    assert_eq!(introspect(&okta, &token).await["active"], true);
    assert_eq!(introspect(&okta, "not.a.token").await["active"], false);
    assert!(okta.revoke(&token));
    assert!(!okta.revoke("not.a.token"));
    assert_eq!(introspect(&okta, &token).await["active"], false);
    let (status, _, body) = post_form(
        &okta.introspection_endpoint(),
        &[("client_id", "someone-else"), ("token", &token)],
    )
    .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("invalid_client"))
    );
    okta.set_introspect_fault(tower_okta_mock::KeysFault::Status(429));
    let (status, _, _) = post_form(
        &okta.introspection_endpoint(),
        &[("client_id", okta.client_id())],
    )
    .await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(okta.introspection_count(), 5);
}

#[tokio::test]
async fn the_manual_clock_expires_tokens_codes_and_assertions() {
    let clock = ManualClock::new(SystemTime::now() - Duration::from_secs(86_400));
    let okta = MockOkta::builder()
        .clock(clock.clone())
        .start()
        .await
        .unwrap();

    // Minted tokens take their times from the mock's clock.
    let token = okta.access_token();
    assert_eq!(
        payload(&token)["iat"].as_u64(),
        Some(unix(clock_now(&clock)))
    );
    let active = introspect(&okta, &token).await;
    assert_eq!(active["active"], true, "{active}");
    clock.advance(Duration::from_secs(3599));
    assert_eq!(introspect(&okta, &token).await["active"], true);
    clock.advance(Duration::from_secs(1));
    assert_eq!(introspect(&okta, &token).await["active"], false);

    // Codes live 60 s by the mock's clock.
    let (code, verifier) = sign_in(&okta, "openid").await;
    clock.advance(Duration::from_secs(59));
    assert_eq!(exchange(&okta, &code, &verifier).await.0, StatusCode::OK);
    let (code, verifier) = sign_in(&okta, "openid").await;
    clock.advance(Duration::from_secs(60));
    let (status, _, body) = exchange(&okta, &code, &verifier).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_grant"))
    );

    // Assertion `exp` is checked against the mock's clock, not the system's.
    let key = MockKey::generate().unwrap();
    okta.register_service_app("0oa-bot", &key.jwk(), &["orders:read"])
        .unwrap();
    let in_mock_time = unix(clock_now(&clock)) + 300;
    let (status, _, body) = post_form(
        &okta.token_endpoint(),
        &[
            ("grant_type", "client_credentials"),
            ("scope", "orders:read"),
            (
                "client_assertion_type",
                "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
            ),
            (
                "client_assertion",
                &assertion(&key, "0oa-bot", &okta.token_endpoint(), in_mock_time, "j"),
            ),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

fn clock_now(clock: &ManualClock) -> SystemTime {
    use tower_okta_mock::Clock;
    clock.now()
}
