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

use std::fmt;
use std::future::Future;
use std::path::Path;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::rsa::{KeyPair, KeyPairComponents, KeySize, PublicKeyComponents};
use aws_lc_rs::signature::{KeyPair as _, RSA_PKCS1_SHA256};
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use http::{HeaderValue, Request};
use reqwest::Url;
use serde::Deserialize;
use tower_layer::Layer;
use tower_service::Service;

use crate::builder::check_secure_url;
use crate::clock::{Clock, SystemClock};
use crate::token::STRICT_B64;

/// `client_assertion_type` of RFC 7523.
pub(crate) const JWT_BEARER: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// POSTs `form` as `application/x-www-form-urlencoded`, asking for JSON.
pub(crate) async fn post_form(
    http: &reqwest::Client,
    url: &Url,
    form: &[(&str, &str)],
) -> Result<reqwest::Response, reqwest::Error> {
    let body = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(form)
        .finish();
    http.post(url.clone())
        .header(
            http::header::CONTENT_TYPE,
            "application/x-www-form-urlencoded",
        )
        .header(http::header::ACCEPT, "application/json")
        .body(body)
        .send()
        .await
}

/// Lifetime of each client assertion (Okta accepts at most one hour; RFC 7523 asks for short).
const ASSERTION_LIFETIME_SECS: i64 = 300;
/// A cached token is renewed this long before it expires.
const RENEW_BEFORE_SECS: i64 = 60;

/// Why a token could not be had.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ClientError {
    /// A setting is missing or invalid.
    #[error("client credentials configuration: {0}")]
    Config(String),
    /// The private key cannot be read or is not an RSA key of 2048 bits or more.
    #[error("private key: {0}")]
    Key(&'static str),
    /// The token endpoint could not be reached.
    #[error("token request failed: {0}")]
    Http(#[from] reqwest::Error),
    /// Okta answered with an OAuth error.
    #[error("token endpoint refused the request: {kind}{}", .description.as_deref().map(|d| format!(" ({d})")).unwrap_or_default())]
    OAuth {
        /// The OAuth `error` code.
        kind: OAuthErrorKind,
        /// Okta's `error_description`.
        description: Option<String>,
    },
    /// The token endpoint's answer is not a token response.
    #[error("token endpoint answered with something that is not a token response")]
    InvalidResponse,
}

/// OAuth 2.0 error codes of the token endpoint (RFC 6749, section 5.2).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum OAuthErrorKind {
    /// `invalid_client`: unknown client, bad assertion signature, expired or replayed assertion.
    InvalidClient,
    /// `invalid_scope`: a scope not granted to this client.
    InvalidScope,
    /// `unauthorized_client`: the client may not use this grant type.
    UnauthorizedClient,
    /// `invalid_grant`.
    InvalidGrant,
    /// `invalid_request`.
    InvalidRequest,
    /// `unsupported_grant_type`.
    UnsupportedGrantType,
    /// Another code.
    Other(String),
}

impl OAuthErrorKind {
    fn parse(code: &str) -> Self {
        match code {
            "invalid_client" => OAuthErrorKind::InvalidClient,
            "invalid_scope" => OAuthErrorKind::InvalidScope,
            "unauthorized_client" => OAuthErrorKind::UnauthorizedClient,
            "invalid_grant" => OAuthErrorKind::InvalidGrant,
            "invalid_request" => OAuthErrorKind::InvalidRequest,
            "unsupported_grant_type" => OAuthErrorKind::UnsupportedGrantType,
            other => OAuthErrorKind::Other(other.to_owned()),
        }
    }
}

impl fmt::Display for OAuthErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            OAuthErrorKind::InvalidClient => "invalid_client",
            OAuthErrorKind::InvalidScope => "invalid_scope",
            OAuthErrorKind::UnauthorizedClient => "unauthorized_client",
            OAuthErrorKind::InvalidGrant => "invalid_grant",
            OAuthErrorKind::InvalidRequest => "invalid_request",
            OAuthErrorKind::UnsupportedGrantType => "unsupported_grant_type",
            OAuthErrorKind::Other(code) => code,
        })
    }
}

/// An RSA private key with its `kid`, for signing client assertions.
#[derive(Clone)]
pub struct SigningKey {
    kid: String,
    pair: Arc<KeyPair>,
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SigningKey")
            .field("kid", &self.kid)
            .finish_non_exhaustive()
    }
}

fn pem_body(pem: &str) -> Result<(String, Vec<u8>), ClientError> {
    let begin = pem.find("-----BEGIN ").ok_or(ClientError::Key("not PEM"))?;
    let rest = &pem[begin + "-----BEGIN ".len()..];
    let label_end = rest.find("-----").ok_or(ClientError::Key("not PEM"))?;
    let label = rest[..label_end].to_owned();
    let body_start = label_end + 5;
    let end = rest
        .find(&format!("-----END {label}-----"))
        .ok_or(ClientError::Key("PEM has no END line"))?;
    let body: String = rest[body_start..end]
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect();
    let der = STANDARD
        .decode(body)
        .map_err(|_| ClientError::Key("PEM body is not base64"))?;
    Ok((label, der))
}

fn check_size(pair: &KeyPair) -> Result<(), ClientError> {
    if pair.public_modulus_len() * 8 < 2048 {
        return Err(ClientError::Key("RSA keys must have at least 2048 bits"));
    }
    Ok(())
}

impl SigningKey {
    /// Generates a new RSA 2048 key with a random `kid`.
    ///
    /// # Errors
    /// If the key cannot be generated.
    pub fn generate() -> Result<SigningKey, ClientError> {
        let pair = KeyPair::generate(KeySize::Rsa2048)
            .map_err(|_| ClientError::Key("RSA key generation failed"))?;
        let mut kid = [0u8; 16];
        aws_lc_rs::rand::fill(&mut kid).map_err(|_| ClientError::Key("no randomness"))?;
        Ok(SigningKey {
            kid: STRICT_B64.encode(kid),
            pair: Arc::new(pair),
        })
    }

    /// Reads a PEM private key (`PRIVATE KEY`, PKCS#8, or `RSA PRIVATE KEY`, PKCS#1) and names
    /// it `kid` (the key ID registered on the Okta service app).
    ///
    /// # Errors
    /// If the PEM cannot be read or is not an RSA key of 2048 bits or more.
    pub fn from_pem(pem: &str, kid: impl Into<String>) -> Result<SigningKey, ClientError> {
        let (label, der) = pem_body(pem)?;
        let pair = match label.as_str() {
            "PRIVATE KEY" => KeyPair::from_pkcs8(&der),
            "RSA PRIVATE KEY" => KeyPair::from_der(&der),
            _ => return Err(ClientError::Key("PEM is not a private key")),
        }
        .map_err(|_| ClientError::Key("not a valid RSA private key"))?;
        check_size(&pair)?;
        Ok(SigningKey {
            kid: kid.into(),
            pair: Arc::new(pair),
        })
    }

    /// Reads a private JWK (`kty: RSA` with `n`, `e`, `d`, `p`, `q`, `dp`, `dq`, `qi`, and a
    /// `kid`), as the Okta admin console generates it.
    ///
    /// # Errors
    /// If the JSON is not such a JWK.
    pub fn from_jwk(jwk: &str) -> Result<SigningKey, ClientError> {
        #[derive(Deserialize)]
        struct Jwk {
            kty: String,
            kid: String,
            n: String,
            e: String,
            d: String,
            p: String,
            q: String,
            dp: String,
            dq: String,
            qi: String,
        }
        let jwk: Jwk = serde_json::from_str(jwk)
            .map_err(|_| ClientError::Key("not a private RSA JWK with a kid"))?;
        if jwk.kty != "RSA" {
            return Err(ClientError::Key("JWK kty is not RSA"));
        }
        let b = |v: &str| {
            base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(v.trim_end_matches('='))
                .map_err(|_| ClientError::Key("JWK value is not base64url"))
        };
        let components = KeyPairComponents {
            public_key: PublicKeyComponents {
                n: b(&jwk.n)?,
                e: b(&jwk.e)?,
            },
            d: b(&jwk.d)?,
            p: b(&jwk.p)?,
            q: b(&jwk.q)?,
            dP: b(&jwk.dp)?,
            dQ: b(&jwk.dq)?,
            qInv: b(&jwk.qi)?,
        };
        let pair = KeyPair::from_components(&components)
            .map_err(|_| ClientError::Key("inconsistent RSA key components"))?;
        check_size(&pair)?;
        Ok(SigningKey {
            kid: jwk.kid,
            pair: Arc::new(pair),
        })
    }

    /// The key ID.
    #[must_use]
    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// The public JWK to register on the Okta service app (`kty`, `kid`, `use: sig`,
    /// `alg: RS256`, `n`, `e`).
    #[must_use]
    pub fn public_jwk(&self) -> serde_json::Value {
        let public = self.pair.public_key();
        serde_json::json!({
            "kty": "RSA",
            "kid": self.kid,
            "use": "sig",
            "alg": "RS256",
            "e": STRICT_B64.encode(public.exponent().big_endian_without_leading_zero()),
            "n": STRICT_B64.encode(public.modulus().big_endian_without_leading_zero()),
        })
    }

    /// The private key as PKCS#8 PEM (`-----BEGIN PRIVATE KEY-----`). Keep it secret.
    ///
    /// # Errors
    /// If the key cannot be encoded.
    pub fn private_key_pem(&self) -> Result<String, ClientError> {
        let der = self
            .pair
            .as_der()
            .map_err(|_| ClientError::Key("the key cannot be encoded"))?;
        let body = STANDARD.encode(der.as_ref());
        let mut pem = String::from("-----BEGIN PRIVATE KEY-----\n");
        for line in body.as_bytes().chunks(64) {
            pem.push_str(std::str::from_utf8(line).unwrap_or_default());
            pem.push('\n');
        }
        pem.push_str("-----END PRIVATE KEY-----\n");
        Ok(pem)
    }

    /// An RFC 7523 client assertion: `iss` = `sub` = `client_id`, `aud` = `audience` (the
    /// endpoint), five minutes from `now` (seconds), a random `jti`.
    pub(crate) fn client_assertion(
        &self,
        client_id: &str,
        audience: &str,
        now: i64,
    ) -> Result<String, ClientError> {
        let mut jti = [0u8; 24];
        aws_lc_rs::rand::fill(&mut jti).map_err(|_| ClientError::Key("no randomness"))?;
        self.sign_jwt(&serde_json::json!({
            "iss": client_id,
            "sub": client_id,
            "aud": audience,
            "iat": now,
            "exp": now + ASSERTION_LIFETIME_SECS,
            "jti": STRICT_B64.encode(jti),
        }))
    }

    /// A compact RS256 JWS of `claims` with this key's `kid`.
    pub(crate) fn sign_jwt(&self, claims: &serde_json::Value) -> Result<String, ClientError> {
        let header = serde_json::json!({ "alg": "RS256", "kid": self.kid, "typ": "JWT" });
        let input = format!(
            "{}.{}",
            STRICT_B64.encode(header.to_string()),
            STRICT_B64.encode(claims.to_string())
        );
        let mut signature = vec![0u8; self.pair.public_modulus_len()];
        self.pair
            .sign(
                &RSA_PKCS1_SHA256,
                &SystemRandom::new(),
                input.as_bytes(),
                &mut signature,
            )
            .map_err(|_| ClientError::Key("signing failed"))?;
        Ok(format!("{input}.{}", STRICT_B64.encode(signature)))
    }
}

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
        let pem = std::fs::read_to_string(path)
            .map_err(|_| ClientError::Key("the PEM file cannot be read"))?;
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
        let value = std::env::var(var).map_err(|_| ClientError::Key("the variable is not set"))?;
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
        let config = |m: &str| ClientError::Config(m.to_owned());
        let endpoint = match (self.token_endpoint, self.issuer) {
            (Some(url), _) => url,
            (None, Some(issuer)) => format!("{}/v1/token", issuer.trim_end_matches('/')),
            (None, None) => return Err(config("issuer (or token_endpoint) is missing")),
        };
        let endpoint = Url::parse(&endpoint).map_err(|_| config("token endpoint is not a URL"))?;
        check_secure_url(&endpoint)
            .map_err(|reason| config(&format!("token endpoint: {reason}")))?;
        let client_id = self
            .client_id
            .filter(|c| !c.trim().is_empty())
            .ok_or_else(|| config("client_id is missing"))?;
        let key = self
            .key
            .ok_or(ClientError::Key("no private key configured"))?;
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
            .field("kid", &self.inner.key.kid)
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
    /// [`ClientError::OAuth`] with Okta's error, or [`ClientError::Http`] if Okta cannot be
    /// reached.
    pub async fn token(&self) -> Result<AccessToken, ClientError> {
        let mut cached = self.inner.cached.lock().await;
        let now = self.inner.clock.now();
        if let Some(token) = cached.as_ref() {
            if now < token.expires_at - RENEW_BEFORE_SECS {
                return Ok(token.clone());
            }
        }
        let token = self.request_token().await?;
        *cached = Some(token.clone());
        Ok(token)
    }

    /// The RFC 7523 client assertion for one token request.
    pub fn client_assertion(&self) -> Result<String, ClientError> {
        self.inner.key.client_assertion(
            &self.inner.client_id,
            self.inner.endpoint.as_str(),
            self.inner.clock.now(),
        )
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
        let bytes = response.bytes().await?;
        if !status.is_success() {
            #[derive(Deserialize)]
            struct OAuthError {
                error: String,
                error_description: Option<String>,
            }
            let error: OAuthError =
                serde_json::from_slice(&bytes).map_err(|_| ClientError::InvalidResponse)?;
            tracing::warn!(status = status.as_u16(), error = %error.error, "client credentials refused");
            return Err(ClientError::OAuth {
                kind: OAuthErrorKind::parse(&error.error),
                description: error.error_description,
            });
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

/// Adds this client's access token to outgoing requests; see [`ClientCredentials::layer`].
#[derive(Debug, Clone)]
pub struct AddBearerLayer {
    source: ClientCredentials,
}

impl<S> Layer<S> for AddBearerLayer {
    type Service = AddBearer<S>;

    fn layer(&self, inner: S) -> AddBearer<S> {
        AddBearer {
            inner,
            source: self.source.clone(),
        }
    }
}

/// The service of [`AddBearerLayer`].
#[derive(Debug, Clone)]
pub struct AddBearer<S> {
    inner: S,
    source: ClientCredentials,
}

/// The error of [`AddBearer`]: no token, or the inner service's error.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AddBearerError<E> {
    /// No token could be had.
    #[error(transparent)]
    Token(ClientError),
    /// The inner service failed.
    #[error("inner service failed: {0}")]
    Inner(E),
}

impl<S, B> Service<Request<B>> for AddBearer<S>
where
    S: Service<Request<B>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    B: Send + 'static,
{
    type Response = S::Response;
    type Error = AddBearerError<S::Error>;
    type Future = Pin<Box<dyn Future<Output = Result<S::Response, Self::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx).map_err(AddBearerError::Inner)
    }

    fn call(&mut self, mut req: Request<B>) -> Self::Future {
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let source = self.source.clone();
        Box::pin(async move {
            let token = source.token().await.map_err(AddBearerError::Token)?;
            let mut value = HeaderValue::from_str(&format!("Bearer {}", token.secret()))
                .map_err(|_| AddBearerError::Token(ClientError::InvalidResponse))?;
            value.set_sensitive(true);
            req.headers_mut().insert(http::header::AUTHORIZATION, value);
            inner.call(req).await.map_err(AddBearerError::Inner)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_round_trip_through_pem_and_publish_a_usable_jwk() {
        let key = SigningKey::generate().unwrap();
        let pem = key.private_key_pem().unwrap();
        assert!(pem.starts_with("-----BEGIN PRIVATE KEY-----\n"));
        let again = SigningKey::from_pem(&pem, "k1").unwrap();
        assert_eq!(again.kid(), "k1");
        assert_eq!(again.public_jwk()["n"], key.public_jwk()["n"]);
        let jwk = key.public_jwk();
        assert_eq!(jwk["use"], "sig");
        assert_eq!(jwk["alg"], "RS256");
        // The crate's own JWKS import accepts the published key and verifies its signatures.
        let imported =
            crate::__private::RsaKey::from_jwk(&jwk, &[crate::Algorithm::RS256]).unwrap();
        let jwt = key.sign_jwt(&serde_json::json!({"a": 1})).unwrap();
        let (input, sig) = jwt.rsplit_once('.').unwrap();
        let sig = STRICT_B64.decode(sig).unwrap();
        assert!(imported.verify(crate::Algorithm::RS256, input.as_bytes(), &sig));
    }

    #[test]
    fn bad_keys_are_refused_without_echoing_them() {
        for pem in [
            "not a pem",
            "-----BEGIN PRIVATE KEY-----\n!!!\n-----END PRIVATE KEY-----\n",
            "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n",
            "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
            "-----BEGIN PRIVATE KEY-----\nAAAA\n",
        ] {
            let err = SigningKey::from_pem(pem, "k").unwrap_err();
            assert!(matches!(err, ClientError::Key(_)), "{pem}");
            assert!(!err.to_string().contains("AAAA"));
        }
        assert!(matches!(
            SigningKey::from_jwk(r#"{"kty":"EC","kid":"k"}"#),
            Err(ClientError::Key(_))
        ));
    }

    #[test]
    fn builder_validates() {
        let key = SigningKey::generate().unwrap();
        let err = ClientCredentials::builder()
            .client_id("0oa")
            .key(key.clone())
            .build()
            .unwrap_err();
        assert!(matches!(err, ClientError::Config(_)));
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
            serde_json::from_slice(&STRICT_B64.decode(payload).unwrap()).unwrap();
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
