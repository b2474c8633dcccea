//! Scope and group guards: [`RequireScopeLayer`] and [`RequireGroupLayer`].
//!
//! A guard runs *inside* [`OktaAuthLayer`](crate::OktaAuthLayer) (add it first, so the auth layer
//! wraps it) and reads the verified claims through the [`Grants`] trait: [`AccessClaims`] by
//! default, [`IdClaims`] or a type of your own with `.claims::<T>()`. A token without the
//! required scopes or groups gets 403 with `WWW-Authenticate: Bearer error="insufficient_scope"`
//! (and `scope="..."` for scopes, RFC 6750 section 3.1). An anonymous request let through by an
//! [`optional`](crate::OktaAuthLayer::optional) layer gets 401; a route where no auth layer ran
//! at all (a misconfiguration) gets 500 with a message naming the missing layer.
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
use std::marker::PhantomData;
use std::sync::Arc;
use std::task::{Context, Poll};

use http::{Request, Response};
use serde_json::Value;
use tower_layer::Layer;
use tower_service::Service;

use crate::claims::{AccessClaims, Anonymous, IdClaims};
use crate::error::{AuthError, DEFAULT_REALM};
use crate::future::ResponseFuture;
use crate::response::{
    grpc_rejection_response, is_grpc, missing_layer_response, rejection_response, ResponseBody,
};

/// What the guards read from verified claims: granted scopes and group memberships.
///
/// Implemented by [`AccessClaims`] (scopes from `scp`, groups from an array claim) and
/// [`IdClaims`] (groups only). Implement it for your own claims type to use the guards with
/// `verifier.layer().claims::<MyClaims>()`:
///
/// ```
/// use tower_okta::{Grants, RequireScopeLayer};
///
/// #[derive(serde::Deserialize)]
/// struct MyClaims {
///     scp: Vec<String>,
/// }
///
/// impl Grants for MyClaims {
///     fn has_scope(&self, scope: &str) -> bool {
///         self.scp.iter().any(|s| s == scope)
///     }
/// }
///
/// let guard = RequireScopeLayer::any(["orders:read"]).claims::<MyClaims>();
/// ```
pub trait Grants: Send + Sync + 'static {
    /// True if the token grants `scope`. The default grants none.
    fn has_scope(&self, scope: &str) -> bool {
        let _ = scope;
        false
    }

    /// True if the array claim `claim` (Okta's `groups`) contains `group`. The default is a
    /// member of none.
    fn in_group(&self, claim: &str, group: &str) -> bool {
        let _ = (claim, group);
        false
    }
}

impl Grants for AccessClaims {
    fn has_scope(&self, scope: &str) -> bool {
        AccessClaims::has_scope(self, scope)
    }

    fn in_group(&self, claim: &str, group: &str) -> bool {
        self.string_list(claim).any(|g| g == group)
    }
}

impl Grants for IdClaims {
    fn in_group(&self, claim: &str, group: &str) -> bool {
        self.extra
            .get(claim)
            .and_then(Value::as_array)
            .is_some_and(|list| list.iter().any(|g| g.as_str() == Some(group)))
    }
}

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
    fn check(&self, claims: &impl Grants) -> Result<(), AuthError> {
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
                let has = |g: &str| claims.in_group(claim, g);
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
            realm: Arc::from(DEFAULT_REALM),
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
#[must_use]
pub struct RequireScopeLayer<C = AccessClaims> {
    guard: Guard,
    _claims: PhantomData<fn() -> C>,
}

impl RequireScopeLayer {
    /// Every one of `scopes` is required.
    pub fn all<I: IntoIterator<Item = T>, T: Into<String>>(scopes: I) -> Self {
        RequireScopeLayer {
            guard: Guard::new(Rule::Scopes {
                mode: Mode::All,
                scopes: list(scopes),
            }),
            _claims: PhantomData,
        }
    }

    /// At least one of `scopes` is required.
    pub fn any<I: IntoIterator<Item = T>, T: Into<String>>(scopes: I) -> Self {
        RequireScopeLayer {
            guard: Guard::new(Rule::Scopes {
                mode: Mode::Any,
                scopes: list(scopes),
            }),
            _claims: PhantomData,
        }
    }
}

impl<C> RequireScopeLayer<C> {
    /// Reads the claims the auth layer inserted as `Arc<T>` (as with
    /// [`OktaAuthLayer::claims`](crate::OktaAuthLayer::claims)) instead of `Arc<AccessClaims>`.
    pub fn claims<T: Grants>(self) -> RequireScopeLayer<T> {
        RequireScopeLayer {
            guard: self.guard,
            _claims: PhantomData,
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
#[must_use]
pub struct RequireGroupLayer<C = AccessClaims> {
    guard: Guard,
    _claims: PhantomData<fn() -> C>,
}

impl RequireGroupLayer {
    fn with(mode: Mode, groups: Vec<String>) -> Self {
        RequireGroupLayer {
            guard: Guard::new(Rule::Groups {
                mode,
                groups,
                claim: "groups".to_owned(),
            }),
            _claims: PhantomData,
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
}

impl<C> RequireGroupLayer<C> {
    /// Reads the claims the auth layer inserted as `Arc<T>` (for example
    /// `RequireGroupLayer::any(["admins"]).claims::<IdClaims>()` behind
    /// `verifier.id_token_layer()`) instead of `Arc<AccessClaims>`.
    pub fn claims<T: Grants>(self) -> RequireGroupLayer<T> {
        RequireGroupLayer {
            guard: self.guard,
            _claims: PhantomData,
        }
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

macro_rules! guard_layer_impls {
    ($layer:ident) => {
        impl<C> Clone for $layer<C> {
            fn clone(&self) -> Self {
                $layer {
                    guard: self.guard.clone(),
                    _claims: PhantomData,
                }
            }
        }

        impl<C> fmt::Debug for $layer<C> {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.debug_struct(stringify!($layer))
                    .field("rule", &self.guard.rule)
                    .field("claims", &std::any::type_name::<C>())
                    .finish()
            }
        }

        impl<S, C> Layer<S> for $layer<C> {
            type Service = Require<S, C>;

            fn layer(&self, inner: S) -> Require<S, C> {
                Require {
                    inner,
                    guard: self.guard.clone(),
                    _claims: PhantomData,
                }
            }
        }
    };
}

guard_layer_impls!(RequireScopeLayer);
guard_layer_impls!(RequireGroupLayer);

/// The service of [`RequireScopeLayer`] and [`RequireGroupLayer`].
pub struct Require<S, C = AccessClaims> {
    inner: S,
    guard: Guard,
    _claims: PhantomData<fn() -> C>,
}

impl<S: Clone, C> Clone for Require<S, C> {
    fn clone(&self) -> Self {
        Require {
            inner: self.inner.clone(),
            guard: self.guard.clone(),
            _claims: PhantomData,
        }
    }
}

impl<S: fmt::Debug, C> fmt::Debug for Require<S, C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Require")
            .field("inner", &self.inner)
            .field("rule", &self.guard.rule)
            .finish()
    }
}

impl<S, C, ReqBody, ResBody> Service<Request<ReqBody>> for Require<S, C>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>>,
    C: Grants,
{
    type Response = Response<ResponseBody<ResBody>>;
    type Error = S::Error;
    type Future = ResponseFuture<S::Future, ResBody, S::Error>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request<ReqBody>) -> Self::Future {
        let outcome = match req.extensions().get::<Arc<C>>() {
            Some(claims) => self.guard.rule.check(&**claims),
            // An optional auth layer let an anonymous request through.
            None if req.extensions().get::<Anonymous>().is_some() => Err(AuthError::MissingToken),
            // No auth layer ran (or it inserts another claims type): the route is misconfigured.
            None => {
                let message = format!(
                    "no verified claims of type `{}` in the request: add tower_okta's \
                     OktaAuthLayer (verifier.layer(), with the same claims type) so that it runs \
                     before this guard (add it after the guard with `.route_layer`/`.layer`)",
                    std::any::type_name::<C>()
                );
                tracing::error!("{message}");
                return ResponseFuture::rejected(missing_layer_response(message));
            }
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
