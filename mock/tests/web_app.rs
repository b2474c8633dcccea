//! Okta Web Application integrations (confidential clients) over plain HTTP: the code flow with
//! each client authentication method, refresh-token rotation, the refusals Okta answers
//! (a public client with a secret, a confidential client without authentication, another
//! client's code, a PKCE mismatch, `access_denied`), revocation, introspection and logout.
//! Redirects are never followed: `Location` headers are parsed. Time moves with a
//! `ManualClock`; nothing sleeps.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aws_lc_rs::digest::{digest, SHA256};
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use jsonwebtoken::{decode, decode_header, Algorithm, DecodingKey, Validation};
use reqwest::{header, redirect, StatusCode};
use serde_json::{json, Value};
use tower_okta_mock::{
    AuthorizeOutcome, ClientAuthMethod, DpopKey, ManualClock, MockError, MockKey, MockOkta, WebApp,
    DEFAULT_WEB_CLIENT_ID, DEFAULT_WEB_CLIENT_SECRET,
};
use url::Url;

const CALLBACK: &str = "http://localhost:8585/callback";
const SCOPE: &str = "openid profile email offline_access";
const JWT_BEARER: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

fn client() -> reqwest::Client {
    reqwest::Client::builder()
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

fn urlencode(text: &str) -> String {
    url::form_urlencoded::byte_serialize(text.as_bytes()).collect()
}

/// An answer: status, headers and the JSON body (`Null` if not JSON).
type Answer = (StatusCode, header::HeaderMap, Value);

/// How a request authenticates its client.
#[derive(Clone, Copy)]
enum Auth<'a> {
    /// `client_secret_basic`, the ID and secret form-urlencoded first (RFC 6749 2.3.1).
    Basic(&'a str, &'a str),
    /// `client_secret_post`.
    Post(&'a str, &'a str),
    /// `private_key_jwt` with this key, for this client.
    Jwt(&'a MockKey, &'a str),
    /// A client that only names itself (`client_id` in the form).
    Public(&'a str),
}

static JTI: AtomicU64 = AtomicU64::new(0);

/// A `private_key_jwt` client assertion for `audience`, valid five minutes of the system clock.
fn assertion(key: &MockKey, client_id: &str, audience: &str) -> String {
    let exp = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
        + 300;
    let jti = format!("jti-{}", JTI.fetch_add(1, Ordering::SeqCst));
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

/// POSTs the form `pairs` to `url`, authenticated with `auth`.
async fn post(url: &str, auth: Auth<'_>, pairs: &[(&str, &str)]) -> Answer {
    let mut pairs: Vec<(&str, &str)> = pairs.to_vec();
    let assertion_text;
    let mut request = client()
        .post(url)
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
    match auth {
        Auth::Basic(id, secret) => {
            let credentials = format!("{}:{}", urlencode(id), urlencode(secret));
            request = request.header(
                header::AUTHORIZATION,
                format!("Basic {}", STANDARD.encode(credentials)),
            );
        }
        Auth::Post(id, secret) => {
            pairs.extend([("client_id", id), ("client_secret", secret)]);
        }
        Auth::Jwt(key, id) => {
            assertion_text = assertion(key, id, url);
            pairs.extend([
                ("client_assertion_type", JWT_BEARER),
                ("client_assertion", assertion_text.as_str()),
            ]);
        }
        Auth::Public(id) => pairs.push(("client_id", id)),
    }
    let response = request.body(form(&pairs)).send().await.unwrap();
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

/// `GET /v1/authorize` with these parameters; the `302`'s `Location`, or the status of a page.
async fn authorize(okta: &MockOkta, pairs: &[(&str, &str)]) -> Result<Url, StatusCode> {
    let url = format!("{}?{}", okta.authorize_endpoint(), form(pairs));
    let response = client().get(url).send().await.unwrap();
    if response.status() != StatusCode::FOUND {
        return Err(response.status());
    }
    Ok(Url::parse(response.headers()[header::LOCATION].to_str().unwrap()).unwrap())
}

fn query(url: &Url) -> HashMap<String, String> {
    url.query_pairs().into_owned().collect()
}

/// A code request of `client_id` to `CALLBACK` (`state` st4te, `nonce` n0nce), with a PKCE
/// challenge when given.
fn code_request<'a>(client_id: &'a str, challenge: Option<&'a str>) -> Vec<(&'a str, &'a str)> {
    let mut pairs = vec![
        ("client_id", client_id),
        ("redirect_uri", CALLBACK),
        ("response_type", "code"),
        ("scope", SCOPE),
        ("state", "st4te"),
        ("nonce", "n0nce"),
    ];
    if let Some(challenge) = challenge {
        pairs.extend([
            ("code_challenge", challenge),
            ("code_challenge_method", "S256"),
        ]);
    }
    pairs
}

/// Signs `client_id` in (with PKCE when `with_pkce`): the code and the verifier.
async fn sign_in(okta: &MockOkta, client_id: &str, with_pkce: bool) -> (String, Option<String>) {
    let (verifier, challenge) = pkce();
    let challenge = with_pkce.then_some(challenge.as_str());
    let location = authorize(okta, &code_request(client_id, challenge))
        .await
        .unwrap();
    assert_eq!(&location[..url::Position::AfterPath], CALLBACK);
    let params = query(&location);
    assert_eq!(params["state"], "st4te", "{params:?}");
    (params["code"].clone(), with_pkce.then_some(verifier))
}

/// Exchanges a code at the token endpoint.
async fn exchange(okta: &MockOkta, auth: Auth<'_>, code: &str, verifier: Option<&str>) -> Answer {
    let mut pairs = vec![
        ("grant_type", "authorization_code"),
        ("redirect_uri", CALLBACK),
        ("code", code),
    ];
    if let Some(verifier) = verifier {
        pairs.push(("code_verifier", verifier));
    }
    post(&okta.token_endpoint(), auth, &pairs).await
}

async fn refresh(okta: &MockOkta, auth: Auth<'_>, refresh_token: &str) -> Answer {
    post(
        &okta.token_endpoint(),
        auth,
        &[
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

/// Verifies `token` against the mock's JWKS with jsonwebtoken, for `audience`: its claims.
fn verify(okta: &MockOkta, token: &str, audience: &str) -> Value {
    let kid = decode_header(token).unwrap().kid.unwrap();
    let jwks = okta.jwks();
    let jwk = jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["kid"] == kid.as_str())
        .unwrap();
    let key = DecodingKey::from_rsa_components(str_of(jwk, "n"), str_of(jwk, "e")).unwrap();
    let mut validation = Validation::new(Algorithm::RS256);
    validation.set_issuer(&[okta.issuer()]);
    validation.set_audience(&[audience]);
    decode::<Value>(token, &key, &validation).unwrap().claims
}

fn assert_error(answer: &Answer, status: StatusCode, error: &str) {
    assert_eq!(
        (answer.0, answer.2["error"].as_str()),
        (status, Some(error)),
        "{}",
        answer.2
    );
}

async fn revoke(okta: &MockOkta, auth: Auth<'_>, token: &str) -> Answer {
    post(&okta.revocation_endpoint(), auth, &[("token", token)]).await
}

async fn introspect(okta: &MockOkta, auth: Auth<'_>, token: &str) -> Value {
    let answer = post(&okta.introspection_endpoint(), auth, &[("token", token)]).await;
    assert_eq!(answer.0, StatusCode::OK, "{}", answer.2);
    answer.2
}

#[tokio::test]
async fn code_flow_with_each_client_authentication_method() {
    let okta = MockOkta::start().await.unwrap();
    let app = okta.web_app();
    assert_eq!(app.client_id(), DEFAULT_WEB_CLIENT_ID);
    assert_eq!(app.secret(), Some(DEFAULT_WEB_CLIENT_SECRET));
    assert_eq!(app.sign_in_redirect_uris(), [CALLBACK]);
    assert_eq!(app.sign_out_redirect_uris(), ["http://localhost:8585/"]);
    // A second web app with a secret that needs form-urlencoding in Basic, and a key.
    let key = MockKey::generate().unwrap();
    let secret = "s3cr:t+&=\u{e9}";
    okta.register_web_app(
        WebApp::new("0oa-both")
            .client_secret(secret)
            .public_jwk(key.jwk()),
    )
    .unwrap();

    let id = DEFAULT_WEB_CLIENT_ID;
    let methods = [
        (Auth::Basic(id, DEFAULT_WEB_CLIENT_SECRET), id, false),
        (Auth::Post(id, DEFAULT_WEB_CLIENT_SECRET), id, true),
        (Auth::Basic("0oa-both", secret), "0oa-both", true),
        (Auth::Jwt(&key, "0oa-both"), "0oa-both", false),
    ];
    for (auth, client_id, with_pkce) in methods {
        let (code, verifier) = sign_in(&okta, client_id, with_pkce).await;
        let (status, headers, tokens) = exchange(&okta, auth, &code, verifier.as_deref()).await;
        assert_eq!(status, StatusCode::OK, "{client_id}: {tokens}");
        assert_eq!(headers[header::CACHE_CONTROL], "no-store");
        assert_eq!(tokens["token_type"], "Bearer");
        assert_eq!(tokens["expires_in"], 3600);
        assert_eq!(tokens["scope"], SCOPE);
        assert!(tokens["refresh_token"].is_string());
        // The access token: the server's audience (what the SPA's verifier accepts), the web
        // app's cid. The ID token: the web app's client ID, the nonce, at_hash.
        let access = verify(&okta, str_of(&tokens, "access_token"), okta.audience());
        assert_eq!(access["cid"], client_id);
        assert_eq!(access["sub"], okta.user().login.as_str());
        assert_eq!(access["uid"], okta.user().id.as_str());
        assert_eq!(access["scp"], json!(SCOPE.split(' ').collect::<Vec<_>>()));
        let id_token = verify(&okta, str_of(&tokens, "id_token"), client_id);
        assert_eq!(id_token["nonce"], "n0nce");
        assert_eq!(id_token["sub"], okta.user().id.as_str());
        assert!(id_token["at_hash"].is_string());

        // Userinfo takes the web app's access token.
        let response = client()
            .get(format!("{}/v1/userinfo", okta.issuer()))
            .bearer_auth(str_of(&tokens, "access_token"))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK);
    }

    // Without offline_access: no refresh token.
    let location = authorize(
        &okta,
        &[
            ("client_id", id),
            ("redirect_uri", CALLBACK),
            ("response_type", "code"),
            ("scope", "openid"),
            ("state", "s"),
        ],
    )
    .await
    .unwrap();
    let code = query(&location)["code"].clone();
    let auth = Auth::Post(id, DEFAULT_WEB_CLIENT_SECRET);
    let (status, _, tokens) = exchange(&okta, auth, &code, None).await;
    assert_eq!(status, StatusCode::OK, "{tokens}");
    assert!(tokens.get("refresh_token").is_none());
    assert!(verify(&okta, str_of(&tokens, "id_token"), id)
        .get("nonce")
        .is_none());

    // The discovery document says how clients may authenticate.
    let doc = client()
        .get(format!(
            "{}/.well-known/openid-configuration",
            okta.issuer()
        ))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let doc: Value = serde_json::from_str(&doc).unwrap();
    assert_eq!(
        doc["token_endpoint_auth_methods_supported"],
        json!([
            "client_secret_basic",
            "client_secret_post",
            "private_key_jwt",
            "none"
        ])
    );
}

#[tokio::test]
async fn refresh_rotates_and_reuse_after_the_grace_period_revokes_the_family() {
    let clock = ManualClock::default();
    let okta = MockOkta::builder()
        .clock(clock.clone())
        .start()
        .await
        .unwrap();
    let id = DEFAULT_WEB_CLIENT_ID;
    let auth = Auth::Basic(id, DEFAULT_WEB_CLIENT_SECRET);
    let (code, _) = sign_in(&okta, id, false).await;
    let (status, _, first) = exchange(&okta, auth, &code, None).await;
    assert_eq!(status, StatusCode::OK, "{first}");
    let rt1 = str_of(&first, "refresh_token");

    // Refreshing needs the client's authentication, and the client's token.
    assert_error(
        &refresh(&okta, Auth::Public(id), rt1).await,
        StatusCode::UNAUTHORIZED,
        "invalid_client",
    );
    okta.register_web_app(WebApp::new("0oa-other").client_secret("other"))
        .unwrap();
    assert_error(
        &refresh(&okta, Auth::Post("0oa-other", "other"), rt1).await,
        StatusCode::BAD_REQUEST,
        "invalid_grant",
    );
    assert_error(
        &refresh(&okta, Auth::Public(okta.client_id()), rt1).await,
        StatusCode::BAD_REQUEST,
        "invalid_grant",
    );

    // Rotation: a new refresh token, a new access token with the web app's cid.
    let (status, _, second) = refresh(&okta, auth, rt1).await;
    assert_eq!(status, StatusCode::OK, "{second}");
    let rt2 = str_of(&second, "refresh_token");
    assert_ne!(rt1, rt2);
    assert!(second["id_token"].is_string());
    let access = verify(&okta, str_of(&second, "access_token"), okta.audience());
    assert_eq!(access["cid"], id);

    // Within the grace period the rotated-away token still works.
    clock.advance(Duration::from_secs(29));
    let (status, _, grace) = refresh(&okta, auth, rt1).await;
    assert_eq!(status, StatusCode::OK, "{grace}");
    let access_tokens = [&first, &second, &grace].map(|t| str_of(t, "access_token").to_owned());
    for token in &access_tokens {
        assert!(!okta.is_revoked(token));
    }

    // After it: reuse. The whole family is revoked, with its access tokens.
    clock.advance(Duration::from_secs(1));
    assert_error(
        &refresh(&okta, auth, rt1).await,
        StatusCode::BAD_REQUEST,
        "invalid_grant",
    );
    assert_error(
        &refresh(&okta, auth, rt2).await,
        StatusCode::BAD_REQUEST,
        "invalid_grant",
    );
    for token in &access_tokens {
        assert!(okta.is_revoked(token));
        assert_eq!(introspect(&okta, auth, token).await["active"], false);
    }
}

#[tokio::test]
async fn a_public_client_with_a_secret_is_refused() {
    let okta = MockOkta::start().await.unwrap();
    let (code, verifier) = sign_in(&okta, okta.client_id(), true).await;
    let verifier = verifier.as_deref();
    for auth in [
        Auth::Post(okta.client_id(), "s3cr3t"),
        Auth::Basic(okta.client_id(), "s3cr3t"),
    ] {
        let answer = exchange(&okta, auth, &code, verifier).await;
        assert_error(&answer, StatusCode::UNAUTHORIZED, "invalid_client");
    }
    // The code was not spent by the refused requests.
    let (status, _, tokens) =
        exchange(&okta, Auth::Public(okta.client_id()), &code, verifier).await;
    assert_eq!(status, StatusCode::OK, "{tokens}");
    assert_eq!(
        verify(&okta, str_of(&tokens, "access_token"), okta.audience())["cid"],
        okta.client_id()
    );
}

#[tokio::test]
async fn a_confidential_client_must_authenticate() {
    let okta = MockOkta::start().await.unwrap();
    let id = DEFAULT_WEB_CLIENT_ID;
    let key = MockKey::generate().unwrap();
    okta.register_web_app(
        WebApp::new("0oa-jwt")
            .public_jwk(key.jwk())
            .token_endpoint_auth_method(ClientAuthMethod::PrivateKeyJwt),
    )
    .unwrap();
    okta.register_web_app(
        WebApp::new("0oa-post")
            .client_secret("p0st")
            .token_endpoint_auth_method(ClientAuthMethod::ClientSecretPost),
    )
    .unwrap();
    let (code, _) = sign_in(&okta, id, false).await;

    // No authentication, a wrong secret, a method the app does not use: 401, and a Basic
    // challenge when Basic was used.
    let refusals = [
        (Auth::Public(id), false),
        (Auth::Basic(id, ""), true),
        (Auth::Basic(id, "wrong"), true),
        (Auth::Post(id, "wrong"), false),
        (Auth::Jwt(&key, id), false),
        (Auth::Post("0oa-jwt", "anything"), false),
        (Auth::Basic("0oa-post", "p0st"), true),
        (Auth::Basic("0oa-nobody", "x"), true),
    ];
    for (auth, basic) in refusals {
        let answer = exchange(&okta, auth, &code, None).await;
        assert_error(&answer, StatusCode::UNAUTHORIZED, "invalid_client");
        let challenge = answer.1.get(header::WWW_AUTHENTICATE);
        assert_eq!(
            challenge.map(|v| v.to_str().unwrap().starts_with("Basic")),
            basic.then_some(true),
            "{}",
            answer.2
        );
    }
    // Credentials sent two ways.
    let response = client()
        .post(okta.token_endpoint())
        .basic_auth(id, Some(DEFAULT_WEB_CLIENT_SECRET))
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(form(&[
            ("grant_type", "authorization_code"),
            ("redirect_uri", CALLBACK),
            ("code", &code),
            ("client_id", id),
            ("client_secret", DEFAULT_WEB_CLIENT_SECRET),
        ]))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let body: Value = serde_json::from_str(&response.text().await.unwrap()).unwrap();
    assert_eq!(body["error"], "invalid_request");

    // None of that spent the code; a web app may not use client credentials.
    let auth = Auth::Basic(id, DEFAULT_WEB_CLIENT_SECRET);
    let (status, _, tokens) = exchange(&okta, auth, &code, None).await;
    assert_eq!(status, StatusCode::OK, "{tokens}");
    let answer = post(
        &okta.token_endpoint(),
        auth,
        &[("grant_type", "client_credentials"), ("scope", "openid")],
    )
    .await;
    assert_error(&answer, StatusCode::BAD_REQUEST, "unauthorized_client");

    // The strict apps with their own method.
    let (code, _) = sign_in(&okta, "0oa-post", false).await;
    let answer = exchange(&okta, Auth::Post("0oa-post", "p0st"), &code, None).await;
    assert_eq!(answer.0, StatusCode::OK, "{}", answer.2);
    let (code, _) = sign_in(&okta, "0oa-jwt", false).await;
    let answer = exchange(&okta, Auth::Jwt(&key, "0oa-jwt"), &code, None).await;
    assert_eq!(answer.0, StatusCode::OK, "{}", answer.2);
}

#[tokio::test]
async fn a_code_issued_to_another_client_is_refused() {
    let okta = MockOkta::start().await.unwrap();
    okta.register_web_app(WebApp::new("0oa-other").client_secret("other"))
        .unwrap();
    let (code, _) = sign_in(&okta, DEFAULT_WEB_CLIENT_ID, false).await;
    let answer = exchange(&okta, Auth::Post("0oa-other", "other"), &code, None).await;
    assert_error(&answer, StatusCode::BAD_REQUEST, "invalid_grant");
    // The attempt spent it (codes are single-use whatever happens).
    let auth = Auth::Basic(DEFAULT_WEB_CLIENT_ID, DEFAULT_WEB_CLIENT_SECRET);
    let answer = exchange(&okta, auth, &code, None).await;
    assert_error(&answer, StatusCode::BAD_REQUEST, "invalid_grant");

    // The SPA's code, for the web app; the web app's code, for the SPA.
    let (code, verifier) = sign_in(&okta, okta.client_id(), true).await;
    let answer = exchange(&okta, auth, &code, verifier.as_deref()).await;
    assert_error(&answer, StatusCode::BAD_REQUEST, "invalid_grant");
    let (code, verifier) = sign_in(&okta, DEFAULT_WEB_CLIENT_ID, true).await;
    let spa = Auth::Public(okta.client_id());
    let answer = exchange(&okta, spa, &code, verifier.as_deref()).await;
    assert_error(&answer, StatusCode::BAD_REQUEST, "invalid_grant");
}

#[tokio::test]
async fn pkce_is_optional_for_a_web_app_and_checked_when_sent() {
    let okta = MockOkta::start().await.unwrap();
    let id = DEFAULT_WEB_CLIENT_ID;
    let auth = Auth::Basic(id, DEFAULT_WEB_CLIENT_SECRET);
    let pkce_failed = |answer: Answer| {
        assert_error(&answer, StatusCode::BAD_REQUEST, "invalid_grant");
        assert_eq!(answer.2["error_description"], "PKCE verification failed.");
    };
    // A challenge: a wrong verifier, or none, is refused.
    let (code, _) = sign_in(&okta, id, true).await;
    let (wrong, _) = pkce();
    pkce_failed(exchange(&okta, auth, &code, Some(&wrong)).await);
    let (code, _) = sign_in(&okta, id, true).await;
    pkce_failed(exchange(&okta, auth, &code, None).await);
    // No challenge: a verifier is refused too (a downgrade).
    let (code, _) = sign_in(&okta, id, false).await;
    pkce_failed(exchange(&okta, auth, &code, Some(&wrong)).await);
    // The right verifier.
    let (code, verifier) = sign_in(&okta, id, true).await;
    assert_eq!(
        exchange(&okta, auth, &code, verifier.as_deref()).await.0,
        StatusCode::OK
    );
    // A challenge must be S256.
    let mut request = code_request(id, Some("E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"));
    request.retain(|(name, _)| *name != "code_challenge_method");
    request.push(("code_challenge_method", "plain"));
    let location = authorize(&okta, &request).await.unwrap();
    assert_eq!(query(&location)["error"], "invalid_request");
}

#[tokio::test]
async fn authorize_refusals_go_back_to_the_redirect_uri() {
    let okta = MockOkta::start().await.unwrap();
    let id = DEFAULT_WEB_CLIENT_ID;

    okta.set_authorize_outcome(AuthorizeOutcome::AccessDenied);
    for client_id in [id, okta.client_id()] {
        let (_, challenge) = pkce();
        let location = authorize(&okta, &code_request(client_id, Some(&challenge)))
            .await
            .unwrap();
        assert_eq!(&location[..url::Position::AfterPath], CALLBACK);
        let params = query(&location);
        assert_eq!(params["error"], "access_denied");
        assert_eq!(
            params["error_description"],
            "User is not assigned to the client application."
        );
        assert_eq!(params["state"], "st4te");
        assert!(!params.contains_key("code"));
    }
    okta.set_authorize_outcome(AuthorizeOutcome::Approve);
    sign_in(&okta, id, false).await;

    // No implicit flow for a web app: refused in the fragment.
    let location = authorize(
        &okta,
        &[
            ("client_id", id),
            ("redirect_uri", CALLBACK),
            ("response_type", "id_token token"),
            ("scope", "openid"),
            ("state", "s"),
            ("nonce", "n"),
        ],
    )
    .await
    .unwrap();
    let fragment: HashMap<String, String> =
        url::form_urlencoded::parse(location.fragment().unwrap().as_bytes())
            .into_owned()
            .collect();
    assert_eq!(fragment["error"], "unsupported_response_type");

    // The web app's own redirect URIs only (the SPA's silent callback is not one): a page.
    let mut request = code_request(id, None);
    request[1] = ("redirect_uri", "http://localhost:8585/silent-callback");
    assert_eq!(
        authorize(&okta, &request).await,
        Err(StatusCode::BAD_REQUEST)
    );
    assert_eq!(
        authorize(&okta, &code_request("0oa-nobody", None)).await,
        Err(StatusCode::BAD_REQUEST)
    );
}

#[tokio::test]
async fn revocation_and_introspection_take_the_clients_authentication() {
    let okta = MockOkta::start().await.unwrap();
    let id = DEFAULT_WEB_CLIENT_ID;
    let auth = Auth::Post(id, DEFAULT_WEB_CLIENT_SECRET);
    okta.register_web_app(WebApp::new("0oa-other").client_secret("other"))
        .unwrap();
    let other = Auth::Basic("0oa-other", "other");
    let (code, _) = sign_in(&okta, id, false).await;
    let (_, _, tokens) = exchange(&okta, auth, &code, None).await;
    let (access, refresh_token) = (
        str_of(&tokens, "access_token"),
        str_of(&tokens, "refresh_token"),
    );

    // A live refresh token: active to its client only.
    let answer = introspect(&okta, auth, refresh_token).await;
    assert_eq!(answer["active"], true, "{answer}");
    assert_eq!(answer["token_type"], "refresh_token");
    assert_eq!(answer["client_id"], id);
    assert_eq!(answer["scope"], SCOPE);
    assert_eq!(
        introspect(&okta, other, refresh_token).await["active"],
        false
    );
    let answer = introspect(&okta, auth, access).await;
    assert_eq!(
        (&answer["active"], &answer["client_id"]),
        (&json!(true), &json!(id))
    );

    // Revocation needs the client's authentication.
    assert_error(
        &revoke(&okta, Auth::Public(id), refresh_token).await,
        StatusCode::UNAUTHORIZED,
        "invalid_client",
    );
    assert_error(
        &revoke(&okta, Auth::Basic(id, "wrong"), refresh_token).await,
        StatusCode::UNAUTHORIZED,
        "invalid_client",
    );
    // Another client's revocation: 200, and nothing happens.
    assert_eq!(revoke(&okta, other, refresh_token).await.0, StatusCode::OK);
    assert_eq!(introspect(&okta, auth, refresh_token).await["active"], true);
    assert!(!okta.is_revoked(access));

    // The owner's: the refresh token and the access tokens of its sign-in.
    assert_eq!(revoke(&okta, auth, refresh_token).await.0, StatusCode::OK);
    assert_eq!(
        introspect(&okta, auth, refresh_token).await["active"],
        false
    );
    assert!(okta.is_revoked(access));
    assert_error(
        &refresh(&okta, auth, refresh_token).await,
        StatusCode::BAD_REQUEST,
        "invalid_grant",
    );

    // An access token alone, with private_key_jwt (aud: the revocation endpoint).
    let key = MockKey::generate().unwrap();
    okta.register_web_app(WebApp::new("0oa-jwt").public_jwk(key.jwk()))
        .unwrap();
    let jwt = Auth::Jwt(&key, "0oa-jwt");
    let (code, _) = sign_in(&okta, "0oa-jwt", false).await;
    let (_, _, tokens) = exchange(&okta, jwt, &code, None).await;
    let access = str_of(&tokens, "access_token");
    assert_eq!(introspect(&okta, jwt, access).await["active"], true);
    assert_eq!(revoke(&okta, jwt, access).await.0, StatusCode::OK);
    assert_eq!(introspect(&okta, jwt, access).await["active"], false);
    let answer = refresh(&okta, jwt, str_of(&tokens, "refresh_token")).await;
    assert_eq!(answer.0, StatusCode::OK, "{}", answer.2);
}

#[tokio::test]
async fn logout_takes_a_web_app_id_token_hint() {
    let okta = MockOkta::builder()
        .web_app(
            WebApp::new("0oa-portal")
                .client_secret("portal")
                .redirect_uris([CALLBACK])
                .post_logout_redirect_uris(["http://localhost:3000/signed-out"]),
        )
        .start()
        .await
        .unwrap();
    assert_eq!(okta.web_app().client_id(), "0oa-portal");
    let (code, _) = sign_in(&okta, "0oa-portal", false).await;
    let (_, _, tokens) = exchange(&okta, Auth::Basic("0oa-portal", "portal"), &code, None).await;
    let id_token = str_of(&tokens, "id_token");
    let logout = |hint: String, uri: &'static str| {
        let url = format!(
            "{}?{}",
            okta.end_session_endpoint(),
            form(&[
                ("id_token_hint", &hint),
                ("post_logout_redirect_uri", uri),
                ("state", "bye"),
            ])
        );
        async move { client().get(url).send().await.unwrap() }
    };
    assert_eq!(okta.logout_count(), 0);

    // The SPA's sign-out URI is not the web app's; the web app's is not the SPA's.
    let response = logout(id_token.to_owned(), "http://localhost:8585/").await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let spa_hint = okta.id_token(None);
    let response = logout(spa_hint, "http://localhost:3000/signed-out").await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert_eq!(okta.logout_count(), 0);

    let response = logout(id_token.to_owned(), "http://localhost:3000/signed-out").await;
    assert_eq!(response.status(), StatusCode::FOUND);
    let location = Url::parse(response.headers()[header::LOCATION].to_str().unwrap()).unwrap();
    assert_eq!(
        &location[..url::Position::AfterPath],
        "http://localhost:3000/signed-out"
    );
    assert_eq!(query(&location)["state"], "bye");
    assert_eq!(okta.logout_count(), 1);
}

#[tokio::test]
async fn a_dpop_proof_binds_a_web_apps_tokens_and_the_nonce_challenge_spends_no_assertion() {
    let okta = MockOkta::start().await.unwrap();
    let app_key = MockKey::generate().unwrap();
    okta.register_web_app(WebApp::new("0oa-jwt").public_jwk(app_key.jwk()))
        .unwrap();
    let dpop_key = DpopKey::es256().unwrap();
    let (code, _) = sign_in(&okta, "0oa-jwt", false).await;
    let client_assertion = assertion(&app_key, "0oa-jwt", &okta.token_endpoint());
    let token_request = |proof: String| {
        let body = form(&[
            ("grant_type", "authorization_code"),
            ("redirect_uri", CALLBACK),
            ("code", &code),
            ("client_assertion_type", JWT_BEARER),
            ("client_assertion", &client_assertion),
        ]);
        client()
            .post(okta.token_endpoint())
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .header("DPoP", proof)
            .body(body)
            .send()
    };
    // First the nonce challenge: neither the code nor the assertion is spent.
    let proof = okta.dpop_proof(&dpop_key, "POST", &okta.token_endpoint());
    let response = token_request(proof.build()).await.unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let nonce = response.headers()["dpop-nonce"]
        .to_str()
        .unwrap()
        .to_owned();
    let proof = okta
        .dpop_proof(&dpop_key, "POST", &okta.token_endpoint())
        .nonce(&nonce);
    let response = token_request(proof.build()).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let tokens: Value = serde_json::from_str(&response.text().await.unwrap()).unwrap();
    assert_eq!(tokens["token_type"], "DPoP");
    let access = verify(&okta, str_of(&tokens, "access_token"), okta.audience());
    assert_eq!(access["cnf"]["jkt"], dpop_key.thumbprint());
    assert_eq!(access["cid"], "0oa-jwt");
    // The refresh token is bound too: no refresh without a proof of the key.
    let answer = refresh(
        &okta,
        Auth::Jwt(&app_key, "0oa-jwt"),
        str_of(&tokens, "refresh_token"),
    )
    .await;
    assert_error(&answer, StatusCode::BAD_REQUEST, "invalid_dpop_proof");
}

#[tokio::test]
async fn registration_errors_are_typed() {
    let okta = MockOkta::start().await.unwrap();
    assert!(matches!(
        okta.register_web_app(WebApp::new("0oa-bare")),
        Err(MockError::WebAppCredentials(id)) if id == "0oa-bare"
    ));
    let keyless = WebApp::new("0oa-keyless")
        .client_secret("s")
        .token_endpoint_auth_method(ClientAuthMethod::PrivateKeyJwt);
    assert!(matches!(
        okta.register_web_app(keyless),
        Err(MockError::WebAppCredentials(_))
    ));
    assert!(matches!(
        okta.register_web_app(WebApp::new(okta.client_id()).client_secret("s")),
        Err(MockError::ClientIdInUse(_))
    ));
    let jwk = json!({ "kty": "EC", "kid": "k" });
    assert!(matches!(
        okta.register_web_app(WebApp::new("0oa-ec").public_jwk(jwk)),
        Err(MockError::JwkNotRsa)
    ));
    let key = MockKey::generate().unwrap();
    assert!(matches!(
        okta.register_service_app(DEFAULT_WEB_CLIENT_ID, &key.jwk(), &[]),
        Err(MockError::ClientIdInUse(_))
    ));
    let spa_id = tower_okta_mock::DEFAULT_CLIENT_ID;
    let error = MockOkta::builder()
        .web_app(WebApp::new(spa_id).client_secret("s"))
        .start()
        .await
        .unwrap_err();
    assert!(matches!(error, MockError::ClientIdInUse(_)), "{error}");
    let error = MockOkta::builder()
        .web_app(WebApp::new("0oa-bare"))
        .start()
        .await
        .unwrap_err();
    assert!(matches!(error, MockError::WebAppCredentials(_)), "{error}");
}
