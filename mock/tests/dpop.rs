//! DPoP (RFC 9449) at the mock's endpoints, over plain HTTP: the token endpoint's nonce
//! challenge and bound tokens, refused proofs, bound refresh tokens, "Require DPoP", discovery,
//! userinfo with the DPoP scheme, revocation, introspection and CORS.

use std::collections::HashMap;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aws_lc_rs::digest::{digest, SHA256};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use reqwest::{header, redirect, Client, Method, StatusCode};
use serde_json::{json, Value};
use tower_okta_mock::{dpop, DpopAlg, DpopKey, ManualClock, MockKey, MockOkta};
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

struct Answer {
    status: StatusCode,
    headers: header::HeaderMap,
    body: Value,
}

async fn answer(response: reqwest::Response) -> Answer {
    let status = response.status();
    let headers = response.headers().clone();
    let body = serde_json::from_str(&response.text().await.unwrap()).unwrap_or(Value::Null);
    Answer {
        status,
        headers,
        body,
    }
}

/// A form `POST` with these `DPoP` headers (none, one, or several).
async fn post_form(url: &str, proofs: &[&str], pairs: &[(&str, &str)]) -> Answer {
    let mut request = client()
        .post(url)
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(form(pairs));
    for proof in proofs {
        request = request.header("DPoP", *proof);
    }
    answer(request.send().await.unwrap()).await
}

/// A mock on a manual clock set to now (proofs are dated by it).
async fn start(require_dpop: bool) -> (MockOkta, ManualClock) {
    let clock = ManualClock::default();
    let okta = MockOkta::builder()
        .clock(clock.clone())
        .require_dpop(require_dpop)
        .start()
        .await
        .unwrap();
    (okta, clock)
}

/// Signs in with PKCE; returns the code and the verifier.
async fn sign_in(okta: &MockOkta, scope: &str) -> (String, String) {
    let mut bytes = [0u8; 32];
    aws_lc_rs::rand::fill(&mut bytes).unwrap();
    let verifier = URL_SAFE_NO_PAD.encode(bytes);
    let challenge = URL_SAFE_NO_PAD.encode(digest(&SHA256, verifier.as_bytes()));
    let query = form(&[
        ("client_id", okta.client_id()),
        ("redirect_uri", CALLBACK),
        ("response_type", "code"),
        ("scope", scope),
        ("state", "st4te"),
        ("code_challenge", &challenge),
        ("code_challenge_method", "S256"),
    ]);
    let url = format!("{}?{query}", okta.authorize_endpoint());
    let response = client().get(url).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::FOUND);
    let location = Url::parse(response.headers()[header::LOCATION].to_str().unwrap()).unwrap();
    let params: HashMap<String, String> = location.query_pairs().into_owned().collect();
    (params["code"].clone(), verifier)
}

async fn exchange(okta: &MockOkta, proofs: &[&str], code: &str, verifier: &str) -> Answer {
    post_form(
        &okta.token_endpoint(),
        proofs,
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

async fn refresh(okta: &MockOkta, proofs: &[&str], refresh_token: &str) -> Answer {
    post_form(
        &okta.token_endpoint(),
        proofs,
        &[
            ("client_id", okta.client_id()),
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh_token),
        ],
    )
    .await
}

/// A token-endpoint proof by `key` with a nonce the mock issued.
fn token_proof(okta: &MockOkta, key: &DpopKey) -> String {
    okta.dpop_proof(key, "POST", &okta.token_endpoint())
        .nonce(&okta.dpop_nonce())
        .build()
}

fn payload(token: &str) -> Value {
    let part = token.split('.').nth(1).unwrap();
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(part).unwrap()).unwrap()
}

fn unix(time: SystemTime) -> i64 {
    i64::try_from(time.duration_since(UNIX_EPOCH).unwrap().as_secs()).unwrap()
}

fn assert_invalid_proof(answer: &Answer, description: &str) {
    assert_eq!(answer.status, StatusCode::BAD_REQUEST, "{}", answer.body);
    assert_eq!(
        answer.body["error"], "invalid_dpop_proof",
        "{}",
        answer.body
    );
    assert_eq!(answer.body["error_description"], description);
}

#[tokio::test]
async fn the_nonce_challenge_then_tokens_bound_to_the_proof_key() {
    let (okta, _clock) = start(false).await;
    let key = DpopKey::es256().unwrap();
    let (code, verifier) = sign_in(&okta, "openid profile offline_access").await;
    // A proof without a nonce: Okta's challenge, and the code is not spent.
    let first = okta
        .dpop_proof(&key, "POST", &okta.token_endpoint())
        .build();
    let challenged = exchange(&okta, &[&first], &code, &verifier).await;
    assert_eq!(challenged.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        challenged.body,
        json!({
            "error": "use_dpop_nonce",
            "error_description": "Authorization server requires nonce in DPoP proof.",
        })
    );
    let nonce = challenged.headers["dpop-nonce"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(!nonce.is_empty());
    // The retry with the nonce.
    let second = okta
        .dpop_proof(&key, "POST", &okta.token_endpoint())
        .nonce(&nonce)
        .build();
    let tokens = exchange(&okta, &[&second], &code, &verifier).await;
    assert_eq!(tokens.status, StatusCode::OK, "{}", tokens.body);
    assert_eq!(tokens.body["token_type"], "DPoP");
    let access_token = tokens.body["access_token"].as_str().unwrap();
    assert_eq!(
        payload(access_token)["cnf"],
        json!({ "jkt": key.thumbprint() })
    );
    assert!(tokens.body["refresh_token"].is_string());
    assert!(tokens.body["id_token"].is_string());
    // Introspection says what it is.
    let introspection = post_form(
        &okta.introspection_endpoint(),
        &[],
        &[("client_id", okta.client_id()), ("token", access_token)],
    )
    .await;
    assert_eq!(introspection.body["active"], true);
    assert_eq!(introspection.body["token_type"], "DPoP");
    assert_eq!(introspection.body["cnf"]["jkt"], key.thumbprint().as_str());
    // The nonce works again (okta-auth-js reuses it) until it expires.
    let (code, verifier) = sign_in(&okta, "openid").await;
    let reused = okta
        .dpop_proof(&key, "POST", &okta.token_endpoint())
        .nonce(&nonce)
        .build();
    let again = exchange(&okta, &[&reused], &code, &verifier).await;
    assert_eq!(again.status, StatusCode::OK, "{}", again.body);
}

#[tokio::test]
async fn a_nonce_expires_with_the_mock_clock() {
    let (okta, clock) = start(false).await;
    let key = DpopKey::rs256().unwrap();
    let nonce = okta.dpop_nonce();
    clock.advance(Duration::from_secs(300));
    let (code, verifier) = sign_in(&okta, "openid").await;
    let late = okta
        .dpop_proof(&key, "POST", &okta.token_endpoint())
        .nonce(&nonce)
        .build();
    let answer = exchange(&okta, &[&late], &code, &verifier).await;
    assert_eq!(answer.body["error"], "use_dpop_nonce");
    assert_ne!(answer.headers["dpop-nonce"].to_str().unwrap(), nonce);
    // An RS256 key works as well as ES256.
    let fresh = token_proof(&okta, &key);
    let answer = exchange(&okta, &[&fresh], &code, &verifier).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    assert_eq!(answer.body["token_type"], "DPoP");
}

#[tokio::test]
async fn proofs_of_every_key_type_are_accepted() {
    let (okta, _clock) = start(false).await;
    for alg in [
        DpopAlg::ES256,
        DpopAlg::ES384,
        DpopAlg::ES512,
        DpopAlg::RS256,
    ] {
        let key = DpopKey::generate(alg).unwrap();
        let tokens = dpop_sign_in(&okta, &key, "openid").await;
        assert_eq!(tokens["token_type"], "DPoP", "{alg}");
        let access_token = tokens["access_token"].as_str().unwrap();
        assert_eq!(
            payload(access_token)["cnf"]["jkt"],
            key.thumbprint().as_str()
        );
        // A signature by another key of the same type is refused.
        let other = DpopKey::generate(alg).unwrap();
        let forged = okta
            .dpop_proof(&other, "POST", &okta.token_endpoint())
            .nonce(&okta.dpop_nonce())
            .header("jwk", key.public_jwk())
            .build();
        let (code, verifier) = sign_in(&okta, "openid").await;
        assert_invalid_proof(
            &exchange(&okta, &[&forged], &code, &verifier).await,
            "The DPoP proof JWT signature is invalid.",
        );
    }
}

#[tokio::test]
async fn bad_proofs_are_refused() {
    let (okta, clock) = start(false).await;
    let key = DpopKey::es256().unwrap();
    let other = DpopKey::es256().unwrap();
    let endpoint = okta.token_endpoint();
    let good = || {
        okta.dpop_proof(&key, "POST", &endpoint)
            .nonce(&okta.dpop_nonce())
    };
    // The request itself is a bad code exchange: a proof that passes meets `invalid_grant`.
    let send = |proofs: Vec<String>| {
        let okta = &okta;
        async move {
            let proofs: Vec<&str> = proofs.iter().map(String::as_str).collect();
            exchange(okta, &proofs, "no-such-code", "v").await
        }
    };
    let passed = send(vec![good().build()]).await;
    assert_eq!(passed.body["error"], "invalid_grant", "{}", passed.body);

    let wrong_htu = good().claim("htu", okta.jwks_uri()).build();
    assert_invalid_proof(
        &send(vec![wrong_htu]).await,
        "The DPoP proof JWT 'htu' does not match the request URL.",
    );
    // Query and fragment of `htu` are ignored.
    let with_query = good().claim("htu", format!("{endpoint}?x=1#y")).build();
    assert_eq!(send(vec![with_query]).await.body["error"], "invalid_grant");
    let wrong_htm = good().claim("htm", "GET").build();
    assert_invalid_proof(
        &send(vec![wrong_htm]).await,
        "The DPoP proof JWT 'htm' does not match the request method.",
    );
    let replayed = good().jti("once").build();
    assert_eq!(
        send(vec![replayed.clone()]).await.body["error"],
        "invalid_grant"
    );
    assert_invalid_proof(
        &send(vec![replayed]).await,
        "The DPoP proof JWT 'jti' has already been used.",
    );
    let private = good().header("jwk", key.private_jwk_members()).build();
    assert_invalid_proof(
        &send(vec![private]).await,
        "The DPoP proof JWT 'jwk' header must not contain a private key.",
    );
    let wrong_typ = good().header("typ", "JWT").build();
    assert_invalid_proof(
        &send(vec![wrong_typ]).await,
        "The DPoP proof JWT 'typ' header must be 'dpop+jwt'.",
    );
    // Signed by another key than the one the header names.
    let forged = good().header("jwk", other.public_jwk()).build();
    assert_invalid_proof(
        &send(vec![forged]).await,
        "The DPoP proof JWT signature is invalid.",
    );
    // PS256 is not in Okta's list.
    let pss = DpopKey::generate(DpopAlg::PS256).unwrap();
    let pss_proof = okta
        .dpop_proof(&pss, "POST", &endpoint)
        .nonce(&okta.dpop_nonce())
        .build();
    assert_invalid_proof(
        &send(vec![pss_proof]).await,
        "The DPoP proof JWT 'alg' is not supported.",
    );
    // Dated a minute and more away from the mock clock's now.
    let stale = good().iat(unix(clock_now(&clock)) - 61).build();
    assert_invalid_proof(
        &send(vec![stale]).await,
        "The DPoP proof JWT 'iat' is too far from the current time.",
    );
    let ahead = good().iat(unix(clock_now(&clock)) + 61).build();
    assert_invalid_proof(
        &send(vec![ahead]).await,
        "The DPoP proof JWT 'iat' is too far from the current time.",
    );
    // Two proofs, or a proof that is not a JWS.
    assert_invalid_proof(
        &send(vec![good().build(), good().build()]).await,
        "The request must carry exactly one DPoP proof JWT header.",
    );
    assert_invalid_proof(
        &send(vec!["not.a.jwt".to_owned()]).await,
        "The DPoP proof JWT is malformed.",
    );
    // A nonce the mock never issued: the challenge again.
    let made_up = okta
        .dpop_proof(&key, "POST", &endpoint)
        .nonce("made-up")
        .build();
    let answer = send(vec![made_up]).await;
    assert_eq!(answer.body["error"], "use_dpop_nonce");
    assert!(answer.headers.contains_key("dpop-nonce"));
    // Exact bytes: a duplicate-free raw proof by the key passes; the same with `typ` left out
    // does not.
    let claims = json!({
        "jti": "raw-1", "htm": "POST", "htu": endpoint, "iat": unix(clock_now(&clock)),
        "nonce": okta.dpop_nonce(),
    })
    .to_string();
    let header = json!({ "typ": "dpop+jwt", "alg": "ES256", "jwk": key.public_jwk() });
    let raw = key.sign_raw(&header.to_string(), &claims);
    assert_eq!(send(vec![raw]).await.body["error"], "invalid_grant");
    let no_typ = json!({ "alg": "ES256", "jwk": key.public_jwk() }).to_string();
    let raw = key.sign_raw(&no_typ, &claims.replace("raw-1", "raw-2"));
    assert_eq!(send(vec![raw]).await.body["error"], "invalid_dpop_proof");
}

fn clock_now(clock: &ManualClock) -> SystemTime {
    use tower_okta_mock::Clock;
    clock.now()
}

/// Signs in with DPoP (the nonce fetched beforehand); returns the token answer.
async fn dpop_sign_in(okta: &MockOkta, key: &DpopKey, scope: &str) -> Value {
    let (code, verifier) = sign_in(okta, scope).await;
    let tokens = exchange(okta, &[&token_proof(okta, key)], &code, &verifier).await;
    assert_eq!(tokens.status, StatusCode::OK, "{}", tokens.body);
    tokens.body
}

#[tokio::test]
async fn a_bound_refresh_token_takes_a_proof_by_the_same_key() {
    let (okta, _clock) = start(false).await;
    let key = DpopKey::es256().unwrap();
    let other = DpopKey::es256().unwrap();
    let tokens = dpop_sign_in(&okta, &key, "openid offline_access").await;
    let refresh_token = tokens["refresh_token"].as_str().unwrap();
    // Without a proof, or with another key: refused, and the token is not spent.
    assert_invalid_proof(
        &refresh(&okta, &[], refresh_token).await,
        "The DPoP proof JWT header is missing.",
    );
    assert_invalid_proof(
        &refresh(&okta, &[&token_proof(&okta, &other)], refresh_token).await,
        "The DPoP proof JWT key does not match the key the refresh token is bound to.",
    );
    let refreshed = refresh(&okta, &[&token_proof(&okta, &key)], refresh_token).await;
    assert_eq!(refreshed.status, StatusCode::OK, "{}", refreshed.body);
    assert_eq!(refreshed.body["token_type"], "DPoP");
    let access_token = refreshed.body["access_token"].as_str().unwrap();
    assert_eq!(
        payload(access_token)["cnf"]["jkt"],
        key.thumbprint().as_str()
    );
    // The rotated refresh token is bound too.
    let next = refreshed.body["refresh_token"].as_str().unwrap();
    assert_eq!(
        refresh(&okta, &[], next).await.body["error"],
        "invalid_dpop_proof"
    );
    let again = refresh(&okta, &[&token_proof(&okta, &key)], next).await;
    assert_eq!(again.status, StatusCode::OK, "{}", again.body);

    // Without DPoP nothing changes: Bearer tokens, unbound refresh tokens.
    let (code, verifier) = sign_in(&okta, "openid offline_access").await;
    let plain = exchange(&okta, &[], &code, &verifier).await;
    assert_eq!(plain.body["token_type"], "Bearer");
    let access_token = plain.body["access_token"].as_str().unwrap();
    assert!(payload(access_token).get("cnf").is_none());
    let plain_refresh = plain.body["refresh_token"].as_str().unwrap();
    let refreshed = refresh(&okta, &[], plain_refresh).await;
    assert_eq!(refreshed.body["token_type"], "Bearer", "{}", refreshed.body);
}

#[tokio::test]
async fn require_dpop_refuses_a_request_without_a_proof() {
    let (okta, _clock) = start(true).await;
    let (code, verifier) = sign_in(&okta, "openid").await;
    assert_invalid_proof(
        &exchange(&okta, &[], &code, &verifier).await,
        "The DPoP proof JWT header is missing.",
    );
    // The code survived: the same exchange with a proof works.
    let key = DpopKey::es256().unwrap();
    let tokens = exchange(&okta, &[&token_proof(&okta, &key)], &code, &verifier).await;
    assert_eq!(tokens.status, StatusCode::OK, "{}", tokens.body);
    assert_eq!(tokens.body["token_type"], "DPoP");
}

#[tokio::test]
async fn discovery_advertises_the_proof_algorithms() {
    let okta = MockOkta::start().await.unwrap();
    for path in [
        "/.well-known/openid-configuration",
        "/.well-known/oauth-authorization-server",
    ] {
        let url = format!("{}{path}", okta.issuer());
        let document = answer(client().get(url).send().await.unwrap()).await.body;
        assert_eq!(
            document["dpop_signing_alg_values_supported"],
            json!(["RS256", "RS384", "RS512", "ES256", "ES384", "ES512"])
        );
    }
}

async fn userinfo(
    okta: &MockOkta,
    method: Method,
    authorization: &str,
    proof: Option<&str>,
) -> Answer {
    let url = format!("{}/v1/userinfo", okta.issuer());
    let mut request = client()
        .request(method, url)
        .header(header::AUTHORIZATION, authorization);
    if let Some(proof) = proof {
        request = request.header("DPoP", proof);
    }
    answer(request.send().await.unwrap()).await
}

fn challenge(answer: &Answer) -> &str {
    answer.headers[header::WWW_AUTHENTICATE].to_str().unwrap()
}

#[tokio::test]
async fn userinfo_takes_the_dpop_scheme_and_refuses_a_bound_token_as_bearer() {
    let (okta, _clock) = start(false).await;
    let key = DpopKey::es256().unwrap();
    let other = DpopKey::es256().unwrap();
    let url = format!("{}/v1/userinfo", okta.issuer());
    let token = okta.dpop_access_token(&key);
    let scheme = format!("DPoP {token}");
    for method in [Method::GET, Method::POST] {
        let proof = okta
            .dpop_proof(&key, method.as_str(), &url)
            .access_token(&token)
            .build();
        let info = userinfo(&okta, method, &scheme, Some(&proof)).await;
        assert_eq!(info.status, StatusCode::OK, "{}", info.body);
        assert_eq!(info.body["sub"], okta.user().id.as_str());
    }
    // As a bearer token: refused, with a DPoP challenge.
    let as_bearer = userinfo(&okta, Method::GET, &format!("Bearer {token}"), None).await;
    assert_eq!(as_bearer.status, StatusCode::UNAUTHORIZED);
    assert!(challenge(&as_bearer).starts_with("DPoP algs=\""));
    assert!(challenge(&as_bearer).contains("error=\"invalid_token\""));
    // No proof, a proof for another token, by another key, or replayed.
    let missing = userinfo(&okta, Method::GET, &scheme, None).await;
    assert_eq!(missing.status, StatusCode::UNAUTHORIZED);
    assert!(challenge(&missing).contains("error=\"invalid_dpop_proof\""));
    let wrong_ath = okta
        .dpop_proof(&key, "GET", &url)
        .access_token("another token")
        .build();
    let refused = userinfo(&okta, Method::GET, &scheme, Some(&wrong_ath)).await;
    assert_eq!(refused.body["error"], "invalid_dpop_proof");
    let by_other = okta
        .dpop_proof(&other, "GET", &url)
        .access_token(&token)
        .build();
    let refused = userinfo(&okta, Method::GET, &scheme, Some(&by_other)).await;
    assert_eq!(
        refused.body["error_description"],
        "The DPoP proof JWT key does not match the key the access token is bound to."
    );
    let proof = okta
        .dpop_proof(&key, "GET", &url)
        .access_token(&token)
        .build();
    let first = userinfo(&okta, Method::GET, &scheme, Some(&proof)).await;
    assert_eq!(first.status, StatusCode::OK);
    let replay = userinfo(&okta, Method::GET, &scheme, Some(&proof)).await;
    assert_eq!(replay.body["error"], "invalid_dpop_proof");
    // An unbound token keeps working as Bearer, and is refused under the DPoP scheme.
    let plain = okta.access_token();
    let bearer = userinfo(&okta, Method::GET, &format!("Bearer {plain}"), None).await;
    assert_eq!(bearer.status, StatusCode::OK);
    let proof = okta
        .dpop_proof(&key, "GET", &url)
        .access_token(&plain)
        .build();
    let unbound = userinfo(&okta, Method::GET, &format!("DPoP {plain}"), Some(&proof)).await;
    assert_eq!(unbound.status, StatusCode::UNAUTHORIZED);
    assert_eq!(unbound.body["error"], "invalid_token");
    // The proof's `ath` is checked against this very token: `dpop::ath` is the same hash.
    assert_eq!(
        payload(
            &okta
                .dpop_proof(&key, "GET", &url)
                .access_token(&token)
                .build()
        )["ath"],
        dpop::ath(&token).as_str()
    );
}

#[tokio::test]
async fn a_bound_token_is_revoked_like_a_bearer_token() {
    let (okta, _clock) = start(false).await;
    let key = DpopKey::es256().unwrap();
    let tokens = dpop_sign_in(&okta, &key, "openid offline_access").await;
    let access_token = tokens["access_token"].as_str().unwrap();
    let revoked = post_form(
        &format!("{}/v1/revoke", okta.issuer()),
        &[],
        &[("client_id", okta.client_id()), ("token", access_token)],
    )
    .await;
    assert_eq!(revoked.status, StatusCode::OK);
    assert!(okta.is_revoked(access_token));
    let url = format!("{}/v1/userinfo", okta.issuer());
    let proof = okta
        .dpop_proof(&key, "GET", &url)
        .access_token(access_token)
        .build();
    let info = userinfo(
        &okta,
        Method::GET,
        &format!("DPoP {access_token}"),
        Some(&proof),
    )
    .await;
    assert_eq!(info.status, StatusCode::UNAUTHORIZED);
    // The bound refresh token, revoked, no longer refreshes even with the right key.
    let refresh_token = tokens["refresh_token"].as_str().unwrap();
    let revoked = post_form(
        &format!("{}/v1/revoke", okta.issuer()),
        &[],
        &[("client_id", okta.client_id()), ("token", refresh_token)],
    )
    .await;
    assert_eq!(revoked.status, StatusCode::OK);
    let refused = refresh(&okta, &[&token_proof(&okta, &key)], refresh_token).await;
    assert_eq!(refused.body["error"], "invalid_grant");
}

#[tokio::test]
async fn browsers_may_read_the_nonce_and_the_challenge() {
    let okta = MockOkta::start().await.unwrap();
    let key = DpopKey::es256().unwrap();
    let proof = key.proof("POST", &okta.token_endpoint()).build();
    let response = client()
        .post(okta.token_endpoint())
        .header(header::ORIGIN, "http://localhost:8585")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header("DPoP", proof)
        .body(form(&[
            ("client_id", okta.client_id()),
            ("grant_type", "refresh_token"),
            ("refresh_token", "x"),
        ]))
        .send()
        .await
        .unwrap();
    let answer = answer(response).await;
    assert_eq!(answer.body["error"], "use_dpop_nonce");
    let exposed = answer.headers[header::ACCESS_CONTROL_EXPOSE_HEADERS]
        .to_str()
        .unwrap()
        .to_ascii_lowercase();
    assert!(exposed.contains("dpop-nonce"), "{exposed}");
    assert!(exposed.contains("www-authenticate"), "{exposed}");
    // The preflight allows the `DPoP` request header.
    let preflight = client()
        .request(Method::OPTIONS, okta.token_endpoint())
        .header(header::ORIGIN, "http://localhost:8585")
        .header(header::ACCESS_CONTROL_REQUEST_METHOD, "POST")
        .header(header::ACCESS_CONTROL_REQUEST_HEADERS, "content-type,dpop")
        .send()
        .await
        .unwrap();
    assert_eq!(
        preflight.headers()[header::ACCESS_CONTROL_ALLOW_ORIGIN],
        "http://localhost:8585"
    );
}

#[tokio::test]
async fn service_apps_get_bound_tokens_with_a_proof() {
    let (okta, clock) = start(false).await;
    let app_key = MockKey::generate().unwrap();
    okta.register_service_app("0oa-bot", &app_key.jwk(), &["orders:read"])
        .unwrap();
    let dpop_key = DpopKey::es256().unwrap();
    let exp = unix(clock_now(&clock)) + 300;
    let assertion = |jti: &str| {
        let header = json!({ "alg": "RS256", "kid": app_key.kid() });
        let claims = json!({
            "iss": "0oa-bot", "sub": "0oa-bot", "aud": okta.token_endpoint(), "exp": exp,
            "jti": jti,
        });
        let input = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(header.to_string()),
            URL_SAFE_NO_PAD.encode(claims.to_string())
        );
        format!(
            "{input}.{}",
            URL_SAFE_NO_PAD.encode(app_key.sign(input.as_bytes()))
        )
    };
    let request = |proofs: Vec<String>, assertion: String| {
        let okta = &okta;
        async move {
            let proofs: Vec<&str> = proofs.iter().map(String::as_str).collect();
            post_form(
                &okta.token_endpoint(),
                &proofs,
                &[
                    ("grant_type", "client_credentials"),
                    ("scope", "orders:read"),
                    (
                        "client_assertion_type",
                        "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
                    ),
                    ("client_assertion", &assertion),
                ],
            )
            .await
        }
    };
    // The nonce challenge does not spend the assertion.
    let no_nonce = okta
        .dpop_proof(&dpop_key, "POST", &okta.token_endpoint())
        .build();
    let challenged = request(vec![no_nonce], assertion("a1")).await;
    assert_eq!(challenged.body["error"], "use_dpop_nonce");
    let tokens = request(vec![token_proof(&okta, &dpop_key)], assertion("a1")).await;
    assert_eq!(tokens.status, StatusCode::OK, "{}", tokens.body);
    assert_eq!(tokens.body["token_type"], "DPoP");
    let access_token = tokens.body["access_token"].as_str().unwrap();
    assert_eq!(
        payload(access_token)["cnf"]["jkt"],
        dpop_key.thumbprint().as_str()
    );
    // Without a proof: a bearer token, as before.
    let plain = request(vec![], assertion("a2")).await;
    assert_eq!(plain.body["token_type"], "Bearer");
}
