//! [`OktaAuthLayer`]: the tower layer.

use std::fmt;
use std::marker::PhantomData;

use tower_layer::Layer;

use crate::claims::{AccessClaims, IdClaims};
use crate::service::OktaAuth;
use crate::verifier::Verifier;

/// Which token the layer expects.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TokenKind {
    Access,
    Id,
}

/// The layer's settings, shared with the service.
#[derive(Debug, Clone, Copy)]
pub(crate) struct LayerConfig {
    pub(crate) kind: TokenKind,
    pub(crate) allow_preflight: bool,
    pub(crate) optional: bool,
}

/// A tower layer that requires a valid Okta bearer token.
///
/// Built by [`Verifier::layer`] (access tokens, claims as [`AccessClaims`]) or
/// [`Verifier::id_token_layer`] (ID tokens, [`IdClaims`]); [`claims`](Self::claims) switches to a
/// claims type of your own. On success the claims are inserted into the request extensions as
/// `Arc<C>`; otherwise the request is answered per RFC 6750 and the inner service is not called.
///
/// ```no_run
/// use axum::{routing::get, Router};
/// use tower_okta::{Claims, AccessClaims, Verifier};
///
/// async fn me(claims: Claims<AccessClaims>) -> String {
///     claims.sub.clone()
/// }
///
/// # fn run() -> Result<(), tower_okta::ConfigError> {
/// let verifier = Verifier::from_env()?;
/// let app: Router = Router::new()
///     .route("/api/me", get(me))
///     .layer(verifier.layer());
/// # Ok(()) }
/// ```
pub struct OktaAuthLayer<C = AccessClaims> {
    verifier: Verifier,
    config: LayerConfig,
    _claims: PhantomData<fn() -> C>,
}

impl<C> Clone for OktaAuthLayer<C> {
    fn clone(&self) -> Self {
        OktaAuthLayer {
            verifier: self.verifier.clone(),
            config: self.config,
            _claims: PhantomData,
        }
    }
}

impl<C> fmt::Debug for OktaAuthLayer<C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OktaAuthLayer")
            .field("config", &self.config)
            .field("claims", &std::any::type_name::<C>())
            .finish_non_exhaustive()
    }
}

impl OktaAuthLayer<AccessClaims> {
    pub(crate) fn access(verifier: Verifier) -> Self {
        OktaAuthLayer::with_kind(verifier, TokenKind::Access)
    }
}

impl OktaAuthLayer<IdClaims> {
    pub(crate) fn id(verifier: Verifier) -> Self {
        OktaAuthLayer::with_kind(verifier, TokenKind::Id)
    }
}

impl<C> OktaAuthLayer<C> {
    fn with_kind(verifier: Verifier, kind: TokenKind) -> Self {
        OktaAuthLayer {
            verifier,
            config: LayerConfig {
                kind,
                allow_preflight: true,
                optional: false,
            },
            _claims: PhantomData,
        }
    }

    /// Deserializes the verified claims into `T` (any `serde::de::DeserializeOwned` type) and
    /// inserts `Arc<T>` instead.
    #[must_use]
    pub fn claims<T>(self) -> OktaAuthLayer<T> {
        OktaAuthLayer {
            verifier: self.verifier,
            config: self.config,
            _claims: PhantomData,
        }
    }

    /// Whether CORS preflight requests (`OPTIONS` with `Access-Control-Request-Method`) pass
    /// through without a token. On by default: browsers never send credentials on preflight, so
    /// requiring a token there breaks every cross-origin SPA.
    #[must_use]
    pub fn allow_cors_preflight(mut self, allow: bool) -> Self {
        self.config.allow_preflight = allow;
        self
    }

    /// Optional authentication: a request with no credentials at all passes through without
    /// claims (handlers extract `Option<Claims<T>>`), while a request with a bad token, or a
    /// malformed `Authorization` header, is still refused.
    #[must_use]
    pub fn optional(mut self) -> Self {
        self.config.optional = true;
        self
    }
}

impl<S, C> Layer<S> for OktaAuthLayer<C> {
    type Service = OktaAuth<S, C>;

    fn layer(&self, inner: S) -> Self::Service {
        OktaAuth::new(inner, self.verifier.clone(), self.config)
    }
}
