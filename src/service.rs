//! [`OktaAuth`]: the middleware service.

use std::fmt;
use std::marker::PhantomData;
use std::task::{Context, Poll};

use http::{Request, Response};
use serde::de::DeserializeOwned;
use tower_service::Service;

use crate::bearer::{bearer_token, is_preflight};
use crate::error::AuthError;
use crate::future::ResponseFuture;
use crate::layer::TokenKind;
use crate::response::{rejection_response, ResponseBody};
use crate::verifier::{Pending, Profile, Verifier};

/// Middleware that verifies the bearer token of each request; see
/// [`OktaAuthLayer`](crate::OktaAuthLayer).
pub struct OktaAuth<S, C = crate::AccessClaims> {
    inner: S,
    verifier: Verifier,
    kind: TokenKind,
    allow_preflight: bool,
    _claims: PhantomData<fn() -> C>,
}

impl<S: Clone, C> Clone for OktaAuth<S, C> {
    fn clone(&self) -> Self {
        OktaAuth {
            inner: self.inner.clone(),
            verifier: self.verifier.clone(),
            kind: self.kind,
            allow_preflight: self.allow_preflight,
            _claims: PhantomData,
        }
    }
}

impl<S: fmt::Debug, C> fmt::Debug for OktaAuth<S, C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OktaAuth")
            .field("inner", &self.inner)
            .field("kind", &self.kind)
            .finish_non_exhaustive()
    }
}

impl<S, C> OktaAuth<S, C> {
    pub(crate) fn new(
        inner: S,
        verifier: Verifier,
        kind: TokenKind,
        allow_preflight: bool,
    ) -> Self {
        OktaAuth {
            inner,
            verifier,
            kind,
            allow_preflight,
            _claims: PhantomData,
        }
    }

    fn profile(&self) -> Profile<'static> {
        match self.kind {
            TokenKind::Access => Profile::Access,
            TokenKind::Id => Profile::Id { nonce: None },
        }
    }
}

fn reject<F, B, E>(error: &AuthError, verifier: &Verifier) -> ResponseFuture<F, B, E> {
    tracing::debug!(kind = %error.kind(), reason = ?error, "request rejected");
    ResponseFuture::rejected(rejection_response(error, verifier.realm()))
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
        if self.allow_preflight && is_preflight(&req) {
            return ResponseFuture::inner(self.inner.call(req));
        }
        let token = match bearer_token(req.headers(), req.uri()) {
            Ok(token) => token,
            Err(error) => return reject(&error, &self.verifier),
        };
        let profile = self.profile();
        match self.verifier.verify_shared::<C>(token, profile) {
            Ok(claims) => {
                req.extensions_mut().insert(claims);
                ResponseFuture::inner(self.inner.call(req))
            }
            Err(Pending::Rejected(error)) => reject(&error, &self.verifier),
            Err(Pending::FetchKey(kid)) => {
                let token = token.to_owned();
                // Take the service that was driven to readiness, leave a clone in its place.
                let clone = self.inner.clone();
                let mut inner = std::mem::replace(&mut self.inner, clone);
                let verifier = self.verifier.clone();
                ResponseFuture::slow(Box::pin(async move {
                    match verifier
                        .verify_shared_after_fetch::<C>(&token, &kid, profile)
                        .await
                    {
                        Ok(claims) => {
                            req.extensions_mut().insert(claims);
                            let response = inner.call(req).await?;
                            Ok(response.map(ResponseBody::inner))
                        }
                        Err(error) => {
                            tracing::debug!(kind = %error.kind(), reason = ?error, "request rejected");
                            Ok(rejection_response(&error, verifier.realm()))
                        }
                    }
                }))
            }
        }
    }
}
