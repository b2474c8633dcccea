//! An embedded mock Okta custom authorization server (feature `mock`).
//!
//! [`MockOkta::start`] binds a real HTTP server on `127.0.0.1` with an ephemeral port. Like an
//! Okta custom authorization server it serves, under the issuer
//! `http://127.0.0.1:{port}/oauth2/default`:
//! - `/.well-known/openid-configuration` and `/.well-known/oauth-authorization-server`;
//! - `/v1/keys`: the JWKS (RSA 2048 keys with `kid`, `use: sig`, `alg: RS256`), with Okta's very
//!   long `Cache-Control: max-age`;
//! - the browser flows of an SPA app integration (a public client), enough for
//!   `@okta/okta-auth-js` to sign in against it: `/v1/authorize` (Authorization Code with PKCE
//!   S256, required; Implicit `id_token token` with `nonce`; `response_mode` `query` or
//!   `fragment`; sign-in auto-approved for the [`MockUser`]), `/v1/token` (`authorization_code`
//!   with the code verifier checked, codes single-use and valid 60 s; `refresh_token` with
//!   rotation when `offline_access` was granted: a spent refresh token is refused and its reuse
//!   revokes the one that replaced it), `/v1/userinfo`, `/v1/revoke` and `/v1/logout`. Redirect
//!   URIs must match a registered one exactly (default `http://localhost:8585/callback` and
//!   `/silent-callback`; [`MockOktaBuilder::spa_origin`]); an unknown one gets a `400` page, never
//!   a redirect. The endpoints a browser calls with `fetch` (discovery, keys, token, userinfo,
//!   revoke) answer CORS preflights and carry `Access-Control-Allow-Origin` for the trusted
//!   origins (default `http://localhost:8585`).
//!
//! It mints Okta-shaped access and ID tokens (claims as Okta issues them: `ver`, `jti`, `cid`,
//! `uid`, `scp`... for access tokens; `nonce`, `amr`, `idp`... for ID tokens) and lets tests change
//! any claim or header, rotate keys, publish odd keys and inject faults into the keys endpoint.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use tower_okta::mock::MockOkta;
//!
//! let okta = MockOkta::start().await?;
//! let verifier = okta.verifier_builder().build()?;
//! let claims = verifier.verify_access_token(&okta.access_token()).await?;
//! assert_eq!(claims.iss, okta.issuer());
//! assert_eq!(okta.key_fetch_count(), 1);
//! # Ok(()) }
//! ```

mod key;
mod oauth;
mod server;
mod service_app;
mod token;

use std::io;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use serde_json::Value;

pub use key::MockKey;
pub use oauth::MockUser;
pub use token::TokenBuilder;

use crate::builder::VerifierBuilder;

/// The default client ID of the mock SPA app.
pub const DEFAULT_CLIENT_ID: &str = "0oa1mockspa2client3id";
/// The default origin of the SPA: its sign-in redirect URIs are `{origin}/callback` and
/// `{origin}/silent-callback`, its sign-out redirect URIs `{origin}` and `{origin}/`, and it is
/// the trusted origin for CORS.
pub const DEFAULT_SPA_ORIGIN: &str = "http://localhost:8585";
/// Okta's `Cache-Control` on the keys endpoint: weeks.
pub const OKTA_KEYS_CACHE_CONTROL: &str = "max-age=3317760, must-revalidate";

/// What the keys endpoint does instead of answering normally.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum KeysFault {
    /// Answer normally.
    #[default]
    None,
    /// Answer with this HTTP status and an Okta-style error body.
    Status(u16),
    /// Wait this long, then answer normally.
    Delay(Duration),
    /// Answer 200 with this body instead of the JWKS.
    Body(String),
    /// Close the connection without answering.
    CloseConnection,
}

#[derive(Debug)]
struct Keys {
    published: Vec<MockKey>,
    signing: MockKey,
}

#[derive(Debug)]
pub(crate) struct State {
    issuer: String,
    client_id: String,
    audience: String,
    user: MockUser,
    /// The org's Okta identity provider ID (`idp` in ID tokens).
    idp: String,
    oauth: oauth::OAuthState,
    keys: Mutex<Keys>,
    extra_jwks: Mutex<Vec<Value>>,
    fault: Mutex<KeysFault>,
    cache_control: Mutex<String>,
    key_fetches: AtomicUsize,
    discovery_fetches: AtomicUsize,
    service_apps: service_app::ServiceApps,
    introspect_fault: Mutex<KeysFault>,
    introspections: AtomicUsize,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Settings of a [`MockOkta`] before it starts.
#[derive(Debug, Clone)]
#[must_use]
pub struct MockOktaBuilder {
    addr: SocketAddr,
    auth_server_id: String,
    client_id: String,
    audience: Option<String>,
    user: Option<MockUser>,
    oauth: oauth::OAuthConfig,
}

impl Default for MockOktaBuilder {
    fn default() -> Self {
        MockOktaBuilder {
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            auth_server_id: "default".to_owned(),
            client_id: DEFAULT_CLIENT_ID.to_owned(),
            audience: None,
            user: None,
            oauth: oauth::OAuthConfig::for_origin(DEFAULT_SPA_ORIGIN),
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

    /// The authorization server's Audience (default: the client ID, the SPA setup).
    pub fn audience(mut self, audience: impl Into<String>) -> Self {
        self.audience = Some(audience.into());
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
        let fresh = oauth::OAuthConfig::for_origin(origin);
        self.oauth.redirect_uris = fresh.redirect_uris;
        self.oauth.post_logout_redirect_uris = fresh.post_logout_redirect_uris;
        self.oauth.allowed_origins = fresh.allowed_origins;
        self
    }

    /// The app's sign-in redirect URIs: `/v1/authorize` accepts exactly these `redirect_uri`s.
    pub fn redirect_uris<I, S>(mut self, uris: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.oauth.redirect_uris = uris.into_iter().map(Into::into).collect();
        self
    }

    /// The app's sign-out redirect URIs: `/v1/logout` accepts exactly these
    /// `post_logout_redirect_uri`s.
    pub fn post_logout_redirect_uris<I, S>(mut self, uris: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.oauth.post_logout_redirect_uris = uris.into_iter().map(Into::into).collect();
        self
    }

    /// The trusted origins (Okta's Security > API > Trusted Origins, CORS): browsers on these
    /// origins may call discovery, keys, token, userinfo and revoke.
    pub fn allowed_origins<I, S>(mut self, origins: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.oauth.allowed_origins = origins.into_iter().map(Into::into).collect();
        self
    }

    /// Custom scopes of the authorization server, grantable at `/v1/authorize` next to `openid`,
    /// `profile`, `email`, `address`, `phone` and `offline_access`.
    pub fn custom_scopes<I, S>(mut self, scopes: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.oauth.custom_scopes = scopes.into_iter().map(Into::into).collect();
        self
    }

    /// The lifetime of the access tokens `/v1/authorize` and `/v1/token` issue (default one hour,
    /// Okta's default; `expires_in` says the same). Short lifetimes let a browser test see an
    /// expired session without waiting. Tokens from [`MockOkta::access_token`] keep one hour.
    pub fn access_token_lifetime(mut self, lifetime: Duration) -> Self {
        self.oauth.access_token_lifetime = lifetime;
        self
    }

    /// Generates a signing key, binds the port and starts serving.
    ///
    /// # Errors
    /// If the address cannot be bound or a key cannot be generated.
    pub async fn start(self) -> io::Result<MockOkta> {
        let listener = tokio::net::TcpListener::bind(self.addr).await?;
        let addr = listener.local_addr()?;
        let issuer = format!("http://{addr}/oauth2/{}", self.auth_server_id);
        let key = MockKey::generate()?;
        let state = Arc::new(State {
            issuer: issuer.clone(),
            audience: self.audience.unwrap_or_else(|| self.client_id.clone()),
            client_id: self.client_id,
            user: self.user.unwrap_or_default(),
            idp: format!("00o{}", token::random_id(17)),
            oauth: oauth::OAuthState::new(self.oauth),
            keys: Mutex::new(Keys {
                published: vec![key.clone()],
                signing: key,
            }),
            extra_jwks: Mutex::new(Vec::new()),
            fault: Mutex::new(KeysFault::None),
            cache_control: Mutex::new(OKTA_KEYS_CACHE_CONTROL.to_owned()),
            key_fetches: AtomicUsize::new(0),
            discovery_fetches: AtomicUsize::new(0),
            service_apps: service_app::ServiceApps::default(),
            introspect_fault: Mutex::new(KeysFault::None),
            introspections: AtomicUsize::new(0),
        });
        let task = tokio::spawn(server::serve(
            listener,
            Arc::clone(&state),
            format!("/oauth2/{}", self.auth_server_id),
        ));
        tracing::debug!(%issuer, "mock Okta started");
        Ok(MockOkta { state, addr, task })
    }
}

/// Why [`verifier_from_env_or_mock`] failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SetupError {
    /// The environment's Okta settings are invalid.
    #[error(transparent)]
    Config(#[from] crate::ConfigError),
    /// The mock Okta could not start.
    #[error("the mock Okta could not start: {0}")]
    Mock(#[from] io::Error),
}

/// The examples' contract (a verifier for your Okta org, or the mock when none is configured):
/// with `OKTA_ISSUER` set, a verifier from `OKTA_ISSUER`, `OKTA_CLIENT_ID` and `OKTA_AUDIENCE`
/// ([`Verifier::from_env`](crate::Verifier::from_env)) and no mock; otherwise a started mock Okta
/// and a verifier for it. Keep the mock alive as long as the verifier is used.
///
/// ```no_run
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let (verifier, mock) = tower_okta::mock::verifier_from_env_or_mock().await?;
/// if let Some(okta) = &mock {
///     println!("mock Okta at {}; try this token: {}", okta.issuer(), okta.access_token());
/// }
/// # Ok(()) }
/// ```
///
/// # Errors
/// The [`ConfigError`](crate::ConfigError) of the environment's settings, or why the mock could
/// not start.
pub async fn verifier_from_env_or_mock() -> Result<(crate::Verifier, Option<MockOkta>), SetupError>
{
    if std::env::var("OKTA_ISSUER").is_ok_and(|v| !v.trim().is_empty()) {
        return Ok((crate::Verifier::from_env()?, None));
    }
    let okta = MockOkta::start().await?;
    let verifier = okta.verifier_builder().build()?;
    Ok((verifier, Some(okta)))
}

/// A running mock Okta custom authorization server; stops when dropped.
#[derive(Debug)]
pub struct MockOkta {
    state: Arc<State>,
    addr: SocketAddr,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for MockOkta {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl MockOkta {
    /// Starts a mock with the defaults (issuer `http://127.0.0.1:{port}/oauth2/default`, client ID
    /// [`DEFAULT_CLIENT_ID`], audience = client ID).
    ///
    /// # Errors
    /// If no loopback port can be bound.
    pub async fn start() -> io::Result<MockOkta> {
        MockOkta::builder().start().await
    }

    /// Settings before starting.
    pub fn builder() -> MockOktaBuilder {
        MockOktaBuilder::default()
    }

    /// The address served.
    #[must_use]
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The issuer, `http://127.0.0.1:{port}/oauth2/{id}`.
    #[must_use]
    pub fn issuer(&self) -> &str {
        &self.state.issuer
    }

    /// The SPA app's client ID.
    #[must_use]
    pub fn client_id(&self) -> &str {
        &self.state.client_id
    }

    /// The access-token audience.
    #[must_use]
    pub fn audience(&self) -> &str {
        &self.state.audience
    }

    /// The user sign-ins are approved for, and minted tokens name.
    #[must_use]
    pub fn user(&self) -> &MockUser {
        &self.state.user
    }

    /// The registered sign-in redirect URIs.
    #[must_use]
    pub fn redirect_uris(&self) -> &[String] {
        &self.state.oauth.config.redirect_uris
    }

    /// The trusted origins for CORS.
    #[must_use]
    pub fn allowed_origins(&self) -> &[String] {
        &self.state.oauth.config.allowed_origins
    }

    /// The authorize endpoint, `{issuer}/v1/authorize`.
    #[must_use]
    pub fn authorize_endpoint(&self) -> String {
        format!("{}/v1/authorize", self.state.issuer)
    }

    /// The token endpoint, `{issuer}/v1/token`.
    #[must_use]
    pub fn token_endpoint(&self) -> String {
        format!("{}/v1/token", self.state.issuer)
    }

    /// The JWKS URL, `{issuer}/v1/keys`.
    #[must_use]
    pub fn jwks_uri(&self) -> String {
        format!("{}/v1/keys", self.state.issuer)
    }

    /// A verifier builder preset with this mock's issuer, client ID and audience.
    pub fn verifier_builder(&self) -> VerifierBuilder {
        let builder = VerifierBuilder::new()
            .issuer(self.issuer())
            .client_id(self.client_id());
        if self.audience() == self.client_id() {
            builder
        } else {
            builder.audience(self.audience())
        }
    }

    /// How many times the keys endpoint was requested.
    #[must_use]
    pub fn key_fetch_count(&self) -> usize {
        self.state.key_fetches.load(Ordering::SeqCst)
    }

    /// How many times the discovery document was requested.
    #[must_use]
    pub fn discovery_fetch_count(&self) -> usize {
        self.state.discovery_fetches.load(Ordering::SeqCst)
    }

    /// The key that signs minted tokens.
    #[must_use]
    pub fn signing_key(&self) -> MockKey {
        lock(&self.state.keys).signing.clone()
    }

    /// Generates a new key, publishes it next to the old ones and signs with it from now on
    /// (what Okta does at a rotation). Returns the new key.
    ///
    /// # Errors
    /// If the key cannot be generated.
    pub fn rotate_key(&self) -> io::Result<MockKey> {
        let key = MockKey::generate()?;
        let mut keys = lock(&self.state.keys);
        keys.published.push(key.clone());
        keys.signing = key.clone();
        Ok(key)
    }

    /// Publishes `key` in the JWKS (without signing with it).
    pub fn publish_key(&self, key: MockKey) {
        lock(&self.state.keys).published.push(key);
    }

    /// Removes the key with this `kid` from the JWKS (it may still sign, to test removal).
    pub fn unpublish_key(&self, kid: &str) {
        lock(&self.state.keys).published.retain(|k| k.kid() != kid);
    }

    /// Signs minted tokens with `key` from now on (published or not).
    pub fn set_signing_key(&self, key: MockKey) {
        lock(&self.state.keys).signing = key;
    }

    /// Extra raw JWK objects appended to the JWKS (odd keys for attack tests).
    pub fn set_extra_jwks(&self, jwks: Vec<Value>) {
        *lock(&self.state.extra_jwks) = jwks;
    }

    /// Makes the keys endpoint misbehave (or behave again with [`KeysFault::None`]).
    pub fn set_keys_fault(&self, fault: KeysFault) {
        *lock(&self.state.fault) = fault;
    }

    /// The `Cache-Control` of the keys endpoint (default [`OKTA_KEYS_CACHE_CONTROL`]).
    pub fn set_keys_cache_control(&self, value: impl Into<String>) {
        *lock(&self.state.cache_control) = value.into();
    }

    /// Registers a service app (a machine client using the client-credentials grant with
    /// `private_key_jwt`): its client ID, its public JWK (with `kid`, as registered in the Okta
    /// admin console, e.g. [`SigningKey::public_jwk`](crate::client::SigningKey::public_jwk)) and
    /// the custom scopes the access policy grants it.
    ///
    /// # Errors
    /// If the JWK is not an RSA public key with a `kid`.
    pub fn register_service_app(
        &self,
        client_id: &str,
        public_jwk: &Value,
        scopes: &[&str],
    ) -> Result<(), &'static str> {
        self.state
            .service_apps
            .register(client_id, public_jwk, scopes)
    }

    /// The introspection endpoint, `{issuer}/v1/introspect`.
    #[must_use]
    pub fn introspection_endpoint(&self) -> String {
        format!("{}/v1/introspect", self.state.issuer)
    }

    /// How many times the introspection endpoint was called.
    #[must_use]
    pub fn introspection_count(&self) -> usize {
        self.state.introspections.load(Ordering::SeqCst)
    }

    /// Makes the introspection endpoint misbehave like [`set_keys_fault`](Self::set_keys_fault)
    /// does for the keys endpoint (`KeysFault::Status(429)` is Okta's rate limit).
    pub fn set_introspect_fault(&self, fault: KeysFault) {
        *lock(&self.state.introspect_fault) = fault;
    }

    /// Revokes an access token the mock issued: introspection answers `active: false` for it
    /// from now on (local verification still accepts it until `exp`). False if the token is not
    /// one of the mock's.
    pub fn revoke(&self, access_token: &str) -> bool {
        oauth::revoke_access_token(&self.state, access_token)
    }

    /// The JWKS document the keys endpoint serves now.
    #[must_use]
    pub fn jwks(&self) -> Value {
        self.state.jwks()
    }

    /// A valid access token for the test user, signed with the current key, valid for an hour.
    #[must_use]
    pub fn access_token(&self) -> String {
        self.access_token_builder().build()
    }

    /// A valid ID token for the test user; `nonce` as sent to `/authorize` in the implicit flow.
    #[must_use]
    pub fn id_token(&self, nonce: Option<&str>) -> String {
        let mut builder = self.id_token_builder();
        if let Some(nonce) = nonce {
            builder = builder.claim("nonce", nonce);
        }
        builder.build()
    }

    /// A builder for an access token, preset with Okta's claims for the test user.
    pub fn access_token_builder(&self) -> TokenBuilder {
        TokenBuilder::access(&self.state, self.signing_key())
    }

    /// A builder for an ID token, preset with Okta's claims for the test user.
    pub fn id_token_builder(&self) -> TokenBuilder {
        TokenBuilder::id(&self.state, self.signing_key())
    }

    /// Signs arbitrary header and claims JSON text with the current key (for tests of malformed
    /// JSON such as duplicate keys). The texts are used byte for byte.
    #[must_use]
    pub fn sign_raw(&self, header_json: &str, claims_json: &str) -> String {
        token::sign_compact(
            &self.signing_key(),
            header_json.as_bytes(),
            claims_json.as_bytes(),
        )
    }
}

impl State {
    fn jwks(&self) -> Value {
        let mut keys: Vec<Value> = lock(&self.keys)
            .published
            .iter()
            .map(MockKey::jwk)
            .collect();
        keys.extend(lock(&self.extra_jwks).iter().cloned());
        serde_json::json!({ "keys": keys })
    }

    fn discovery(&self) -> Value {
        let i = &self.issuer;
        let mut scopes: Vec<&str> = vec![
            "openid",
            "profile",
            "email",
            "address",
            "phone",
            "offline_access",
        ];
        scopes.extend(self.oauth.config.custom_scopes.iter().map(String::as_str));
        serde_json::json!({
            "issuer": i,
            "authorization_endpoint": format!("{i}/v1/authorize"),
            "token_endpoint": format!("{i}/v1/token"),
            "userinfo_endpoint": format!("{i}/v1/userinfo"),
            "registration_endpoint": format!("{i}/v1/clients"),
            "jwks_uri": format!("{i}/v1/keys"),
            "response_types_supported": ["code", "id_token", "code id_token", "code token",
                "id_token token", "code id_token token"],
            "response_modes_supported": ["query", "fragment", "form_post", "okta_post_message"],
            "grant_types_supported": ["authorization_code", "implicit", "refresh_token",
                "password", "client_credentials"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "scopes_supported": scopes,
            "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post",
                "client_secret_jwt", "private_key_jwt", "none"],
            "claims_supported": ["ver", "jti", "iss", "aud", "iat", "exp", "cid", "uid", "scp",
                "sub", "name", "email", "preferred_username", "nonce", "auth_time", "at_hash",
                "amr", "idp"],
            "code_challenge_methods_supported": ["S256"],
            "introspection_endpoint": format!("{i}/v1/introspect"),
            "revocation_endpoint": format!("{i}/v1/revoke"),
            "end_session_endpoint": format!("{i}/v1/logout"),
        })
    }
}
