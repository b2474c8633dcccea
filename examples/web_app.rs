//! A server-rendered Web Application (Okta's second app shape, the backend-for-frontend): the
//! backend signs the user in with the Authorization Code flow (PKCE, `state`, `nonce`, a client
//! secret), keeps the tokens in its session store and gives the browser only an opaque session
//! cookie (`__Host-okta-session`: `Secure`, `HttpOnly`, `SameSite=Lax`). No access or refresh
//! token ever reaches the browser: none in the HTML, in the page's JavaScript or in its storage.
//! (Sign-out sends the browser to Okta's `/v1/logout` with the ID token as `id_token_hint`, as
//! Okta requires; that is the only token in a URL, and the session is already gone then.)
//!
//! - `GET /`: a page rendered on the server: signed out, a "Sign in" link; signed in, the user
//!   (the access token's `sub`, Okta's login, usually the email), a "Call the API" button (a
//!   same-origin `fetch('/api/me')` carrying the cookie, nothing else) and a "Sign out" form;
//! - `GET /login?return_to=/`, `GET /callback`, `POST /logout`: [`WebApp::routes`];
//! - `GET /api/me`: the access token's claims as JSON (its `jti` changes when the session is
//!   refreshed), `POST /api/echo`: the body back, both behind `verifier.layer()`; a request with
//!   the session cookie gets the session's access token from `web.layer()` (refreshed first
//!   when it expires within a minute), a request with `Authorization: Bearer` is verified as
//!   is; unsafe methods with the cookie must come from this app's origin (CSRF);
//! - `GET /health`: public.
//!
//! With no configuration it runs against the embedded mock Okta (which signs Jane Doe in
//! without asking) and serves on `http://localhost:8585`:
//!
//! ```sh
//! cargo run --features web-app --example web_app    # then open http://localhost:8585/
//! ```
//!
//! Open `http://localhost:8585`, not `http://127.0.0.1:8585`: the redirect URI registered in
//! Okta is on `localhost`, and browsers keep cookies per host, so a sign-in started on
//! `127.0.0.1` would come back to `localhost` without its session. Chromium treats
//! `http://localhost` as a secure context and keeps the `Secure`, `__Host-` cookie there (the
//! e2e test checks it); for a browser that refuses `Secure` cookies over plain `http://localhost`,
//! `WebAppBuilder::insecure_localhost_cookie(true)` names the cookie `okta-session` and drops
//! `Secure` (allowed for `http://localhost` and `http://127.0.0.1` only).
//!
//! Against your Okta org: in the Admin Console, Applications > Create App Integration > OIDC >
//! **Web Application**; client authentication **Client secret**; grant types Authorization Code
//! and Refresh Token (rotate the refresh token, as Okta suggests); sign-in redirect URI
//! `http://localhost:8585/callback`; sign-out redirect URI `http://localhost:8585/`; assign
//! yourself to it. The access tokens come from a custom authorization server (`default`, whose
//! Audience is `api://default`): its access policy must allow the app, and `OKTA_AUDIENCE` is
//! that Audience.
//!
//! ```sh
//! OKTA_ISSUER=https://dev-123.okta.com/oauth2/default OKTA_CLIENT_ID=0oa... \
//!   OKTA_CLIENT_SECRET=... OKTA_AUDIENCE=api://default \
//!   cargo run --features web-app --example web_app
//! ```
//!
//! Environment: `OKTA_ISSUER`, `OKTA_CLIENT_ID` (the Web Application's client ID),
//! `OKTA_CLIENT_SECRET`, optional `OKTA_AUDIENCE` (if the authorization server's Audience is not
//! the client ID); `BIND` (default `127.0.0.1:8585`; the app's origin is
//! `http://localhost:{port}`, whose `/callback` and `/` must be the registered redirect URIs;
//! port 0 picks a free one, which only the mock can be told about);
//! `MOCK_ACCESS_TOKEN_LIFETIME` (seconds, mock only: with 70, the session's access token is
//! refreshed silently from 10 seconds after sign-in, the layer refreshing a token that expires
//! within a minute); `RUST_LOG`.
//!
//! `examples/spa/e2e/run.sh` drives it in headless Chromium (`examples/spa/e2e/web_app.test.js`).

mod common;

use std::net::SocketAddr;
use std::time::Duration;

use axum::http::header::CACHE_CONTROL;
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::json;
use tower_okta::web_app::WebApp;
use tower_okta::{AccessClaims, Claims, Verifier};
use tower_okta_mock::MockOkta;
use tower_sessions::MemoryStore;
use tracing_subscriber::EnvFilter;

/// The access token's claims (the session's, or a Bearer token's).
async fn me(claims: Claims<AccessClaims>) -> Json<Claims<AccessClaims>> {
    Json(claims)
}

/// An unsafe method for the CSRF check: who sent what.
async fn echo(claims: Claims<AccessClaims>, body: String) -> Json<serde_json::Value> {
    Json(json!({ "sub": claims.sub, "body": body }))
}

async fn health() -> &'static str {
    "ok"
}

/// `GET /`: signed in or out, from the claims of the session's access token (if any).
async fn home(claims: Option<Claims<AccessClaims>>) -> Response {
    let page = match claims {
        Some(claims) => signed_in(&claims),
        None => signed_out(),
    };
    ([(CACHE_CONTROL, "no-store")], Html(page)).into_response()
}

/// `&`, `<`, `>`, `"`, `'` as HTML character references: for text and attribute values.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

const STYLE: &str = "body{font:16px/1.5 system-ui,sans-serif;max-width:46rem;margin:2rem auto;\
padding:0 1rem}button,a.button{font:inherit;padding:.4rem .9rem;margin-right:.5rem}\
form{display:inline}pre{background:#f4f4f4;padding:1rem;overflow:auto}";

fn layout(state: &str, main: &str) -> String {
    format!(
        "<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>tower-okta: Web Application</title>\n<link rel=\"icon\" href=\"data:,\">\n<style>{STYLE}</style>\n</head>\n\
         <body data-state=\"{state}\">\n<h1>tower-okta: Web Application</h1>\n{main}</body>\n\
         </html>\n"
    )
}

fn signed_out() -> String {
    layout(
        "signed-out",
        "<p id=\"user\">You are signed out.</p>\n\
         <p><a id=\"signin\" class=\"button\" href=\"/login?return_to=%2F\">Sign in</a></p>\n",
    )
}

/// The page's only script: calls the API on the same origin. The browser sends the session
/// cookie by itself (`credentials: 'same-origin'`, fetch's default); the script never sees a
/// token.
const CALL_API: &str = r"<script>
const api = document.getElementById('api');
const status = document.getElementById('api-status');
const body = document.getElementById('api-body');
document.getElementById('call-api').addEventListener('click', async () => {
  api.dataset.state = 'pending';
  try {
    const response = await fetch('/api/me', { method: 'GET', headers: { Accept: 'application/json' } });
    const text = await response.text();
    status.dataset.status = String(response.status);
    status.textContent = `${response.status} ${response.statusText}`;
    try { body.textContent = JSON.stringify(JSON.parse(text), null, 2); } catch { body.textContent = text; }
    api.dataset.state = response.ok ? 'done' : 'error';
  } catch (error) {
    status.dataset.status = '0';
    body.textContent = String(error);
    api.dataset.state = 'error';
  }
  api.dataset.calls = String(Number(api.dataset.calls) + 1);
});
</script>
";

fn signed_in(claims: &AccessClaims) -> String {
    let user = escape(&claims.sub);
    let uid = escape(claims.uid.as_deref().unwrap_or("-"));
    let main = format!(
        "<p id=\"user\">Signed in as <strong id=\"user-sub\">{user}</strong> \
         (Okta user <code id=\"user-uid\">{uid}</code>).</p>\n\
         <p><button id=\"call-api\" type=\"button\">Call the API</button>\
         <form id=\"signout-form\" method=\"post\" action=\"/logout\">\
         <button id=\"signout\" type=\"submit\">Sign out</button></form></p>\n\
         <section id=\"api\" data-state=\"idle\" data-calls=\"0\">\n<h2>GET /api/me</h2>\n\
         <p id=\"api-status\"></p>\n<pre id=\"api-body\"></pre>\n</section>\n{CALL_API}"
    );
    layout("signed-in", &main)
}

/// The web app's verifier: the Web Application's client ID (the ID tokens' audience) and the
/// authorization server's Audience (the access tokens').
fn verifier_for_mock(okta: &MockOkta) -> Result<Verifier, tower_okta::ConfigError> {
    Verifier::builder()
        .issuer(okta.issuer())
        .client_id(okta.web_app().client_id())
        .audience(okta.audience())
        .build()
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    // Logs go to stderr; stdout carries only the lines below (URLs, token, curl command).
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();

    let bind: SocketAddr = std::env::var("BIND")
        .unwrap_or_else(|_| "127.0.0.1:8585".to_owned())
        .parse()?;
    let listener = tokio::net::TcpListener::bind(bind).await?;
    // The app's origin is `localhost`, like the redirect URIs registered in Okta.
    let origin = format!("http://localhost:{}", listener.local_addr()?.port());
    let redirect_uri = format!("{origin}/callback");
    let post_logout_redirect_uri = format!("{origin}/");

    // With no OKTA_ISSUER, run against the embedded mock Okta (kept alive for the whole run),
    // its Web Application registered with this app's redirect URIs (the port actually bound).
    let mut mock = None;
    let (verifier, secret) = if std::env::var("OKTA_ISSUER").is_ok_and(|v| !v.trim().is_empty()) {
        let secret = std::env::var("OKTA_CLIENT_SECRET")
            .ok()
            .filter(|s| !s.trim().is_empty())
            .ok_or("OKTA_CLIENT_SECRET is not set: give the Web Application's client secret")?;
        (Verifier::from_env()?, secret)
    } else {
        eprintln!("{}", common::MOCK_BANNER);
        let web_app = tower_okta_mock::WebApp::default()
            .redirect_uris([redirect_uri.as_str()])
            .post_logout_redirect_uris([post_logout_redirect_uri.as_str()]);
        let mut builder = MockOkta::builder().default_audience().web_app(web_app);
        if let Ok(seconds) = std::env::var("MOCK_ACCESS_TOKEN_LIFETIME") {
            builder = builder.access_token_lifetime(Duration::from_secs(seconds.trim().parse()?));
        }
        let okta = builder.start().await?;
        let verifier = verifier_for_mock(&okta)?;
        let secret = okta.web_app().secret().unwrap_or_default().to_owned();
        mock = Some(okta);
        (verifier, secret)
    };
    if let Err(error) = verifier.refresh_keys().await {
        tracing::warn!(%error, "could not fetch the issuer's keys yet; will retry on demand");
    }

    let web = WebApp::builder(&verifier)
        .client_secret(secret)
        .redirect_uri(&redirect_uri)
        .post_logout_redirect_uri(&post_logout_redirect_uri)
        .build()?;

    // The page: signed in or not (optional authentication). The API: a valid token required.
    let page = Router::new()
        .route("/", get(home))
        .route_layer(verifier.layer().optional());
    let api = Router::new()
        .route("/api/me", get(me))
        .route("/api/echo", post(echo))
        .route_layer(verifier.layer());
    let app = Router::new()
        .route("/health", get(health))
        .merge(page)
        .merge(api)
        .merge(web.routes())
        // Sessions to credentials (CSRF check, refresh), inside the session cookie's layer.
        .layer(web.layer())
        .layer(web.session_layer(MemoryStore::default()));

    println!("issuer:    {}", verifier.issuer());
    println!("client id: {}", verifier.client_id());
    println!("cookie:    {}", web.cookie_name());
    if let Some(okta) = &mock {
        // A Bearer token goes through the same layers (no cookie, no CSRF check).
        let token = okta
            .access_token_builder()
            .claim("cid", verifier.client_id())
            .build();
        println!("mock Okta is running; a test access token (valid for 1 hour):");
        println!("{token}");
        println!("try:");
        println!("curl -H \"Authorization: Bearer {token}\" {origin}/api/me");
    }
    println!("app:       {origin}/");
    println!("open {origin}/ in a browser (not 127.0.0.1: the session cookie is per host)");

    axum::serve(listener, app)
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await?;
    drop(mock);
    Ok(())
}
