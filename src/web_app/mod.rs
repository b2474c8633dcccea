//! The Web Application mode (backend-for-frontend): Okta's second app shape, a confidential
//! client whose backend runs the Authorization Code flow and keeps the tokens server-side; the
//! browser only ever holds an opaque session cookie.
//!
//! - [`WebApp::routes`]: `GET /login`, `GET /callback` (the redirect URI's path) and
//!   `POST /logout`, an axum router to merge;
//! - [`WebApp::session_layer`]: tower-sessions' `SessionManagerLayer` with the cookie this mode
//!   needs (`__Host-` name, `Secure`, `HttpOnly`, `SameSite=Lax`), on the store you choose
//!   (`MemoryStore`, or a Redis store for several replicas);
//! - [`WebApp::layer`]: the session layer of the API: it refuses cross-site unsafe requests
//!   that carry the session cookie (CSRF), refreshes an access token about to expire (one
//!   refresh per session at a time) and hands the session's access token to the same
//!   [`OktaAuthLayer`](crate::OktaAuthLayer) that verifies bearer tokens, so that `Claims<T>`,
//!   the guards and optional authentication work unchanged in both modes.
//!
//! ```no_run
//! use axum::{routing::get, Router};
//! use tower_okta::web_app::WebApp;
//! use tower_okta::{AccessClaims, Claims, Verifier};
//! use tower_sessions::MemoryStore;
//!
//! async fn me(claims: Claims<AccessClaims>) -> String {
//!     claims.sub.clone()
//! }
//!
//! # fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let verifier = Verifier::builder()
//!     .issuer("https://dev-123.okta.com/oauth2/default")
//!     .client_id("0oa1webapp")          // the Web Application's client ID (ID tokens' aud)
//!     .audience("api://default")        // the authorization server's Audience
//!     .build()?;
//! let web = WebApp::builder(&verifier)
//!     .client_secret(std::env::var("OKTA_CLIENT_SECRET")?)
//!     .redirect_uri("https://app.example.com/callback")
//!     .post_logout_redirect_uri("https://app.example.com/")
//!     .build()?;
//! let app: Router = Router::new()
//!     .route("/api/me", get(me))
//!     .route_layer(verifier.layer())
//!     .merge(web.routes())
//!     .layer(web.layer())
//!     .layer(web.session_layer(MemoryStore::default()));
//! # Ok(()) }
//! ```

mod error;
mod layer;
mod okta;
mod routes;
mod session;

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use url::Url;

pub use error::{OktaErrorCode, WebAppConfigError, WebAppError};
pub use layer::{WebSession, WebSessionLayer};

use crate::clock::{Clock, SystemClock};
use crate::signing::SigningKey;
use crate::verifier::Verifier;

/// How the Web Application authenticates to Okta's token and revocation endpoints (its
/// "Client authentication" setting in Okta).
#[derive(Clone)]
#[non_exhaustive]
pub enum ClientAuth {
    /// `client_secret_basic`: the secret in `Authorization: Basic`.
    ClientSecretBasic(String),
    /// `client_secret_post`: the secret in the form body.
    ClientSecretPost(String),
    /// `private_key_jwt`: an RFC 7523 assertion signed with the key registered in Okta.
    PrivateKeyJwt(SigningKey),
}

/// Secrets stay out of logs.
impl fmt::Debug for ClientAuth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ClientAuth::ClientSecretBasic(_) => "ClientSecretBasic(..)",
            ClientAuth::ClientSecretPost(_) => "ClientSecretPost(..)",
            ClientAuth::PrivateKeyJwt(_) => "PrivateKeyJwt(..)",
        })
    }
}

/// What a session whose tokens cannot be refreshed gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum OnSessionEnd {
    /// The session is cleared and the request goes on without credentials: the auth layer
    /// answers 401 (the default).
    #[default]
    Unauthorized,
    /// As `Unauthorized`, but a browser navigation (`Sec-Fetch-Mode: navigate`) is redirected
    /// to `/login` and back to the page it asked for.
    LoginForNavigation,
}

/// A Web Application (backend-for-frontend) on top of a [`Verifier`]: its routes, its session
/// cookie and its session layer. Cheap to clone. See the [module docs](self).
#[derive(Clone)]
pub struct WebApp {
    inner: Arc<Inner>,
}

pub(crate) struct Inner {
    pub(crate) verifier: Verifier,
    pub(crate) auth: ClientAuth,
    pub(crate) redirect_uri: Url,
    pub(crate) post_logout_redirect_uri: Option<Url>,
    pub(crate) scopes: String,
    /// `scheme://host[:port]` of the app, from the redirect URI: what `Origin` must say.
    pub(crate) origin: String,
    pub(crate) endpoints: okta::Endpoints,
    pub(crate) http: reqwest::Client,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) refresh_margin_secs: i64,
    pub(crate) on_session_end: OnSessionEnd,
    pub(crate) secure_cookie: bool,
    /// One refresh per session at a time: a lock per session id.
    pub(crate) refresh_locks: moka::sync::Cache<String, Arc<tokio::sync::Mutex<()>>>,
}

impl fmt::Debug for WebApp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WebApp")
            .field("client_id", &self.inner.verifier.client_id())
            .field("auth", &self.inner.auth)
            .field("redirect_uri", &self.inner.redirect_uri.as_str())
            .field("scopes", &self.inner.scopes)
            .finish_non_exhaustive()
    }
}

impl WebApp {
    /// A builder for the Web Application whose client ID is `verifier`'s (the ID tokens'
    /// audience); its access tokens are verified by `verifier` as bearer tokens are.
    pub fn builder(verifier: &Verifier) -> WebAppBuilder {
        WebAppBuilder {
            verifier: verifier.clone(),
            auth: None,
            redirect_uri: None,
            post_logout_redirect_uri: None,
            scopes: vec![
                "openid".into(),
                "profile".into(),
                "email".into(),
                "offline_access".into(),
            ],
            insecure_localhost_cookie: false,
            on_session_end: OnSessionEnd::default(),
            http: None,
            clock: Arc::new(SystemClock),
        }
    }

    /// The Web Application's client ID.
    #[must_use]
    pub fn client_id(&self) -> &str {
        self.inner.verifier.client_id()
    }

    /// The name of the session cookie: `__Host-okta-session` (or `okta-session` where `Secure`
    /// is off for `http://localhost`).
    #[must_use]
    pub fn cookie_name(&self) -> &'static str {
        session::cookie_name(self.inner.secure_cookie)
    }
}

/// Builds a [`WebApp`]; see [`WebApp::builder`]. Checked by [`build`](Self::build).
#[derive(Debug, Clone)]
#[must_use]
pub struct WebAppBuilder {
    verifier: Verifier,
    auth: Option<ClientAuth>,
    redirect_uri: Option<String>,
    post_logout_redirect_uri: Option<String>,
    scopes: Vec<String>,
    insecure_localhost_cookie: bool,
    on_session_end: OnSessionEnd,
    http: Option<reqwest::Client>,
    clock: Arc<dyn Clock>,
}

impl WebAppBuilder {
    /// `client_secret_basic` with this secret (Okta's default for Web Applications).
    pub fn client_secret(mut self, secret: impl Into<String>) -> Self {
        self.auth = Some(ClientAuth::ClientSecretBasic(secret.into()));
        self
    }

    /// Any client authentication method (`client_secret_post`, `private_key_jwt`...).
    pub fn client_auth(mut self, auth: ClientAuth) -> Self {
        self.auth = Some(auth);
        self
    }

    /// `private_key_jwt` with the key whose public JWK is registered for the app in Okta.
    pub fn private_key_jwt(self, key: SigningKey) -> Self {
        self.client_auth(ClientAuth::PrivateKeyJwt(key))
    }

    /// The sign-in redirect URI registered in Okta (`http://localhost:8585/callback`): its path
    /// is the callback route, its origin the app's origin (CSRF checks compare `Origin` with it).
    pub fn redirect_uri(mut self, uri: impl Into<String>) -> Self {
        self.redirect_uri = Some(uri.into());
        self
    }

    /// The sign-out redirect URI registered in Okta, where Okta sends the browser after
    /// `/logout` (without one, `/logout` ends only the app's session).
    pub fn post_logout_redirect_uri(mut self, uri: impl Into<String>) -> Self {
        self.post_logout_redirect_uri = Some(uri.into());
        self
    }

    /// The scopes asked for (`openid profile email offline_access` by default;
    /// `offline_access` gives the refresh token that keeps sessions alive).
    pub fn scopes<I: IntoIterator<Item = T>, T: Into<String>>(mut self, scopes: I) -> Self {
        self.scopes = scopes.into_iter().map(Into::into).collect();
        self
    }

    /// Session cookies without `Secure` (and so without the `__Host-` prefix): allowed only
    /// when the redirect URI is on `http://localhost` or `http://127.0.0.1`, for browsers that
    /// refuse `Secure` cookies over plain http. Off by default.
    pub fn insecure_localhost_cookie(mut self, insecure: bool) -> Self {
        self.insecure_localhost_cookie = insecure;
        self
    }

    /// What a session whose tokens cannot be refreshed gets (401 by default).
    pub fn on_session_end(mut self, on_end: OnSessionEnd) -> Self {
        self.on_session_end = on_end;
        self
    }

    /// The HTTP client for Okta's endpoints (default: rustls, 5 s timeout, no redirects).
    pub fn http_client(mut self, client: reqwest::Client) -> Self {
        self.http = Some(client);
        self
    }

    /// The clock deciding when an access token is refreshed (tests).
    pub fn clock(mut self, clock: impl Clock) -> Self {
        self.clock = Arc::new(clock);
        self
    }

    /// Checks the settings.
    ///
    /// # Errors
    /// A [`WebAppConfigError`] naming the setting to fix.
    pub fn build(self) -> Result<WebApp, WebAppConfigError> {
        let auth = self.auth.ok_or(WebAppConfigError::MissingClientAuth)?;
        if let ClientAuth::ClientSecretBasic(s) | ClientAuth::ClientSecretPost(s) = &auth {
            if s.is_empty() {
                return Err(WebAppConfigError::EmptySecret);
            }
        }
        let given = self.redirect_uri.unwrap_or_default();
        let redirect_uri = absolute_http_url(&given)
            .ok_or_else(|| WebAppConfigError::InvalidRedirectUri(given.clone()))?;
        let post_logout_redirect_uri = match self.post_logout_redirect_uri {
            None => None,
            Some(uri) => Some(
                absolute_http_url(&uri)
                    .ok_or(WebAppConfigError::InvalidPostLogoutRedirectUri(uri))?,
            ),
        };
        let localhost = redirect_uri.scheme() == "http"
            && matches!(redirect_uri.host_str(), Some("localhost" | "127.0.0.1"));
        if self.insecure_localhost_cookie && !localhost {
            return Err(WebAppConfigError::InsecureCookie(given));
        }
        if !self.scopes.iter().any(|s| s == "openid") {
            return Err(WebAppConfigError::MissingOpenidScope);
        }
        let http = match self.http {
            Some(http) => http,
            None => reqwest::Client::builder()
                .timeout(Duration::from_secs(5))
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .map_err(WebAppConfigError::HttpClient)?,
        };
        let origin = redirect_uri.origin().ascii_serialization();
        let endpoints = okta::Endpoints::of(self.verifier.issuer())
            .ok_or_else(|| WebAppConfigError::InvalidRedirectUri(given.clone()))?;
        Ok(WebApp {
            inner: Arc::new(Inner {
                verifier: self.verifier,
                auth,
                redirect_uri,
                post_logout_redirect_uri,
                scopes: self.scopes.join(" "),
                origin,
                endpoints,
                http,
                clock: self.clock,
                refresh_margin_secs: 60,
                on_session_end: self.on_session_end,
                secure_cookie: !self.insecure_localhost_cookie,
                refresh_locks: moka::sync::Cache::builder()
                    .max_capacity(100_000)
                    .time_to_idle(Duration::from_secs(300))
                    .build(),
            }),
        })
    }
}

/// `uri` as an absolute `http`/`https` URL with a host and no fragment.
fn absolute_http_url(uri: &str) -> Option<Url> {
    let url = Url::parse(uri).ok()?;
    (matches!(url.scheme(), "http" | "https")
        && url.host_str().is_some()
        && url.fragment().is_none())
    .then_some(url)
}
