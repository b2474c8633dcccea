//! The confidential clients registered on a mock, by client ID: service apps (client
//! credentials with `private_key_jwt`) and web apps (Authorization Code with a client secret or
//! `private_key_jwt`). A client ID names one app: registering it again replaces it.

use std::fmt;

use base64::Engine;
use jsonwebtoken::DecodingKey;
use serde_json::Value;

use crate::error::MockError;
use crate::util::B64;
use crate::web_app::{ClientAuthMethod, WebApp};

/// A registered public key for `private_key_jwt`.
#[derive(Clone)]
pub(crate) struct ClientKey {
    pub(crate) kid: String,
    pub(crate) key: DecodingKey,
}

impl fmt::Debug for ClientKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientKey")
            .field("kid", &self.kid)
            .finish_non_exhaustive()
    }
}

impl ClientKey {
    /// The key of a public JWK: RSA, with a `kid` and base64url `n` and `e`.
    pub(crate) fn from_jwk(jwk: &Value) -> Result<ClientKey, MockError> {
        let field = |name: &str| jwk.get(name).and_then(Value::as_str);
        if field("kty") != Some("RSA") {
            return Err(MockError::JwkNotRsa);
        }
        let kid = field("kid").ok_or(MockError::JwkWithoutKid)?.to_owned();
        let component = |name: &str| {
            field(name)
                .and_then(|v| B64.decode(v).ok())
                .filter(|v| !v.is_empty())
                .ok_or(MockError::JwkComponents)
        };
        let (n, e) = (component("n")?, component("e")?);
        Ok(ClientKey {
            kid,
            key: DecodingKey::from_rsa_raw_components(&n, &e),
        })
    }
}

/// A registered service app (client credentials with `private_key_jwt`).
#[derive(Debug, Clone)]
pub(crate) struct ServiceApp {
    pub(crate) key: ClientKey,
    pub(crate) scopes: Vec<String>,
}

/// A registered web app: its settings and its checked key.
#[derive(Debug, Clone)]
pub(crate) struct WebAppEntry {
    pub(crate) app: WebApp,
    pub(crate) key: Option<ClientKey>,
}

impl WebAppEntry {
    /// Checks the app's credentials: its JWK (if any) is an RSA public key with a `kid`, and it
    /// has what at least one client authentication method needs.
    pub(crate) fn new(app: WebApp) -> Result<WebAppEntry, MockError> {
        let key = app.jwk().map(ClientKey::from_jwk).transpose()?;
        if app.auth_methods().is_empty() {
            return Err(MockError::WebAppCredentials(app.client_id().to_owned()));
        }
        Ok(WebAppEntry { app, key })
    }

    /// The key that checks this app's client assertions, if it may use `private_key_jwt`.
    pub(crate) fn assertion_key(&self) -> Option<&ClientKey> {
        self.key
            .as_ref()
            .filter(|_| self.app.accepts(ClientAuthMethod::PrivateKeyJwt))
    }
}

/// A registered confidential client.
#[derive(Debug, Clone)]
pub(crate) enum App {
    Service(ServiceApp),
    Web(WebAppEntry),
}
