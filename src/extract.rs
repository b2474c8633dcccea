//! axum extractors (feature `axum`).

use std::convert::Infallible;
use std::ops::Deref;
use std::sync::Arc;

use axum_core::extract::{FromRequestParts, OptionalFromRequestParts};
use axum_core::response::{IntoResponse, Response};
use http::request::Parts;
use http::StatusCode;
use serde::{Serialize, Serializer};

/// The verified claims of the request, inserted by [`OktaAuthLayer`](crate::OktaAuthLayer).
///
/// `T` is the layer's claims type: [`AccessClaims`](crate::AccessClaims) for
/// [`Verifier::layer`](crate::Verifier::layer), [`IdClaims`](crate::IdClaims) for
/// [`Verifier::id_token_layer`](crate::Verifier::id_token_layer). Cloning is cheap (`Arc`).
/// Without the layer the extractor answers 500, naming the missing layer; use
/// `Option<Claims<T>>` where authentication is optional.
///
/// ```
/// use axum::Json;
/// use tower_okta::{AccessClaims, Claims};
///
/// async fn me(claims: Claims<AccessClaims>) -> Json<Claims<AccessClaims>> {
///     tracing::info!(has_read = claims.has_scope("read"));
///     Json(claims)
/// }
/// ```
#[derive(Debug)]
pub struct Claims<T>(pub Arc<T>);

impl<T> Clone for Claims<T> {
    fn clone(&self) -> Self {
        Claims(Arc::clone(&self.0))
    }
}

impl<T> Deref for Claims<T> {
    type Target = T;

    fn deref(&self) -> &T {
        &self.0
    }
}

impl<T: Serialize> Serialize for Claims<T> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.0.serialize(serializer)
    }
}

/// The rejection of [`Claims`] when no layer inserted claims of that type: a server
/// misconfiguration, answered with 500.
#[derive(Debug, Clone, Copy)]
pub struct MissingClaims {
    type_name: &'static str,
}

impl std::fmt::Display for MissingClaims {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "no verified claims of type `{}` in the request: add tower_okta's OktaAuthLayer \
             (verifier.layer() or verifier.id_token_layer(), with the same claims type) to this \
             route, or extract Option<Claims<_>>",
            self.type_name
        )
    }
}

impl std::error::Error for MissingClaims {}

impl IntoResponse for MissingClaims {
    fn into_response(self) -> Response {
        tracing::error!("{self}");
        (StatusCode::INTERNAL_SERVER_ERROR, self.to_string()).into_response()
    }
}

/// The RFC 6750 answer, for handlers that check claims themselves (for example with
/// [`AccessClaims::require_any_scope`](crate::AccessClaims::require_any_scope) and `?`).
/// The realm is `api`; use [`rejection_response`](crate::rejection_response) for another.
impl IntoResponse for crate::AuthError {
    fn into_response(self) -> Response {
        crate::rejection_response::<axum_core::body::Body>(&self, crate::DEFAULT_REALM)
            .map(axum_core::body::Body::new)
    }
}

impl<S, T> FromRequestParts<S> for Claims<T>
where
    S: Send + Sync,
    T: Send + Sync + 'static,
{
    type Rejection = MissingClaims;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        parts
            .extensions
            .get::<Arc<T>>()
            .map(|claims| Claims(Arc::clone(claims)))
            .ok_or(MissingClaims {
                type_name: std::any::type_name::<T>(),
            })
    }
}

impl<S, T> OptionalFromRequestParts<S> for Claims<T>
where
    S: Send + Sync,
    T: Send + Sync + 'static,
{
    type Rejection = Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        _state: &S,
    ) -> Result<Option<Self>, Self::Rejection> {
        Ok(parts
            .extensions
            .get::<Arc<T>>()
            .map(|claims| Claims(Arc::clone(claims))))
    }
}
