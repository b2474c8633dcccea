//! The issuer's signing keys: JWKS parsing, fetching and caching.
//!
//! Keys are parsed once per fetch into ready-to-verify aws-lc-rs keys and held in a moka cache
//! keyed by `kid`; a request whose `kid` is cached never waits on the network. A `kid` that is not
//! cached leads to [`Jwks::key_after_fetch`], where one tokio mutex makes fetches single-flight:
//! the first caller fetches, the others wait for it and then find the key (or learn that it does
//! not exist). After a successful fetch no other fetch happens for a cooldown, however many
//! unknown `kid`s arrive; after a failed one, retries back off from about 1 s to about 10 s.
//! A fetch that fails never removes keys: the last good set keeps serving.
//!
//! Timing reads the verifier's [`Clock`], so tests of cooldown, lifetime and backoff are exact.

use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use aws_lc_rs::signature::{ParsedPublicKey, RsaPublicKeyComponents};
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig};
use base64::engine::DecodePaddingMode;
use base64::{alphabet, Engine};
use reqwest::Url;
use serde::Deserialize;

use crate::algorithm::Algorithm;
use crate::builder::check_secure_url;
use crate::clock::Clock;
use crate::error::{AuthError, TokenError};

/// JWK values may carry padding in the wild; the key material itself is what is checked.
const JWK_B64: GeneralPurpose = GeneralPurpose::new(
    &alphabet::URL_SAFE,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// Smallest RSA modulus accepted, in bits.
pub(crate) const MIN_RSA_BITS: usize = 2048;
/// Largest RSA modulus accepted, in bits (aws-lc-rs's limit for verification).
pub(crate) const MAX_RSA_BITS: usize = 8192;
/// At most this many keys are read from one JWKS.
pub(crate) const MAX_KEYS: usize = 64;

/// Settings of the JWKS fetcher and cache.
#[derive(Debug, Clone)]
pub(crate) struct JwksConfig {
    pub(crate) connect_timeout: Duration,
    pub(crate) timeout: Duration,
    pub(crate) max_response_bytes: usize,
    pub(crate) cooldown: Duration,
    pub(crate) min_ttl: Duration,
    pub(crate) max_ttl: Duration,
    pub(crate) retry_initial: Duration,
    pub(crate) retry_max: Duration,
}

impl Default for JwksConfig {
    fn default() -> Self {
        JwksConfig {
            connect_timeout: Duration::from_secs(2),
            timeout: Duration::from_secs(5),
            max_response_bytes: 1024 * 1024,
            cooldown: Duration::from_secs(30),
            min_ttl: Duration::from_secs(5 * 60),
            max_ttl: Duration::from_secs(24 * 60 * 60),
            retry_initial: Duration::from_secs(1),
            retry_max: Duration::from_secs(10),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Keys

/// A public key from the JWKS, parsed once for each algorithm it may be used with.
pub(crate) struct VerifyingKey {
    parsed: Vec<(Algorithm, ParsedPublicKey)>,
}

impl std::fmt::Debug for VerifyingKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let algs: Vec<_> = self.parsed.iter().map(|(a, _)| a.as_str()).collect();
        f.debug_struct("VerifyingKey").field("algs", &algs).finish()
    }
}

impl VerifyingKey {
    /// Verifies `signature` over `message` with this key under `alg`.
    pub(crate) fn verify(
        &self,
        alg: Algorithm,
        message: &[u8],
        signature: &[u8],
    ) -> Result<(), TokenError> {
        let (_, key) = self
            .parsed
            .iter()
            .find(|(a, _)| *a == alg)
            .ok_or(TokenError::KeyAlgorithmMismatch)?;
        key.verify_sig(message, signature)
            .map_err(|_| TokenError::BadSignature)
    }
}

/// Why one JWK was not usable.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum KeyError {
    /// Not a JSON object with string fields where strings are expected.
    #[error("not a valid JWK object")]
    Malformed,
    /// No `kid`.
    #[error("no kid")]
    MissingKid,
    /// `kty` is not `RSA`.
    #[error("kty is not RSA")]
    NotRsa,
    /// `use` is present and not `sig`.
    #[error("use is not sig")]
    NotForSignatures,
    /// `key_ops` is present and does not include `verify`.
    #[error("key_ops does not allow verify")]
    NotForVerify,
    /// `alg` is present and not allowed.
    #[error("alg is not allowed")]
    AlgorithmNotAllowed,
    /// The modulus is shorter than 2048 bits or longer than 8192.
    #[error("modulus size out of range (2048 to 8192 bits)")]
    BadModulusSize,
    /// The exponent is even, below 3 or above 2^32 - 1.
    #[error("exponent out of range")]
    BadExponent,
    /// The key was refused by aws-lc-rs.
    #[error("key rejected by the crypto library")]
    Rejected,
    /// Two keys of the set have this `kid`; neither is used.
    #[error("duplicate kid")]
    DuplicateKid,
}

#[derive(Deserialize)]
struct RawJwk<'a> {
    #[serde(borrow)]
    kty: Option<&'a str>,
    #[serde(borrow, rename = "use")]
    use_: Option<&'a str>,
    #[serde(borrow)]
    alg: Option<&'a str>,
    kid: Option<String>,
    #[serde(borrow)]
    n: Option<&'a str>,
    #[serde(borrow)]
    e: Option<&'a str>,
    key_ops: Option<Vec<String>>,
}

fn strip_leading_zeros(bytes: &[u8]) -> &[u8] {
    let start = bytes.iter().position(|&b| b != 0).unwrap_or(bytes.len());
    &bytes[start..]
}

/// Parses one JWK into a verifying key for the `allowed` algorithms.
pub(crate) fn parse_jwk(
    value: &serde_json::Value,
    allowed: &[Algorithm],
) -> Result<(String, VerifyingKey), KeyError> {
    let raw = RawJwk::deserialize(value).map_err(|_| KeyError::Malformed)?;
    let kid = raw.kid.ok_or(KeyError::MissingKid)?;
    if raw.kty != Some("RSA") {
        return Err(KeyError::NotRsa);
    }
    if raw.use_.is_some_and(|u| u != "sig") {
        return Err(KeyError::NotForSignatures);
    }
    if raw
        .key_ops
        .as_ref()
        .is_some_and(|ops| !ops.iter().any(|o| o == "verify"))
    {
        return Err(KeyError::NotForVerify);
    }
    let algs: Vec<Algorithm> = match raw.alg {
        Some(name) => match Algorithm::from_name(name) {
            Some(a) if allowed.contains(&a) => vec![a],
            _ => return Err(KeyError::AlgorithmNotAllowed),
        },
        None => allowed.to_vec(),
    };
    let n = JWK_B64
        .decode(raw.n.ok_or(KeyError::Malformed)?)
        .map_err(|_| KeyError::Malformed)?;
    let e = JWK_B64
        .decode(raw.e.ok_or(KeyError::Malformed)?)
        .map_err(|_| KeyError::Malformed)?;
    let n = strip_leading_zeros(&n);
    let e = strip_leading_zeros(&e);
    let bits = match n.first() {
        Some(first) => (n.len() - 1) * 8 + (8 - first.leading_zeros() as usize),
        None => 0,
    };
    if !(MIN_RSA_BITS..=MAX_RSA_BITS).contains(&bits) {
        return Err(KeyError::BadModulusSize);
    }
    if e.is_empty() || e.len() > 4 {
        return Err(KeyError::BadExponent);
    }
    let e_value = e.iter().fold(0u64, |acc, &b| (acc << 8) | u64::from(b));
    if e_value < 3 || e_value % 2 == 0 {
        return Err(KeyError::BadExponent);
    }
    let components = RsaPublicKeyComponents { n, e };
    let parsed = algs
        .into_iter()
        .map(|alg| {
            components
                .to_parsed_public_key(alg.params())
                .map(|k| (alg, k))
                .map_err(|_| KeyError::Rejected)
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok((kid, VerifyingKey { parsed }))
}

/// A parsed JWKS: the usable keys, and what was wrong with the others.
#[derive(Debug, Default)]
pub(crate) struct KeySet {
    pub(crate) keys: Vec<(String, Arc<VerifyingKey>)>,
    /// `(index in "keys", why skipped)` for every unusable entry.
    pub(crate) skipped: Vec<(usize, KeyError)>,
}

/// Parses a JWKS document (`{"keys":[...]}`). Unusable keys are skipped; a `kid` that appears
/// twice makes both entries unusable. Errors if the document itself is not a JWKS.
pub(crate) fn parse_jwks(body: &[u8], allowed: &[Algorithm]) -> Result<KeySet, FetchError> {
    // RFC 7517: a JSON object with a `keys` array (not serde's array form of a struct).
    let doc: serde_json::Value = serde_json::from_slice(body).map_err(|_| FetchError::NotAJwks)?;
    let Some(keys) = doc.get("keys").and_then(serde_json::Value::as_array) else {
        return Err(FetchError::NotAJwks);
    };
    let mut set = KeySet::default();
    let mut seen: Vec<Option<String>> = Vec::new();
    for (i, value) in keys.iter().take(MAX_KEYS).enumerate() {
        let kid = value.get("kid").and_then(|k| k.as_str()).map(str::to_owned);
        seen.push(kid);
        match parse_jwk(value, allowed) {
            Ok((kid, key)) => set.keys.push((kid, Arc::new(key))),
            Err(e) => set.skipped.push((i, e)),
        }
    }
    // A kid named twice is ambiguous: refuse every key with it.
    let dup = |kid: &str| seen.iter().flatten().filter(|k| *k == kid).count() > 1;
    let before: Vec<String> = set.keys.iter().map(|(k, _)| k.clone()).collect();
    set.keys.retain(|(kid, _)| !dup(kid));
    for (i, kid) in seen.iter().enumerate() {
        if let Some(kid) = kid {
            if dup(kid) && before.contains(kid) {
                set.skipped.push((i, KeyError::DuplicateKid));
            }
        }
    }
    Ok(set)
}

// ---------------------------------------------------------------------------------------------
// Fetching

/// Why a JWKS fetch failed. Logged; never sent to clients.
#[derive(Debug, thiserror::Error)]
pub(crate) enum FetchError {
    #[error("HTTP request failed: {0}")]
    Http(#[from] reqwest::Error),
    #[error("unexpected HTTP status {status} from {url}")]
    Status { status: u16, url: Url },
    #[error("response larger than {0} bytes")]
    TooLarge(usize),
    #[error("response is not a JWKS document")]
    NotAJwks,
    #[error("the JWKS has no usable key")]
    NoUsableKey,
    #[error("discovery document names issuer other than the configured one")]
    DiscoveryIssuerMismatch,
    #[error("discovery document's jwks_uri is unusable: {0}")]
    BadJwksUri(&'static str),
}

/// Fetch counters, for users' metrics.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct JwksStats {
    /// JWKS fetches attempted.
    pub fetches: u64,
    /// Fetches that failed.
    pub failures: u64,
    /// Requests for an unknown `kid` answered from the cooldown without a fetch.
    pub cooldown_hits: u64,
    /// Keys in the current set.
    pub keys: u64,
    /// Key lookups answered from the cache.
    pub cache_hits: u64,
    /// Key lookups that missed the cache (each may wait for a fetch, or hit the cooldown).
    pub cache_misses: u64,
    /// Lifetime of the current set: its `Cache-Control: max-age`, clamped (zero before the first
    /// successful fetch).
    pub ttl: Duration,
}

#[derive(Debug)]
struct FetchState {
    /// Kids of the current set, to drop the ones a new set no longer has.
    kids: Vec<String>,
    /// When the last fetch started, in clock milliseconds.
    last_attempt: Option<i64>,
    last_ok: bool,
    /// How long after `last_attempt` the next fetch may start: the cooldown after a success,
    /// the jittered retry delay after a failure.
    wait: Duration,
    /// The next retry delay before jitter; doubles on each failure up to `retry_max`.
    retry: Duration,
}

/// The issuer's key source: fetcher, cache and fetch coordination.
#[derive(Debug)]
pub(crate) struct Jwks {
    issuer: String,
    fallback_uri: Url,
    configured_uri: Option<Url>,
    discovered_uri: Mutex<Option<Url>>,
    http: reqwest::Client,
    config: JwksConfig,
    allowed: Vec<Algorithm>,
    keys: moka::sync::Cache<String, Arc<VerifyingKey>>,
    state: tokio::sync::Mutex<FetchState>,
    clock: Arc<dyn Clock>,
    /// When a background refresh is due, in clock milliseconds.
    refresh_due_ms: AtomicI64,
    refreshing: AtomicBool,
    /// Lifetime of the current set, in seconds (0 before the first fetch).
    ttl_secs: AtomicU64,
    fetches: AtomicU64,
    failures: AtomicU64,
    cooldown_hits: AtomicU64,
    cache_hits: AtomicU64,
    cache_misses: AtomicU64,
}

impl Jwks {
    pub(crate) fn new(
        issuer: String,
        fallback_uri: Url,
        configured_uri: Option<Url>,
        http: reqwest::Client,
        config: JwksConfig,
        allowed: Vec<Algorithm>,
        clock: Arc<dyn Clock>,
    ) -> Self {
        let retry = config.retry_initial;
        Jwks {
            issuer,
            fallback_uri,
            configured_uri,
            discovered_uri: Mutex::new(None),
            http,
            config,
            allowed,
            keys: moka::sync::Cache::builder()
                .max_capacity(MAX_KEYS as u64 * 2)
                .build(),
            state: tokio::sync::Mutex::new(FetchState {
                kids: Vec::new(),
                last_attempt: None,
                last_ok: false,
                wait: Duration::ZERO,
                retry,
            }),
            clock,
            refresh_due_ms: AtomicI64::new(i64::MAX),
            refreshing: AtomicBool::new(false),
            ttl_secs: AtomicU64::new(0),
            fetches: AtomicU64::new(0),
            failures: AtomicU64::new(0),
            cooldown_hits: AtomicU64::new(0),
            cache_hits: AtomicU64::new(0),
            cache_misses: AtomicU64::new(0),
        }
    }

    pub(crate) fn stats(&self) -> JwksStats {
        JwksStats {
            fetches: self.fetches.load(Ordering::Relaxed),
            failures: self.failures.load(Ordering::Relaxed),
            cooldown_hits: self.cooldown_hits.load(Ordering::Relaxed),
            keys: self.keys.iter().count() as u64,
            cache_hits: self.cache_hits.load(Ordering::Relaxed),
            cache_misses: self.cache_misses.load(Ordering::Relaxed),
            ttl: Duration::from_secs(self.ttl_secs.load(Ordering::Relaxed)),
        }
    }

    /// The cached key for `kid`, without waiting. Starts a background refresh when one is due.
    pub(crate) fn cached(self: &Arc<Self>, kid: &str, now_ms: i64) -> Option<Arc<VerifyingKey>> {
        let Some(key) = self.keys.get(kid) else {
            self.cache_misses.fetch_add(1, Ordering::Relaxed);
            return None;
        };
        self.cache_hits.fetch_add(1, Ordering::Relaxed);
        self.refresh_if_due(now_ms);
        Some(key)
    }

    /// True if a key with this `kid` is in the current set (no counters, no refresh).
    pub(crate) fn contains(&self, kid: &str) -> bool {
        self.keys.contains_key(kid)
    }

    /// The key for `kid` after at most one (shared) fetch.
    ///
    /// `Ok(None)`: the issuer's current set has no such key (401). `Err`: the keys could not be
    /// fetched and this `kid` is not cached (503).
    pub(crate) async fn key_after_fetch(
        &self,
        kid: &str,
    ) -> Result<Option<Arc<VerifyingKey>>, AuthError> {
        let mut state = self.state.lock().await;
        if let Some(key) = self.keys.get(kid) {
            return Ok(Some(key));
        }
        if let Some(last) = state.last_attempt {
            let now = self.clock.now_millis();
            // A clock that went back counts as time passed.
            if now >= last && now - last < millis(state.wait) {
                self.cooldown_hits.fetch_add(1, Ordering::Relaxed);
                tracing::debug!(
                    issuer = %self.issuer,
                    last_fetch_ok = state.last_ok,
                    "unknown kid within the JWKS fetch cooldown; not fetching"
                );
                return if state.last_ok {
                    Ok(None)
                } else {
                    Err(AuthError::KeysUnavailable)
                };
            }
        }
        self.fetch_locked(&mut state).await;
        if state.last_ok {
            Ok(self.keys.get(kid))
        } else {
            Err(AuthError::KeysUnavailable)
        }
    }

    fn refresh_if_due(self: &Arc<Self>, now_ms: i64) {
        if now_ms < self.refresh_due_ms.load(Ordering::Relaxed)
            || self.refreshing.swap(true, Ordering::AcqRel)
        {
            return;
        }
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            self.refreshing.store(false, Ordering::Release);
            return;
        };
        /// Clears the flag however the task ends (also if its runtime shuts down mid-fetch).
        struct Done(Arc<Jwks>);
        impl Drop for Done {
            fn drop(&mut self) {
                self.0.refreshing.store(false, Ordering::Release);
            }
        }
        let done = Done(Arc::clone(self));
        runtime.spawn(async move {
            let this = &done.0;
            let mut state = this.state.lock().await;
            // Another fetch may have happened while waiting for the lock.
            if this.clock.now_millis() >= this.refresh_due_ms.load(Ordering::Relaxed) {
                tracing::debug!(issuer = %this.issuer, "JWKS background refresh");
                this.fetch_locked(&mut state).await;
            }
        });
    }

    /// Fetches the set now, with the fetch lock held, and records the outcome.
    async fn fetch_locked(&self, state: &mut FetchState) {
        let started = std::time::Instant::now();
        state.last_attempt = Some(self.clock.now_millis());
        tracing::debug!(issuer = %self.issuer, "JWKS fetch started");
        self.fetches.fetch_add(1, Ordering::Relaxed);
        match self.fetch_set().await {
            Ok((set, ttl, url)) => {
                let new_kids: Vec<String> = set.keys.iter().map(|(k, _)| k.clone()).collect();
                for (kid, key) in set.keys {
                    self.keys.insert(kid, key);
                }
                let added = new_kids.iter().filter(|k| !state.kids.contains(k)).count();
                let mut removed = 0;
                for old in &state.kids {
                    if !new_kids.contains(old) {
                        self.keys.invalidate(old);
                        removed += 1;
                    }
                }
                if !state.kids.is_empty() && (added > 0 || removed > 0) {
                    tracing::info!(issuer = %self.issuer, added, removed, "JWKS key rotation");
                }
                state.kids = new_kids;
                state.last_ok = true;
                state.wait = self.config.cooldown;
                state.retry = self.config.retry_initial;
                self.ttl_secs.store(ttl.as_secs(), Ordering::Relaxed);
                // Refresh in the background once 90% of the lifetime has passed.
                let refresh_in = ttl.mul_f64(0.9);
                self.schedule_refresh(refresh_in);
                tracing::info!(
                    issuer = %self.issuer,
                    %url,
                    status = 200,
                    keys = state.kids.len(),
                    skipped = set.skipped.len(),
                    ttl_secs = ttl.as_secs(),
                    duration_ms = started.elapsed().as_millis() as u64,
                    "JWKS fetched"
                );
                for (index, why) in &set.skipped {
                    tracing::warn!(issuer = %self.issuer, index, reason = %why, "JWKS key skipped");
                }
            }
            Err(error) => {
                self.failures.fetch_add(1, Ordering::Relaxed);
                state.last_ok = false;
                let wait = jitter(state.retry);
                state.wait = wait;
                state.retry = (state.retry * 2).min(self.config.retry_max);
                self.schedule_refresh(wait);
                tracing::warn!(
                    issuer = %self.issuer,
                    %error,
                    retry_in_ms = wait.as_millis() as u64,
                    stale_keys = state.kids.len(),
                    duration_ms = started.elapsed().as_millis() as u64,
                    "JWKS fetch failed"
                );
            }
        }
    }

    fn schedule_refresh(&self, after: Duration) {
        let at = self.clock.now_millis().saturating_add(millis(after));
        self.refresh_due_ms.store(at, Ordering::Relaxed);
    }

    /// Lifetime of a fetched set from `Cache-Control: max-age`, clamped.
    fn ttl(&self, headers: &reqwest::header::HeaderMap) -> Duration {
        let cache_control = headers
            .get_all(reqwest::header::CACHE_CONTROL)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .collect::<Vec<_>>()
            .join(",");
        clamp_max_age(&cache_control, self.config.min_ttl, self.config.max_ttl)
    }

    async fn fetch_set(&self) -> Result<(KeySet, Duration, Url), FetchError> {
        let uri = self.jwks_uri().await?;
        let response = self
            .http
            .get(uri.clone())
            .header(reqwest::header::ACCEPT, "application/json")
            .send()
            .await?;
        let status = response.status();
        tracing::debug!(issuer = %self.issuer, url = %uri, status = status.as_u16(), "JWKS response");
        if status != reqwest::StatusCode::OK {
            return Err(FetchError::Status {
                status: status.as_u16(),
                url: uri,
            });
        }
        let ttl = self.ttl(response.headers());
        let body = read_capped(response, self.config.max_response_bytes).await?;
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
        let body = read_capped(response, self.config.max_response_bytes).await?;
        let Ok(doc) = serde_json::from_slice::<Discovery>(&body) else {
            return Ok(self.fallback_uri.clone());
        };
        if doc.issuer != self.issuer {
            return Err(FetchError::DiscoveryIssuerMismatch);
        }
        let uri = Url::parse(&doc.jwks_uri).map_err(|_| FetchError::BadJwksUri("not a URL"))?;
        check_secure_url(&uri).map_err(FetchError::BadJwksUri)?;
        if let Ok(mut slot) = self.discovered_uri.lock() {
            *slot = Some(uri.clone());
        }
        Ok(uri)
    }
}

/// Reads a response body, refusing more than `max` bytes.
async fn read_capped(mut response: reqwest::Response, max: usize) -> Result<Vec<u8>, FetchError> {
    if response
        .content_length()
        .is_some_and(|len| len > max as u64)
    {
        return Err(FetchError::TooLarge(max));
    }
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await? {
        if body.len() + chunk.len() > max {
            return Err(FetchError::TooLarge(max));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
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

fn millis(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

/// `d` scaled by a random factor in [0.8, 1.2).
fn jitter(d: Duration) -> Duration {
    let mut byte = [0u8; 1];
    let _ = aws_lc_rs::rand::fill(&mut byte);
    d.mul_f64(0.8 + 0.4 * f64::from(byte[0]) / 256.0)
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

    #[test]
    fn jitter_stays_in_range() {
        for _ in 0..100 {
            let j = jitter(Duration::from_secs(10));
            assert!(
                j >= Duration::from_secs(8) && j < Duration::from_secs(12),
                "{j:?}"
            );
        }
    }

    #[test]
    fn jwks_document_errors() {
        assert!(matches!(
            parse_jwks(b"[]", &[Algorithm::RS256]),
            Err(FetchError::NotAJwks)
        ));
        assert!(matches!(
            parse_jwks(b"{}", &[Algorithm::RS256]),
            Err(FetchError::NotAJwks)
        ));
        let set = parse_jwks(
            br#"{"keys":[{"kty":"EC","kid":"a"},{"kid":"b"},1]}"#,
            &[Algorithm::RS256],
        )
        .unwrap();
        assert!(set.keys.is_empty());
        assert_eq!(
            set.skipped.iter().map(|(_, e)| *e).collect::<Vec<_>>(),
            [KeyError::NotRsa, KeyError::NotRsa, KeyError::Malformed]
        );
    }
}
