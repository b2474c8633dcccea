//! [`VerifierBuilder`]: every setting of a [`Verifier`], validated at build time.

use std::sync::Arc;
use std::time::Duration;

use reqwest::Url;

use crate::algorithm::Algorithm;
use crate::clock::{Clock, SystemClock};
use crate::diagnose::Diagnostics;
use crate::dpop::DpopOptions;
use crate::error::ConfigError;
use crate::error::DEFAULT_REALM;
use crate::introspect::Introspection;
use crate::issuer::jwks_fallback;
use crate::jwks::{Jwks, JwksConfig};
use crate::net::check_secure_url;
use crate::token_cache::TokenCache;
use crate::validate::Rules;
use crate::verifier::{Inner, Verifier};

/// The largest leeway accepted for `exp`, `nbf` and `iat`.
pub const MAX_LEEWAY: Duration = Duration::from_secs(300);
/// The default leeway.
pub const DEFAULT_LEEWAY: Duration = Duration::from_secs(60);
/// The verified-token cache's default size (on by default): about 27 MB when full of Okta-shaped
/// tokens of about 900 bytes (2.7 KB per entry: the token, its claims and the cache's own).
pub const DEFAULT_TOKEN_CACHE_ENTRIES: u64 = 10_000;
/// The verified-token cache's default entry lifetime (an entry also ends at the token's `exp`).
pub const DEFAULT_TOKEN_CACHE_TTL: Duration = Duration::from_secs(300);
/// The default token size cap, checked before any decoding.
/// 16 KiB: Okta puts up to 100 groups in a token's `groups` claim, and 100 long group names
/// already make a token of more than 8 KiB.
pub const DEFAULT_MAX_TOKEN_SIZE: usize = 16 * 1024;

/// Builds a [`Verifier`]. Start with [`Verifier::builder`] or [`VerifierBuilder::from_env`].
///
/// ```
/// use std::time::Duration;
/// use tower_okta::Verifier;
///
/// let verifier = Verifier::builder()
///     .issuer("https://dev-123.okta.com/oauth2/default")
///     .client_id("0oa1example2SPAclient")
///     .leeway(Duration::from_secs(30))
///     .build()?;
/// assert_eq!(verifier.audiences(), ["0oa1example2SPAclient"]);
/// # Ok::<(), tower_okta::ConfigError>(())
/// ```
#[derive(Debug, Clone)]
#[must_use]
pub struct VerifierBuilder {
    issuer: Option<String>,
    client_id: Option<String>,
    audiences: Vec<String>,
    leeway: Duration,
    algorithms: Vec<Algorithm>,
    max_token_size: usize,
    clock: Arc<dyn Clock>,
    jwks_uri: Option<String>,
    jwks: JwksConfig,
    http_client: Option<reqwest::Client>,
    id_tokens_only: bool,
    realm: String,
    token_cache: Option<(u64, Duration)>,
    additional_issuers: Vec<String>,
    trace_identity: bool,
    introspection: Option<Introspection>,
    dpop: DpopOptions,
    /// Built by [`from_env`](VerifierBuilder::from_env): a missing setting names its variable.
    from_env: bool,
}

impl Verifier {
    /// A builder; see [`VerifierBuilder`].
    pub fn builder() -> VerifierBuilder {
        VerifierBuilder::new()
    }

    /// A verifier configured from `OKTA_ISSUER`, `OKTA_CLIENT_ID` and optionally `OKTA_AUDIENCE`
    /// (see [`VerifierBuilder::from_env`]).
    ///
    /// # Errors
    /// A [`ConfigError`] if a variable is missing or invalid: without `OKTA_ISSUER`,
    /// [`ConfigError::MissingEnvVar`] naming it. There is no fallback: a verifier is built for
    /// the issuer configured, or not at all.
    pub fn from_env() -> Result<Verifier, ConfigError> {
        VerifierBuilder::from_env().build()
    }
}

impl Default for VerifierBuilder {
    fn default() -> Self {
        VerifierBuilder {
            issuer: None,
            client_id: None,
            audiences: Vec::new(),
            leeway: DEFAULT_LEEWAY,
            algorithms: vec![Algorithm::RS256],
            max_token_size: DEFAULT_MAX_TOKEN_SIZE,
            clock: Arc::new(SystemClock),
            jwks_uri: None,
            jwks: JwksConfig::default(),
            http_client: None,
            id_tokens_only: false,
            realm: DEFAULT_REALM.to_owned(),
            token_cache: Some((DEFAULT_TOKEN_CACHE_ENTRIES, DEFAULT_TOKEN_CACHE_TTL)),
            dpop: DpopOptions::default(),
            additional_issuers: Vec::new(),
            trace_identity: false,
            introspection: None,
            from_env: false,
        }
    }
}

impl VerifierBuilder {
    /// A builder with the defaults: RS256 only, 60 s leeway, 16 KiB token cap.
    pub fn new() -> Self {
        VerifierBuilder::default()
    }

    /// A builder configured from the environment:
    ///
    /// | variable | meaning |
    /// |---|---|
    /// | `OKTA_ISSUER` | the authorization server's issuer, e.g. `https://dev-123.okta.com/oauth2/default` |
    /// | `OKTA_CLIENT_ID` | the SPA app's client ID |
    /// | `OKTA_AUDIENCE` | optional; the authorization server's Audience if it is not the client ID (comma-separated for several) |
    ///
    /// Missing required variables are reported by [`build`](Self::build) as
    /// [`ConfigError::MissingEnvVar`], naming the variable.
    pub fn from_env() -> Self {
        let var = |name: &str| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
        let mut builder = VerifierBuilder::new();
        builder.from_env = true;
        builder.issuer = var("OKTA_ISSUER").map(|v| v.trim().to_owned());
        builder.client_id = var("OKTA_CLIENT_ID").map(|v| v.trim().to_owned());
        if let Some(aud) = var("OKTA_AUDIENCE") {
            builder.audiences = aud.split(',').map(|a| a.trim().to_owned()).collect();
        }
        builder
    }

    /// The authorization server's issuer URL, exactly as it appears in `iss`
    /// (for example `https://dev-123.okta.com/oauth2/default`, no trailing slash).
    pub fn issuer(mut self, issuer: impl Into<String>) -> Self {
        self.issuer = Some(issuer.into());
        self
    }

    /// Another accepted issuer, with its own JWKS: for an authorization server whose Issuer
    /// setting is Dynamic (tokens name the custom domain or the Okta domain) or for several
    /// authorization servers. The token's `iss` selects the issuer before any key lookup, so a
    /// token naming an unlisted issuer never causes a fetch. Validated like
    /// [`issuer`](Self::issuer).
    pub fn additional_issuer(mut self, issuer: impl Into<String>) -> Self {
        self.additional_issuers.push(issuer.into());
        self
    }

    /// The client ID of the Okta SPA app. ID tokens must name it in `aud`; it is also the default
    /// access-token audience.
    pub fn client_id(mut self, client_id: impl Into<String>) -> Self {
        self.client_id = Some(client_id.into());
        self
    }

    /// An accepted access-token audience (the authorization server's Audience setting). Call again
    /// to accept several. Without any, the client ID is the audience.
    pub fn audience(mut self, audience: impl Into<String>) -> Self {
        self.audiences.push(audience.into());
        self
    }

    /// Clock skew tolerated on `exp`, `nbf` and `iat`; default 60 s, at most 300 s.
    pub fn leeway(mut self, leeway: Duration) -> Self {
        self.leeway = leeway;
        self
    }

    /// The signature algorithms accepted; default `[RS256]` (what Okta uses). Only RSA
    /// algorithms exist in [`Algorithm`], so `none` and HMAC can never be allowed.
    pub fn allowed_algorithms(mut self, algorithms: impl IntoIterator<Item = Algorithm>) -> Self {
        self.algorithms = algorithms.into_iter().collect();
        self
    }

    /// The token size cap in bytes, checked before any decoding; default 16 KiB, 1 KiB to 64 KiB.
    pub fn max_token_size(mut self, bytes: usize) -> Self {
        self.max_token_size = bytes;
        self
    }

    /// The time source for claim checks and the JWKS cache's cooldown, lifetime and backoff
    /// (default: the system clock). Pass an `Arc<FixedClock>` to keep a handle in tests.
    pub fn clock(mut self, clock: impl Clock) -> Self {
        self.clock = Arc::new(clock);
        self
    }

    /// The JWKS URL, if it should not be discovered from `{issuer}/.well-known/openid-configuration`
    /// (fallback `{issuer}/v1/keys`). Must be https (http only on loopback).
    pub fn jwks_uri(mut self, uri: impl Into<String>) -> Self {
        self.jwks_uri = Some(uri.into());
        self
    }

    /// After a fruitless JWKS fetch (made for an unknown `kid` that the fetched set did not
    /// contain either), no other fetch for an unknown `kid` starts for this long (default 30 s).
    /// Startup, scheduled and fruitful fetches start no cooldown, so a key published after the
    /// last fetch is found at once, while random kids cost at most one fetch per cooldown.
    pub fn jwks_cooldown(mut self, cooldown: Duration) -> Self {
        self.jwks.cooldown = cooldown;
        self
    }

    /// The range `Cache-Control: max-age` of the JWKS response is clamped to (default 5 min to
    /// 1 h). Okta sends a max-age of about 44 days; the upper bound is the window in which a key
    /// that Okta removed (an emergency rotation) is still accepted: **a key removed by Okta stops
    /// being accepted within one lifetime**. `no-cache`, which Okta sends near the end of a key's
    /// safe period, gives the lower bound.
    pub fn jwks_ttl_range(mut self, min: Duration, max: Duration) -> Self {
        self.jwks.min_ttl = min;
        self.jwks.max_ttl = max.max(min);
        self
    }

    /// Connect and total timeouts of each JWKS or discovery request (default 2 s and 5 s). A
    /// request waits at most the total timeout for the keys, however many fetches are queued;
    /// then it gets 503 with `Retry-After`.
    pub fn jwks_timeouts(mut self, connect: Duration, total: Duration) -> Self {
        self.jwks.connect_timeout = connect;
        self.jwks.timeout = total;
        self
    }

    /// The largest JWKS or discovery response read (default 1 MiB).
    pub fn jwks_max_response_bytes(mut self, bytes: usize) -> Self {
        self.jwks.max_response_bytes = bytes;
        self
    }

    /// First and largest delay between JWKS fetch retries after a failure (default 1 s and
    /// 10 s, doubling, with jitter), counted from the failure. After a 429, Okta's
    /// `X-Rate-Limit-Reset` (else `Retry-After`) decides instead, bounded to a minute.
    pub fn jwks_retry(mut self, initial: Duration, max: Duration) -> Self {
        self.jwks.retry_initial = initial;
        self.jwks.retry_max = max.max(initial);
        self
    }

    /// The HTTP client for JWKS fetches. Its own timeouts apply instead of
    /// [`jwks_timeouts`](Self::jwks_timeouts); it should not follow redirects.
    pub fn http_client(mut self, client: reqwest::Client) -> Self {
        self.http_client = Some(client);
        self
    }

    /// This verifier checks ID tokens only: access tokens are refused, and the issuer may be the
    /// org authorization server (`https://{yourOktaDomain}`).
    pub fn id_tokens_only(mut self) -> Self {
        self.id_tokens_only = true;
        self
    }

    /// Sizes the layer's verified-token cache, **on by default** ([`DEFAULT_TOKEN_CACHE_ENTRIES`],
    /// [`DEFAULT_TOKEN_CACHE_TTL`]): tokens that passed every check are accepted again without
    /// the RSA check (`ttl` from 1 s to 1 h). It accepts nothing local verification would refuse:
    /// keyed by the whole token; an entry ends at the earliest of `exp` plus the leeway, `ttl`,
    /// and its key leaving the JWKS; a hit still checks the token kind, the DPoP binding and
    /// introspection. Only the layer uses it; [`without_token_cache`](Self::without_token_cache)
    /// turns it off.
    pub fn token_cache(mut self, max_entries: u64, ttl: Duration) -> Self {
        self.token_cache = Some((max_entries, ttl));
        self
    }

    /// Turns the verified-token cache off: every request through the layer is verified in full.
    pub fn without_token_cache(mut self) -> Self {
        self.token_cache = None;
        self
    }

    /// DPoP settings: proof algorithms, the `iat` window, the replay cache's size, server
    /// nonces and the external origin for `htu` (see [`DpopOptions`]). Which scheme a route
    /// accepts is its layer's [`Dpop`](crate::Dpop) policy (both, by default).
    pub fn dpop(mut self, options: DpopOptions) -> Self {
        self.dpop = options;
        self
    }

    /// Also asks Okta's introspection endpoint whether each locally verified access token is
    /// still active (revocation before `exp`); see [`Introspection`]. Off by default: local
    /// verification alone does not see revocations, introspection costs a request per token per
    /// cache TTL and is rate limited by Okta.
    pub fn introspection(mut self, introspection: Introspection) -> Self {
        self.introspection = Some(introspection);
        self
    }

    /// Records the token's `sub` and `cid` on the `tower_okta.verify` tracing span (off by
    /// default: they identify people). The token itself is never recorded.
    pub fn trace_identity(mut self, on: bool) -> Self {
        self.trace_identity = on;
        self
    }

    /// The `realm` of `WWW-Authenticate` answers (default `api`).
    pub fn realm(mut self, realm: impl Into<String>) -> Self {
        self.realm = realm.into();
        self
    }

    /// Validates the settings and builds the verifier. Fetches nothing: keys are fetched on the
    /// first request (or by [`Verifier::refresh_keys`]).
    ///
    /// # Errors
    /// A [`ConfigError`] naming the setting that is missing or wrong and how to fix it.
    pub fn build(self) -> Result<Verifier, ConfigError> {
        let missing = |variable, error| {
            if self.from_env {
                ConfigError::MissingEnvVar(variable)
            } else {
                error
            }
        };
        let issuer = self
            .issuer
            .clone()
            .ok_or_else(|| missing("OKTA_ISSUER", ConfigError::MissingIssuer))?;
        let mut issuers = vec![issuer];
        for extra in self.additional_issuers {
            if !issuers.contains(&extra) {
                issuers.push(extra);
            }
        }
        let mut fallbacks = Vec::with_capacity(issuers.len());
        for issuer in &issuers {
            fallbacks.push(jwks_fallback(issuer, self.id_tokens_only)?);
        }
        let client_id = self
            .client_id
            .as_deref()
            .map(|c| c.trim().to_owned())
            .filter(|c| !c.is_empty())
            .ok_or_else(|| missing("OKTA_CLIENT_ID", ConfigError::MissingClientId))?;
        let mut audiences = self.audiences;
        if audiences.iter().any(|a| a.trim().is_empty()) {
            return Err(ConfigError::EmptyAudience);
        }
        if audiences.is_empty() {
            audiences.push(client_id.clone());
        }
        if self.leeway > MAX_LEEWAY {
            return Err(ConfigError::LeewayTooLarge {
                given_secs: self.leeway.as_secs(),
                max_secs: MAX_LEEWAY.as_secs(),
            });
        }
        if self.algorithms.is_empty() {
            return Err(ConfigError::NoAlgorithms);
        }
        if !(1024..=65536).contains(&self.max_token_size) {
            return Err(ConfigError::MaxTokenSize(self.max_token_size));
        }
        let jwks_uri = match self.jwks_uri {
            Some(uri) => {
                let url = Url::parse(&uri).map_err(|_| ConfigError::InvalidJwksUri {
                    uri: uri.clone(),
                    reason: "not a URL",
                })?;
                check_secure_url(&url).map_err(|e| ConfigError::InvalidJwksUri {
                    uri,
                    reason: e.reason(),
                })?;
                Some(url)
            }
            None => None,
        };
        let http = match self.http_client {
            Some(client) => client,
            None => reqwest::Client::builder()
                .connect_timeout(self.jwks.connect_timeout)
                .timeout(self.jwks.timeout)
                .redirect(reqwest::redirect::Policy::none())
                .user_agent(concat!("tower-okta/", env!("CARGO_PKG_VERSION")))
                .build()
                .map_err(ConfigError::HttpClient)?,
        };
        let mut jwks_uri = jwks_uri;
        let jwks = issuers
            .iter()
            .zip(fallbacks)
            .map(|(url, fallback)| {
                Arc::new(Jwks::new(
                    url.clone(),
                    fallback,
                    // An explicit JWKS URL belongs to the configured (first) issuer.
                    jwks_uri.take(),
                    http.clone(),
                    self.jwks.clone(),
                    self.algorithms.clone(),
                    Arc::clone(&self.clock),
                ))
            })
            .collect();
        let token_cache = match self.token_cache {
            None => None,
            Some((max_entries, ttl)) => {
                if max_entries == 0
                    || !(Duration::from_secs(1)..=Duration::from_secs(3600)).contains(&ttl)
                {
                    return Err(ConfigError::TokenCache);
                }
                Some(TokenCache::new(max_entries, ttl))
            }
        };
        let introspector = match self.introspection {
            None => None,
            Some(introspection) => Some(
                introspection
                    .build(&issuers[0], http.clone(), Arc::clone(&self.clock))
                    .map_err(ConfigError::Introspection)?,
            ),
        };
        let dpop = self.dpop.build(Arc::clone(&self.clock))?;
        let leeway = i64::try_from(self.leeway.as_secs()).unwrap_or(i64::MAX);
        Ok(Verifier::from_inner(Inner {
            rules: Rules {
                issuers,
                audiences,
                client_id,
                leeway,
                access_tokens: !self.id_tokens_only,
            },
            jwks,
            algorithms: self.algorithms,
            max_token_size: self.max_token_size,
            clock: self.clock,
            realm: self.realm,
            token_cache,
            trace_identity: self.trace_identity,
            diagnostics: Diagnostics::default(),
            introspector,
            dpop,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn build(issuer: &str) -> Result<Verifier, ConfigError> {
        Verifier::builder().issuer(issuer).client_id("0oa1").build()
    }

    #[test]
    fn issuer_rules() {
        assert!(build("https://dev-1.okta.com/oauth2/default").is_ok());
        assert!(build("http://127.0.0.1:8080/oauth2/default").is_ok());
        assert!(build("http://localhost:8080/oauth2/default").is_ok());
        assert!(build("http://[::1]:8080/oauth2/default").is_ok());
        assert!(matches!(
            build("http://dev-1.okta.com/oauth2/default"),
            Err(ConfigError::InsecureIssuer(_))
        ));
        assert!(matches!(
            build("https://dev-1.okta.com/oauth2/default/"),
            Err(ConfigError::InvalidIssuer { .. })
        ));
        assert!(matches!(
            build("dev-1.okta.com"),
            Err(ConfigError::InvalidIssuer { .. })
        ));
        assert!(matches!(
            build("ftp://dev-1.okta.com/x"),
            Err(ConfigError::InvalidIssuer { .. })
        ));
        assert!(matches!(
            build("https://u:p@dev-1.okta.com/oauth2/default"),
            Err(ConfigError::InvalidIssuer { .. })
        ));
        assert!(matches!(
            Verifier::builder().client_id("x").build(),
            Err(ConfigError::MissingIssuer)
        ));
    }

    #[test]
    fn from_env_without_the_issuer_names_the_variable() {
        // The only test of this binary that touches the environment.
        std::env::remove_var("OKTA_ISSUER");
        std::env::set_var("OKTA_CLIENT_ID", "0oa1");
        let err = Verifier::from_env().unwrap_err();
        assert!(
            matches!(err, ConfigError::MissingEnvVar("OKTA_ISSUER")),
            "{err:?}"
        );
        assert!(err.to_string().contains("OKTA_ISSUER"), "{err}");
        std::env::set_var("OKTA_ISSUER", "https://dev-1.okta.com/oauth2/default");
        std::env::remove_var("OKTA_CLIENT_ID");
        let err = Verifier::from_env().unwrap_err();
        assert!(
            matches!(err, ConfigError::MissingEnvVar("OKTA_CLIENT_ID")),
            "{err:?}"
        );
        std::env::set_var("OKTA_CLIENT_ID", "0oa1");
        let verifier = Verifier::from_env().unwrap();
        assert_eq!(verifier.audiences(), ["0oa1"]);
        std::env::remove_var("OKTA_ISSUER");
        std::env::remove_var("OKTA_CLIENT_ID");
        // The builder alone keeps its own errors.
        assert!(matches!(
            Verifier::builder().client_id("x").build(),
            Err(ConfigError::MissingIssuer)
        ));
    }

    #[test]
    fn org_authorization_server_is_refused_for_access_tokens() {
        let err = build("https://dev-1.okta.com").unwrap_err();
        assert!(matches!(err, ConfigError::OrgAuthorizationServer(_)));
        let msg = err.to_string();
        assert!(
            msg.contains("custom") && msg.contains("/oauth2/default"),
            "{msg}"
        );
        assert!(Verifier::builder()
            .issuer("https://dev-1.okta.com")
            .client_id("0oa1")
            .id_tokens_only()
            .build()
            .is_ok());
    }

    #[test]
    fn other_settings_are_validated() {
        let base = || {
            Verifier::builder()
                .issuer("https://dev-1.okta.com/oauth2/default")
                .client_id("0oa1")
        };
        assert!(matches!(
            Verifier::builder()
                .issuer("https://dev-1.okta.com/oauth2/default")
                .client_id("  ")
                .build(),
            Err(ConfigError::MissingClientId)
        ));
        assert!(matches!(
            base().audience("").build(),
            Err(ConfigError::EmptyAudience)
        ));
        assert!(matches!(
            base().leeway(Duration::from_secs(301)).build(),
            Err(ConfigError::LeewayTooLarge { .. })
        ));
        assert!(matches!(
            base().allowed_algorithms([]).build(),
            Err(ConfigError::NoAlgorithms)
        ));
        assert!(matches!(
            base().max_token_size(10).build(),
            Err(ConfigError::MaxTokenSize(10))
        ));
        assert!(matches!(
            base().jwks_uri("http://evil.example/keys").build(),
            Err(ConfigError::InvalidJwksUri { .. })
        ));
        assert!(matches!(
            "HS256".parse::<Algorithm>(),
            Err(ConfigError::UnsupportedAlgorithm(_))
        ));
        let v = base().audience("api://default").build().unwrap();
        assert_eq!(v.audiences(), ["api://default"]);
    }
}
