//! Fetching the JWKS: the keys URL (configured, discovered from the issuer's
//! `/.well-known/openid-configuration`, or `{issuer}/v1/keys`), the request with a capped body,
//! and the set's lifetime from `Cache-Control`.

use std::sync::Mutex;
use std::time::Duration;

use reqwest::Url;
use serde::Deserialize;

use super::jwk::{parse_jwks, KeySet, NotAJwks};
use crate::algorithm::Algorithm;
use crate::net::{check_secure_url, rate_limit_wait, read_capped, ReadError};

/// Why a JWKS fetch failed. Logged; never sent to clients.
#[derive(Debug, thiserror::Error)]
pub(crate) enum FetchError {
    #[error("HTTP request failed: {0}")]
    Http(#[from] reqwest::Error),
    #[error("unexpected HTTP status {status} from {url}")]
    Status { status: u16, url: Url },
    #[error("rate limited (429) by {url}")]
    RateLimited {
        url: Url,
        /// How long Okta asks to wait (`X-Rate-Limit-Reset`, else `Retry-After`), bounded.
        wait: Option<Duration>,
    },
    #[error("response larger than {0} bytes")]
    TooLarge(usize),
    #[error(transparent)]
    NotAJwks(#[from] NotAJwks),
    #[error("the fetch took longer than its total timeout")]
    TimedOut,
    #[error("the JWKS has no usable key")]
    NoUsableKey,
    #[error("discovery document names issuer other than the configured one")]
    DiscoveryIssuerMismatch,
    #[error("discovery document's jwks_uri is unusable: {0}")]
    BadJwksUri(&'static str),
}

/// Where and how the keys of one issuer are fetched.
#[derive(Debug)]
pub(crate) struct Fetcher {
    pub(crate) issuer: String,
    pub(crate) fallback_uri: Url,
    pub(crate) configured_uri: Option<Url>,
    pub(crate) discovered_uri: Mutex<Option<Url>>,
    pub(crate) http: reqwest::Client,
    pub(crate) allowed: Vec<Algorithm>,
    pub(crate) max_response_bytes: usize,
    pub(crate) min_ttl: Duration,
    pub(crate) max_ttl: Duration,
}

impl From<ReadError> for FetchError {
    fn from(e: ReadError) -> Self {
        match e {
            ReadError::Http(e) => FetchError::Http(e),
            ReadError::TooLarge(max) => FetchError::TooLarge(max),
        }
    }
}

impl Fetcher {
    /// Lifetime of a fetched set from `Cache-Control: max-age`, clamped.
    fn ttl(&self, headers: &reqwest::header::HeaderMap) -> Duration {
        let cache_control = headers
            .get_all(reqwest::header::CACHE_CONTROL)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .collect::<Vec<_>>()
            .join(",");
        clamp_max_age(&cache_control, self.min_ttl, self.max_ttl)
    }

    /// Fetches and parses the set: the usable keys, their lifetime and the URL they came from.
    /// `now_ms` is the clock's time, for Okta's `X-Rate-Limit-Reset` after a 429.
    pub(crate) async fn fetch(&self, now_ms: i64) -> Result<(KeySet, Duration, Url), FetchError> {
        let uri = self.jwks_uri().await?;
        let response = self
            .http
            .get(uri.clone())
            .header(reqwest::header::ACCEPT, "application/json")
            .send()
            .await?;
        let status = response.status();
        tracing::debug!(issuer = %self.issuer, url = %uri, status = status.as_u16(), "JWKS response");
        if status == reqwest::StatusCode::TOO_MANY_REQUESTS {
            return Err(FetchError::RateLimited {
                wait: rate_limit_wait(response.headers(), now_ms),
                url: uri,
            });
        }
        if status != reqwest::StatusCode::OK {
            return Err(FetchError::Status {
                status: status.as_u16(),
                url: uri,
            });
        }
        let ttl = self.ttl(response.headers());
        let body = read_capped(response, self.max_response_bytes).await?;
        let set = parse_jwks(&body, &self.allowed)?;
        if set.keys.is_empty() {
            return Err(FetchError::NoUsableKey);
        }
        Ok((set, ttl, uri))
    }

    /// The JWKS URL: configured, or from the discovery document, or `{issuer}/v1/keys`.
    async fn jwks_uri(&self) -> Result<Url, FetchError> {
        if let Some(uri) = &self.configured_uri {
            return Ok(uri.clone());
        }
        if let Some(uri) = self.discovered_uri.lock().ok().and_then(|u| u.clone()) {
            return Ok(uri);
        }
        #[derive(Deserialize)]
        struct Discovery {
            issuer: String,
            jwks_uri: String,
        }
        let url = format!("{}/.well-known/openid-configuration", self.issuer);
        let response = self.http.get(&url).send().await?;
        if response.status() != reqwest::StatusCode::OK {
            tracing::debug!(issuer = %self.issuer, status = response.status().as_u16(),
                "no discovery document; using the default JWKS path");
            return Ok(self.fallback_uri.clone());
        }
        let body = read_capped(response, self.max_response_bytes).await?;
        let Ok(doc) = serde_json::from_slice::<Discovery>(&body) else {
            return Ok(self.fallback_uri.clone());
        };
        if doc.issuer != self.issuer {
            return Err(FetchError::DiscoveryIssuerMismatch);
        }
        let uri = Url::parse(&doc.jwks_uri).map_err(|_| FetchError::BadJwksUri("not a URL"))?;
        check_secure_url(&uri).map_err(|e| FetchError::BadJwksUri(e.reason()))?;
        if let Ok(mut slot) = self.discovered_uri.lock() {
            *slot = Some(uri.clone());
        }
        Ok(uri)
    }
}

/// `max-age` from a `Cache-Control` value, clamped to `[min, max]`; `no-cache`, `no-store` or no
/// `max-age` give `min`.
pub(crate) fn clamp_max_age(cache_control: &str, min: Duration, max: Duration) -> Duration {
    let mut max_age = None;
    for directive in cache_control.split(',') {
        let directive = directive.trim();
        let lower = directive.to_ascii_lowercase();
        if lower == "no-cache" || lower == "no-store" {
            return min;
        }
        if let Some(value) = lower.strip_prefix("max-age=") {
            max_age = value.trim_matches('"').parse::<u64>().ok();
        }
    }
    max_age.map_or(min, |secs| Duration::from_secs(secs).clamp(min, max))
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIN: Duration = Duration::from_secs(300);
    const MAX: Duration = Duration::from_secs(86_400);

    #[test]
    fn max_age_is_clamped() {
        assert_eq!(
            clamp_max_age("max-age=3317760, must-revalidate", MIN, MAX),
            MAX
        );
        assert_eq!(clamp_max_age("max-age=0", MIN, MAX), MIN);
        assert_eq!(clamp_max_age("no-cache", MIN, MAX), MIN);
        assert_eq!(clamp_max_age("max-age=3600, no-store", MIN, MAX), MIN);
        assert_eq!(
            clamp_max_age("public, max-age=3600", MIN, MAX),
            Duration::from_secs(3600)
        );
        assert_eq!(clamp_max_age("", MIN, MAX), MIN);
        assert_eq!(clamp_max_age("max-age=abc", MIN, MAX), MIN);
    }
}
