//! Settings of a mock before it starts, and starting it.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::AtomicUsize;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::apps::{App, WebAppEntry};
use crate::clock::{Clock, SystemClock};
use crate::config::{
    AppConfig, DEFAULT_CLIENT_ID, DEFAULT_SPA_ORIGIN, OKTA_DEFAULT_AUDIENCE,
    OKTA_KEYS_CACHE_CONTROL,
};
use crate::error::MockError;
use crate::fault::KeysFault;
use crate::grants::Grants;
use crate::keyset::Keys;
use crate::okta::MockOkta;
use crate::server;
use crate::state::Shared;
use crate::user::MockUser;
use crate::util::random_id;
use crate::web_app::WebApp;

/// Settings of a [`MockOkta`] before it starts.
#[derive(Debug, Clone)]
#[must_use]
pub struct MockOktaBuilder {
    addr: SocketAddr,
    auth_server_id: String,
    client_id: String,
    audience: Option<String>,
    user: Option<MockUser>,
    config: AppConfig,
    clock: Arc<dyn Clock>,
    next_key: bool,
    web_app: WebApp,
}

impl Default for MockOktaBuilder {
    fn default() -> Self {
        MockOktaBuilder {
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            auth_server_id: "default".to_owned(),
            client_id: DEFAULT_CLIENT_ID.to_owned(),
            audience: None,
            user: None,
            config: AppConfig::for_origin(DEFAULT_SPA_ORIGIN),
            clock: Arc::new(SystemClock),
            next_key: true,
            web_app: WebApp::default(),
        }
    }
}

impl MockOktaBuilder {
    /// The address to bind (default `127.0.0.1:0`, an ephemeral port).
    pub fn bind(mut self, addr: SocketAddr) -> Self {
        self.addr = addr;
        self
    }

    /// The authorization server ID in the issuer path (default `default`).
    pub fn auth_server_id(mut self, id: impl Into<String>) -> Self {
        self.auth_server_id = id.into();
        self
    }

    /// The SPA app's client ID (default [`DEFAULT_CLIENT_ID`]).
    pub fn client_id(mut self, id: impl Into<String>) -> Self {
        self.client_id = id.into();
        self
    }

    /// The authorization server's Audience: the `aud` of access tokens (default: the client ID,
    /// the SPA setup). ID tokens keep the client ID as their `aud` whatever this says.
    pub fn audience(mut self, audience: impl Into<String>) -> Self {
        self.audience = Some(audience.into());
        self
    }

    /// The Audience of the authorization server Okta ships, `default`:
    /// [`api://default`](OKTA_DEFAULT_AUDIENCE) (the same as `.audience("api://default")`).
    /// Access tokens then carry `aud: api://default`; ID tokens keep the client ID.
    pub fn default_audience(self) -> Self {
        self.audience(OKTA_DEFAULT_AUDIENCE)
    }

    /// Whether the JWKS also publishes the next key, the one the next
    /// [`rotate_key`](MockOkta::rotate_key) signs with (default `true`, as Okta publishes a key
    /// weeks before it signs with it). With `false` the JWKS starts with the signing key alone
    /// and a rotation signs at once with a key never published before (an unannounced key, as
    /// a verifier sees it after an emergency rotation it has not fetched yet).
    pub fn publish_next_key(mut self, publish: bool) -> Self {
        self.next_key = publish;
        self
    }

    /// The user every sign-in at `/v1/authorize` is approved for (default: Jane Doe,
    /// `jane.doe@example.com`, a random `00u...` ID). Minted tokens are this user's too.
    pub fn user(mut self, user: MockUser) -> Self {
        self.user = Some(user);
        self
    }

    /// Registers the SPA served from `origin` (e.g. `http://localhost:8585`, the default): sign-in
    /// redirect URIs `{origin}/callback` and `{origin}/silent-callback`, sign-out redirect URIs
    /// `{origin}` and `{origin}/`, and `origin` as the one trusted origin for CORS. Replaces what
    /// [`redirect_uris`](Self::redirect_uris),
    /// [`post_logout_redirect_uris`](Self::post_logout_redirect_uris) and
    /// [`allowed_origins`](Self::allowed_origins) set before.
    pub fn spa_origin(mut self, origin: &str) -> Self {
        let fresh = AppConfig::for_origin(origin);
        self.config.redirect_uris = fresh.redirect_uris;
        self.config.post_logout_redirect_uris = fresh.post_logout_redirect_uris;
        self.config.allowed_origins = fresh.allowed_origins;
        self
    }

    /// The app's sign-in redirect URIs: `/v1/authorize` accepts exactly these `redirect_uri`s.
    pub fn redirect_uris<I, S>(mut self, uris: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.config.redirect_uris = uris.into_iter().map(Into::into).collect();
        self
    }

    /// The app's sign-out redirect URIs: `/v1/logout` accepts exactly these
    /// `post_logout_redirect_uri`s.
    pub fn post_logout_redirect_uris<I, S>(mut self, uris: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.config.post_logout_redirect_uris = uris.into_iter().map(Into::into).collect();
        self
    }

    /// The trusted origins (Okta's Security > API > Trusted Origins, CORS): browsers on these
    /// origins may call discovery, keys, token, userinfo and revoke.
    pub fn allowed_origins<I, S>(mut self, origins: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.config.allowed_origins = origins.into_iter().map(Into::into).collect();
        self
    }

    /// Custom scopes of the authorization server, grantable at `/v1/authorize` next to `openid`,
    /// `profile`, `email`, `address`, `phone` and `offline_access`.
    pub fn custom_scopes<I, S>(mut self, scopes: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.config.custom_scopes = scopes.into_iter().map(Into::into).collect();
        self
    }

    /// The lifetime of the access tokens `/v1/authorize` and `/v1/token` issue (default one hour,
    /// Okta's default; `expires_in` says the same). Short lifetimes let a browser test see an
    /// expired session without waiting. Tokens from [`MockOkta::access_token`] keep one hour.
    pub fn access_token_lifetime(mut self, lifetime: Duration) -> Self {
        self.config.access_token_lifetime = lifetime;
        self
    }

    /// The refresh-token rotation grace period (default 30 s, Okta's default; Okta allows 0 to
    /// 60 s): for this long after a refresh token was rotated away it still works, and each use
    /// gets a new pair (a new access token and a new refresh token of the same family, as Okta
    /// answers). Used after the grace period it is reuse: the whole family is revoked (its refresh
    /// tokens, and every access token issued since sign-in, which introspection then reports
    /// `active: false`). `Duration::ZERO` makes any second use reuse.
    pub fn refresh_token_grace(mut self, grace: Duration) -> Self {
        self.config.refresh_token_grace = grace;
        self
    }

    /// The SPA app's "Require Demonstrating Proof of Possession (DPoP) header in token requests"
    /// setting (default `false`). When on, a token request of the SPA app without a `DPoP` proof
    /// is refused with `400 invalid_dpop_proof` ("The DPoP proof JWT header is missing.", Okta's
    /// answer). When off, a request with a proof still gets DPoP-bound tokens.
    pub fn require_dpop(mut self, require: bool) -> Self {
        self.config.require_dpop = require;
        self
    }

    /// The mock's Web Application integration, the one [`MockOkta::web_app`] returns (default
    /// [`WebApp::default`]: client ID [`DEFAULT_WEB_CLIENT_ID`](crate::DEFAULT_WEB_CLIENT_ID),
    /// secret [`DEFAULT_WEB_CLIENT_SECRET`](crate::DEFAULT_WEB_CLIENT_SECRET)). More web apps
    /// can be registered on the running mock with [`MockOkta::register_web_app`].
    pub fn web_app(mut self, app: WebApp) -> Self {
        self.web_app = app;
        self
    }

    /// The clock the mock reads (default [`SystemClock`]): `iat` and `exp` of the tokens it
    /// mints, the expiry of authorization codes, the refresh-token grace period, the `iat` and
    /// `exp` of client assertions, the `X-Rate-Limit-Reset` of `429` answers, and whether
    /// introspection and userinfo find a token expired. A
    /// [`ManualClock`](crate::ManualClock) lets a test move time.
    pub fn clock(mut self, clock: impl Clock) -> Self {
        self.clock = Arc::new(clock);
        self
    }

    /// Generates the signing key and the next key, binds the port and starts serving on the
    /// current tokio runtime.
    ///
    /// # Errors
    /// [`MockError::Bind`] if the address cannot be bound, [`MockError::KeyGeneration`] if a key
    /// cannot be generated, [`MockError::InvalidAuthServerId`] if the authorization server ID is
    /// not a plain path segment; for the [`web_app`](Self::web_app): the errors of
    /// [`MockOkta::register_web_app`].
    pub async fn start(self) -> Result<MockOkta, MockError> {
        let id = &self.auth_server_id;
        let plain = |b: u8| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~');
        if id.is_empty() || !id.bytes().all(plain) {
            return Err(MockError::InvalidAuthServerId(id.clone()));
        }
        let web_client_id = self.web_app.client_id().to_owned();
        if web_client_id == self.client_id {
            return Err(MockError::ClientIdInUse(web_client_id));
        }
        let web_app = WebAppEntry::new(self.web_app)?;
        let apps = HashMap::from([(web_client_id.clone(), App::Web(web_app))]);
        let keys = Keys::generate(self.next_key)?;
        let bind = |source| MockError::Bind {
            addr: self.addr,
            source,
        };
        let listener = tokio::net::TcpListener::bind(self.addr)
            .await
            .map_err(bind)?;
        let addr = listener.local_addr().map_err(bind)?;
        let base = format!("/oauth2/{id}");
        let issuer = format!("http://{addr}{base}");
        let state = Arc::new(Shared {
            issuer: issuer.clone(),
            audience: self.audience.unwrap_or_else(|| self.client_id.clone()),
            client_id: self.client_id,
            user: self.user.unwrap_or_default(),
            idp: format!("00o{}", random_id(17)),
            config: self.config,
            clock: self.clock,
            keys: Mutex::new(keys),
            extra_jwks: Mutex::new(Vec::new()),
            keys_fault: Mutex::new(KeysFault::None),
            cache_control: Mutex::new(OKTA_KEYS_CACHE_CONTROL.to_owned()),
            key_fetches: AtomicUsize::new(0),
            discovery_fetches: AtomicUsize::new(0),
            grants: Mutex::new(Grants::default()),
            apps: Mutex::new(apps),
            web_client_id,
            authorize_outcome: Mutex::new(Default::default()),
            logouts: AtomicUsize::new(0),
            used_jtis: Mutex::new(Default::default()),
            introspect_fault: Mutex::new(KeysFault::None),
            token_fault: Mutex::new(KeysFault::None),
            introspections: AtomicUsize::new(0),
            proofs: Mutex::new(Default::default()),
        });
        let stop = server::spawn(listener, server::router(Arc::clone(&state), &base));
        tracing::debug!(%issuer, "mock Okta started");
        Ok(MockOkta::new(state, addr, stop))
    }
}

impl MockOkta {
    /// Starts a mock with the defaults (issuer `http://127.0.0.1:{port}/oauth2/default`, client ID
    /// [`DEFAULT_CLIENT_ID`], audience = client ID, two published keys: the signing one and the
    /// next one, the web app [`WebApp::default`]).
    ///
    /// # Errors
    /// [`MockError::Bind`] if no loopback port can be bound, [`MockError::KeyGeneration`] if no
    /// key can be generated.
    pub async fn start() -> Result<MockOkta, MockError> {
        MockOkta::builder().start().await
    }

    /// Settings before starting.
    pub fn builder() -> MockOktaBuilder {
        MockOktaBuilder::default()
    }
}
