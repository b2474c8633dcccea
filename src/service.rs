//! [`OktaAuth`]: the middleware service.

use std::fmt;
use std::marker::PhantomData;
use std::task::{Context, Poll};

use http::{Request, Response};
use serde::de::DeserializeOwned;
use tower_service::Service;
use tracing::Instrument;

use crate::bearer::{bearer_candidate, is_b64token, is_preflight};
use crate::error::{AuthError, RequestError};
use crate::future::ResponseFuture;
use crate::layer::{LayerConfig, TokenKind};
use crate::response::{grpc_rejection_response, is_grpc, rejection_response, ResponseBody};
use crate::verifier::{Pending, Profile, Verifier};

/// Middleware that verifies the bearer token of each request; see
/// [`OktaAuthLayer`](crate::OktaAuthLayer).
pub struct OktaAuth<S, C = crate::AccessClaims> {
    inner: S,
    verifier: Verifier,
    config: LayerConfig,
    _claims: PhantomData<fn() -> C>,
}

impl<S: Clone, C> Clone for OktaAuth<S, C> {
    fn clone(&self) -> Self {
        OktaAuth {
            inner: self.inner.clone(),
            verifier: self.verifier.clone(),
            config: self.config,
            _claims: PhantomData,
        }
    }
}

impl<S: fmt::Debug, C> fmt::Debug for OktaAuth<S, C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OktaAuth")
            .field("inner", &self.inner)
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl<S, C> OktaAuth<S, C> {
    pub(crate) fn new(inner: S, verifier: Verifier, config: LayerConfig) -> Self {
        OktaAuth {
            inner,
            verifier,
            config,
            _claims: PhantomData,
        }
    }

    fn profile(&self) -> Profile<'static> {
        match self.config.kind {
            TokenKind::Access => Profile::Access,
            TokenKind::Id => Profile::Id { nonce: None },
        }
    }
}

/// Where the slow path starts.
enum SlowStart<C> {
    /// Verified with a cached key; introspection remains.
    Verified(std::sync::Arc<C>),
    /// The key for this issuer index and `kid` must be fetched first.
    FetchKey(usize, String),
}

/// The answer to `error` (RFC 6750, or a gRPC status for gRPC requests), recorded on the
/// current span (kind only).
fn refuse<B>(error: &AuthError, verifier: &Verifier, grpc: bool) -> Response<ResponseBody<B>> {
    tracing::Span::current().record("outcome", error.kind().as_str());
    tracing::debug!(kind = %error.kind(), reason = ?error, "request rejected");
    if grpc {
        grpc_rejection_response(error, verifier.realm())
    } else {
        rejection_response(error, verifier.realm())
    }
}

impl<S, C, ReqBody, ResBody> Service<Request<ReqBody>> for OktaAuth<S, C>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    ReqBody: Send + 'static,
    C: DeserializeOwned + Send + Sync + 'static,
{
    type Response = Response<ResponseBody<ResBody>>;
    type Error = S::Error;
    type Future = ResponseFuture<S::Future, ResBody, S::Error>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut req: Request<ReqBody>) -> Self::Future {
        if self.config.allow_preflight && is_preflight(&req) {
            return ResponseFuture::inner(self.inner.call(req));
        }
        let span = tracing::debug_span!(
            "tower_okta.verify",
            outcome = tracing::field::Empty,
            sub = tracing::field::Empty,
            cid = tracing::field::Empty,
        );
        let entered = span.enter();
        let grpc = is_grpc(req.headers());
        let token = match bearer_candidate(req.headers(), req.uri()) {
            Ok(token) => token,
            // Optional authentication: no credentials at all is fine; bad ones are not.
            Err(AuthError::MissingToken) if self.config.optional => {
                span.record("outcome", "anonymous");
                drop(entered);
                return ResponseFuture::inner_in(self.inner.call(req), span);
            }
            Err(error) => return ResponseFuture::rejected(refuse(&error, &self.verifier, grpc)),
        };
        let profile = self.profile();
        let introspect = self.verifier.introspects(profile);
        let slow_start = match self.verifier.verify_shared::<C>(token, profile) {
            Ok(claims) if !introspect => {
                span.record("outcome", "ok");
                req.extensions_mut().insert(claims);
                drop(entered);
                return ResponseFuture::inner_in(self.inner.call(req), span);
            }
            Ok(claims) => SlowStart::Verified(claims),
            Err(Pending::Rejected(error)) => {
                // A credential that is not even an RFC 6750 b64token is a malformed request,
                // whatever else is wrong with it (such a credential never verifies).
                let error = if is_b64token(token) {
                    error
                } else {
                    RequestError::MalformedAuthorizationHeader.into()
                };
                return ResponseFuture::rejected(refuse(&error, &self.verifier, grpc));
            }
            Err(Pending::FetchKey { issuer, kid }) => SlowStart::FetchKey(issuer, kid),
        };

        // The slow path: a JWKS fetch and/or introspection, boxed.
        let token = token.to_owned();
        // Take the service that was driven to readiness, leave a clone in its place.
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let verifier = self.verifier.clone();
        drop(entered);
        let slow = async move {
            let verified = match slow_start {
                SlowStart::Verified(claims) => Ok(claims),
                SlowStart::FetchKey(issuer, kid) => {
                    verifier
                        .verify_shared_after_fetch::<C>(&token, (issuer, &kid), profile)
                        .await
                }
            };
            let verified = match verified {
                Ok(claims) if introspect => verifier.introspect(&token).await.map(|()| claims),
                other => other,
            };
            match verified {
                Ok(claims) => {
                    tracing::Span::current().record("outcome", "ok");
                    req.extensions_mut().insert(claims);
                    let response = inner.call(req).await?;
                    Ok(response.map(ResponseBody::inner))
                }
                Err(error) => Ok(refuse(&error, &verifier, grpc)),
            }
        };
        ResponseFuture::slow(Box::pin(slow.instrument(span)))
    }
}
