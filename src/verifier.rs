//! [`Verifier`]: the whole verification path, top to bottom.
//!
//! For every token, in this order (the cheap checks first, so that garbage, expired or foreign
//! tokens cost no RSA operation and never cause a JWKS fetch):
//!
//! 1. **Form** - size cap, compact JWS with three parts, strict base64url
//!    ([`token::split_and_decode`]);
//! 2. **Header** - no duplicate keys, no `crit`, not an Okta org-server token, `alg` in the
//!    allow-list, `kid` present; `jku`/`x5u`/`jwk`/`x5c` ignored;
//! 3. **Claims** - strict JSON with typed registered claims; `iss` exact match, `aud` accepted,
//!    `exp`/`nbf`/`iat` against the clock with leeway, `sub` present, and the token profile
//!    (access token vs ID token);
//! 4. **Key** - the cached key for `kid`; if none, one shared JWKS fetch ([`Jwks`]);
//! 5. **Signature** - aws-lc-rs with the key parsed when the JWKS was fetched;
//! 6. **Typed claims** - the payload deserialized into the caller's type.

use std::any::{Any, TypeId};
use std::fmt;
use std::sync::Arc;

use serde::de::DeserializeOwned;

use crate::algorithm::Algorithm;
use crate::builder::VerifierBuilder;
use crate::claims::{AccessClaims, Extra, IdClaims};
use crate::clock::Clock;
use crate::diagnose::Diagnostics;
use crate::error::{AuthError, TokenError};
use crate::introspect::Introspector;
use crate::jwks::{Jwks, JwksStats};
use crate::layer::OktaAuthLayer;
use crate::token::{self, AccessRest, RawClaims};
use crate::token_cache::{CachedProfile, TokenCache};

/// The `typ` of access tokens from Okta's org authorization server.
const OKTA_INTERNAL_TYP: &str = "application/okta-internal-at+jwt";

/// RFC 7515 section 4.1.9: media types compare case-insensitively, and a `typ` without `/`
/// stands for `application/<typ>`.
fn is_okta_internal_typ(typ: &str) -> bool {
    let short = &OKTA_INTERNAL_TYP["application/".len()..];
    typ.eq_ignore_ascii_case(OKTA_INTERNAL_TYP) || typ.eq_ignore_ascii_case(short)
}

/// Verifies Okta access tokens and ID tokens for one issuer.
///
/// Cheap to clone (an `Arc` inside): every layer built from it shares its key cache.
///
/// ```no_run
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// let verifier = tower_okta::Verifier::builder()
///     .issuer("https://dev-123.okta.com/oauth2/default")
///     .client_id("0oa1example2SPAclient")
///     .build()?;
/// let claims = verifier.verify_access_token("eyJraWQiOi...").await?;
/// println!("{} has scopes {:?}", claims.sub, claims.scp);
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Verifier {
    inner: Arc<Inner>,
}

/// An accepted issuer and its key source.
#[derive(Debug)]
pub(crate) struct Issuer {
    pub(crate) url: String,
    pub(crate) jwks: Arc<Jwks>,
}

pub(crate) struct Inner {
    /// The configured issuer first, then any additional ones.
    pub(crate) issuers: Vec<Issuer>,
    /// The issuer URLs, in the same order (for the claim check and diagnostics).
    pub(crate) issuer_urls: Vec<String>,
    pub(crate) client_id: String,
    pub(crate) audiences: Vec<String>,
    pub(crate) leeway: i64,
    pub(crate) algorithms: Vec<Algorithm>,
    pub(crate) max_token_size: usize,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) id_tokens_only: bool,
    pub(crate) realm: String,
    pub(crate) token_cache: Option<TokenCache>,
    /// Record `sub` and `cid` on the verification span.
    pub(crate) trace_identity: bool,
    pub(crate) diagnostics: Diagnostics,
    /// Opt-in introspection of access tokens.
    pub(crate) introspector: Option<Introspector>,
}

impl fmt::Debug for Verifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Verifier")
            .field("issuers", &self.inner.issuer_urls)
            .field("client_id", &self.inner.client_id)
            .field("audiences", &self.inner.audiences)
            .field("leeway_secs", &self.inner.leeway)
            .field("algorithms", &self.inner.algorithms)
            .field("max_token_size", &self.inner.max_token_size)
            .finish_non_exhaustive()
    }
}

/// Which kind of token is expected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Profile<'n> {
    /// An access token: `cid` or `scp` present, no `nonce`, `at_hash` or `c_hash`.
    Access,
    /// An ID token: audience is the client ID; no `cid`, `scp` or `uid`; `nonce` checked if given.
    Id { nonce: Option<&'n str> },
}

/// What the token cache needs to know of a verified token.
pub(crate) struct Verified<'a> {
    pub(crate) exp: i64,
    /// Index of the token's issuer in `Inner::issuers`.
    pub(crate) issuer: usize,
    pub(crate) kid: &'a str,
}

/// The outcome of a verification attempt that did not wait for the network.
#[derive(Debug)]
pub(crate) enum Pending {
    /// Refused.
    Rejected(AuthError),
    /// Every check so far passed and the key for this `kid` of this issuer (an index into
    /// `Inner::issuers`) is not cached.
    FetchKey { issuer: usize, kid: String },
}

impl From<TokenError> for Pending {
    fn from(e: TokenError) -> Self {
        Pending::Rejected(AuthError::InvalidToken(e))
    }
}

impl Verifier {
    /// A builder; see [`VerifierBuilder`].
    pub fn builder() -> VerifierBuilder {
        VerifierBuilder::new()
    }

    /// A verifier configured from `OKTA_ISSUER`, `OKTA_CLIENT_ID` and optionally `OKTA_AUDIENCE`
    /// (see [`VerifierBuilder::from_env`]).
    ///
    /// # Errors
    /// A [`ConfigError`](crate::ConfigError) if a variable is missing or invalid.
    pub fn from_env() -> Result<Verifier, crate::ConfigError> {
        VerifierBuilder::from_env().build()
    }

    pub(crate) fn from_inner(inner: Inner) -> Verifier {
        Verifier {
            inner: Arc::new(inner),
        }
    }

    /// The configured issuer.
    #[must_use]
    pub fn issuer(&self) -> &str {
        &self.inner.issuer_urls[0]
    }

    /// Every accepted issuer: the configured one first, then the additional ones.
    #[must_use]
    pub fn issuers(&self) -> &[String] {
        &self.inner.issuer_urls
    }

    /// The SPA's client ID.
    #[must_use]
    pub fn client_id(&self) -> &str {
        &self.inner.client_id
    }

    /// The accepted access-token audiences.
    #[must_use]
    pub fn audiences(&self) -> &[String] {
        &self.inner.audiences
    }

    /// The `realm` used in `WWW-Authenticate`.
    #[must_use]
    pub fn realm(&self) -> &str {
        &self.inner.realm
    }

    /// JWKS counters of the configured issuer.
    #[must_use]
    pub fn jwks_stats(&self) -> JwksStats {
        self.inner.issuers[0].jwks.stats()
    }

    /// JWKS counters of one of the accepted issuers.
    #[must_use]
    pub fn jwks_stats_for(&self, issuer: &str) -> Option<JwksStats> {
        self.inner
            .issuers
            .iter()
            .find(|i| i.url == issuer)
            .map(|i| i.jwks.stats())
    }

    /// The configured issuer's key cache lookup, as on the hot path (for the benchmarks).
    pub(crate) fn key_is_cached(&self, kid: &str, now_ms: i64) -> bool {
        self.inner.issuers[0].jwks.cached(kid, now_ms).is_some()
    }

    /// Entries in the verified-token cache (0 when it is off).
    #[must_use]
    pub fn token_cache_len(&self) -> u64 {
        self.inner.token_cache.as_ref().map_or(0, TokenCache::len)
    }

    /// Fetches every accepted issuer's keys now (for example at startup), unless a fetch
    /// happened within the cooldown.
    ///
    /// # Errors
    /// [`AuthError::KeysUnavailable`] if the keys of an issuer could not be fetched.
    pub async fn refresh_keys(&self) -> Result<(), AuthError> {
        for issuer in &self.inner.issuers {
            // A kid that cannot exist: asks for a fetch, respecting the cooldown.
            issuer.jwks.key_after_fetch("").await?;
        }
        Ok(())
    }

    /// A layer that requires a valid access token and inserts `Arc<AccessClaims>` into request
    /// extensions.
    #[must_use]
    pub fn layer(&self) -> OktaAuthLayer<AccessClaims> {
        OktaAuthLayer::access(self.clone())
    }

    /// A layer that requires a valid ID token and inserts `Arc<IdClaims>` into request extensions.
    #[must_use]
    pub fn id_token_layer(&self) -> OktaAuthLayer<IdClaims> {
        OktaAuthLayer::id(self.clone())
    }

    /// Verifies an access token and returns its claims.
    ///
    /// # Errors
    /// [`AuthError::InvalidToken`] with the reason, or [`AuthError::KeysUnavailable`] if the
    /// signing keys cannot be fetched.
    pub async fn verify_access_token(&self, token: &str) -> Result<AccessClaims, AuthError> {
        self.verify(token, Profile::Access).await
    }

    /// Verifies an access token into the caller's claims type.
    ///
    /// # Errors
    /// As [`verify_access_token`](Self::verify_access_token); a payload that does not fit `C`
    /// gives [`TokenError::InvalidClaim`].
    pub async fn verify_access_token_as<C: DeserializeOwned + 'static>(
        &self,
        token: &str,
    ) -> Result<C, AuthError> {
        self.verify(token, Profile::Access).await
    }

    /// Verifies an ID token; with `nonce`, its `nonce` claim must equal it.
    ///
    /// # Errors
    /// As [`verify_access_token`](Self::verify_access_token).
    pub async fn verify_id_token(
        &self,
        token: &str,
        nonce: Option<&str>,
    ) -> Result<IdClaims, AuthError> {
        self.verify(token, Profile::Id { nonce }).await
    }

    /// Verifies an ID token into the caller's claims type.
    ///
    /// # Errors
    /// As [`verify_id_token`](Self::verify_id_token).
    pub async fn verify_id_token_as<C: DeserializeOwned + 'static>(
        &self,
        token: &str,
        nonce: Option<&str>,
    ) -> Result<C, AuthError> {
        self.verify(token, Profile::Id { nonce }).await
    }

    /// Verifies with at most one (shared) JWKS fetch.
    pub(crate) async fn verify<C: DeserializeOwned + 'static>(
        &self,
        token: &str,
        profile: Profile<'_>,
    ) -> Result<C, AuthError> {
        let attempt = || {
            let now_ms = self.inner.clock.now_millis();
            self.verify_cached(token, profile, now_ms, |claims, _| claims)
        };
        let claims = match attempt() {
            Ok(claims) => claims,
            Err(Pending::Rejected(e)) => return Err(e),
            Err(Pending::FetchKey { issuer, kid }) => {
                self.after_fetch(issuer, &kid, attempt).await?
            }
        };
        if self.introspects(profile) {
            self.introspect(token).await?;
        }
        Ok(claims)
    }

    /// True if tokens of this profile are also introspected (access tokens, when configured).
    pub(crate) fn introspects(&self, profile: Profile<'_>) -> bool {
        profile == Profile::Access && self.inner.introspector.is_some()
    }

    /// Asks Okta whether a locally verified token is still active.
    pub(crate) async fn introspect(&self, token: &str) -> Result<(), AuthError> {
        match &self.inner.introspector {
            Some(introspector) => introspector.check(token).await,
            None => Ok(()),
        }
    }

    /// What the layer calls: the claims as an `Arc`, through the verified-token cache when it
    /// is on. `Pending::FetchKey` sends the layer to [`verify_shared_after_fetch`].
    ///
    /// [`verify_shared_after_fetch`]: Self::verify_shared_after_fetch
    pub(crate) fn verify_shared<C>(
        &self,
        token: &str,
        profile: Profile<'_>,
    ) -> Result<Arc<C>, Pending>
    where
        C: DeserializeOwned + Send + Sync + 'static,
    {
        // One clock read serves the token cache, the claim checks and the key cache.
        let now_ms = self.inner.clock.now_millis();
        let Some(cache) = &self.inner.token_cache else {
            return self.verify_cached(token, profile, now_ms, |claims, _| Arc::new(claims));
        };
        let cached_profile = match profile {
            Profile::Access => CachedProfile::Access,
            Profile::Id { nonce: None } => CachedProfile::Id,
            // A nonce is per sign-in: never served from the cache.
            Profile::Id { nonce: Some(_) } => {
                return self.verify_cached(token, profile, now_ms, |claims, _| Arc::new(claims))
            }
        };
        let key_known = |issuer: usize, kid: &str| {
            self.inner
                .issuers
                .get(issuer)
                .is_some_and(|i| i.jwks.contains(kid))
        };
        if let Some(hit) = cache.get(token, cached_profile, now_ms, key_known) {
            return Ok(hit);
        }
        self.verify_cached(token, profile, now_ms, |claims, verified| {
            let claims = Arc::new(claims);
            let valid_until_ms = verified
                .exp
                .saturating_add(self.inner.leeway)
                .saturating_mul(1000);
            cache.insert(
                token,
                Arc::clone(&claims),
                cached_profile,
                (verified.issuer, verified.kid),
                now_ms,
                valid_until_ms,
            );
            claims
        })
    }

    /// The layer's slow path: fetch the keys, then [`verify_shared`](Self::verify_shared) again.
    pub(crate) async fn verify_shared_after_fetch<C>(
        &self,
        token: &str,
        (issuer, kid): (usize, &str),
        profile: Profile<'_>,
    ) -> Result<Arc<C>, AuthError>
    where
        C: DeserializeOwned + Send + Sync + 'static,
    {
        self.after_fetch(issuer, kid, || self.verify_shared(token, profile))
            .await
    }

    /// Fetches the keys (shared with concurrent callers) and tries once more.
    async fn after_fetch<R>(
        &self,
        issuer: usize,
        kid: &str,
        attempt: impl FnOnce() -> Result<R, Pending>,
    ) -> Result<R, AuthError> {
        let Some(issuer) = self.inner.issuers.get(issuer) else {
            return Err(TokenError::WrongIssuer.into());
        };
        if issuer.jwks.key_after_fetch(kid).await?.is_none() {
            return Err(TokenError::UnknownKeyId.into());
        }
        match attempt() {
            Ok(claims) => Ok(claims),
            Err(Pending::Rejected(e)) => Err(e),
            // Removed again between the fetch and now.
            Err(Pending::FetchKey { .. }) => Err(TokenError::UnknownKeyId.into()),
        }
    }

    /// Every check, using only cached keys. This is the hot path. `now_ms` is the clock read for
    /// the claim checks and the key cache; `finish` receives the typed claims and what the token
    /// cache needs to know of a verified token.
    fn verify_cached<C: DeserializeOwned + 'static, R>(
        &self,
        token: &str,
        profile: Profile<'_>,
        now_ms: i64,
        finish: impl FnOnce(C, Verified<'_>) -> R,
    ) -> Result<R, Pending> {
        let inner = &*self.inner;
        if profile == Profile::Access && inner.id_tokens_only {
            return Err(TokenError::AccessTokensDisabled.into());
        }

        // 1. Form. Every part is decoded before anything looks at a key, so a malformed token
        //    never causes a JWKS fetch.
        let (parts, decoded) = token::split_and_decode(token, inner.max_token_size)?;

        // 2. Header.
        let header = token::parse_header(decoded.header.text()?)?;
        if header.crit {
            return Err(TokenError::CriticalHeader.into());
        }
        if header.typ.as_deref().is_some_and(is_okta_internal_typ) {
            return Err(TokenError::OrgAuthorizationServerToken.into());
        }
        let alg = Algorithm::from_name(&header.alg)
            .filter(|a| inner.algorithms.contains(a))
            .ok_or(TokenError::UnsupportedAlgorithm)?;
        let kid = header
            .kid
            .filter(|k| !k.is_empty())
            .ok_or(TokenError::MissingKeyId)?;

        // 3. Claims. For the default claims type the strict pass also collects everything `AccessClaims` holds, so the
        //    payload is read once.
        let one_pass = TypeId::of::<C>() == TypeId::of::<AccessClaims>();
        let mut claims = if one_pass {
            token::parse_claims_collecting(&decoded.payload)?
        } else {
            token::parse_claims(&decoded.payload)?
        };
        let (issuer, exp) = self.check_claims(&claims, profile, now_ms.div_euclid(1000))?;
        if inner.trace_identity {
            let span = tracing::Span::current();
            span.record("sub", claims.sub.as_deref());
            span.record("cid", claims.cid.as_deref());
        }

        // 4. Key: the token's issuer selects the key source.
        let Some(key) = inner.issuers[issuer].jwks.cached(&kid, now_ms) else {
            return Err(Pending::FetchKey {
                issuer,
                kid: kid.into_owned(),
            });
        };

        // 5. Signature.
        key.verify(
            alg,
            parts.signing_input.as_bytes(),
            decoded.signature.bytes(),
        )?;

        // 6. Typed claims.
        let typed: C = match claims.access.take() {
            Some(rest) => {
                let mut access = access_claims(claims, rest)?;
                // The claims set's text moves into the claims: their `extra` map is built from
                // it only if asked for.
                access.extra = Extra::of_access_token(decoded.payload);
                // `C` is `AccessClaims` here (`one_pass`); the downcast of a slot says so to
                // the compiler without an allocation.
                let mut slot: Option<C> = None;
                if let Some(slot) =
                    (&mut slot as &mut dyn Any).downcast_mut::<Option<AccessClaims>>()
                {
                    *slot = Some(access);
                }
                slot.ok_or(TokenError::InvalidClaim)?
            }
            None => serde_json::from_str(&decoded.payload).map_err(|_| TokenError::InvalidClaim)?,
        };
        Ok(finish(
            typed,
            Verified {
                exp,
                issuer,
                kid: &kid,
            },
        ))
    }

    /// The registered claims and the token profile; returns the issuer's index and `exp`.
    fn check_claims(
        &self,
        claims: &RawClaims<'_>,
        profile: Profile<'_>,
        now: i64,
    ) -> Result<(usize, i64), TokenError> {
        let inner = &*self.inner;
        let issuer = claims
            .iss
            .as_deref()
            .and_then(|iss| inner.issuer_urls.iter().position(|i| i == iss));
        let Some(issuer) = issuer else {
            if let Some(iss) = claims.iss.as_deref() {
                inner.diagnostics.wrong_issuer(iss, &inner.issuer_urls);
            }
            return Err(TokenError::WrongIssuer);
        };
        let accepted = match profile {
            Profile::Access => inner.audiences.as_slice(),
            Profile::Id { .. } => std::slice::from_ref(&inner.client_id),
        };
        if !claims
            .aud
            .as_ref()
            .is_some_and(|aud| aud.contains_any(accepted))
        {
            inner
                .diagnostics
                .wrong_audience(claims.aud.as_ref(), accepted);
            return Err(TokenError::WrongAudience);
        }

        let leeway = inner.leeway;
        let exp = match claims.exp {
            Some(exp) if now < exp.saturating_add(leeway) => exp,
            _ => return Err(TokenError::Expired),
        };
        if claims
            .nbf
            .is_some_and(|nbf| nbf > now.saturating_add(leeway))
        {
            return Err(TokenError::NotYetValid);
        }
        if claims
            .iat
            .is_some_and(|iat| iat > now.saturating_add(leeway))
        {
            return Err(TokenError::IssuedInFuture);
        }
        if claims.sub.is_none() {
            return Err(TokenError::InvalidClaim);
        }

        match profile {
            Profile::Access => {
                let looks_like_id_token = claims.nonce.is_some() || claims.has_token_hash;
                if looks_like_id_token || !(claims.cid.is_some() || claims.has_scp) {
                    return Err(TokenError::NotAnAccessToken);
                }
            }
            Profile::Id { nonce } => {
                if claims.cid.is_some() || claims.has_scp || claims.has_uid {
                    return Err(TokenError::NotAnIdToken);
                }
                if let Some(expected) = nonce {
                    if claims.nonce.as_deref() != Some(expected) {
                        return Err(TokenError::NonceMismatch);
                    }
                }
            }
        }
        Ok((issuer, exp))
    }
}

/// `AccessClaims` from the single strict pass (the registered claims were checked already).
fn access_claims(claims: RawClaims<'_>, rest: AccessRest) -> Result<AccessClaims, TokenError> {
    let (Some(iss), Some(sub), Some(aud), Some(exp), Some(iat)) =
        (claims.iss, claims.sub, claims.aud, claims.exp, claims.iat)
    else {
        return Err(TokenError::InvalidClaim);
    };
    Ok(AccessClaims {
        iss: iss.into_owned(),
        sub: sub.into_owned(),
        aud: aud.into_owned(),
        exp,
        iat,
        cid: claims.cid.map(std::borrow::Cow::into_owned),
        uid: rest.uid,
        scp: rest.scp,
        jti: rest.jti,
        extra: Extra::default(),
    })
}
