//! Okta Web Application integrations: confidential clients (a backend that runs the
//! Authorization Code flow itself and authenticates at the token endpoint).

use std::fmt;

use serde_json::Value;

use crate::config::{DEFAULT_SPA_ORIGIN, DEFAULT_WEB_CLIENT_ID, DEFAULT_WEB_CLIENT_SECRET};

/// How a confidential client authenticates at `/v1/token`, `/v1/revoke` and `/v1/introspect`:
/// the app's `token_endpoint_auth_method` in Okta (`client_secret_jwt` is not served).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ClientAuthMethod {
    /// `client_secret_basic`: `Authorization: Basic base64(urlencode(client_id) ":"
    /// urlencode(client_secret))` (RFC 6749 2.3.1).
    ClientSecretBasic,
    /// `client_secret_post`: `client_id` and `client_secret` in the form.
    ClientSecretPost,
    /// `private_key_jwt` (RFC 7523): `client_assertion_type` =
    /// `urn:ietf:params:oauth:client-assertion-type:jwt-bearer` and a `client_assertion` signed
    /// with RS256 by the key whose public JWK is registered, checked as for service apps (`iss` =
    /// `sub` = client ID, `aud` = the endpoint's URL, `exp` at most an hour away, single-use
    /// `jti`).
    PrivateKeyJwt,
}

impl ClientAuthMethod {
    /// Okta's (and RFC 7591's) name: `client_secret_basic`, `client_secret_post`,
    /// `private_key_jwt`.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            ClientAuthMethod::ClientSecretBasic => "client_secret_basic",
            ClientAuthMethod::ClientSecretPost => "client_secret_post",
            ClientAuthMethod::PrivateKeyJwt => "private_key_jwt",
        }
    }
}

impl fmt::Display for ClientAuthMethod {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An Okta Web Application integration (OIDC, a confidential client): grant types
/// Authorization Code and Refresh Token (rotated, with the SPA's grace period), a client secret
/// and/or a registered public JWK for `private_key_jwt`, sign-in and sign-out redirect URIs.
///
/// Every mock has one ([`WebApp::default`]: client ID
/// [`DEFAULT_WEB_CLIENT_ID`](crate::DEFAULT_WEB_CLIENT_ID), secret
/// [`DEFAULT_WEB_CLIENT_SECRET`](crate::DEFAULT_WEB_CLIENT_SECRET), sign-in redirect URI
/// `http://localhost:8585/callback`, sign-out redirect URI `http://localhost:8585/`), readable
/// with [`MockOkta::web_app`](crate::MockOkta::web_app); [`MockOktaBuilder::web_app`]
/// replaces it and [`MockOkta::register_web_app`](crate::MockOkta::register_web_app) adds more.
///
/// Which client authentication the mock accepts: without
/// [`token_endpoint_auth_method`](Self::token_endpoint_auth_method), every method the app has
/// credentials for (a secret: `client_secret_basic` and `client_secret_post`; a JWK:
/// `private_key_jwt`); with it, that method only.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// use tower_okta_mock::{ClientAuthMethod, MockKey, MockOkta, WebApp};
///
/// let okta = MockOkta::start().await?;
/// // The default web app: what an example needs to run the code flow against the mock.
/// let app = okta.web_app();
/// assert_eq!(app.sign_in_redirect_uris(), ["http://localhost:8585/callback"]);
/// let (client_id, secret) = (app.client_id(), app.secret().unwrap());
/// # let _ = (client_id, secret);
///
/// // Another one, authenticating with private_key_jwt only.
/// let key = MockKey::generate()?;
/// okta.register_web_app(
///     WebApp::new("0oa-portal")
///         .public_jwk(key.jwk())
///         .token_endpoint_auth_method(ClientAuthMethod::PrivateKeyJwt)
///         .redirect_uris(["http://localhost:3000/callback"])
///         .post_logout_redirect_uris(["http://localhost:3000/"]),
/// )?;
/// # Ok(()) }
/// ```
///
/// [`MockOktaBuilder::web_app`]: crate::MockOktaBuilder::web_app
#[derive(Clone, PartialEq)]
#[must_use]
pub struct WebApp {
    client_id: String,
    client_secret: Option<String>,
    public_jwk: Option<Value>,
    redirect_uris: Vec<String>,
    post_logout_redirect_uris: Vec<String>,
    auth_method: Option<ClientAuthMethod>,
}

impl fmt::Debug for WebApp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WebApp")
            .field("client_id", &self.client_id)
            .field("client_secret", &self.client_secret.as_ref().map(|_| ".."))
            .field("public_jwk", &self.public_jwk.as_ref().map(|_| ".."))
            .field("redirect_uris", &self.redirect_uris)
            .field("post_logout_redirect_uris", &self.post_logout_redirect_uris)
            .field("auth_method", &self.auth_method)
            .finish()
    }
}

impl Default for WebApp {
    /// The web app every mock has: [`DEFAULT_WEB_CLIENT_ID`](crate::DEFAULT_WEB_CLIENT_ID)
    /// with the secret [`DEFAULT_WEB_CLIENT_SECRET`](crate::DEFAULT_WEB_CLIENT_SECRET) (a test
    /// value), and the redirect URIs of [`WebApp::new`].
    fn default() -> Self {
        WebApp::new(DEFAULT_WEB_CLIENT_ID).client_secret(DEFAULT_WEB_CLIENT_SECRET)
    }
}

impl WebApp {
    /// A web app with this client ID, no credentials yet (set a
    /// [`client_secret`](Self::client_secret) and/or a [`public_jwk`](Self::public_jwk)),
    /// the sign-in redirect URI `http://localhost:8585/callback` and the sign-out redirect URI
    /// `http://localhost:8585/`.
    pub fn new(client_id: impl Into<String>) -> WebApp {
        WebApp {
            client_id: client_id.into(),
            client_secret: None,
            public_jwk: None,
            redirect_uris: vec![format!("{DEFAULT_SPA_ORIGIN}/callback")],
            post_logout_redirect_uris: vec![format!("{DEFAULT_SPA_ORIGIN}/")],
            auth_method: None,
        }
    }

    /// The client secret (`client_secret_basic`, `client_secret_post`).
    pub fn client_secret(mut self, secret: impl Into<String>) -> Self {
        self.client_secret = Some(secret.into());
        self
    }

    /// The public JWK for `private_key_jwt` (RSA, with a `kid`, as registered in the Okta admin
    /// console; e.g. [`MockKey::jwk`](crate::MockKey::jwk)). Checked when the app is
    /// registered.
    pub fn public_jwk(mut self, jwk: Value) -> Self {
        self.public_jwk = Some(jwk);
        self
    }

    /// The sign-in redirect URIs: `/v1/authorize` accepts exactly these `redirect_uri`s for this
    /// client.
    pub fn redirect_uris<I, S>(mut self, uris: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.redirect_uris = uris.into_iter().map(Into::into).collect();
        self
    }

    /// The sign-out redirect URIs: `/v1/logout` with an ID token of this client accepts exactly
    /// these `post_logout_redirect_uri`s.
    pub fn post_logout_redirect_uris<I, S>(mut self, uris: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.post_logout_redirect_uris = uris.into_iter().map(Into::into).collect();
        self
    }

    /// Accepts this client authentication method only (the app's
    /// `token_endpoint_auth_method`; by default every method the app has credentials for).
    pub fn token_endpoint_auth_method(mut self, method: ClientAuthMethod) -> Self {
        self.auth_method = Some(method);
        self
    }

    /// The client ID.
    #[must_use]
    pub fn client_id(&self) -> &str {
        &self.client_id
    }

    /// The client secret, if the app has one.
    #[must_use]
    pub fn secret(&self) -> Option<&str> {
        self.client_secret.as_deref()
    }

    /// The registered public JWK, if the app has one.
    #[must_use]
    pub fn jwk(&self) -> Option<&Value> {
        self.public_jwk.as_ref()
    }

    /// The sign-in redirect URIs.
    #[must_use]
    pub fn sign_in_redirect_uris(&self) -> &[String] {
        &self.redirect_uris
    }

    /// The sign-out redirect URIs.
    #[must_use]
    pub fn sign_out_redirect_uris(&self) -> &[String] {
        &self.post_logout_redirect_uris
    }

    /// The client authentication methods the mock accepts from this app.
    #[must_use]
    pub fn auth_methods(&self) -> Vec<ClientAuthMethod> {
        [
            ClientAuthMethod::ClientSecretBasic,
            ClientAuthMethod::ClientSecretPost,
            ClientAuthMethod::PrivateKeyJwt,
        ]
        .into_iter()
        .filter(|method| self.accepts(*method))
        .collect()
    }

    /// True if the mock accepts `method` from this app: it has the credentials the method needs
    /// and [`token_endpoint_auth_method`](Self::token_endpoint_auth_method), if set, names it.
    #[must_use]
    pub fn accepts(&self, method: ClientAuthMethod) -> bool {
        let has_credentials = match method {
            ClientAuthMethod::ClientSecretBasic | ClientAuthMethod::ClientSecretPost => {
                self.client_secret.is_some()
            }
            ClientAuthMethod::PrivateKeyJwt => self.public_jwk.is_some(),
        };
        has_credentials && self.auth_method.is_none_or(|only| only == method)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepted_methods_follow_credentials_and_the_setting() {
        let app = WebApp::default();
        assert_eq!(
            app.auth_methods(),
            [
                ClientAuthMethod::ClientSecretBasic,
                ClientAuthMethod::ClientSecretPost
            ]
        );
        let strict = app
            .clone()
            .token_endpoint_auth_method(ClientAuthMethod::ClientSecretPost);
        assert_eq!(strict.auth_methods(), [ClientAuthMethod::ClientSecretPost]);
        let keyless = app.token_endpoint_auth_method(ClientAuthMethod::PrivateKeyJwt);
        assert!(keyless.auth_methods().is_empty());
        assert!(!format!("{keyless:?}").contains(DEFAULT_WEB_CLIENT_SECRET));
    }
}
