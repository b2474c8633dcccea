//! The handle of a running mock: its URLs, its keys, its faults, and minted tokens.

use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::sync::Arc;

use serde_json::Value;
use tokio::sync::oneshot;

use crate::apps::{App, ClientKey, ServiceApp, WebAppEntry};
use crate::dpop::{DpopKey, ProofBuilder};
use crate::error::MockError;
use crate::fault::KeysFault;
use crate::jwt;
use crate::keys::MockKey;
use crate::state::{lock, Shared};
use crate::token::TokenBuilder;
use crate::user::{AuthorizeOutcome, MockUser};
use crate::web_app::WebApp;

/// A running mock Okta custom authorization server; stops when dropped.
///
/// Start one with [`MockOkta::start`] or [`MockOkta::builder`].
#[derive(Debug)]
pub struct MockOkta {
    state: Arc<Shared>,
    addr: SocketAddr,
    /// Dropped with the handle, which stops the server.
    _stop: oneshot::Sender<()>,
}

impl MockOkta {
    pub(crate) fn new(state: Arc<Shared>, addr: SocketAddr, stop: oneshot::Sender<()>) -> Self {
        MockOkta {
            state,
            addr,
            _stop: stop,
        }
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
        &self.state.config.redirect_uris
    }

    /// The trusted origins for CORS.
    #[must_use]
    pub fn allowed_origins(&self) -> &[String] {
        &self.state.config.allowed_origins
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

    /// The introspection endpoint, `{issuer}/v1/introspect`.
    #[must_use]
    pub fn introspection_endpoint(&self) -> String {
        format!("{}/v1/introspect", self.state.issuer)
    }

    /// The revocation endpoint, `{issuer}/v1/revoke`.
    #[must_use]
    pub fn revocation_endpoint(&self) -> String {
        format!("{}/v1/revoke", self.state.issuer)
    }

    /// The end-session (RP-initiated logout) endpoint, `{issuer}/v1/logout`.
    #[must_use]
    pub fn end_session_endpoint(&self) -> String {
        format!("{}/v1/logout", self.state.issuer)
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

    /// How many times the introspection endpoint was called.
    #[must_use]
    pub fn introspection_count(&self) -> usize {
        self.state.introspections.load(Ordering::SeqCst)
    }

    /// The key that signs minted tokens.
    #[must_use]
    pub fn signing_key(&self) -> MockKey {
        self.state.signing_key()
    }

    /// The key announced to sign next: published in the JWKS, signing from the next
    /// [`rotate_key`](Self::rotate_key) on. `None` when the mock was built with
    /// [`publish_next_key(false)`](crate::MockOktaBuilder::publish_next_key).
    #[must_use]
    pub fn next_key(&self) -> Option<MockKey> {
        lock(&self.state.keys).next.clone()
    }

    /// A scheduled rotation, as Okta does it about four times a year: the next key (published
    /// weeks before, so verifiers already have it) signs from now on, and a freshly generated key
    /// is published as the next one. The key that signed so far stays published (Okta keeps it
    /// for a while, so tokens it signed still verify) until
    /// [`unpublish_key`](Self::unpublish_key) removes it. Returns the key that signs now.
    ///
    /// Built with [`publish_next_key(false)`](crate::MockOktaBuilder::publish_next_key), the
    /// fresh key is published and signs at once (a kid verifiers have never seen).
    ///
    /// # Errors
    /// [`MockError::KeyGeneration`] if the fresh key cannot be generated.
    pub fn rotate_key(&self) -> Result<MockKey, MockError> {
        let fresh = MockKey::generate()?;
        Ok(lock(&self.state.keys).rotate(fresh, false))
    }

    /// An emergency rotation (a key compromised): the signing key leaves the JWKS at once (tokens
    /// it signed stop verifying, and introspection reports them inactive), the next key signs from
    /// now on and a fresh next key is published. Returns the key that signs now.
    ///
    /// # Errors
    /// [`MockError::KeyGeneration`] if the fresh key cannot be generated.
    pub fn emergency_rotate(&self) -> Result<MockKey, MockError> {
        let fresh = MockKey::generate()?;
        Ok(lock(&self.state.keys).rotate(fresh, true))
    }

    /// Publishes `key` in the JWKS (without signing with it).
    pub fn publish_key(&self, key: MockKey) {
        lock(&self.state.keys).published.push(key);
    }

    /// Removes the key with this `kid` from the JWKS (it may still sign, to test removal). The
    /// next key, removed, is published again by the rotation that promotes it.
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
        *lock(&self.state.keys_fault) = fault;
    }

    /// The `Cache-Control` of the keys endpoint (default
    /// [`OKTA_KEYS_CACHE_CONTROL`](crate::OKTA_KEYS_CACHE_CONTROL)).
    pub fn set_keys_cache_control(&self, value: impl Into<String>) {
        *lock(&self.state.cache_control) = value.into();
    }

    /// Makes the introspection endpoint misbehave like [`set_keys_fault`](Self::set_keys_fault)
    /// does for the keys endpoint (`KeysFault::Status(429)` is Okta's rate limit).
    pub fn set_introspect_fault(&self, fault: KeysFault) {
        *lock(&self.state.introspect_fault) = fault;
    }

    /// Makes the token endpoint misbehave like [`set_keys_fault`](Self::set_keys_fault) does for
    /// the keys endpoint, for every grant (`KeysFault::Status(429)` is Okta's rate limit, with
    /// Okta's `E0000047` error body and `X-Rate-Limit-*` headers).
    pub fn set_token_fault(&self, fault: KeysFault) {
        *lock(&self.state.token_fault) = fault;
    }

    /// Registers (or replaces) a service app (a machine client using the client-credentials
    /// grant with `private_key_jwt`): its client ID, its public JWK (RSA, with a `kid`, as
    /// registered in the Okta admin console; the public half of the key the client signs its
    /// assertions with) and the custom scopes the access policy grants it. A web app registered
    /// with [`register_web_app`](Self::register_web_app) under this client ID is replaced.
    ///
    /// # Errors
    /// [`MockError::JwkNotRsa`], [`MockError::JwkWithoutKid`] or [`MockError::JwkComponents`]
    /// if the JWK is not an RSA public key with a `kid`; [`MockError::ClientIdInUse`] if the
    /// client ID is the SPA app's or the mock's own web app's ([`web_app`](Self::web_app)).
    pub fn register_service_app(
        &self,
        client_id: &str,
        public_jwk: &Value,
        scopes: &[&str],
    ) -> Result<(), MockError> {
        if client_id == self.state.client_id || client_id == self.state.web_client_id {
            return Err(MockError::ClientIdInUse(client_id.to_owned()));
        }
        let app = ServiceApp {
            key: ClientKey::from_jwk(public_jwk)?,
            scopes: scopes.iter().map(|s| (*s).to_owned()).collect(),
        };
        lock(&self.state.apps).insert(client_id.to_owned(), App::Service(app));
        Ok(())
    }

    /// Registers (or replaces) a Web Application integration (a confidential client running
    /// the Authorization Code flow; see [`WebApp`]). A service app with this client ID is
    /// replaced; replacing the mock's own web app changes what [`web_app`](Self::web_app)
    /// returns.
    ///
    /// # Errors
    /// [`MockError::ClientIdInUse`] if the client ID is the SPA app's,
    /// [`MockError::WebAppCredentials`] if the app has no credentials for the client
    /// authentication it may use, [`MockError::JwkNotRsa`], [`MockError::JwkWithoutKid`] or
    /// [`MockError::JwkComponents`] if its JWK is not an RSA public key with a `kid`.
    pub fn register_web_app(&self, app: WebApp) -> Result<(), MockError> {
        if app.client_id() == self.state.client_id {
            return Err(MockError::ClientIdInUse(app.client_id().to_owned()));
        }
        let client_id = app.client_id().to_owned();
        let entry = WebAppEntry::new(app)?;
        lock(&self.state.apps).insert(client_id, App::Web(entry));
        Ok(())
    }

    /// The mock's Web Application integration: [`WebApp::default`] (client ID
    /// [`DEFAULT_WEB_CLIENT_ID`](crate::DEFAULT_WEB_CLIENT_ID), secret
    /// [`DEFAULT_WEB_CLIENT_SECRET`](crate::DEFAULT_WEB_CLIENT_SECRET)) unless
    /// [`MockOktaBuilder::web_app`](crate::MockOktaBuilder::web_app) set another. Its client
    /// ID, secret and redirect URIs are what a backend needs to sign in against the mock.
    pub fn web_app(&self) -> WebApp {
        self.state
            .web_app(&self.state.web_client_id)
            .expect("the mock's web app is registered at start and only replaced by a web app")
    }

    /// What `/v1/authorize` answers to valid requests from now on, for every client (default
    /// [`AuthorizeOutcome::Approve`]); [`AuthorizeOutcome::AccessDenied`] sends
    /// `error=access_denied` back to the redirect URI.
    pub fn set_authorize_outcome(&self, outcome: AuthorizeOutcome) {
        *lock(&self.state.authorize_outcome) = outcome;
    }

    /// How many sign-outs `/v1/logout` accepted (a valid `id_token_hint` and, if sent, a
    /// registered `post_logout_redirect_uri`). The mock keeps no Okta session: the next
    /// `/v1/authorize` signs the user in again without asking, as it always does.
    #[must_use]
    pub fn logout_count(&self) -> usize {
        self.state.logouts.load(Ordering::SeqCst)
    }

    /// Revokes an access token the mock issued: introspection answers `active: false` for it
    /// from now on (local verification still accepts it until `exp`). False if the token is not
    /// one of the mock's.
    pub fn revoke(&self, access_token: &str) -> bool {
        self.state.revoke_access_token(access_token)
    }

    /// True if `access_token` is one the mock issued and it was revoked: by
    /// [`revoke`](Self::revoke), at `/v1/revoke`, or with its refresh-token family (a refresh
    /// token reused after the grace period, an authorization code replayed). False for a token
    /// the mock cannot check (not one of its own, or signed by a key no longer published).
    #[must_use]
    pub fn is_revoked(&self, access_token: &str) -> bool {
        self.state.is_token_revoked(access_token)
    }

    /// The JWKS document the keys endpoint serves now.
    #[must_use]
    pub fn jwks(&self) -> Value {
        self.state.jwks()
    }

    /// A valid access token for the test user, signed with the current key, valid for an hour
    /// (by the mock's clock).
    #[must_use]
    pub fn access_token(&self) -> String {
        self.access_token_builder().build()
    }

    /// A valid access token for the test user bound to a DPoP key (RFC 9449): like
    /// [`access_token`](Self::access_token), with `cnf` = `{"jkt": key.thumbprint()}`. A
    /// resource server accepts it only as `Authorization: DPoP` with a proof signed by `key`.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use tower_okta_mock::{DpopKey, MockOkta};
    ///
    /// let okta = MockOkta::start().await?;
    /// let key = DpopKey::es256()?;
    /// let token = okta.dpop_access_token(&key);
    /// let claims: serde_json::Value = jsonwebtoken::dangerous::insecure_decode_claims(&token)?;
    /// assert_eq!(claims["cnf"]["jkt"], key.thumbprint());
    ///
    /// // The request to the API carries the token and a proof naming it.
    /// let url = "http://127.0.0.1:3000/api/me";
    /// let proof = okta.dpop_proof(&key, "GET", url).access_token(&token).build();
    /// let request = reqwest::Client::new()
    ///     .get(url)
    ///     .header("Authorization", format!("DPoP {token}"))
    ///     .header("DPoP", proof);
    /// # let _ = request;
    /// # Ok(()) }
    /// ```
    #[must_use]
    pub fn dpop_access_token(&self, key: &DpopKey) -> String {
        self.access_token_builder().dpop_bound(key).build()
    }

    /// A DPoP proof by `key` for a request with this `method` and `url`, dated by the mock's
    /// clock (`iat`); the same as [`DpopKey::proof`] otherwise.
    pub fn dpop_proof(&self, key: &DpopKey, method: &str, url: &str) -> ProofBuilder {
        key.proof(method, url).iat(self.state.now_secs())
    }

    /// A fresh `DPoP-Nonce` the token endpoint accepts for five minutes of the mock clock (the
    /// value it sends with `use_dpop_nonce`), for tests that skip the challenge round trip.
    #[must_use]
    pub fn dpop_nonce(&self) -> String {
        lock(&self.state.proofs).issue_nonce(self.state.now())
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
        jwt::sign_compact(
            &self.signing_key(),
            header_json.as_bytes(),
            claims_json.as_bytes(),
        )
    }
}
