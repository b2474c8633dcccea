//! The middleware: [`OktaAuthLayer`] and its service [`OktaAuth`], side by side (their
//! [`ResponseFuture`] is in `future.rs`, shared with the guards).
//!
//! The service takes the token from the request ([`bearer`](crate::bearer)), hands it to the
//! [`Verifier`] and either inserts the claims into the request extensions and calls the inner
//! service, or answers with the rejection ([`response`](crate::response)).

use std::fmt;
use std::task::{Context, Poll};

use http::{Request, Response};
use serde::de::DeserializeOwned;
use tower_layer::Layer;
use tower_service::Service;
use tracing::Instrument;

use crate::bearer::{credentials, dpop_proof, is_b64token, is_jws, is_preflight, Scheme};
use crate::claims::{AccessClaims, Anonymous, IdClaims};
use crate::decode::Decoder;
use crate::dpop::{check_binding, Binding, CheckedProof, Dpop};
use crate::error::{AuthError, RequestError, TokenError};
use crate::future::ResponseFuture;
use crate::response::{
    grpc_rejection_response_with, is_grpc, rejection_response_with, Challenges, ResponseBody,
};
use crate::validate::TokenKind;
use crate::verifier::{Pending, Verifier};

/// The layer's settings, shared with the service.
#[derive(Debug, Clone, Copy)]
struct LayerConfig {
    kind: TokenKind,
    allow_preflight: bool,
    optional: bool,
    dpop: Dpop,
}

impl Verifier {
    /// A layer that requires a valid access token and inserts `Arc<AccessClaims>` into request
    /// extensions.
    #[must_use]
    pub fn layer(&self) -> OktaAuthLayer<AccessClaims> {
        OktaAuthLayer::new(self.clone(), TokenKind::Access, Decoder::ACCESS)
    }

    /// A layer that requires a valid ID token and inserts `Arc<IdClaims>` into request extensions.
    #[must_use]
    pub fn id_token_layer(&self) -> OktaAuthLayer<IdClaims> {
        OktaAuthLayer::new(self.clone(), TokenKind::Id, Decoder::serde())
    }
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
    decoder: Decoder<C>,
}

impl<C> Clone for OktaAuthLayer<C> {
    fn clone(&self) -> Self {
        OktaAuthLayer {
            verifier: self.verifier.clone(),
            config: self.config,
            decoder: self.decoder,
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

impl<C> OktaAuthLayer<C> {
    fn new(verifier: Verifier, kind: TokenKind, decoder: Decoder<C>) -> Self {
        OktaAuthLayer {
            verifier,
            config: LayerConfig {
                kind,
                allow_preflight: true,
                optional: false,
                dpop: Dpop::Allowed,
            },
            decoder,
        }
    }

    /// Deserializes the verified claims into `T` (any `serde::de::DeserializeOwned` type) and
    /// inserts `Arc<T>` instead.
    #[must_use]
    pub fn claims<T: DeserializeOwned>(self) -> OktaAuthLayer<T> {
        OktaAuthLayer {
            verifier: self.verifier,
            config: self.config,
            decoder: Decoder::serde(),
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

    /// The DPoP policy (RFC 9449): [`Dpop::Allowed`] by default (bearer tokens and DPoP-bound
    /// tokens with their proof), [`Dpop::Required`] (only DPoP) or [`Dpop::Disabled`] (only
    /// bearer). A DPoP-bound token is never accepted as a bearer token, whatever the policy.
    #[must_use]
    pub fn dpop(mut self, policy: Dpop) -> Self {
        self.config.dpop = policy;
        self
    }
}

impl<S, C> Layer<S> for OktaAuthLayer<C> {
    type Service = OktaAuth<S, C>;

    fn layer(&self, inner: S) -> Self::Service {
        OktaAuth {
            inner,
            verifier: self.verifier.clone(),
            config: self.config,
            decoder: self.decoder,
        }
    }
}

/// Middleware that verifies the bearer token of each request; see
/// [`OktaAuthLayer`](crate::OktaAuthLayer).
pub struct OktaAuth<S, C = AccessClaims> {
    inner: S,
    verifier: Verifier,
    config: LayerConfig,
    decoder: Decoder<C>,
}

impl<S: Clone, C> Clone for OktaAuth<S, C> {
    fn clone(&self) -> Self {
        OktaAuth {
            inner: self.inner.clone(),
            verifier: self.verifier.clone(),
            config: self.config,
            decoder: self.decoder,
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

/// Where the slow path starts.
enum SlowStart<C> {
    /// Verified with a cached key; introspection remains.
    Verified(std::sync::Arc<C>, Binding),
    /// The key for this issuer index and `kid` must be fetched first.
    FetchKey(usize, String),
}

/// How a rejected request is answered: RFC 6750 (or a gRPC status for gRPC requests), with the
/// challenges of the layer's DPoP policy.
#[derive(Clone, Copy)]
struct Answer {
    grpc: bool,
    policy: Dpop,
    dpop_used: bool,
}

/// The answer to `error`, recorded on the current span (kind only).
fn refuse<B>(error: &AuthError, verifier: &Verifier, answer: Answer) -> Response<ResponseBody<B>> {
    tracing::Span::current().record("outcome", error.kind().as_str());
    tracing::debug!(kind = %error.kind(), reason = ?error, "request rejected");
    let challenges = Challenges {
        bearer: answer.policy.accepts_bearer(),
        dpop_algs: answer
            .policy
            .accepts_dpop()
            .then_some(verifier.dpop().challenge_algs.as_str()),
        dpop_used: answer.dpop_used,
    };
    if answer.grpc {
        grpc_rejection_response_with(error, verifier.realm(), challenges)
    } else {
        rejection_response_with(error, verifier.realm(), challenges)
    }
}

/// After the token verified: its binding against the scheme and proof, then (DPoP) the proof's
/// single use. The replay cache is written last, so only requests that passed every other check
/// can fill it.
fn check_sender(
    verifier: &Verifier,
    proof: Option<&CheckedProof>,
    binding: Option<&str>,
) -> Result<(), AuthError> {
    check_binding(proof, binding)?;
    match proof {
        Some(proof) => verifier.dpop().first_use(proof),
        None => Ok(()),
    }
}

impl<S, C, ReqBody, ResBody> Service<Request<ReqBody>> for OktaAuth<S, C>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    ReqBody: Send + 'static,
    C: Send + Sync + 'static,
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
        let policy = self.config.dpop;
        let mut answer = Answer {
            grpc: is_grpc(req.headers()),
            policy,
            dpop_used: false,
        };
        let credentials = match credentials(req.headers(), req.uri()) {
            // With DPoP disabled, a DPoP credential is no credential at all.
            Ok((Scheme::Dpop, _)) if !policy.accepts_dpop() => Err(AuthError::MissingToken),
            Ok((Scheme::Bearer, _)) if !policy.accepts_bearer() => {
                Err(TokenError::DpopRequired.into())
            }
            other => other,
        };
        let (scheme, token) = match credentials {
            Ok(credentials) => credentials,
            // Optional authentication: no credentials at all is fine; bad ones are not.
            Err(AuthError::MissingToken) if self.config.optional => {
                span.record("outcome", "anonymous");
                req.extensions_mut().insert(Anonymous);
                drop(entered);
                return ResponseFuture::inner_in(self.inner.call(req), span);
            }
            Err(error) => return ResponseFuture::rejected(refuse(&error, &self.verifier, answer)),
        };
        // DPoP: the proof is checked first (no network, no RSA operation).
        let proof = match scheme {
            Scheme::Bearer => None,
            Scheme::Dpop => {
                answer.dpop_used = true;
                let checked = dpop_proof(req.headers()).and_then(|proof| {
                    let request = (req.method(), req.uri(), req.headers());
                    let checked = self.verifier.dpop().check(request, proof, token);
                    // A header that is not even a compact JWS is a malformed request (400),
                    // whatever else is wrong with it (such a proof never parses).
                    checked.map_err(|error| match is_jws(proof) {
                        true => error,
                        false => RequestError::MalformedDpopHeader.into(),
                    })
                });
                match checked {
                    Ok(checked) => Some(checked),
                    Err(error) => {
                        return ResponseFuture::rejected(refuse(&error, &self.verifier, answer))
                    }
                }
            }
        };
        let kind = self.config.kind;
        let decoder = self.decoder;
        let introspect = self.verifier.introspects(kind);
        let slow_start = match self.verifier.verify_shared(token, kind, decoder) {
            Ok((claims, binding)) if !introspect => {
                if let Err(error) = check_sender(&self.verifier, proof.as_ref(), binding.as_deref())
                {
                    return ResponseFuture::rejected(refuse(&error, &self.verifier, answer));
                }
                span.record("outcome", "ok");
                req.extensions_mut().insert(claims);
                drop(entered);
                return ResponseFuture::inner_in(self.inner.call(req), span);
            }
            Ok((claims, binding)) => SlowStart::Verified(claims, binding),
            Err(Pending::Rejected(error)) => {
                // A credential that is not even an RFC 6750 b64token is a malformed request,
                // whatever else is wrong with it (such a credential never verifies).
                let error = if is_b64token(token) {
                    error
                } else {
                    RequestError::MalformedAuthorizationHeader.into()
                };
                return ResponseFuture::rejected(refuse(&error, &self.verifier, answer));
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
                SlowStart::Verified(claims, binding) => Ok((claims, binding)),
                SlowStart::FetchKey(issuer, kid) => {
                    verifier
                        .verify_shared_after_fetch(&token, (issuer, &kid), kind, decoder)
                        .await
                }
            };
            let verified = verified.and_then(|(claims, binding)| {
                check_sender(&verifier, proof.as_ref(), binding.as_deref()).map(|()| claims)
            });
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
                Err(error) => Ok(refuse(&error, &verifier, answer)),
            }
        };
        ResponseFuture::slow(Box::pin(slow.instrument(span)))
    }
}
