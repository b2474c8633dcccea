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
    /// A service or web app's JWK is not an RSA key (`kty: RSA`).
    #[error("the app's JWK is not an RSA key")]
    JwkNotRsa,
    /// A service or web app's JWK has no `kid`.
    #[error("the app's JWK has no kid")]
    JwkWithoutKid,
    /// A service or web app's JWK has no usable `n` and `e` (base64url big-endian integers).
    #[error("the app's JWK has no valid base64url n and e")]
    JwkComponents,
    /// A web app has no credentials for any client authentication method it may use: no client
    /// secret and no public JWK, or not the one its `token_endpoint_auth_method` needs.
    #[error("the web app {0:?} has no credentials for its client authentication method")]
    WebAppCredentials(String),
    /// The client ID is taken: a web app cannot have the SPA app's, and a service app cannot
    /// have the SPA app's or the mock's own web app's.
    #[error("the client ID {0:?} is the SPA app's or the mock's web app's")]
    ClientIdInUse(String),
}
