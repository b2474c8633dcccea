//! The mock's error type.

use std::io;
use std::net::SocketAddr;

/// Why the mock could not do what was asked.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum MockError {
    /// The address could not be bound (or its port read back).
    #[error("the mock Okta could not bind {addr}: {source}")]
    Bind {
        /// The address asked for.
        addr: SocketAddr,
        /// What the operating system said.
        #[source]
        source: io::Error,
    },
    /// A key (RSA, or EC for DPoP) could not be generated.
    #[error("key generation failed")]
    KeyGeneration,
    /// The authorization server ID cannot be a path segment of the issuer: it must be non-empty
    /// ASCII letters, digits, `-`, `.`, `_` or `~`.
    #[error("the authorization server ID {0:?} is not a plain path segment")]
    InvalidAuthServerId(String),
    /// A service app's JWK is not an RSA key (`kty: RSA`).
    #[error("the service app's JWK is not an RSA key")]
    JwkNotRsa,
    /// A service app's JWK has no `kid`.
    #[error("the service app's JWK has no kid")]
    JwkWithoutKid,
    /// A service app's JWK has no usable `n` and `e` (base64url big-endian integers).
    #[error("the service app's JWK has no valid base64url n and e")]
    JwkComponents,
}
