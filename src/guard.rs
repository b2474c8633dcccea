//! Scope and group guards: [`RequireScopeLayer`] and [`RequireGroupLayer`].
//!
//! A guard runs *inside* [`OktaAuthLayer`](crate::OktaAuthLayer) (add it first, so the auth layer
//! wraps it) and reads the verified [`AccessClaims`]. A token without the required scopes or groups
//! gets 403 with `WWW-Authenticate: Bearer error="insufficient_scope"` (and `scope="..."` for
//! scopes, RFC 6750 section 3.1); a request without verified claims (optional authentication and
//! no token) gets 401.
//!
//! ```no_run
//! use axum::{routing::get, Router};
//! use tower_okta::{RequireScopeLayer, Verifier};
//!
//! # fn run(verifier: Verifier) {
//! let app: Router = Router::new()
//!     .route("/api/orders", get(|| async { "orders" }))
//!     .route_layer(RequireScopeLayer::any(["orders:read", "orders:admin"]))
//!     .route_layer(verifier.layer()); // added last = runs first
//! # }
//! ```

use std::fmt;
use std::sync::Arc;
use std::task::{Context, Poll};

use http::{Request, Response};
use tower_layer::Layer;
use tower_service::Service;

use crate::claims::AccessClaims;
use crate::error::AuthError;
use crate::future::ResponseFuture;
use crate::response::{grpc_rejection_response, is_grpc, rejection_response, ResponseBody};

/// All of the listed values, or any one of them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    All,
    Any,
}

/// What a guard requires.
#[derive(Debug)]
enum Rule {
    Scopes {
        mode: Mode,
        scopes: Vec<String>,
    },
    Groups {
        mode: Mode,
        groups: Vec<String>,
        claim: String,
    },
}

fn matches(mode: Mode, required: &[String], has: impl Fn(&str) -> bool) -> bool {
    match mode {
        Mode::All => required.iter().all(|r| has(r)),
        Mode::Any => required.iter().any(|r| has(r)),
    }
}

impl Rule {
    fn check(&self, claims: &AccessClaims) -> Result<(), AuthError> {
        match self {
            Rule::Scopes { mode, scopes } => {
                if matches(*mode, scopes, |s| claims.has_scope(s)) {
                    Ok(())
                } else {
                    Err(AuthError::InsufficientScope(scopes.join(" ")))
                }
            }
            Rule::Groups {
                mode,
                groups,
                claim,
            } => {
                let has = |g: &str| claims.string_list(claim).any(|x| x == g);
                if matches(*mode, groups, has) {
                    Ok(())
                } else {
                    Err(AuthError::InsufficientScope(String::new()))
                }
            }
        }
    }
}

#[derive(Debug, Clone)]
struct Guard {
    rule: Arc<Rule>,
    realm: Arc<str>,
}

impl Guard {
    fn new(rule: Rule) -> Self {
        Guard {
            rule: Arc::new(rule),
            realm: Arc::from("api"),
        }
    }
}

fn list<I, T>(values: I) -> Vec<String>
where
    I: IntoIterator<Item = T>,
    T: Into<String>,
{
    values.into_iter().map(Into::into).collect()
}

/// A layer that requires scopes (`scp`) of the verified access token. Add it before the
/// [`OktaAuthLayer`](crate::OktaAuthLayer) so that the auth layer runs first; a missing scope
/// gets 403 `insufficient_scope` with `scope="..."`, a request without claims 401.
#[derive(Debug, Clone)]
#[must_use]
pub struct RequireScopeLayer {
    guard: Guard,
}

impl RequireScopeLayer {
    /// Every one of `scopes` is required.
    pub fn all<I: IntoIterator<Item = T>, T: Into<String>>(scopes: I) -> Self {
        RequireScopeLayer {
            guard: Guard::new(Rule::Scopes {
                mode: Mode::All,
                scopes: list(scopes),
            }),
        }
    }

    /// At least one of `scopes` is required.
    pub fn any<I: IntoIterator<Item = T>, T: Into<String>>(scopes: I) -> Self {
        RequireScopeLayer {
            guard: Guard::new(Rule::Scopes {
                mode: Mode::Any,
                scopes: list(scopes),
            }),
        }
    }

    /// The `realm` of the `WWW-Authenticate` answer (default `api`; use the verifier's).
    pub fn realm(mut self, realm: impl Into<String>) -> Self {
        self.guard.realm = Arc::from(realm.into());
        self
    }
}

/// A layer that requires groups of the verified access token, read from an array claim
/// (Okta's `groups` by default: add a groups claim to your authorization server). Add it before
/// the [`OktaAuthLayer`](crate::OktaAuthLayer); a missing group gets 403 `insufficient_scope`.
#[derive(Debug, Clone)]
#[must_use]
pub struct RequireGroupLayer {
    guard: Guard,
}

impl RequireGroupLayer {
    fn with(mode: Mode, groups: Vec<String>) -> Self {
        RequireGroupLayer {
            guard: Guard::new(Rule::Groups {
                mode,
                groups,
                claim: "groups".to_owned(),
            }),
        }
    }

    /// Membership in every one of `groups` is required.
    pub fn all<I: IntoIterator<Item = T>, T: Into<String>>(groups: I) -> Self {
        RequireGroupLayer::with(Mode::All, list(groups))
    }

    /// Membership in at least one of `groups` is required.
    pub fn any<I: IntoIterator<Item = T>, T: Into<String>>(groups: I) -> Self {
        RequireGroupLayer::with(Mode::Any, list(groups))
    }

    /// The claim holding the groups (default `groups`).
    pub fn claim(mut self, claim: impl Into<String>) -> Self {
        if let Rule::Groups { mode, groups, .. } = &*self.guard.rule {
            self.guard.rule = Arc::new(Rule::Groups {
                mode: *mode,
                groups: groups.clone(),
                claim: claim.into(),
            });
        }
        self
    }

    /// The `realm` of the `WWW-Authenticate` answer (default `api`; use the verifier's).
    pub fn realm(mut self, realm: impl Into<String>) -> Self {
        self.guard.realm = Arc::from(realm.into());
        self
    }
}

impl<S> Layer<S> for RequireScopeLayer {
    type Service = Require<S>;

    fn layer(&self, inner: S) -> Require<S> {
        Require {
            inner,
            guard: self.guard.clone(),
        }
    }
}

impl<S> Layer<S> for RequireGroupLayer {
    type Service = Require<S>;

    fn layer(&self, inner: S) -> Require<S> {
        Require {
            inner,
            guard: self.guard.clone(),
        }
    }
}

/// The service of [`RequireScopeLayer`] and [`RequireGroupLayer`].
#[derive(Clone)]
pub struct Require<S> {
    inner: S,
    guard: Guard,
}

impl<S: fmt::Debug> fmt::Debug for Require<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Require")
            .field("inner", &self.inner)
            .field("rule", &self.guard.rule)
            .finish()
    }
}

impl<S, ReqBody, ResBody> Service<Request<ReqBody>> for Require<S>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>>,
{
    type Response = Response<ResponseBody<ResBody>>;
    type Error = S::Error;
    type Future = ResponseFuture<S::Future, ResBody, S::Error>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request<ReqBody>) -> Self::Future {
        let outcome = match req.extensions().get::<Arc<AccessClaims>>() {
            Some(claims) => self.guard.rule.check(claims),
            None => Err(AuthError::MissingToken),
        };
        match outcome {
            Ok(()) => ResponseFuture::inner(self.inner.call(req)),
            Err(error) => {
                tracing::debug!(kind = %error.kind(), "request refused by guard");
                let response = if is_grpc(req.headers()) {
                    grpc_rejection_response(&error, &self.guard.realm)
                } else {
                    rejection_response(&error, &self.guard.realm)
                };
                ResponseFuture::rejected(response)
            }
        }
    }
}

impl AccessClaims {
    /// `Ok` if the token has every one of `scopes`; otherwise the 403 `insufficient_scope` error
    /// (in axum handlers, `?` turns it into the RFC 6750 answer).
    ///
    /// # Errors
    /// [`AuthError::InsufficientScope`] naming the required scopes.
    pub fn require_all_scopes<I, T>(&self, scopes: I) -> Result<(), AuthError>
    where
        I: IntoIterator<Item = T>,
        T: Into<String>,
    {
        Rule::Scopes {
            mode: Mode::All,
            scopes: list(scopes),
        }
        .check(self)
    }

    /// `Ok` if the token has at least one of `scopes`; otherwise the 403 `insufficient_scope`
    /// error.
    ///
    /// # Errors
    /// [`AuthError::InsufficientScope`] naming the accepted scopes.
    pub fn require_any_scope<I, T>(&self, scopes: I) -> Result<(), AuthError>
    where
        I: IntoIterator<Item = T>,
        T: Into<String>,
    {
        Rule::Scopes {
            mode: Mode::Any,
            scopes: list(scopes),
        }
        .check(self)
    }

    /// `Ok` if the array claim `claim` (Okta: `groups`) contains at least one of `groups`;
    /// otherwise a 403 `insufficient_scope` error.
    ///
    /// # Errors
    /// [`AuthError::InsufficientScope`].
    pub fn require_any_group<I, T>(&self, claim: &str, groups: I) -> Result<(), AuthError>
    where
        I: IntoIterator<Item = T>,
        T: Into<String>,
    {
        Rule::Groups {
            mode: Mode::Any,
            groups: list(groups),
            claim: claim.to_owned(),
        }
        .check(self)
    }
}
