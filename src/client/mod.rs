//! Machine clients: access tokens for an Okta **service app** with the client-credentials grant
//! and `private_key_jwt` client authentication (RFC 7523), and a tower layer that adds them to
//! outgoing requests.
//!
//! In Okta, a service app authenticates with a key pair: the admin registers the public JWK
//! (with a `kid`) on the app, grants it custom scopes in the custom authorization server's access
//! policy, and the client signs a short-lived assertion with the private key for each token
//! request to `{issuer}/v1/token`. [`ClientCredentials`] does that, caches the access token until
//! shortly before it expires, and refreshes it single-flight.
//!
//! ```no_run
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! use tower_okta::client::ClientCredentials;
//!
//! let client = ClientCredentials::builder()
//!     .issuer("https://dev-123.okta.com/oauth2/default")
//!     .client_id("0oa-service-app")
//!     .private_key_pem_file("service-app.pem", "my-key-id")?
//!     .scopes(["orders:read"])
//!     .build()?;
//! let token = client.token().await?;
//! let orders = reqwest::Client::new()
//!     .get("https://api.example.com/orders")
//!     .bearer_auth(token.secret())
//!     .send()
//!     .await?;
//! # Ok(()) }
//! ```

mod add_bearer;
mod error;

use std::fmt;
use std::path::Path;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use reqwest::Url;
use serde::Deserialize;

pub use self::add_bearer::{AddBearer, AddBearerError, AddBearerLayer};
pub use self::error::{ClientConfigError, ClientError, OAuthErrorKind};
pub use crate::signing::{SigningKey, SigningKeyError};

use crate::clock::{Clock, SystemClock};
use crate::net::{
    check_secure_url, post_form, rate_limit_wait, read_capped, ReadError, MAX_RESPONSE_BYTES,
};
use crate::signing::JWT_BEARER;

/// The error of a refused token request: an OAuth error (RFC 6749 section 5.2), or one of Okta's
/// own API errors (`errorCode`/`errorSummary`), or an answer that is neither.
fn refusal(status: reqwest::StatusCode, body: &[u8]) -> ClientError {
    #[derive(Deserialize)]
    struct OAuthError {
        error: String,
        error_description: Option<String>,
    }
    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct OktaError {
        error_code: String,
        error_summary: Option<String>,
    }
    if let Ok(error) = serde_json::from_slice::<OAuthError>(body) {
        tracing::warn!(status = status.as_u16(), error = %error.error, "client credentials refused");
        return ClientError::OAuth {
            kind: OAuthErrorKind::parse(&error.error),
            description: error.error_description,
        };
    }
    if let Ok(error) = serde_json::from_slice::<OktaError>(body) {
        tracing::warn!(status = status.as_u16(), code = %error.error_code, "client credentials refused");
        return ClientError::Okta {
            code: error.error_code,
            summary: error.error_summary,
        };
    }
    ClientError::InvalidResponse
}

/// A cached token is renewed this long before it expires.
const RENEW_BEFORE_SECS: i64 = 60;

/// An access token from the token endpoint. `Debug` does not show it.
#[derive(Clone)]
pub struct AccessToken {
    secret: Arc<str>,
    expires_at: i64,
}

impl fmt::Debug for AccessToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AccessToken")
            .field("expires_at", &self.expires_at)
            .finish_non_exhaustive()
    }
}

impl AccessToken {
    /// The token itself, for an `Authorization: Bearer` header. Never log it.
    #[must_use]
    pub fn secret(&self) -> &str {
        &self.secret
    }

    /// When it expires, in seconds since the Unix epoch.
    #[must_use]
    pub fn expires_at(&self) -> i64 {
        self.expires_at
    }
}

/// Builds a [`ClientCredentials`].
#[derive(Debug, Default)]
#[must_use]
pub struct ClientCredentialsBuilder {
    issuer: Option<String>,
    token_endpoint: Option<String>,
    client_id: Option<String>,
    key: Option<SigningKey>,
    scopes: Vec<String>,
    http: Option<reqwest::Client>,
    clock: Option<Arc<dyn Clock>>,
}

impl ClientCredentialsBuilder {
    /// The custom authorization server's issuer; the token endpoint is `{issuer}/v1/token`.
    pub fn issuer(mut self, issuer: impl Into<String>) -> Self {
        self.issuer = Some(issuer.into());
        self
    }

    /// The token endpoint, if not `{issuer}/v1/token`.
    pub fn token_endpoint(mut self, url: impl Into<String>) -> Self {
        self.token_endpoint = Some(url.into());
        self
    }

    /// The service app's client ID.
    pub fn client_id(mut self, client_id: impl Into<String>) -> Self {
        self.client_id = Some(client_id.into());
        self
    }

    /// The signing key.
    pub fn key(mut self, key: SigningKey) -> Self {
        self.key = Some(key);
        self
    }

    /// The signing key from a PEM file.
    ///
    /// # Errors
    /// If the file cannot be read or holds no usable key.
    pub fn private_key_pem_file(
        self,
        path: impl AsRef<Path>,
        kid: impl Into<String>,
    ) -> Result<Self, ClientError> {
        let pem = std::fs::read_to_string(path).map_err(|_| SigningKeyError::Unreadable)?;
        Ok(self.key(SigningKey::from_pem(&pem, kid)?))
    }

    /// The signing key from an environment variable holding a PEM key or a private JWK (JSON).
    ///
    /// # Errors
    /// If the variable is unset or holds no usable key.
    pub fn private_key_from_env(
        self,
        var: &str,
        kid: impl Into<String>,
    ) -> Result<Self, ClientError> {
        let value = std::env::var(var).map_err(|_| SigningKeyError::MissingVariable)?;
        let key = if value.trim_start().starts_with('{') {
            SigningKey::from_jwk(&value)?
        } else {
            SigningKey::from_pem(&value, kid)?
        };
        Ok(self.key(key))
    }

    /// The scopes to ask for (custom scopes granted to the service app).
    pub fn scopes<I: IntoIterator<Item = T>, T: Into<String>>(mut self, scopes: I) -> Self {
        self.scopes = scopes.into_iter().map(Into::into).collect();
        self
    }

    /// The HTTP client (default: reqwest with 2 s connect and 10 s total timeouts).
    pub fn http_client(mut self, client: reqwest::Client) -> Self {
        self.http = Some(client);
        self
    }

    /// The time source for assertion timestamps and token expiry (default: system clock).
    pub fn clock(mut self, clock: impl Clock) -> Self {
        self.clock = Some(Arc::new(clock));
        self
    }

    /// Validates the settings.
    ///
    /// # Errors
    /// [`ClientError::Config`] or [`ClientError::Key`] naming what is missing.
    pub fn build(self) -> Result<ClientCredentials, ClientError> {
        let config = ClientError::Config;
        let endpoint = match (self.token_endpoint, self.issuer) {
            (Some(url), _) => url,
            (None, Some(issuer)) => format!("{}/v1/token", issuer.trim_end_matches('/')),
            (None, None) => return Err(config(ClientConfigError::MissingIssuer)),
        };
        let endpoint =
            Url::parse(&endpoint).map_err(|_| config(ClientConfigError::InvalidEndpoint))?;
        check_secure_url(&endpoint).map_err(|_| config(ClientConfigError::InsecureEndpoint))?;
        let client_id = self
            .client_id
            .filter(|c| !c.trim().is_empty())
            .ok_or(config(ClientConfigError::MissingClientId))?;
        let key = self.key.ok_or(SigningKeyError::Missing)?;
        let http = match self.http {
            Some(http) => http,
            None => reqwest::Client::builder()
                .connect_timeout(Duration::from_secs(2))
                .timeout(Duration::from_secs(10))
                .redirect(reqwest::redirect::Policy::none())
                .build()?,
        };
        Ok(ClientCredentials {
            inner: Arc::new(ClientInner {
                endpoint,
                client_id,
                key,
                scope: self.scopes.join(" "),
                http,
                clock: self.clock.unwrap_or_else(|| Arc::new(SystemClock)),
                cached: tokio::sync::Mutex::new(None),
                paused_until_ms: AtomicI64::new(0),
            }),
        })
    }
}

struct ClientInner {
    endpoint: Url,
    client_id: String,
    key: SigningKey,
    scope: String,
    http: reqwest::Client,
    clock: Arc<dyn Clock>,
    cached: tokio::sync::Mutex<Option<AccessToken>>,
    /// After a 429: no token request before this clock time (ms).
    paused_until_ms: AtomicI64,
}

/// A token source for an Okta service app (client credentials with `private_key_jwt`).
///
/// Cheap to clone; clones share the cached token.
#[derive(Clone)]
pub struct ClientCredentials {
    inner: Arc<ClientInner>,
}

impl fmt::Debug for ClientCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientCredentials")
            .field("endpoint", &self.inner.endpoint.as_str())
            .field("client_id", &self.inner.client_id)
            .field("kid", &self.inner.key.kid())
            .field("scope", &self.inner.scope)
            .finish_non_exhaustive()
    }
}

impl ClientCredentials {
    /// A builder.
    pub fn builder() -> ClientCredentialsBuilder {
        ClientCredentialsBuilder::default()
    }

    /// A valid access token: the cached one until a minute before it expires, otherwise a new
    /// one. Concurrent callers share one token request.
    ///
    /// # Errors
    /// [`ClientError::OAuth`] with Okta's error, [`ClientError::RateLimited`] after a 429 (until
    /// Okta's `X-Rate-Limit-Reset`, without asking again before then), [`ClientError::Okta`] for
    /// one of Okta's own API errors, or [`ClientError::Http`] if Okta cannot be reached.
    pub async fn token(&self) -> Result<AccessToken, ClientError> {
        let mut cached = self.inner.cached.lock().await;
        let now = self.inner.clock.now();
        if let Some(token) = cached.as_ref() {
            if now < token.expires_at - RENEW_BEFORE_SECS {
                return Ok(token.clone());
            }
        }
        // Rate limited: wait as Okta asked, without asking again in between.
        let now_ms = self.inner.clock.now_millis();
        let paused_until = self.inner.paused_until_ms.load(Ordering::Relaxed);
        if now_ms < paused_until {
            let wait = u64::try_from(paused_until - now_ms).unwrap_or(0);
            return Err(ClientError::RateLimited {
                retry_after: Some(Duration::from_millis(wait)),
            });
        }
        let token = self.request_token().await?;
        *cached = Some(token.clone());
        Ok(token)
    }

    /// The RFC 7523 client assertion for one token request.
    ///
    /// # Errors
    /// [`ClientError::Key`] if the key cannot sign.
    pub fn client_assertion(&self) -> Result<String, ClientError> {
        Ok(self.inner.key.client_assertion(
            &self.inner.client_id,
            self.inner.endpoint.as_str(),
            self.inner.clock.now(),
        )?)
    }

    async fn request_token(&self) -> Result<AccessToken, ClientError> {
        let assertion = self.client_assertion()?;
        let mut form = vec![
            ("grant_type", "client_credentials"),
            ("client_assertion_type", JWT_BEARER),
            ("client_assertion", assertion.as_str()),
        ];
        if !self.inner.scope.is_empty() {
            form.push(("scope", self.inner.scope.as_str()));
        }
        let response = post_form(&self.inner.http, &self.inner.endpoint, &form).await?;
        let status = response.status();
        if status == reqwest::StatusCode::TOO_MANY_REQUESTS {
            let now_ms = self.inner.clock.now_millis();
            let retry_after = rate_limit_wait(response.headers(), now_ms);
            // Without a usable header, a second before the next request.
            let pause = retry_after.unwrap_or(Duration::from_secs(1));
            let until = now_ms.saturating_add(i64::try_from(pause.as_millis()).unwrap_or(i64::MAX));
            self.inner.paused_until_ms.store(until, Ordering::Relaxed);
            tracing::warn!(?retry_after, "client credentials rate limited");
            return Err(ClientError::RateLimited { retry_after });
        }
        let bytes = read_capped(response, MAX_RESPONSE_BYTES)
            .await
            .map_err(|e| match e {
                ReadError::Http(e) => ClientError::Http(e),
                ReadError::TooLarge(_) => ClientError::InvalidResponse,
            })?;
        if !status.is_success() {
            return Err(refusal(status, &bytes));
        }
        #[derive(Deserialize)]
        struct TokenResponse {
            access_token: String,
            token_type: String,
            expires_in: i64,
        }
        let token: TokenResponse =
            serde_json::from_slice(&bytes).map_err(|_| ClientError::InvalidResponse)?;
        if !token.token_type.eq_ignore_ascii_case("bearer") || token.expires_in <= 0 {
            return Err(ClientError::InvalidResponse);
        }
        tracing::debug!(
            expires_in = token.expires_in,
            "client credentials token issued"
        );
        Ok(AccessToken {
            secret: token.access_token.into(),
            expires_at: self.inner.clock.now() + token.expires_in,
        })
    }

    /// A tower layer adding `Authorization: Bearer <token>` to every outgoing request.
    #[must_use]
    pub fn layer(&self) -> AddBearerLayer {
        AddBearerLayer {
            source: self.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::Engine;

    #[test]
    fn builder_validates() {
        let key = SigningKey::generate().unwrap();
        let err = ClientCredentials::builder()
            .client_id("0oa")
            .key(key.clone())
            .build()
            .unwrap_err();
        assert!(matches!(
            err,
            ClientError::Config(ClientConfigError::MissingIssuer)
        ));
        let err = ClientCredentials::builder()
            .issuer("http://okta.example.com/oauth2/default")
            .client_id("0oa")
            .key(key.clone())
            .build()
            .unwrap_err();
        assert!(err.to_string().contains("https"), "{err}");
        let client = ClientCredentials::builder()
            .issuer("https://dev-1.okta.com/oauth2/default")
            .client_id("0oa")
            .key(key)
            .scopes(["a", "b"])
            .build()
            .unwrap();
        let assertion = client.client_assertion().unwrap();
        let payload = assertion.split('.').nth(1).unwrap();
        let claims: serde_json::Value =
            serde_json::from_slice(&crate::b64::STRICT_B64.decode(payload).unwrap()).unwrap();
        assert_eq!(claims["iss"], "0oa");
        assert_eq!(claims["sub"], "0oa");
        assert_eq!(
            claims["aud"],
            "https://dev-1.okta.com/oauth2/default/v1/token"
        );
        let lifetime = claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap();
        assert!(lifetime > 0 && lifetime <= 300);
        assert!(claims["jti"].as_str().unwrap().len() >= 16);
        assert!(!format!("{client:?}").contains("PRIVATE"));
    }
}
