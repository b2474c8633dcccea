//! Errors of the machine client.

use std::fmt;

use crate::signing::SigningKeyError;

/// A client-credentials setting that is missing or invalid.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ClientConfigError {
    /// Neither an issuer nor a token endpoint was given.
    #[error("issuer (or token_endpoint) is missing")]
    MissingIssuer,
    /// The token endpoint is not a URL.
    #[error("token endpoint is not a URL")]
    InvalidEndpoint,
    /// The token endpoint is neither https nor http on loopback, or has credentials.
    #[error(
        "token endpoint must be https (plain http only on loopback hosts), without credentials"
    )]
    InsecureEndpoint,
    /// No client ID was given.
    #[error("client_id is missing")]
    MissingClientId,
}

/// Why a token could not be had.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ClientError {
    /// A setting is missing or invalid.
    #[error("client credentials configuration: {0}")]
    Config(ClientConfigError),
    /// The private key cannot be read or is not an RSA key of 2048 bits or more.
    #[error("private key: {0}")]
    Key(#[from] SigningKeyError),
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
    /// Okta's rate limit (429): ask again after `retry_after` (Okta's `X-Rate-Limit-Reset`, else
    /// `Retry-After`, bounded to a minute), or later if Okta said nothing usable.
    #[error("token endpoint is rate limiting this client (429){}", .retry_after.map(|d| format!("; retry in {} s", d.as_secs().max(1))).unwrap_or_default())]
    RateLimited {
        /// How long to wait before the next token request.
        retry_after: Option<std::time::Duration>,
    },
    /// Okta answered with one of its own API errors (`errorCode`, e.g. `E0000047`) instead of an
    /// OAuth error.
    #[error("Okta refused the request: {code}{}", .summary.as_deref().map(|d| format!(" ({d})")).unwrap_or_default())]
    Okta {
        /// Okta's `errorCode`.
        code: String,
        /// Okta's `errorSummary`.
        summary: Option<String>,
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
    pub(super) fn parse(code: &str) -> Self {
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
