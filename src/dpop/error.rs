//! Why a DPoP proof was refused (401 `invalid_dpop_proof`, RFC 9449 section 7.1).

use std::fmt;

/// Why a DPoP proof (the `DPoP` request header, RFC 9449 section 4.3) was refused: 401 with
/// `WWW-Authenticate: DPoP algs="...", error="invalid_dpop_proof"`.
///
/// Descriptions are fixed strings: they never contain the proof, the key or a claim value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum DpopError {
    /// Longer than the proof size cap; refused before any decoding.
    TooLarge,
    /// Not a compact JWS with a JSON header and claims of the registered types.
    Malformed,
    /// A JSON object in the header or the claims names the same key twice.
    DuplicateKey,
    /// `typ` is not `dpop+jwt`.
    WrongType,
    /// `alg` is not an allowed asymmetric algorithm (`none` and HMAC never are).
    UnsupportedAlgorithm,
    /// The header has a `crit` parameter.
    CriticalHeader,
    /// `jwk` is missing, is not a usable public key, or does not fit `alg`.
    InvalidKey,
    /// `jwk` carries private key members.
    PrivateKey,
    /// The signature does not verify with `jwk`.
    BadSignature,
    /// `jti`, `htm`, `htu` or `iat` is missing, or `jti` is empty or too long.
    MissingClaim,
    /// `htm` is not the request's method.
    MethodMismatch,
    /// `htu` is not the request's URL.
    UrlMismatch,
    /// `iat` is older than the accepted window.
    TooOld,
    /// `iat` is further in the future than the accepted window.
    IssuedInFuture,
    /// The proof's `jti` was seen before: a replayed proof.
    Replayed,
    /// `ath` is missing or is not the hash of the access token sent with it.
    AccessTokenHashMismatch,
}

impl DpopError {
    /// The fixed description sent as `error_description`.
    #[must_use]
    pub fn description(self) -> &'static str {
        match self {
            DpopError::TooLarge => "the DPoP proof is too large",
            DpopError::Malformed => "the DPoP proof is malformed",
            DpopError::DuplicateKey => "the DPoP proof has duplicate JSON keys",
            DpopError::WrongType => "the DPoP proof's typ is not dpop+jwt",
            DpopError::UnsupportedAlgorithm => "the DPoP proof's signing algorithm is not accepted",
            DpopError::CriticalHeader => "the DPoP proof has an unsupported critical header",
            DpopError::InvalidKey => "the DPoP proof's key is not a usable public key",
            DpopError::PrivateKey => "the DPoP proof's key contains private key material",
            DpopError::BadSignature => "the DPoP proof's signature is invalid",
            DpopError::MissingClaim => "the DPoP proof lacks a required claim",
            DpopError::MethodMismatch => "the DPoP proof is for another HTTP method",
            DpopError::UrlMismatch => "the DPoP proof is for another URL",
            DpopError::TooOld => "the DPoP proof is too old",
            DpopError::IssuedInFuture => "the DPoP proof was issued in the future",
            DpopError::Replayed => "the DPoP proof was already used",
            DpopError::AccessTokenHashMismatch => {
                "the DPoP proof's ath does not match the access token"
            }
        }
    }
}

impl fmt::Display for DpopError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.description())
    }
}

impl std::error::Error for DpopError {}
