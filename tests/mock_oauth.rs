//! The mock Okta's browser-flow endpoints over real HTTP (reqwest, no redirects followed):
//! `/v1/authorize` (PKCE and implicit), `/v1/token` (code with PKCE, refresh with rotation),
//! `/v1/userinfo`, `/v1/revoke`, `/v1/logout`, and their CORS headers. The tokens they issue are
//! checked with the crate's own verifier.

mod common;
use common::MockExt;

use std::collections::HashMap;
use std::time::Duration;

use aws_lc_rs::digest::{digest, SHA256};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use reqwest::header::{self, HeaderMap};
use reqwest::{redirect, Client, StatusCode};
use serde_json::Value;
use tower_okta::Verifier;
use tower_okta_mock::{ManualClock, MockOkta, MockUser, DEFAULT_SPA_ORIGIN};
use url::Url;

const CALLBACK: &str = "http://localhost:8585/callback";

fn client() -> Client {
    Client::builder()
        .redirect(redirect::Policy::none())
        .no_proxy()
        .build()
        .unwrap()
}

async fn start() -> (MockOkta, Verifier) {
    let okta = MockOkta::start().await.unwrap();
    let verifier = okta.verifier_builder().build().unwrap();
    (okta, verifier)
}

/// A mock whose clock the test moves (for the refresh-token grace period).
async fn start_with_clock() -> (MockOkta, Verifier, ManualClock) {
    let clock = ManualClock::default();
    let okta = MockOkta::builder()
        .clock(clock.clone())
        .start()
        .await
        .unwrap();
    let verifier = okta.verifier_builder().build().unwrap();
    (okta, verifier, clock)
}

fn random_string() -> String {
    let mut bytes = [0u8; 32];
    aws_lc_rs::rand::fill(&mut bytes).unwrap();
    URL_SAFE_NO_PAD.encode(bytes)
}

/// A PKCE verifier (43 characters) and its S256 challenge.
fn pkce() -> (String, String) {
    let verifier = random_string();
    let challenge = URL_SAFE_NO_PAD.encode(digest(&SHA256, verifier.as_bytes()));
    (verifier, challenge)
}

fn form(pairs: &[(&str, &str)]) -> String {
    let mut serializer = url::form_urlencoded::Serializer::new(String::new());
    for (name, value) in pairs {
        serializer.append_pair(name, value);
    }
    serializer.finish()
}

/// Query or fragment parameters as a map.
fn pairs(text: &str) -> HashMap<String, String> {
    url::form_urlencoded::parse(text.as_bytes())
        .into_owned()
        .collect()
}

/// What `/v1/authorize` answered.
struct Authorized {
    status: StatusCode,
    location: Option<Url>,
    body: String,
}

impl Authorized {
    #[track_caller]
    fn location(&self) -> &Url {
        assert_eq!(self.status, StatusCode::FOUND, "{}", self.body);
        self.location.as_ref().expect("a Location header")
    }

    /// The query parameters of the redirect, asserting it goes to `CALLBACK`.
    #[track_caller]
    fn query(&self) -> HashMap<String, String> {
        let location = self.location();
        assert_eq!(&location[..url::Position::AfterPath], CALLBACK);
        assert!(location.fragment().is_none(), "{location}");
        pairs(location.query().unwrap_or(""))
    }

    /// The fragment parameters of the redirect, asserting it goes to `CALLBACK`.
    #[track_caller]
    fn fragment(&self) -> HashMap<String, String> {
        let location = self.location();
        assert_eq!(&location[..url::Position::AfterPath], CALLBACK);
        assert!(location.query().is_none(), "{location}");
        pairs(location.fragment().expect("a fragment"))
    }
}

async fn authorize(okta: &MockOkta, params: &[(&str, &str)]) -> Authorized {
    let url = format!("{}?{}", okta.authorize_endpoint(), form(params));
    let response = client().get(url).send().await.unwrap();
    let status = response.status();
    let location = response
        .headers()
        .get(header::LOCATION)
        .map(|l| Url::parse(l.to_str().unwrap()).unwrap());
    let body = response.text().await.unwrap();
    Authorized {
        status,
        location,
        body,
    }
}

/// Starts a PKCE sign-in; returns the code and the verifier.
async fn pkce_code(okta: &MockOkta, scope: &str, nonce: &str) -> (String, String) {
    let (verifier, challenge) = pkce();
    let answer = authorize(
        okta,
        &[
            ("client_id", okta.client_id()),
            ("redirect_uri", CALLBACK),
            ("response_type", "code"),
            ("scope", scope),
            ("state", "st4te"),
            ("nonce", nonce),
            ("code_challenge", &challenge),
            ("code_challenge_method", "S256"),
        ],
    )
    .await;
    let query = answer.query();
    assert_eq!(query["state"], "st4te");
    (query["code"].clone(), verifier)
}

struct TokenAnswer {
    status: StatusCode,
    headers: HeaderMap,
    json: Value,
}

impl TokenAnswer {
    #[track_caller]
    fn assert_error(&self, status: StatusCode, error: &str) {
        assert_eq!(self.status, status, "{}", self.json);
        assert_eq!(self.json["error"], error, "{}", self.json);
        assert!(self.json["error_description"].is_string(), "{}", self.json);
    }

    #[track_caller]
    fn str(&self, name: &str) -> &str {
        self.json[name]
            .as_str()
            .unwrap_or_else(|| panic!("{name} in {}", self.json))
    }
}

async fn post_token(okta: &MockOkta, params: &[(&str, &str)]) -> TokenAnswer {
    post_token_with(okta, params, |r| r).await
}

async fn post_token_with(
    okta: &MockOkta,
    params: &[(&str, &str)],
    f: impl FnOnce(reqwest::RequestBuilder) -> reqwest::RequestBuilder,
) -> TokenAnswer {
    let request = client()
        .post(okta.token_endpoint())
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header(header::ACCEPT, "application/json")
        .body(form(params));
    let response = f(request).send().await.unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    let json = serde_json::from_str(&response.text().await.unwrap()).unwrap();
    TokenAnswer {
        status,
        headers,
        json,
    }
}

async fn exchange(okta: &MockOkta, code: &str, verifier: &str) -> TokenAnswer {
    post_token(
        okta,
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

async fn refresh(okta: &MockOkta, refresh_token: &str, scope: &str) -> TokenAnswer {
    post_token(
        okta,
        &[
            ("client_id", okta.client_id()),
            ("grant_type", "refresh_token"),
            ("scope", scope),
            ("refresh_token", refresh_token),
        ],
    )
    .await
}

fn at_hash(access_token: &str) -> String {
    URL_SAFE_NO_PAD.encode(&digest(&SHA256, access_token.as_bytes()).as_ref()[..16])
}

async fn userinfo(okta: &MockOkta, token: Option<&str>) -> reqwest::Response {
    let mut request = client().get(format!("{}/v1/userinfo", okta.issuer()));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    request.send().await.unwrap()
}

#[tokio::test]
async fn pkce_sign_in_issues_okta_shaped_tokens() {
    let (okta, verifier) = start().await;
    let (code, code_verifier) = pkce_code(&okta, "openid profile email", "n0nce").await;
    let answer = exchange(&okta, &code, &code_verifier).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.json);
    assert_eq!(answer.headers[header::CACHE_CONTROL], "no-store");
    assert_eq!(answer.json["token_type"], "Bearer");
    assert_eq!(answer.json["expires_in"], 3600);
    assert_eq!(answer.json["scope"], "openid profile email");
    assert!(
        answer.json.get("refresh_token").is_none(),
        "no offline_access, no refresh token: {}",
        answer.json
    );

    let access = verifier
        .verify_access_token(answer.str("access_token"))
        .await
        .unwrap();
    assert_eq!(access.sub, "jane.doe@example.com");
    assert_eq!(access.uid.as_deref(), Some(okta.user().id.as_str()));
    assert_eq!(access.cid.as_deref(), Some(okta.client_id()));
    assert_eq!(access.scp, ["openid", "profile", "email"]);
    assert_eq!(access.exp - access.iat, 3600);

    let id = verifier
        .verify_id_token(answer.str("id_token"), Some("n0nce"))
        .await
        .unwrap();
    assert_eq!(id.sub, okta.user().id);
    assert!(id.sub.starts_with("00u"));
    assert_eq!(id.nonce.as_deref(), Some("n0nce"));
    assert_eq!(
        id.at_hash.as_deref(),
        Some(at_hash(answer.str("access_token")).as_str())
    );
    assert_eq!(id.amr, ["pwd"]);
    assert!(id.idp.as_deref().is_some_and(|idp| idp.starts_with("00o")));
    assert_eq!(id.name.as_deref(), Some("Jane Doe"));
    assert_eq!(id.email.as_deref(), Some("jane.doe@example.com"));
    assert_eq!(
        id.preferred_username.as_deref(),
        Some("jane.doe@example.com")
    );
    assert!(id.auth_time.unwrap() <= id.iat);
}

#[tokio::test]
async fn scope_decides_the_id_token_profile_claims() {
    let (okta, verifier) = start().await;
    let (code, code_verifier) = pkce_code(&okta, "openid", "n").await;
    let answer = exchange(&okta, &code, &code_verifier).await;
    let id = verifier
        .verify_id_token(answer.str("id_token"), Some("n"))
        .await
        .unwrap();
    assert!(id.name.is_none(), "{id:?}");
    assert!(id.email.is_none(), "{id:?}");

    // Without `openid` there is no ID token at all.
    let (code, code_verifier) = pkce_code(&okta, "profile", "n").await;
    let answer = exchange(&okta, &code, &code_verifier).await;
    assert_eq!(answer.status, StatusCode::OK);
    assert!(answer.json.get("id_token").is_none(), "{}", answer.json);
    assert!(answer.json["access_token"].is_string());
}

#[tokio::test]
async fn a_wrong_verifier_burns_the_code() {
    let (okta, _) = start().await;
    let (code, code_verifier) = pkce_code(&okta, "openid", "n").await;
    let (other_verifier, _) = pkce();
    exchange(&okta, &code, &other_verifier)
        .await
        .assert_error(StatusCode::BAD_REQUEST, "invalid_grant");
    // The right verifier is too late: the code was spent by the failed attempt.
    exchange(&okta, &code, &code_verifier)
        .await
        .assert_error(StatusCode::BAD_REQUEST, "invalid_grant");
}

#[tokio::test]
async fn a_code_works_once_and_its_replay_revokes_what_it_issued() {
    let (okta, _) = start().await;
    let (code, code_verifier) = pkce_code(&okta, "openid offline_access", "n").await;
    let first = exchange(&okta, &code, &code_verifier).await;
    assert_eq!(first.status, StatusCode::OK, "{}", first.json);
    let refresh_token = first.str("refresh_token").to_owned();

    exchange(&okta, &code, &code_verifier)
        .await
        .assert_error(StatusCode::BAD_REQUEST, "invalid_grant");
    // RFC 6749 4.1.2: the tokens issued for a replayed code are revoked.
    refresh(&okta, &refresh_token, "openid offline_access")
        .await
        .assert_error(StatusCode::BAD_REQUEST, "invalid_grant");
}

#[tokio::test]
async fn the_code_is_bound_to_its_redirect_uri_and_client() {
    let okta = MockOkta::builder()
        .redirect_uris([CALLBACK, "http://localhost:8585/other"])
        .start()
        .await
        .unwrap();
    let (code, code_verifier) = pkce_code(&okta, "openid", "n").await;
    post_token(
        &okta,
        &[
            ("client_id", okta.client_id()),
            ("redirect_uri", "http://localhost:8585/other"),
            ("grant_type", "authorization_code"),
            ("code_verifier", &code_verifier),
            ("code", &code),
        ],
    )
    .await
    .assert_error(StatusCode::BAD_REQUEST, "invalid_grant");

    let (code, code_verifier) = pkce_code(&okta, "openid", "n").await;
    post_token(
        &okta,
        &[
            ("client_id", "0oaSomeOtherClient"),
            ("redirect_uri", CALLBACK),
            ("grant_type", "authorization_code"),
            ("code_verifier", &code_verifier),
            ("code", &code),
        ],
    )
    .await
    .assert_error(StatusCode::UNAUTHORIZED, "invalid_client");
}

#[tokio::test]
async fn an_unregistered_redirect_uri_gets_an_error_page_not_a_redirect() {
    let (okta, _) = start().await;
    let (_, challenge) = pkce();
    for (client_id, redirect_uri) in [
        (okta.client_id(), "http://localhost:8585/callback/"),
        (okta.client_id(), "http://evil.example/callback"),
        (okta.client_id(), "http://localhost:8586/callback"),
        (okta.client_id(), ""),
        ("0oaUnknownClient", CALLBACK),
    ] {
        let answer = authorize(
            &okta,
            &[
                ("client_id", client_id),
                ("redirect_uri", redirect_uri),
                ("response_type", "code"),
                ("scope", "openid"),
                ("state", "s"),
                ("code_challenge", &challenge),
                ("code_challenge_method", "S256"),
            ],
        )
        .await;
        assert_eq!(answer.status, StatusCode::BAD_REQUEST, "{redirect_uri}");
        assert!(answer.location.is_none(), "{redirect_uri}");
        assert!(
            answer.body.contains("<h1>400 Bad Request</h1>"),
            "{}",
            answer.body
        );
        assert!(
            !answer.body.contains("evil"),
            "request values are not echoed"
        );
    }
}

#[tokio::test]
async fn authorize_errors_go_back_to_the_redirect_uri() {
    let (okta, _) = start().await;
    let (_, challenge) = pkce();
    let client_id = okta.client_id().to_owned();
    let base = |response_type: &'static str| {
        vec![
            ("client_id", client_id.clone()),
            ("redirect_uri", CALLBACK.to_owned()),
            ("response_type", response_type.to_owned()),
            ("scope", "openid profile".to_owned()),
            ("state", "xyz".to_owned()),
            ("nonce", "n".to_owned()),
            ("code_challenge", challenge.clone()),
            ("code_challenge_method", "S256".to_owned()),
        ]
    };
    let with = |mut params: Vec<(&'static str, String)>, name: &'static str, value: &str| {
        params.retain(|(n, _)| *n != name);
        if !value.is_empty() {
            params.push((name, value.to_owned()));
        }
        params
    };
    // (parameters, expected error, in the fragment?)
    let cases = [
        (
            with(base("code"), "code_challenge", ""),
            "invalid_request",
            false,
        ),
        (
            with(base("code"), "code_challenge_method", "plain"),
            "invalid_request",
            false,
        ),
        (
            with(base("code"), "code_challenge_method", ""),
            "invalid_request",
            false,
        ),
        (
            with(base("code"), "code_challenge", "tooshort"),
            "invalid_request",
            false,
        ),
        (
            with(base("code"), "scope", "openid orders:write"),
            "invalid_scope",
            false,
        ),
        (with(base("code"), "scope", ""), "invalid_scope", false),
        (
            with(base("code"), "response_mode", "okta_post_message"),
            "unsupported_response_mode",
            false,
        ),
        (
            with(base("code"), "response_mode", "form_post"),
            "unsupported_response_mode",
            false,
        ),
        (
            with(base("code id_token"), "response_type", "code id_token"),
            "unsupported_response_type",
            true,
        ),
        (
            with(base("code"), "response_type", "device_code"),
            "unsupported_response_type",
            false,
        ),
        (
            with(base("id_token token"), "nonce", ""),
            "invalid_request",
            true,
        ),
        (
            with(base("id_token token"), "scope", "profile"),
            "invalid_scope",
            true,
        ),
        (
            with(base("id_token token"), "response_mode", "query"),
            "invalid_request",
            true,
        ),
        (
            with(base("id_token token"), "response_mode", "okta_post_message"),
            "unsupported_response_mode",
            true,
        ),
    ];
    for (params, error, in_fragment) in cases {
        let params: Vec<(&str, &str)> = params.iter().map(|(n, v)| (*n, v.as_str())).collect();
        let answer = authorize(&okta, &params).await;
        let got = if in_fragment {
            answer.fragment()
        } else {
            answer.query()
        };
        assert_eq!(
            got.get("error").map(String::as_str),
            Some(error),
            "{params:?}"
        );
        assert!(got.contains_key("error_description"), "{params:?}");
        assert_eq!(got["state"], "xyz", "{params:?}");
        assert!(!got.contains_key("code") && !got.contains_key("access_token"));
    }

    // A request without `state` gets an error without one.
    let params = with(base("code"), "state", "");
    let params: Vec<(&str, &str)> = params.iter().map(|(n, v)| (*n, v.as_str())).collect();
    let got = authorize(&okta, &params).await.query();
    assert_eq!(got["error"], "invalid_request");
    assert!(!got.contains_key("state"));
}

#[tokio::test]
async fn custom_scopes_can_be_granted() {
    let okta = MockOkta::builder()
        .custom_scopes(["orders:read"])
        .start()
        .await
        .unwrap();
    let verifier = okta.verifier_builder().build().unwrap();
    let (code, code_verifier) = pkce_code(&okta, "openid orders:read", "n").await;
    let answer = exchange(&okta, &code, &code_verifier).await;
    let access = verifier
        .verify_access_token(answer.str("access_token"))
        .await
        .unwrap();
    assert_eq!(access.scp, ["openid", "orders:read"]);
}

#[tokio::test]
async fn a_public_client_sending_a_secret_is_refused() {
    let (okta, _) = start().await;
    let (code, code_verifier) = pkce_code(&okta, "openid", "n").await;
    let params = [
        ("client_id", okta.client_id()),
        ("redirect_uri", CALLBACK),
        ("grant_type", "authorization_code"),
        ("code_verifier", code_verifier.as_str()),
        ("code", code.as_str()),
    ];
    let mut with_secret = params.to_vec();
    with_secret.push(("client_secret", "s3cr3t"));
    post_token(&okta, &with_secret)
        .await
        .assert_error(StatusCode::UNAUTHORIZED, "invalid_client");

    let basic = post_token_with(&okta, &params, |r| {
        r.basic_auth(okta.client_id(), Some("s3cr3t"))
    })
    .await;
    basic.assert_error(StatusCode::UNAUTHORIZED, "invalid_client");
    assert!(basic.headers[header::WWW_AUTHENTICATE]
        .to_str()
        .unwrap()
        .starts_with("Basic"));

    // Refused before the code was looked at: it still works without the secret.
    let answer = post_token(&okta, &params).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.json);
}

#[tokio::test]
async fn token_request_errors() {
    let (okta, _) = start().await;
    let client_id = okta.client_id();
    post_token(
        &okta,
        &[("client_id", client_id), ("grant_type", "password")],
    )
    .await
    .assert_error(StatusCode::BAD_REQUEST, "unsupported_grant_type");
    post_token(&okta, &[("client_id", client_id)])
        .await
        .assert_error(StatusCode::BAD_REQUEST, "invalid_request");
    post_token(
        &okta,
        &[("grant_type", "refresh_token"), ("refresh_token", "x")],
    )
    .await
    .assert_error(StatusCode::UNAUTHORIZED, "invalid_client");
    post_token(
        &okta,
        &[
            ("client_id", client_id),
            ("grant_type", "refresh_token"),
            ("grant_type", "refresh_token"),
        ],
    )
    .await
    .assert_error(StatusCode::BAD_REQUEST, "invalid_request");
    post_token(
        &okta,
        &[
            ("client_id", client_id),
            ("grant_type", "authorization_code"),
            ("code", "abc"),
        ],
    )
    .await
    .assert_error(StatusCode::BAD_REQUEST, "invalid_request");
    refresh(&okta, "not-a-refresh-token", "openid")
        .await
        .assert_error(StatusCode::BAD_REQUEST, "invalid_grant");

    // Not a form.
    let response = client()
        .post(okta.token_endpoint())
        .header(header::CONTENT_TYPE, "application/json")
        .body(r#"{"grant_type":"refresh_token"}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let json: Value = serde_json::from_str(&response.text().await.unwrap()).unwrap();
    assert_eq!(json["error"], "invalid_request");

    // GET is not a token request.
    let response = client().get(okta.token_endpoint()).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::METHOD_NOT_ALLOWED);
}

#[tokio::test]
async fn refresh_tokens_rotate_and_reuse_revokes_the_family() {
    let (okta, verifier, clock) = start_with_clock().await;
    let scope = "openid profile email offline_access";
    let (code, code_verifier) = pkce_code(&okta, scope, "n").await;
    let first = exchange(&okta, &code, &code_verifier).await;
    assert_eq!(first.json["scope"], scope);
    let rt1 = first.str("refresh_token").to_owned();

    let second = refresh(&okta, &rt1, scope).await;
    assert_eq!(second.status, StatusCode::OK, "{}", second.json);
    let rt2 = second.str("refresh_token").to_owned();
    assert_ne!(rt1, rt2, "rotated");
    assert_ne!(first.str("access_token"), second.str("access_token"));
    let access = verifier
        .verify_access_token(second.str("access_token"))
        .await
        .unwrap();
    assert_eq!(access.scp, ["openid", "profile", "email", "offline_access"]);
    // The renewed ID token has no nonce (there was no authorize request) and hashes the new
    // access token; auth_time is still the sign-in's.
    let id = verifier
        .verify_id_token(second.str("id_token"), None)
        .await
        .unwrap();
    assert!(id.nonce.is_none());
    assert_eq!(
        id.at_hash.as_deref(),
        Some(at_hash(second.str("access_token")).as_str())
    );
    let first_id = verifier
        .verify_id_token(first.str("id_token"), Some("n"))
        .await
        .unwrap();
    assert_eq!(id.auth_time, first_id.auth_time);

    // A narrower scope is fine (and rotates again); a wider one is not.
    let third = refresh(&okta, &rt2, "openid offline_access").await;
    assert_eq!(third.status, StatusCode::OK, "{}", third.json);
    assert_eq!(third.json["scope"], "openid offline_access");
    let rt3 = third.str("refresh_token").to_owned();
    refresh(&okta, &rt3, "openid offline_access phone")
        .await
        .assert_error(StatusCode::BAD_REQUEST, "invalid_scope");

    // Reuse of a spent token after Okta's 30 s grace period is refused, and revokes the live one
    // of the same family.
    clock.advance(Duration::from_secs(31));
    refresh(&okta, &rt1, scope)
        .await
        .assert_error(StatusCode::BAD_REQUEST, "invalid_grant");
    refresh(&okta, &rt3, "openid offline_access")
        .await
        .assert_error(StatusCode::BAD_REQUEST, "invalid_grant");
}

#[tokio::test]
async fn reuse_in_one_family_leaves_other_sign_ins_alone() {
    let (okta, _, clock) = start_with_clock().await;
    let scope = "openid offline_access";
    let (code, code_verifier) = pkce_code(&okta, scope, "n").await;
    let a1 = exchange(&okta, &code, &code_verifier)
        .await
        .str("refresh_token")
        .to_owned();
    let (code, code_verifier) = pkce_code(&okta, scope, "n").await;
    let b1 = exchange(&okta, &code, &code_verifier)
        .await
        .str("refresh_token")
        .to_owned();
    let _a2 = refresh(&okta, &a1, scope)
        .await
        .str("refresh_token")
        .to_owned();
    clock.advance(Duration::from_secs(31));
    refresh(&okta, &a1, scope)
        .await
        .assert_error(StatusCode::BAD_REQUEST, "invalid_grant");
    let b2 = refresh(&okta, &b1, scope).await;
    assert_eq!(b2.status, StatusCode::OK, "{}", b2.json);
}

#[tokio::test]
async fn implicit_returns_tokens_in_the_fragment() {
    let (okta, verifier) = start().await;
    let answer = authorize(
        &okta,
        &[
            ("client_id", okta.client_id()),
            ("redirect_uri", CALLBACK),
            // okta-auth-js's order; a set, so "id_token token" is the same.
            ("response_type", "token id_token"),
            ("scope", "openid profile email offline_access"),
            ("state", "st"),
            ("nonce", "implicit-nonce"),
        ],
    )
    .await;
    let fragment = answer.fragment();
    assert_eq!(fragment["state"], "st");
    assert_eq!(fragment["token_type"], "Bearer");
    assert_eq!(fragment["expires_in"], "3600");
    // No refresh token in the implicit flow, so no offline_access either.
    assert_eq!(fragment["scope"], "openid profile email");
    assert!(!fragment.contains_key("refresh_token"));
    assert!(!fragment.contains_key("code"));

    let access_token = &fragment["access_token"];
    let access = verifier.verify_access_token(access_token).await.unwrap();
    assert_eq!(access.scp, ["openid", "profile", "email"]);
    let id = verifier
        .verify_id_token(&fragment["id_token"], Some("implicit-nonce"))
        .await
        .unwrap();
    assert_eq!(id.nonce.as_deref(), Some("implicit-nonce"));
    assert_eq!(id.at_hash.as_deref(), Some(at_hash(access_token).as_str()));
    assert_eq!(id.sub, okta.user().id);

    // response_type=id_token alone: an ID token without at_hash.
    let answer = authorize(
        &okta,
        &[
            ("client_id", okta.client_id()),
            ("redirect_uri", CALLBACK),
            ("response_type", "id_token"),
            ("scope", "openid"),
            ("state", "st"),
            ("nonce", "n2"),
        ],
    )
    .await;
    let fragment = answer.fragment();
    assert!(!fragment.contains_key("access_token"));
    let id = verifier
        .verify_id_token(&fragment["id_token"], Some("n2"))
        .await
        .unwrap();
    assert!(id.at_hash.is_none());
}

#[tokio::test]
async fn pkce_can_answer_in_the_fragment() {
    let (okta, _) = start().await;
    let (_, challenge) = pkce();
    let answer = authorize(
        &okta,
        &[
            ("client_id", okta.client_id()),
            ("redirect_uri", CALLBACK),
            ("response_type", "code"),
            ("response_mode", "fragment"),
            ("scope", "openid"),
            ("state", "s"),
            ("code_challenge", &challenge),
            ("code_challenge_method", "S256"),
        ],
    )
    .await;
    let fragment = answer.fragment();
    assert!(fragment["code"].len() >= 40);
}

#[tokio::test]
async fn userinfo_needs_a_valid_access_token() {
    let (okta, _) = start().await;
    let (code, code_verifier) = pkce_code(&okta, "openid profile email", "n").await;
    let tokens = exchange(&okta, &code, &code_verifier).await;
    let access_token = tokens.str("access_token");

    let response = userinfo(&okta, Some(access_token)).await;
    assert_eq!(response.status(), StatusCode::OK);
    let info: Value = serde_json::from_str(&response.text().await.unwrap()).unwrap();
    assert_eq!(info["sub"], okta.user().id.as_str());
    assert_eq!(info["name"], "Jane Doe");
    assert_eq!(info["given_name"], "Jane");
    assert_eq!(info["family_name"], "Doe");
    assert_eq!(info["preferred_username"], "jane.doe@example.com");
    assert_eq!(info["email"], "jane.doe@example.com");
    assert_eq!(info["email_verified"], true);

    for token in [
        None,
        Some("garbage"),
        // An ID token is not an access token.
        Some(tokens.str("id_token")),
    ] {
        let response = userinfo(&okta, token).await;
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "{token:?}");
        let challenge = response.headers()[header::WWW_AUTHENTICATE]
            .to_str()
            .unwrap()
            .to_owned();
        assert!(challenge.starts_with("Bearer "), "{challenge}");
        assert!(challenge.contains("error=\"invalid_token\""), "{challenge}");
    }

    // One changed signature character.
    let mut tampered = access_token.to_owned();
    let at = tampered.len() - 10;
    let replacement = if &tampered[at..=at] == "A" { "B" } else { "A" };
    tampered.replace_range(at..=at, replacement);
    assert_eq!(
        userinfo(&okta, Some(&tampered)).await.status(),
        StatusCode::UNAUTHORIZED
    );
    // Expired, or signed by a key the mock never had.
    let expired = okta
        .access_token_builder()
        .claim("exp", 1_000_000_000)
        .build();
    assert_eq!(
        userinfo(&okta, Some(&expired)).await.status(),
        StatusCode::UNAUTHORIZED
    );
    let stranger = tower_okta_mock::MockKey::generate().unwrap();
    let foreign = okta.access_token_builder().signed_with(&stranger).build();
    assert_eq!(
        userinfo(&okta, Some(&foreign)).await.status(),
        StatusCode::UNAUTHORIZED
    );

    // Without `openid`: 403 insufficient_scope.
    let no_openid = okta
        .access_token_builder()
        .claim("scp", ["profile"])
        .build();
    let response = userinfo(&okta, Some(&no_openid)).await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert!(response.headers()[header::WWW_AUTHENTICATE]
        .to_str()
        .unwrap()
        .contains("insufficient_scope"));
}

#[tokio::test]
async fn revocation_ends_tokens() {
    let (okta, _) = start().await;
    let scope = "openid offline_access";
    let (code, code_verifier) = pkce_code(&okta, scope, "n").await;
    let tokens = exchange(&okta, &code, &code_verifier).await;
    let revoke = |token: String, hint: &'static str| {
        let okta_revoke = format!("{}/v1/revoke", okta.issuer());
        // As okta-auth-js sends it: `Authorization: Basic base64(client_id)`, no secret.
        let basic = base64::engine::general_purpose::STANDARD.encode(okta.client_id());
        async move {
            client()
                .post(okta_revoke)
                .header(header::AUTHORIZATION, format!("Basic {basic}"))
                .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                .body(form(&[("token_type_hint", hint), ("token", &token)]))
                .send()
                .await
                .unwrap()
                .status()
        }
    };
    let access_token = tokens.str("access_token").to_owned();
    assert_eq!(
        userinfo(&okta, Some(&access_token)).await.status(),
        StatusCode::OK
    );
    assert_eq!(
        revoke(access_token.clone(), "access_token").await,
        StatusCode::OK
    );
    assert_eq!(
        userinfo(&okta, Some(&access_token)).await.status(),
        StatusCode::UNAUTHORIZED
    );
    let refresh_token = tokens.str("refresh_token").to_owned();
    assert_eq!(
        revoke(refresh_token.clone(), "refresh_token").await,
        StatusCode::OK
    );
    refresh(&okta, &refresh_token, scope)
        .await
        .assert_error(StatusCode::BAD_REQUEST, "invalid_grant");
    // Unknown tokens are fine (RFC 7009 2.2).
    assert_eq!(
        revoke("unknown".into(), "refresh_token").await,
        StatusCode::OK
    );
}

#[tokio::test]
async fn logout_redirects_only_to_registered_uris() {
    let (okta, _) = start().await;
    let id_token = okta.id_token(None);
    let logout = |params: Vec<(&str, &str)>| {
        let url = format!("{}/v1/logout?{}", okta.issuer(), form(&params));
        async move { client().get(url).send().await.unwrap() }
    };
    let response = logout(vec![
        ("id_token_hint", &id_token),
        ("post_logout_redirect_uri", DEFAULT_SPA_ORIGIN),
        ("state", "bye"),
    ])
    .await;
    assert_eq!(response.status(), StatusCode::FOUND);
    assert_eq!(
        response.headers()[header::LOCATION],
        "http://localhost:8585/?state=bye"
    );
    // An expired hint is still a hint.
    let expired = okta.id_token_builder().claim("exp", 1_000_000_000).build();
    let response = logout(vec![
        ("id_token_hint", &expired),
        ("post_logout_redirect_uri", "http://localhost:8585/"),
    ])
    .await;
    assert_eq!(response.status(), StatusCode::FOUND);

    for params in [
        vec![
            ("id_token_hint", id_token.as_str()),
            ("post_logout_redirect_uri", "http://evil.example/"),
        ],
        vec![("post_logout_redirect_uri", DEFAULT_SPA_ORIGIN)],
        vec![
            ("id_token_hint", "not.a.token"),
            ("post_logout_redirect_uri", DEFAULT_SPA_ORIGIN),
        ],
    ] {
        let response = logout(params.clone()).await;
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{params:?}");
        assert!(response.headers().get(header::LOCATION).is_none());
    }
}

#[tokio::test]
async fn cors_for_the_trusted_origin_only() {
    let (okta, _) = start().await;
    let token_url = okta.token_endpoint();

    // The preflight okta-auth-js's token request causes.
    let preflight = |origin: &'static str, headers: &'static str| {
        client()
            .request(reqwest::Method::OPTIONS, &token_url)
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

    let response = preflight("http://evil.example", "content-type")
        .await
        .unwrap();
    assert!(response
        .headers()
        .get(header::ACCESS_CONTROL_ALLOW_ORIGIN)
        .is_none());
    let response = preflight(DEFAULT_SPA_ORIGIN, "x-custom-header")
        .await
        .unwrap();
    assert!(response
        .headers()
        .get(header::ACCESS_CONTROL_ALLOW_ORIGIN)
        .is_none());

    // Actual requests: discovery, keys, token (an error answer too), userinfo.
    for url in [
        format!("{}/.well-known/openid-configuration", okta.issuer()),
        okta.jwks_uri(),
        format!("{}/v1/userinfo", okta.issuer()),
    ] {
        let response = client()
            .get(&url)
            .header(header::ORIGIN, DEFAULT_SPA_ORIGIN)
            .send()
            .await
            .unwrap();
        assert_eq!(
            response.headers()[header::ACCESS_CONTROL_ALLOW_ORIGIN],
            DEFAULT_SPA_ORIGIN,
            "{url}"
        );
        let response = client()
            .get(&url)
            .header(header::ORIGIN, "http://evil.example")
            .send()
            .await
            .unwrap();
        assert!(
            response
                .headers()
                .get(header::ACCESS_CONTROL_ALLOW_ORIGIN)
                .is_none(),
            "{url}"
        );
    }
    let answer = post_token_with(&okta, &[("grant_type", "refresh_token")], |r| {
        r.header(header::ORIGIN, DEFAULT_SPA_ORIGIN)
    })
    .await;
    assert_eq!(answer.status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        answer.headers[header::ACCESS_CONTROL_ALLOW_ORIGIN],
        DEFAULT_SPA_ORIGIN
    );
    // userinfo's challenge is readable by the page.
    let response = client()
        .get(format!("{}/v1/userinfo", okta.issuer()))
        .header(header::ORIGIN, DEFAULT_SPA_ORIGIN)
        .send()
        .await
        .unwrap();
    let exposed = response.headers()[header::ACCESS_CONTROL_EXPOSE_HEADERS]
        .to_str()
        .unwrap()
        .to_ascii_lowercase();
    assert!(
        exposed.split(',').any(|h| h.trim() == "www-authenticate"),
        "{exposed}"
    );
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

#[tokio::test]
async fn spa_origin_user_and_lifetime_are_configurable() {
    let okta = MockOkta::builder()
        .spa_origin("http://localhost:9999")
        .user(MockUser::new(
            "00u1ab2cd3ef4gh5ij6k",
            "ada@example.com",
            "Ada Lovelace",
        ))
        .access_token_lifetime(Duration::from_secs(20))
        .start()
        .await
        .unwrap();
    let verifier = okta.verifier_builder().build().unwrap();
    assert_eq!(
        okta.redirect_uris(),
        [
            "http://localhost:9999/callback",
            "http://localhost:9999/silent-callback"
        ]
    );
    assert_eq!(okta.allowed_origins(), ["http://localhost:9999"]);

    // The default SPA origin is no longer registered.
    let (_, challenge) = pkce();
    let refused = authorize(
        &okta,
        &[
            ("client_id", okta.client_id()),
            ("redirect_uri", CALLBACK),
            ("response_type", "code"),
            ("scope", "openid"),
            ("state", "s"),
            ("code_challenge", &challenge),
            ("code_challenge_method", "S256"),
        ],
    )
    .await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST);

    let (code_verifier, challenge) = pkce();
    let callback = "http://localhost:9999/callback";
    let answer = authorize(
        &okta,
        &[
            ("client_id", okta.client_id()),
            ("redirect_uri", callback),
            ("response_type", "code"),
            ("scope", "openid profile"),
            ("state", "s"),
            ("code_challenge", &challenge),
            ("code_challenge_method", "S256"),
        ],
    )
    .await;
    let location = answer.location().clone();
    assert!(location.as_str().starts_with(callback), "{location}");
    let code = pairs(location.query().unwrap())["code"].clone();
    let tokens = post_token(
        &okta,
        &[
            ("client_id", okta.client_id()),
            ("redirect_uri", callback),
            ("grant_type", "authorization_code"),
            ("code_verifier", &code_verifier),
            ("code", &code),
        ],
    )
    .await;
    assert_eq!(tokens.json["expires_in"], 20);
    let access = verifier
        .verify_access_token(tokens.str("access_token"))
        .await
        .unwrap();
    assert_eq!(access.exp - access.iat, 20);
    assert_eq!(access.sub, "ada@example.com");
    assert_eq!(access.uid.as_deref(), Some("00u1ab2cd3ef4gh5ij6k"));
    let id = verifier
        .verify_id_token(tokens.str("id_token"), None)
        .await
        .unwrap();
    assert_eq!(id.sub, "00u1ab2cd3ef4gh5ij6k");
    assert_eq!(id.name.as_deref(), Some("Ada Lovelace"));
    // The ID token keeps Okta's one hour.
    assert_eq!(id.exp - id.iat, 3600);
}
