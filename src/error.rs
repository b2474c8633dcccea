//! Errors: configuration errors from the builder and rejections of requests and tokens.
//!
//! Every message here is a fixed string: no error ever contains a token, a claim value or a key.

use std::fmt;

use http::StatusCode;

pub use crate::config_error::ConfigError;
pub(crate) use crate::dpop::error::DpopError;

/// The `realm` of `WWW-Authenticate` answers unless
/// [`VerifierBuilder::realm`](crate::VerifierBuilder::realm) or a guard's `realm` says otherwise.
pub const DEFAULT_REALM: &str = "api";

/// The broad class of an [`AuthError`], which decides the HTTP answer (RFC 6750).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// No bearer credentials: 401 with a bare `WWW-Authenticate: Bearer realm="..."`.
    MissingToken,
    /// A malformed request: 400 `invalid_request`.
    InvalidRequest,
    /// The token is not acceptable: 401 `invalid_token`.
    InvalidToken,
    /// The token lacks a required scope: 403 `insufficient_scope`.
    InsufficientScope,
    /// The signing keys cannot be had from Okta: 503, not the client's fault.
    KeysUnavailable,
    /// Okta's introspection endpoint cannot answer and introspection fails closed: 503.
    IntrospectionUnavailable,
    /// The DPoP proof is not acceptable: 401 `invalid_dpop_proof` (RFC 9449 section 7.1).
    InvalidDpopProof,
    /// The DPoP proof lacks the server's current nonce: 401 `use_dpop_nonce` with a
    /// `DPoP-Nonce` header (RFC 9449 section 9).
    UseDpopNonce,
}

impl ErrorKind {
    /// The HTTP status of the answer.
    #[must_use]
    pub fn status(self) -> StatusCode {
        match self {
            ErrorKind::MissingToken
            | ErrorKind::InvalidToken
            | ErrorKind::InvalidDpopProof
            | ErrorKind::UseDpopNonce => StatusCode::UNAUTHORIZED,
            ErrorKind::InvalidRequest => StatusCode::BAD_REQUEST,
            ErrorKind::InsufficientScope => StatusCode::FORBIDDEN,
            ErrorKind::KeysUnavailable | ErrorKind::IntrospectionUnavailable => {
                StatusCode::SERVICE_UNAVAILABLE
            }
        }
    }

    /// True for the kinds that are not the client's fault (503): no `WWW-Authenticate`.
    #[must_use]
    pub fn is_unavailable(self) -> bool {
        self.status() == StatusCode::SERVICE_UNAVAILABLE
    }

    /// The RFC 6750 error code, if this kind has one.
    #[must_use]
    pub fn error_code(self) -> Option<&'static str> {
        match self {
            ErrorKind::MissingToken
            | ErrorKind::KeysUnavailable
            | ErrorKind::IntrospectionUnavailable => None,
            ErrorKind::InvalidRequest => Some("invalid_request"),
            ErrorKind::InvalidToken => Some("invalid_token"),
            ErrorKind::InsufficientScope => Some("insufficient_scope"),
            ErrorKind::InvalidDpopProof => Some("invalid_dpop_proof"),
            ErrorKind::UseDpopNonce => Some("use_dpop_nonce"),
        }
    }

    /// A short fixed name for logs and metrics.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorKind::MissingToken => "missing_token",
            ErrorKind::InvalidRequest => "invalid_request",
            ErrorKind::InvalidToken => "invalid_token",
            ErrorKind::InsufficientScope => "insufficient_scope",
            ErrorKind::KeysUnavailable => "keys_unavailable",
            ErrorKind::IntrospectionUnavailable => "introspection_unavailable",
            ErrorKind::InvalidDpopProof => "invalid_dpop_proof",
            ErrorKind::UseDpopNonce => "use_dpop_nonce",
        }
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a request was malformed (400 `invalid_request`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum RequestError {
    /// More than one `Authorization` header.
    MultipleAuthorizationHeaders,
    /// The `Authorization: Bearer` header does not follow RFC 6750 (empty, several tokens, bad characters).
    MalformedAuthorizationHeader,
    /// A token in the URI query as well as in the header.
    TokenInHeaderAndQuery,
    /// More than one `DPoP` header.
    MultipleDpopHeaders,
    /// The `DPoP` header is empty or not a single compact token.
    MalformedDpopHeader,
    /// `Authorization: DPoP` without a `DPoP` proof header.
    MissingDpopProof,
}

impl RequestError {
    /// The fixed description sent as `error_description`.
    #[must_use]
    pub fn description(self) -> &'static str {
        match self {
            RequestError::MultipleAuthorizationHeaders => "more than one Authorization header",
            RequestError::MalformedAuthorizationHeader => "malformed Authorization header",
            RequestError::TokenInHeaderAndQuery => "token sent in more than one way",
            RequestError::MultipleDpopHeaders => "more than one DPoP header",
            RequestError::MalformedDpopHeader => "malformed DPoP header",
            RequestError::MissingDpopProof => "the DPoP proof header is missing",
        }
    }
}

impl fmt::Display for RequestError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.description())
    }
}

impl std::error::Error for RequestError {}

/// Why a token was refused (401 `invalid_token`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum TokenError {
    /// Longer than the configured size cap; refused before any decoding.
    TooLarge,
    /// An encrypted token (JWE, five parts): not accepted.
    Encrypted,
    /// Not a compact JWS: wrong number of parts, bad base64url, bad JSON, wrong types.
    Malformed,
    /// A JSON object in the header or the claims names the same key twice.
    DuplicateKey,
    /// The `alg` header is not in the allow-list (includes `none` and HMAC algorithms).
    UnsupportedAlgorithm,
    /// The header has no `kid`.
    MissingKeyId,
    /// The header has a `crit` parameter; no extension is understood, so it is refused.
    CriticalHeader,
    /// The token comes from Okta's org authorization server (`typ: application/okta-internal-at+jwt`).
    OrgAuthorizationServerToken,
    /// No key with the token's `kid` is published by the issuer, even after a refetch.
    UnknownKeyId,
    /// The key named by `kid` is bound to another algorithm.
    KeyAlgorithmMismatch,
    /// The signature does not verify.
    BadSignature,
    /// `iss` is missing or is not the configured issuer.
    WrongIssuer,
    /// `aud` is missing or contains none of the accepted audiences.
    WrongAudience,
    /// The token has expired (`exp`, with leeway) or has no `exp`.
    Expired,
    /// The token is not valid yet (`nbf`, with leeway).
    NotYetValid,
    /// The token was issued in the future (`iat`, beyond leeway).
    IssuedInFuture,
    /// A registered claim has the wrong type or an absurd value.
    InvalidClaim,
    /// An ID token (or another non-access token) where an access token is expected.
    NotAnAccessToken,
    /// An access token (or another non-ID token) where an ID token is expected.
    NotAnIdToken,
    /// The ID token's `nonce` is missing or differs from the expected one.
    NonceMismatch,
    /// This verifier was built for ID tokens only and refuses access tokens.
    AccessTokensDisabled,
    /// Introspection says the token is not active (revoked, or unknown to the issuer).
    Inactive,
    /// The token is bound to a DPoP key (`cnf.jkt`) and was sent as a bearer token, without a
    /// proof of possession.
    BoundTokenAsBearer,
    /// The token was sent with a DPoP proof but is not bound to a key (no `cnf.jkt`).
    NotSenderConstrained,
    /// The token is bound to another key than the DPoP proof's.
    KeyBindingMismatch,
    /// The token carries a `cnf` confirmation other than a DPoP key thumbprint (for example an
    /// mTLS certificate binding), which cannot be checked here.
    UnsupportedBinding,
    /// The route requires DPoP and the token was sent as a bearer token.
    DpopRequired,
}

impl TokenError {
    /// The fixed description sent as `error_description`.
    #[must_use]
    pub fn description(self) -> &'static str {
        match self {
            TokenError::TooLarge => "the token is too large",
            TokenError::Encrypted => "encrypted tokens are not accepted",
            TokenError::Malformed => "the token is malformed",
            TokenError::DuplicateKey => "the token has duplicate JSON keys",
            TokenError::UnsupportedAlgorithm => "the token's signing algorithm is not accepted",
            TokenError::MissingKeyId => "the token has no key id",
            TokenError::CriticalHeader => "the token has an unsupported critical header",
            TokenError::OrgAuthorizationServerToken => {
                "the token is from the Okta org authorization server and cannot be validated here"
            }
            TokenError::UnknownKeyId => "the token's signing key is unknown",
            TokenError::KeyAlgorithmMismatch => "the token's key does not match its algorithm",
            TokenError::BadSignature => "the token's signature is invalid",
            TokenError::WrongIssuer => "the token's issuer is not accepted",
            TokenError::WrongAudience => "the token's audience is not accepted",
            TokenError::Expired => "the token has expired",
            TokenError::NotYetValid => "the token is not valid yet",
            TokenError::IssuedInFuture => "the token was issued in the future",
            TokenError::InvalidClaim => "the token has an invalid claim",
            TokenError::NotAnAccessToken => "the token is not an access token",
            TokenError::NotAnIdToken => "the token is not an ID token",
            TokenError::NonceMismatch => "the token's nonce does not match",
            TokenError::AccessTokensDisabled => "access tokens are not accepted here",
            TokenError::Inactive => "the token is not active",
            TokenError::BoundTokenAsBearer => {
                "the token is bound to a DPoP key and must be sent with a DPoP proof"
            }
            TokenError::NotSenderConstrained => "the token is not bound to a DPoP key",
            TokenError::KeyBindingMismatch => "the token is not bound to the DPoP proof's key",
            TokenError::UnsupportedBinding => "the token's confirmation method is not supported",
            TokenError::DpopRequired => "a DPoP-bound token and a DPoP proof are required",
        }
    }
}

impl fmt::Display for TokenError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.description())
    }
}

impl std::error::Error for TokenError {}

/// Why a request was not let through.
///
/// [`kind`](AuthError::kind) gives the class that decides the HTTP answer; the variants carry the
/// precise reason. Display texts are fixed strings and never contain token contents.
#[derive(Debug, Clone, PartialEq, Eq, Hash, thiserror::Error)]
#[non_exhaustive]
pub enum AuthError {
    /// No bearer credentials in the request.
    #[error("no bearer token in the request")]
    MissingToken,
    /// The request is malformed.
    #[error("invalid request")]
    InvalidRequest(#[source] RequestError),
    /// The token is not acceptable; the source says why.
    #[error("invalid token")]
    InvalidToken(#[source] TokenError),
    /// The token is valid but lacks the scope(s) required; the string is the space-separated
    /// scope list to advertise in `WWW-Authenticate` (configuration, not token content).
    #[error("insufficient scope")]
    InsufficientScope(String),
    /// The issuer's signing keys could not be fetched and none is cached for this token.
    #[error("the issuer's signing keys are unavailable")]
    KeysUnavailable {
        /// Seconds until the next fetch attempt (at least 1): the answer's `Retry-After`.
        retry_after_secs: u64,
    },
    /// Okta's introspection endpoint could not answer and introspection fails closed
    /// ([`WhenUnavailable::FailClosed`](crate::WhenUnavailable::FailClosed)).
    #[error("token introspection is unavailable")]
    IntrospectionUnavailable {
        /// Seconds until introspection is tried again (at least 1): the answer's `Retry-After`.
        retry_after_secs: u64,
    },
    /// The DPoP proof is not acceptable; the source says why.
    #[error("invalid DPoP proof")]
    InvalidDpopProof(#[source] DpopError),
    /// The DPoP proof lacks the server's current nonce; `nonce` is the one to use (sent as the
    /// answer's `DPoP-Nonce` header; server-made, not a secret).
    #[error("a DPoP nonce is required")]
    UseDpopNonce {
        /// The nonce the client must put in its next proof.
        nonce: String,
    },
}

impl AuthError {
    /// The class of this error, which decides the HTTP status and `WWW-Authenticate` header.
    #[must_use]
    pub fn kind(&self) -> ErrorKind {
        match self {
            AuthError::MissingToken => ErrorKind::MissingToken,
            AuthError::InvalidRequest(_) => ErrorKind::InvalidRequest,
            AuthError::InvalidToken(_) => ErrorKind::InvalidToken,
            AuthError::InsufficientScope(_) => ErrorKind::InsufficientScope,
            AuthError::KeysUnavailable { .. } => ErrorKind::KeysUnavailable,
            AuthError::IntrospectionUnavailable { .. } => ErrorKind::IntrospectionUnavailable,
            AuthError::InvalidDpopProof(_) => ErrorKind::InvalidDpopProof,
            AuthError::UseDpopNonce { .. } => ErrorKind::UseDpopNonce,
        }
    }

    /// The fixed `error_description`, if the answer carries one.
    #[must_use]
    pub fn description(&self) -> Option<&'static str> {
        match self {
            AuthError::MissingToken
            | AuthError::KeysUnavailable { .. }
            | AuthError::IntrospectionUnavailable { .. } => None,
            AuthError::InvalidRequest(e) => Some(e.description()),
            AuthError::InvalidToken(e) => Some(e.description()),
            AuthError::InsufficientScope(_) => {
                Some("the token does not grant the scope this resource requires")
            }
            AuthError::InvalidDpopProof(e) => Some(e.description()),
            AuthError::UseDpopNonce { .. } => {
                Some("the resource server requires a nonce in the DPoP proof")
            }
        }
    }

    /// True for rejections about DPoP (the proof, the `DPoP` header, a token's key binding):
    /// their error goes in the `DPoP` challenge of `WWW-Authenticate`.
    pub(crate) fn concerns_dpop(&self) -> bool {
        match self {
            AuthError::InvalidDpopProof(_) | AuthError::UseDpopNonce { .. } => true,
            AuthError::InvalidRequest(e) => matches!(
                e,
                RequestError::MultipleDpopHeaders
                    | RequestError::MalformedDpopHeader
                    | RequestError::MissingDpopProof
            ),
            AuthError::InvalidToken(e) => matches!(
                e,
                TokenError::BoundTokenAsBearer
                    | TokenError::NotSenderConstrained
                    | TokenError::KeyBindingMismatch
                    | TokenError::DpopRequired
            ),
            _ => false,
        }
    }
}

impl AuthError {
    /// The `Retry-After` of a 503 answer, in seconds (at least 1); `None` for other errors.
    #[must_use]
    pub fn retry_after_secs(&self) -> Option<u64> {
        match self {
            AuthError::KeysUnavailable { retry_after_secs }
            | AuthError::IntrospectionUnavailable { retry_after_secs } => {
                Some((*retry_after_secs).max(1))
            }
            _ => None,
        }
    }

    /// [`AuthError::KeysUnavailable`] with a `Retry-After` of `wait`, rounded up, at least 1 s.
    pub(crate) fn keys_unavailable(wait: std::time::Duration) -> AuthError {
        AuthError::KeysUnavailable {
            retry_after_secs: whole_secs(wait),
        }
    }

    /// [`AuthError::IntrospectionUnavailable`] with a `Retry-After` of `wait` (as above).
    pub(crate) fn introspection_unavailable(wait: std::time::Duration) -> AuthError {
        AuthError::IntrospectionUnavailable {
            retry_after_secs: whole_secs(wait),
        }
    }
}

/// `d` in whole seconds, rounded up, at least 1.
fn whole_secs(d: std::time::Duration) -> u64 {
    let secs = d.as_secs() + u64::from(d.subsec_nanos() > 0);
    secs.max(1)
}

impl From<TokenError> for AuthError {
    fn from(e: TokenError) -> Self {
        AuthError::InvalidToken(e)
    }
}

impl From<DpopError> for AuthError {
    fn from(e: DpopError) -> Self {
        AuthError::InvalidDpopProof(e)
    }
}

impl From<RequestError> for AuthError {
    fn from(e: RequestError) -> Self {
        AuthError::InvalidRequest(e)
    }
}
