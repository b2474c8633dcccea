//! Opt-in token introspection (RFC 7662) against Okta's `{issuer}/v1/introspect`, for
//! deployments where revocation must take effect before `exp`.
//!
//! A token is always verified locally first (forgeries and expired tokens never reach Okta);
//! then its `active` state is asked of Okta. Answers are cached in moka for a short TTL bounded by
//! the token's `exp`, concurrent checks of one token share one request (moka's `try_get_with`),
//! and a `429` from Okta's rate limiter pauses introspection for its `Retry-After` (or with
//! doubling backoff). While introspection is unavailable the verifier either trusts the local
//! verification or fails closed (503), as configured.

use std::fmt;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use reqwest::Url;
use serde::Deserialize;

use crate::clock::Clock;
use crate::error::{AuthError, TokenError};
use crate::net::{
    check_secure_url, post_form, rate_limit_wait, read_capped, ReadError, MAX_RESPONSE_BYTES,
};
use crate::signing::{SigningKey, JWT_BEARER};

/// What to do when Okta's introspection endpoint cannot answer (down, timeout, rate limited).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum WhenUnavailable {
    /// Accept the token on the strength of the local verification (signature, claims).
    TrustLocalVerification,
    /// Refuse with 503: revocation must be known.
    FailClosed,
}

/// How the API authenticates to the introspection endpoint.
#[derive(Debug, Clone)]
enum ClientAuth {
    /// A public client (the SPA): only `client_id` is sent, as Okta allows.
    Public,
    /// A confidential client using `private_key_jwt`.
    PrivateKeyJwt(SigningKey),
}

/// Settings of token introspection; give them to
/// [`VerifierBuilder::introspection`](crate::VerifierBuilder::introspection).
///
/// ```
/// use std::time::Duration;
/// use tower_okta::{Introspection, WhenUnavailable};
///
/// let introspection = Introspection::public_client("0oa1example2SPAclient")
///     .cache_ttl(Duration::from_secs(30))
///     .when_unavailable(WhenUnavailable::FailClosed);
/// ```
#[derive(Debug, Clone)]
#[must_use]
pub struct Introspection {
    client_id: String,
    auth: ClientAuth,
    endpoint: Option<String>,
    cache_ttl: Duration,
    when_unavailable: WhenUnavailable,
}

impl Introspection {
    /// Introspect as the public client `client_id` (the SPA app: no secret).
    pub fn public_client(client_id: impl Into<String>) -> Self {
        Introspection {
            client_id: client_id.into(),
            auth: ClientAuth::Public,
            endpoint: None,
            cache_ttl: Duration::from_secs(30),
            when_unavailable: WhenUnavailable::TrustLocalVerification,
        }
    }

    /// Introspect as a confidential client authenticating with `private_key_jwt`.
    pub fn private_key_jwt(client_id: impl Into<String>, key: SigningKey) -> Self {
        Introspection {
            auth: ClientAuth::PrivateKeyJwt(key),
            ..Introspection::public_client(client_id)
        }
    }

    /// The endpoint, if not `{issuer}/v1/introspect`.
    pub fn endpoint(mut self, url: impl Into<String>) -> Self {
        self.endpoint = Some(url.into());
        self
    }

    /// How long an answer is reused (default 30 s; never past the token's `exp`). A revoked
    /// token is refused at the latest this long after the revocation.
    pub fn cache_ttl(mut self, ttl: Duration) -> Self {
        self.cache_ttl = ttl;
        self
    }

    /// What to do when the endpoint cannot answer (default: trust the local verification).
    pub fn when_unavailable(mut self, policy: WhenUnavailable) -> Self {
        self.when_unavailable = policy;
        self
    }

    pub(crate) fn build(
        self,
        issuer: &str,
        http: reqwest::Client,
        clock: Arc<dyn Clock>,
    ) -> Result<Introspector, &'static str> {
        let endpoint = self
            .endpoint
            .unwrap_or_else(|| format!("{issuer}/v1/introspect"));
        let endpoint = Url::parse(&endpoint).map_err(|_| "the endpoint is not a URL")?;
        check_secure_url(&endpoint).map_err(|e| e.reason())?;
        if self.client_id.trim().is_empty() {
            return Err("the client ID is empty");
        }
        if self.cache_ttl > Duration::from_secs(3600) {
            return Err("the cache TTL is longer than an hour");
        }
        Ok(Introspector {
            endpoint,
            client_id: self.client_id,
            auth: self.auth,
            when_unavailable: self.when_unavailable,
            ttl_ms: i64::try_from(self.cache_ttl.as_millis()).unwrap_or(i64::MAX),
            answers: moka::future::Cache::builder()
                .max_capacity(100_000)
                .time_to_live(self.cache_ttl.max(Duration::from_secs(1)))
                .build(),
            http,
            clock,
            paused_until_ms: AtomicI64::new(0),
            backoff_ms: AtomicI64::new(0),
        })
    }
}

/// A cached answer.
#[derive(Debug, Clone, Copy)]
enum Answer {
    /// Active; reusable until this clock time (ms).
    Active { until_ms: i64 },
    /// Not active (revoked, expired, unknown to Okta).
    Inactive,
}

/// Why Okta could not answer.
#[derive(Debug, thiserror::Error)]
enum Unavailable {
    #[error("introspection request failed: {0}")]
    Http(#[from] reqwest::Error),
    #[error("introspection answer larger than {0} bytes")]
    TooLarge(usize),
    #[error("introspection endpoint answered {0}")]
    Status(u16),
    #[error("introspection is paused after a 429")]
    RateLimited,
    #[error("introspection answer is not JSON with `active`")]
    Invalid,
    #[error("client assertion could not be signed")]
    Assertion,
}

/// The runtime side of [`Introspection`].
pub(crate) struct Introspector {
    endpoint: Url,
    client_id: String,
    auth: ClientAuth,
    when_unavailable: WhenUnavailable,
    ttl_ms: i64,
    answers: moka::future::Cache<Box<str>, Answer>,
    http: reqwest::Client,
    clock: Arc<dyn Clock>,
    /// After a 429: no request before this clock time (ms).
    paused_until_ms: AtomicI64,
    /// The last 429 backoff, doubled on each 429 without `Retry-After`.
    backoff_ms: AtomicI64,
}

impl fmt::Debug for Introspector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Introspector")
            .field("endpoint", &self.endpoint.as_str())
            .field("when_unavailable", &self.when_unavailable)
            .finish_non_exhaustive()
    }
}

impl Introspector {
    /// Whether Okta says `token` is active; one request per token at a time.
    pub(crate) async fn check(&self, token: &str) -> Result<(), AuthError> {
        let now = self.clock.now_millis();
        let key: Box<str> = token.into();
        if let Some(Answer::Active { until_ms }) = self.answers.get(&key).await {
            if now >= until_ms {
                self.answers.invalidate(&key).await;
            }
        }
        let answer = self.answers.try_get_with(key, self.ask(token)).await;
        match answer {
            Ok(Answer::Active { .. }) => Ok(()),
            Ok(Answer::Inactive) => Err(TokenError::Inactive.into()),
            Err(error) => {
                tracing::warn!(%error, endpoint = %self.endpoint, "token introspection unavailable");
                match self.when_unavailable {
                    WhenUnavailable::TrustLocalVerification => Ok(()),
                    WhenUnavailable::FailClosed => {
                        // Retry-After: the rest of a 429 pause, else a second.
                        let paused_until = self.paused_until_ms.load(Ordering::Relaxed);
                        let wait_ms = paused_until.saturating_sub(self.clock.now_millis());
                        let wait = Duration::from_millis(u64::try_from(wait_ms).unwrap_or(0));
                        Err(AuthError::introspection_unavailable(wait))
                    }
                }
            }
        }
    }

    async fn ask(&self, token: &str) -> Result<Answer, Unavailable> {
        let now = self.clock.now_millis();
        if now < self.paused_until_ms.load(Ordering::Relaxed) {
            return Err(Unavailable::RateLimited);
        }
        let assertion;
        let mut form = vec![
            ("token", token),
            ("token_type_hint", "access_token"),
            ("client_id", self.client_id.as_str()),
        ];
        if let ClientAuth::PrivateKeyJwt(key) = &self.auth {
            assertion = key
                .client_assertion(
                    &self.client_id,
                    self.endpoint.as_str(),
                    now.div_euclid(1000),
                )
                .map_err(|_| Unavailable::Assertion)?;
            form.push(("client_assertion_type", JWT_BEARER));
            form.push(("client_assertion", assertion.as_str()));
        }
        let response = post_form(&self.http, &self.endpoint, &form).await?;
        let status = response.status();
        if status == reqwest::StatusCode::TOO_MANY_REQUESTS {
            // Okta's X-Rate-Limit-Reset, else Retry-After, else a doubling backoff.
            let asked_ms = rate_limit_wait(response.headers(), now)
                .map(|wait| i64::try_from(wait.as_millis()).unwrap_or(i64::MAX));
            let backoff = match asked_ms {
                Some(ms) => ms,
                None => {
                    let last = self.backoff_ms.load(Ordering::Relaxed);
                    (last.saturating_mul(2)).clamp(1000, 60_000)
                }
            };
            self.backoff_ms.store(backoff, Ordering::Relaxed);
            self.paused_until_ms
                .store(now.saturating_add(backoff), Ordering::Relaxed);
            return Err(Unavailable::RateLimited);
        }
        if !status.is_success() {
            return Err(Unavailable::Status(status.as_u16()));
        }
        self.backoff_ms.store(0, Ordering::Relaxed);
        #[derive(Deserialize)]
        struct Body {
            active: bool,
            exp: Option<i64>,
        }
        let bytes = read_capped(response, MAX_RESPONSE_BYTES)
            .await
            .map_err(|e| match e {
                ReadError::Http(e) => Unavailable::Http(e),
                ReadError::TooLarge(max) => Unavailable::TooLarge(max),
            })?;
        let body: Body = serde_json::from_slice(&bytes).map_err(|_| Unavailable::Invalid)?;
        if !body.active {
            return Ok(Answer::Inactive);
        }
        let mut until_ms = now.saturating_add(self.ttl_ms);
        if let Some(exp) = body.exp {
            until_ms = until_ms.min(exp.saturating_mul(1000));
        }
        Ok(Answer::Active { until_ms })
    }
}
