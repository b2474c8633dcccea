//! Configuration errors of the builder: each says which setting is wrong and how to fix it.

/// A configuration problem found by [`VerifierBuilder::build`](crate::VerifierBuilder::build).
///
/// Each message names the setting and says how to fix it.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// No issuer was given.
    #[error(
        "issuer is missing: call .issuer(\"https://{{yourOktaDomain}}/oauth2/default\") \
         or set OKTA_ISSUER"
    )]
    MissingIssuer,
    /// A required environment variable is not set (or empty), for
    /// [`Verifier::from_env`](crate::Verifier::from_env).
    #[error(
        "environment variable {0} is not set: set it (OKTA_ISSUER to your custom authorization \
         server's issuer, e.g. https://{{yourOktaDomain}}/oauth2/default; OKTA_CLIENT_ID to your \
         SPA app's client ID)"
    )]
    MissingEnvVar(&'static str),
    /// The issuer is not a usable URL.
    #[error("issuer `{issuer}` is invalid: {reason}")]
    InvalidIssuer {
        /// The issuer as given.
        issuer: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// The issuer uses plain `http` on a host that is not loopback.
    #[error(
        "issuer `{0}` must use https (plain http is only allowed on loopback hosts such as \
         127.0.0.1 or localhost, for the mock Okta and local tests)"
    )]
    InsecureIssuer(String),
    /// The issuer is Okta's org authorization server and access tokens were to be verified.
    #[error(
        "issuer `{0}` is Okta's org authorization server: its access tokens are meant only for \
         Okta's own APIs and cannot be validated by your API. Create (or use the built-in) custom \
         authorization server in Okta (Security > API > Authorization Servers) and set the issuer \
         to its URL, for example `{0}/oauth2/default`; or call .id_tokens_only() if this API only \
         verifies ID tokens"
    )]
    OrgAuthorizationServer(String),
    /// No client id was given, or it is empty.
    #[error(
        "client id is missing or empty: call .client_id(\"0oa...\") with the client ID of your \
         Okta SPA app integration, or set OKTA_CLIENT_ID"
    )]
    MissingClientId,
    /// An audience given is empty.
    #[error(
        "audience is empty: leave it unset to use the client id, or give the Audience setting of \
         your authorization server (OKTA_AUDIENCE)"
    )]
    EmptyAudience,
    /// The leeway is larger than the cap.
    #[error("leeway of {given_secs} s is too large: at most {max_secs} s is allowed")]
    LeewayTooLarge {
        /// The leeway given, in seconds.
        given_secs: u64,
        /// The largest leeway accepted, in seconds.
        max_secs: u64,
    },
    /// The algorithm allow-list is empty.
    #[error("the allowed algorithms list is empty: allow at least RS256")]
    NoAlgorithms,
    /// An algorithm name is not a supported RSA signature algorithm.
    #[error(
        "algorithm `{0}` is not supported: only RSA algorithms (RS256, RS384, RS512, PS256, \
         PS384, PS512) can be allowed"
    )]
    UnsupportedAlgorithm(String),
    /// The token size cap is outside the accepted range.
    #[error("max token size of {0} bytes is out of range: use 1024 to 65536 bytes")]
    MaxTokenSize(usize),
    /// An explicit JWKS URL is not usable.
    #[error("jwks_uri `{uri}` is invalid: {reason}")]
    InvalidJwksUri {
        /// The URL as given.
        uri: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// The introspection settings are invalid.
    #[error("introspection: {0}")]
    Introspection(&'static str),
    /// The verified-token cache settings are out of range.
    #[error("token_cache: max_entries must be at least 1 and ttl from 1 s to 1 h")]
    TokenCache,
    /// A DPoP proof algorithm name is not supported.
    #[error(
        "DPoP algorithm `{0}` is not supported: only ES256, ES384, RS256 and PS256 can be allowed"
    )]
    UnsupportedDpopAlgorithm(String),
    /// The DPoP settings are invalid.
    #[error("dpop: {0}")]
    Dpop(&'static str),
    /// The HTTP client for JWKS fetches could not be built.
    #[error("the HTTP client for JWKS fetches could not be built: {0}")]
    HttpClient(#[source] reqwest::Error),
}
