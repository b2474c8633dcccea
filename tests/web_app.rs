//! The Web Application mode (backend-for-frontend) against the mock Okta's Web Application:
//! the sign-in flow driven request by request (no redirect followed, cookies carried by hand),
//! the session cookie, the session layer in front of the same auth layer as bearer requests,
//! refresh, CSRF, sign-out, and the attack rows of the flow (state, code, PKCE, nonce, session
//! fixation, foreign session cookies, open redirects).
#![cfg(feature = "web-app")]

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use axum::routing::{get, post};
use axum::{Json, Router};
use http::StatusCode;
use tower_okta::client::SigningKey;
use tower_okta::clock::FixedClock;
use tower_okta::web_app::{ClientAuth, OnSessionEnd, WebApp, WebAppBuilder};
use tower_okta::{AccessClaims, Claims, Verifier};
use tower_okta_mock::{AuthorizeOutcome, KeysFault, MockOkta, MockOktaBuilder};
use tower_sessions::MemoryStore;

const APP: &str = "http://localhost:8585";

async fn me(claims: Claims<AccessClaims>) -> Json<serde_json::Value> {
    Json(serde_json::json!({ "sub": claims.sub, "jti": claims.jti, "cid": claims.cid }))
}

async fn echo(claims: Claims<AccessClaims>, body: String) -> String {
    format!("{}: {body}", claims.sub)
}

/// A running app: the API behind `verifier.layer()`, the web-app routes and layers, on a
/// loopback port (its redirect URI stays `http://localhost:8585/callback`, as registered).
struct Running {
    base: String,
    verifier: Verifier,
}

fn verifier_for(okta: &MockOkta) -> Verifier {
    let web = okta.web_app();
    let mut builder = Verifier::builder()
        .issuer(okta.issuer())
        .client_id(web.client_id());
    builder = builder.audience(okta.audience());
    builder.build().unwrap()
}

fn web_builder(okta: &MockOkta, verifier: &Verifier) -> WebAppBuilder {
    let secret = okta.web_app().secret().unwrap().to_owned();
    WebApp::builder(verifier)
        .client_secret(secret)
        .redirect_uri(format!("{APP}/callback"))
        .post_logout_redirect_uri(format!("{APP}/"))
}

async fn serve<Store: tower_sessions::SessionStore + Clone>(
    verifier: Verifier,
    web: WebApp,
    store: Store,
) -> Running {
    let api = Router::new()
        .route("/api/me", get(me))
        .route("/api/echo", post(echo))
        .route_layer(verifier.layer());
    let app = api
        .merge(web.routes())
        .layer(web.layer())
        .layer(web.session_layer(store));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    Running { base, verifier }
}

async fn start(okta: &MockOkta, configure: impl FnOnce(WebAppBuilder) -> WebAppBuilder) -> Running {
    let verifier = verifier_for(okta);
    let web = configure(web_builder(okta, &verifier)).build().unwrap();
    serve(verifier, web, MemoryStore::default()).await
}

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// A browser reduced to what the flow needs: one cookie jar entry, no redirects followed.
#[derive(Clone, Default)]
struct Browser {
    cookie: Option<String>,
    set_cookies: Vec<String>,
}

impl Browser {
    async fn get(&mut self, url: &str, headers: &[(&str, &str)]) -> reqwest::Response {
        self.send(client().get(url), headers).await
    }

    async fn post(&mut self, url: &str, headers: &[(&str, &str)]) -> reqwest::Response {
        self.send(client().post(url).body("hello"), headers).await
    }

    async fn send(
        &mut self,
        mut request: reqwest::RequestBuilder,
        headers: &[(&str, &str)],
    ) -> reqwest::Response {
        if let Some(cookie) = &self.cookie {
            request = request.header("cookie", cookie);
        }
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let response = request.send().await.unwrap();
        for value in response.headers().get_all("set-cookie") {
            let text = value.to_str().unwrap().to_owned();
            let pair = text.split(';').next().unwrap().trim().to_owned();
            self.cookie = if pair.ends_with('=') {
                None
            } else {
                Some(pair)
            };
            self.set_cookies.push(text);
        }
        response
    }
}

fn location(response: &reqwest::Response) -> String {
    response.headers()["location"].to_str().unwrap().to_owned()
}

fn query(url: &str) -> HashMap<String, String> {
    url::Url::parse(url)
        .unwrap()
        .query_pairs()
        .into_owned()
        .collect()
}

/// `/login` on the app, then Okta's authorize endpoint: the callback URL Okta redirects to.
async fn authorize(app: &Running, browser: &mut Browser, return_to: &str) -> String {
    let login = browser
        .get(&format!("{}/login?return_to={return_to}", app.base), &[])
        .await;
    assert_eq!(login.status(), StatusCode::SEE_OTHER);
    let okta = browser.get(&location(&login), &[]).await;
    assert!(okta.status().is_redirection(), "{}", okta.status());
    location(&okta)
}

/// Okta's redirect delivered to the app's callback (the registered `localhost:8585` URI is
/// where the browser would go; the app listens on its own port).
async fn callback(app: &Running, browser: &mut Browser, okta_redirect: &str) -> reqwest::Response {
    let path = okta_redirect
        .strip_prefix(APP)
        .expect("the registered redirect URI");
    browser.get(&format!("{}{path}", app.base), &[]).await
}

async fn sign_in(app: &Running, browser: &mut Browser) {
    let redirect = authorize(app, browser, "/orders").await;
    let done = callback(app, browser, &redirect).await;
    assert_eq!(
        done.status(),
        StatusCode::SEE_OTHER,
        "{:?}",
        done.text().await
    );
    assert_eq!(location(&done), "/orders");
}

async fn me_jti(app: &Running, browser: &mut Browser) -> String {
    let me = browser.get(&format!("{}/api/me", app.base), &[]).await;
    assert_eq!(me.status(), StatusCode::OK);
    let claims: serde_json::Value = serde_json::from_str(&me.text().await.unwrap()).unwrap();
    claims["jti"].as_str().unwrap().to_owned()
}

async fn me_status(app: &Running, browser: &mut Browser) -> StatusCode {
    browser
        .get(&format!("{}/api/me", app.base), &[])
        .await
        .status()
}

#[tokio::test]
async fn sign_in_sets_an_opaque_host_cookie_and_the_api_sees_the_claims() {
    let okta = MockOkta::start().await.unwrap();
    let app = start(&okta, |b| b).await;
    let mut browser = Browser::default();
    assert_eq!(
        me_status(&app, &mut browser).await,
        StatusCode::UNAUTHORIZED
    );
    sign_in(&app, &mut browser).await;
    let me = browser.get(&format!("{}/api/me", app.base), &[]).await;
    assert_eq!(me.status(), StatusCode::OK);
    let claims: serde_json::Value = serde_json::from_str(&me.text().await.unwrap()).unwrap();
    assert_eq!(claims["cid"], okta.web_app().client_id());
    // The cookie: the __Host- prefix, Secure, HttpOnly, SameSite=Lax, Path=/, no Domain, and
    // an opaque id that is not a token.
    let last = browser.set_cookies.last().unwrap().to_ascii_lowercase();
    assert!(last.starts_with("__host-okta-session="), "{last}");
    for attribute in ["secure", "httponly", "samesite=lax", "path=/"] {
        assert!(
            last.split(';').any(|a| a.trim() == attribute),
            "{attribute}: {last}"
        );
    }
    assert!(!last.contains("domain="), "{last}");
    let value = browser.cookie.clone().unwrap();
    assert!(
        value.len() < 60 && value.matches('.').count() < 2,
        "{value}"
    );
    let _ = &app.verifier;
}

#[tokio::test]
async fn every_client_authentication_method_signs_in() {
    let key = SigningKey::generate().unwrap();
    let okta = MockOktaBuilder::default()
        .web_app(tower_okta_mock::WebApp::default().public_jwk(key.public_jwk()))
        .start()
        .await
        .unwrap();
    let secret = okta.web_app().secret().unwrap().to_owned();
    for auth in [
        ClientAuth::ClientSecretBasic(secret.clone()),
        ClientAuth::ClientSecretPost(secret.clone()),
        ClientAuth::PrivateKeyJwt(key.clone()),
    ] {
        let name = format!("{auth:?}");
        let app = start(&okta, |b| b.client_auth(auth)).await;
        let mut browser = Browser::default();
        sign_in(&app, &mut browser).await;
        assert_eq!(
            me_status(&app, &mut browser).await,
            StatusCode::OK,
            "{name}"
        );
    }
    // A wrong secret: the token endpoint refuses the client.
    let app = start(&okta, |b| b.client_secret("not-the-secret")).await;
    let mut browser = Browser::default();
    let redirect = authorize(&app, &mut browser, "/").await;
    let refused = callback(&app, &mut browser, &redirect).await;
    assert_eq!(refused.status(), StatusCode::UNAUTHORIZED);
    let page = refused.text().await.unwrap();
    assert!(page.contains("invalid_client"), "{page}");
}

#[tokio::test]
async fn bearer_requests_go_through_the_same_stack_without_csrf_checks() {
    let okta = MockOkta::start().await.unwrap();
    let app = start(&okta, |b| b).await;
    let token = okta
        .access_token_builder()
        .claim("cid", okta.web_app().client_id())
        .build();
    let answer = client()
        .post(format!("{}/api/echo", app.base))
        .header("authorization", format!("Bearer {token}"))
        .header("origin", "https://evil.example")
        .body("hi")
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), StatusCode::OK);
}

#[tokio::test]
async fn unsafe_requests_with_the_session_cookie_need_this_origin() {
    let okta = MockOkta::start().await.unwrap();
    let app = start(&okta, |b| b).await;
    let mut browser = Browser::default();
    sign_in(&app, &mut browser).await;
    let url = format!("{}/api/echo", app.base);
    for (headers, want) in [
        (
            vec![("origin", "https://evil.example")],
            StatusCode::FORBIDDEN,
        ),
        (vec![("origin", "null")], StatusCode::FORBIDDEN),
        (
            vec![("sec-fetch-site", "cross-site")],
            StatusCode::FORBIDDEN,
        ),
        (vec![], StatusCode::FORBIDDEN),
        (vec![("origin", APP)], StatusCode::OK),
        (vec![("sec-fetch-site", "same-origin")], StatusCode::OK),
    ] {
        let answer = browser.post(&url, &headers).await;
        assert_eq!(answer.status(), want, "{headers:?}");
        if want == StatusCode::FORBIDDEN {
            let body = answer.text().await.unwrap();
            assert!(body.contains("cross-site request"), "{body}");
        }
    }
}

#[tokio::test]
async fn an_access_token_about_to_expire_is_refreshed_and_the_refresh_token_rotated() {
    let okta = MockOktaBuilder::default()
        .access_token_lifetime(Duration::from_secs(300))
        .start()
        .await
        .unwrap();
    let clock = Arc::new(FixedClock::new(now()));
    let app = start(&okta, |b| b.clock(Arc::clone(&clock))).await;
    let mut browser = Browser::default();
    sign_in(&app, &mut browser).await;
    let first = me_jti(&app, &mut browser).await;
    // 4 minutes later the token is within a minute of expiry: refreshed before the call.
    clock.advance(241);
    let second = me_jti(&app, &mut browser).await;
    assert_ne!(first, second, "a new access token");
    let third = me_jti(&app, &mut browser).await;
    assert_eq!(second, third, "refreshed once, then used");
}

#[tokio::test]
async fn a_refresh_that_fails_ends_the_session() {
    let okta = MockOktaBuilder::default()
        .access_token_lifetime(Duration::from_secs(300))
        .start()
        .await
        .unwrap();
    let clock = Arc::new(FixedClock::new(now()));
    let app = start(&okta, |b| {
        b.clock(Arc::clone(&clock))
            .on_session_end(OnSessionEnd::LoginForNavigation)
    })
    .await;
    let mut browser = Browser::default();
    sign_in(&app, &mut browser).await;
    okta.set_token_fault(KeysFault::Status(400));
    clock.advance(250);
    // A navigation is sent to sign in again, and back.
    let page = browser
        .get(
            &format!("{}/api/me?x=1", app.base),
            &[("sec-fetch-mode", "navigate")],
        )
        .await;
    assert_eq!(page.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&page), "/login?return_to=%2Fapi%2Fme%3Fx%3D1");
    okta.set_token_fault(KeysFault::None);
    // The session is gone: no second chance with the old refresh token.
    assert_eq!(
        me_status(&app, &mut browser).await,
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn sign_out_revokes_ends_the_session_and_goes_to_oktas_logout() {
    let okta = MockOkta::start().await.unwrap();
    let app = start(&okta, |b| b).await;
    let mut browser = Browser::default();
    sign_in(&app, &mut browser).await;
    let old_cookie = browser.cookie.clone();
    let out = browser
        .post(&format!("{}/logout", app.base), &[("origin", APP)])
        .await;
    assert_eq!(out.status(), StatusCode::SEE_OTHER);
    // The cookie is removed with the attributes a __Host- cookie needs, or browsers ignore it.
    let removal: Vec<String> = out
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_ascii_lowercase())
        .filter(|v| v.starts_with("__host-okta-session=;"))
        .collect();
    assert!(
        removal
            .iter()
            .any(|v| v.contains("max-age=0") && v.split(';').any(|a| a.trim() == "secure")),
        "{removal:?}"
    );
    let to = location(&out);
    assert!(
        to.starts_with(&format!("{}/v1/logout?", okta.issuer())),
        "{to}"
    );
    let q = query(&to);
    assert!(q.contains_key("id_token_hint"));
    assert_eq!(q["post_logout_redirect_uri"], format!("{APP}/"));
    let ended = client().get(&to).send().await.unwrap();
    assert!(ended.status().is_redirection());
    assert_eq!(okta.logout_count(), 1);
    // The old cookie no longer authenticates.
    let mut replay = Browser {
        cookie: old_cookie,
        ..Browser::default()
    };
    assert_eq!(me_status(&app, &mut replay).await, StatusCode::UNAUTHORIZED);
    // A cross-site sign-out form is refused.
    let mut other = Browser::default();
    sign_in(&app, &mut other).await;
    let forged = other
        .post(
            &format!("{}/logout", app.base),
            &[("origin", "https://evil.example")],
        )
        .await;
    assert_eq!(forged.status(), StatusCode::FORBIDDEN);
    assert_eq!(me_status(&app, &mut other).await, StatusCode::OK);
}

// ---------------------------------------------------------------------------------------------
// Attack rows of the flow

async fn page(response: reqwest::Response) -> (StatusCode, String) {
    (response.status(), response.text().await.unwrap())
}

#[tokio::test]
async fn a_forged_or_replayed_state_is_refused() {
    let okta = MockOkta::start().await.unwrap();
    let app = start(&okta, |b| b).await;
    let mut browser = Browser::default();
    let redirect = authorize(&app, &mut browser, "/").await;
    let forged = redirect.replace("state=", "state=x");
    let (status, body) = page(callback(&app, &mut browser, &forged).await).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(body.contains("state mismatch"), "{body}");
    // That sign-in is spent; replaying the real redirect finds none in progress.
    let (status, body) = page(callback(&app, &mut browser, &redirect).await).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(body.contains("no sign-in is in progress"), "{body}");
    // A good sign-in, then its callback replayed.
    let redirect = authorize(&app, &mut browser, "/").await;
    assert_eq!(
        callback(&app, &mut browser, &redirect).await.status(),
        StatusCode::SEE_OTHER
    );
    let (status, _) = page(callback(&app, &mut browser, &redirect).await).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    // A callback in a browser that never started a sign-in.
    let mut stranger = Browser::default();
    let (status, _) = page(callback(&app, &mut stranger, &redirect).await).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn a_code_from_another_client_or_another_session_is_refused() {
    let okta = MockOkta::start().await.unwrap();
    let app = start(&okta, |b| b).await;
    // The attacker's own sign-in: a code bound to the attacker's PKCE challenge.
    let mut attacker = Browser::default();
    let theirs = query(&authorize(&app, &mut attacker, "/").await);
    // The victim's sign-in, with the attacker's code injected (PKCE verifier mismatch).
    let mut victim = Browser::default();
    let mine = query(&authorize(&app, &mut victim, "/").await);
    let injected = format!(
        "{APP}/callback?code={}&state={}",
        theirs["code"], mine["state"]
    );
    let (status, body) = page(callback(&app, &mut victim, &injected).await).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    assert!(body.contains("invalid_grant"), "{body}");
    // A code issued to the SPA client (public), sent to this app's callback.
    let mut browser = Browser::default();
    let mine = query(&authorize(&app, &mut browser, "/").await);
    let verifier = "a".repeat(43);
    let challenge = {
        use base64::Engine;
        let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, verifier.as_bytes());
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(digest)
    };
    let spa = client()
        .get(format!(
            "{}/v1/authorize?client_id={}&response_type=code&scope=openid&redirect_uri={APP}/callback&state=s&nonce=n&code_challenge={challenge}&code_challenge_method=S256",
            okta.issuer(),
            okta.client_id()
        ))
        .send()
        .await
        .unwrap();
    let spa_code = query(&location(&spa))["code"].clone();
    let injected = format!("{APP}/callback?code={spa_code}&state={}", mine["state"]);
    let (status, body) = page(callback(&app, &mut browser, &injected).await).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    assert!(body.contains("invalid_grant"), "{body}");
}

#[tokio::test]
async fn an_id_token_with_another_nonce_is_refused_at_the_callback() {
    let okta = MockOkta::start().await.unwrap();
    let app = start(&okta, |b| b).await;
    let mut browser = Browser::default();
    let login = browser.get(&format!("{}/login", app.base), &[]).await;
    // The same authorize request with the nonce changed.
    let authorize_url = location(&login);
    let mut url = url::Url::parse(&authorize_url).unwrap();
    let pairs: Vec<(String, String)> = url
        .query_pairs()
        .map(|(k, v)| {
            let v = if k == "nonce" {
                "another-nonce".into()
            } else {
                v.into_owned()
            };
            (k.into_owned(), v)
        })
        .collect();
    url.query_pairs_mut().clear().extend_pairs(pairs);
    let okta_answer = client().get(url.as_str()).send().await.unwrap();
    let (status, body) = page(callback(&app, &mut browser, &location(&okta_answer)).await).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    assert!(body.contains("nonce"), "{body}");
    assert_eq!(
        me_status(&app, &mut browser).await,
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn okta_error_redirects_are_a_clear_page() {
    let okta = MockOkta::start().await.unwrap();
    let app = start(&okta, |b| b).await;
    okta.set_authorize_outcome(AuthorizeOutcome::AccessDenied);
    let mut browser = Browser::default();
    let redirect = authorize(&app, &mut browser, "/").await;
    assert_eq!(query(&redirect)["error"], "access_denied");
    let (status, body) = page(callback(&app, &mut browser, &redirect).await).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(
        body.starts_with("Sign-in failed: sign-in was denied"),
        "{body}"
    );
    // An error code that is not a registered one is not echoed.
    let mut browser = Browser::default();
    let redirect = authorize(&app, &mut browser, "/").await;
    let state = query(&redirect)["state"].clone();
    let odd = format!("{APP}/callback?error=%3Cscript%3E&state={state}");
    let (status, body) = page(callback(&app, &mut browser, &odd).await).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(!body.contains("script"), "{body}");
}

#[tokio::test]
async fn a_fixated_session_id_gets_nothing_and_a_foreign_cookie_is_no_session() {
    let okta = MockOkta::start().await.unwrap();
    let app = start(&okta, |b| b).await;
    let mut browser = Browser::default();
    let redirect = authorize(&app, &mut browser, "/").await;
    // The id before sign-in, as an attacker who planted it would know it.
    let planted = browser.cookie.clone().unwrap();
    assert_eq!(
        callback(&app, &mut browser, &redirect).await.status(),
        StatusCode::SEE_OTHER
    );
    assert_ne!(
        browser.cookie.as_ref(),
        Some(&planted),
        "the id is rotated at sign-in"
    );
    let mut attacker = Browser {
        cookie: Some(planted),
        ..Browser::default()
    };
    assert_eq!(
        me_status(&app, &mut attacker).await,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(me_status(&app, &mut browser).await, StatusCode::OK);
    // The same cookie at another instance with its own store: no such session.
    let other = start(&okta, |b| b).await;
    let mut elsewhere = Browser {
        cookie: browser.cookie.clone(),
        ..Browser::default()
    };
    assert_eq!(
        me_status(&other, &mut elsewhere).await,
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn the_return_url_cannot_leave_the_app() {
    let okta = MockOkta::start().await.unwrap();
    let app = start(&okta, |b| b).await;
    for (asked, want) in [
        ("/orders%3Fid%3D7", "/orders?id=7"),
        ("https://evil.example/", "/"),
        ("//evil.example/", "/"),
        ("/%5Cevil.example", "/"),
    ] {
        let mut browser = Browser::default();
        let redirect = authorize(&app, &mut browser, asked).await;
        let done = callback(&app, &mut browser, &redirect).await;
        assert_eq!(location(&done), want, "{asked}");
    }
}

#[test]
fn settings_are_checked() {
    let verifier = Verifier::builder()
        .issuer("https://dev-1.okta.com/oauth2/default")
        .client_id("0oaweb")
        .build()
        .unwrap();
    let base = || WebApp::builder(&verifier).redirect_uri("https://app.example.com/callback");
    assert!(base().build().is_err(), "no client authentication");
    assert!(base().client_secret("").build().is_err());
    assert!(base()
        .client_secret("s")
        .scopes(["profile"])
        .build()
        .is_err());
    assert!(base()
        .client_secret("s")
        .insecure_localhost_cookie(true)
        .build()
        .is_err());
    assert!(WebApp::builder(&verifier)
        .client_secret("s")
        .redirect_uri("/callback")
        .build()
        .is_err());
    let ok = base().client_secret("very-secret").build().unwrap();
    assert_eq!(ok.cookie_name(), "__Host-okta-session");
    assert!(!format!("{ok:?}").contains("very-secret"));
    let local = WebApp::builder(&verifier)
        .client_secret("s")
        .redirect_uri("http://localhost:8585/callback")
        .insecure_localhost_cookie(true)
        .build()
        .unwrap();
    assert_eq!(local.cookie_name(), "okta-session");
}

/// A `redis-server` (Debian's package; `.ci/run` installs it) on a free loopback port, without
/// persistence; killed on drop.
struct Redis {
    child: std::process::Child,
    url: String,
}

impl Redis {
    fn start() -> Redis {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = std::process::Command::new("redis-server")
            .args(["--bind", "127.0.0.1", "--port", &port.to_string()])
            .args(["--save", "", "--appendonly", "no"])
            .stdout(std::process::Stdio::null())
            .spawn()
            .expect(
                "redis-server runs (Debian: apt-get install redis-server; .ci/run installs it)",
            );
        Redis {
            child,
            url: format!("redis://127.0.0.1:{port}"),
        }
    }

    async fn store(
        &self,
    ) -> tower_sessions_redis_store::RedisStore<tower_sessions_redis_store::fred::prelude::Pool>
    {
        use tower_sessions_redis_store::fred::prelude::*;
        let config = Config::from_url(&self.url).unwrap();
        let pool = Pool::new(config, None, None, None, 2).unwrap();
        let _connection = pool.connect();
        // redis-server may still be starting: wait for the connection, bounded.
        tokio::time::timeout(Duration::from_secs(20), pool.wait_for_connect())
            .await
            .expect("redis-server accepts connections within 20 s")
            .unwrap();
        tower_sessions_redis_store::RedisStore::new(pool)
    }
}

impl Drop for Redis {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[tokio::test]
async fn two_instances_share_sessions_through_redis() {
    let redis = Redis::start();
    let okta = MockOkta::start().await.unwrap();
    let verifier = verifier_for(&okta);
    let web = web_builder(&okta, &verifier).build().unwrap();
    let a = serve(verifier.clone(), web.clone(), redis.store().await).await;
    let b = serve(verifier, web, redis.store().await).await;
    let mut browser = Browser::default();
    sign_in(&a, &mut browser).await;
    // Signed in through instance A; instance B knows the session.
    assert_eq!(me_status(&b, &mut browser).await, StatusCode::OK);
    assert_eq!(me_status(&a, &mut browser).await, StatusCode::OK);
    // Signed out through B; A forgets it too.
    let cookie = browser.cookie.clone();
    let out = browser
        .post(&format!("{}/logout", b.base), &[("origin", APP)])
        .await;
    assert_eq!(out.status(), StatusCode::SEE_OTHER);
    let mut replay = Browser {
        cookie,
        ..Browser::default()
    };
    assert_eq!(me_status(&a, &mut replay).await, StatusCode::UNAUTHORIZED);
}

fn now() -> i64 {
    let since = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap();
    i64::try_from(since.as_secs()).unwrap()
}
