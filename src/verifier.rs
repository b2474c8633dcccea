//! [`Verifier`]: the whole verification path, top to bottom.
//!
//! For every token, in this order (the cheap checks first, so that garbage, expired or foreign
//! tokens cost no RSA operation and never cause a JWKS fetch):
//!
//! 1. **Form** - size cap, compact JWS with three parts, strict base64url
//!    ([`token::split_and_decode`]);
//! 2. **Header** - no duplicate keys, no `crit`, not an Okta org-server token, `alg` in the
//!    allow-list, `kid` present; `jku`/`x5u`/`jwk`/`x5c` ignored;
//! 3. **Claims** - one strict JSON pass with typed registered claims, then the claim rules
//!    ([`validate::check`], a pure function): `iss` exact match, `aud` accepted,
//!    `exp`/`nbf`/`iat` against the clock with leeway, `sub` present, and the token kind
//!    (access token vs ID token);
//! 4. **Key** - the cached key for `kid`; if none, one shared JWKS fetch ([`Jwks`]);
//! 5. **Signature** - aws-lc-rs with the key parsed when the JWKS was fetched;
//! 6. **Typed claims** - built by the [`Decoder`] the caller chose once.
//!
//! The layer (`layer.rs`) calls [`Verifier::verify_shared`], which adds the verified-token cache
//! in front of these steps; the `verify_*` methods call them directly.

use std::fmt;
use std::sync::Arc;

use serde::de::DeserializeOwned;

use crate::algorithm::Algorithm;
use crate::claims::{AccessClaims, IdClaims};
use crate::clock::Clock;
use crate::decode::Decoder;
use crate::diagnose::Diagnostics;
use crate::dpop::{Binding, DpopVerifier};
use crate::error::{AuthError, TokenError};
use crate::introspect::Introspector;
use crate::jwks::{Jwks, JwksStats};
use crate::token;
use crate::token_cache::{KeyOrigin, TokenCache};
use crate::validate::{self, Rules, TokenKind};

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

/// Everything a verifier holds, built once by [`VerifierBuilder`](crate::VerifierBuilder).
pub(crate) struct Inner {
    /// The claim rules (issuers, audiences, leeway, token kinds).
    pub(crate) rules: Rules,
    /// The key source of each accepted issuer, in the order of `rules.issuers`.
    pub(crate) jwks: Vec<Arc<Jwks>>,
    pub(crate) algorithms: Vec<Algorithm>,
    pub(crate) max_token_size: usize,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) realm: String,
    pub(crate) token_cache: Option<TokenCache>,
    /// Record `sub` and `cid` on the verification span.
    pub(crate) trace_identity: bool,
    pub(crate) diagnostics: Diagnostics,
    /// Opt-in introspection of access tokens.
    pub(crate) introspector: Option<Introspector>,
    /// DPoP proof checks and their replay cache.
    pub(crate) dpop: DpopVerifier,
}

impl fmt::Debug for Verifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Verifier")
            .field("issuers", &self.inner.rules.issuers)
            .field("client_id", &self.inner.rules.client_id)
            .field("audiences", &self.inner.rules.audiences)
            .field("leeway_secs", &self.inner.rules.leeway)
            .field("algorithms", &self.inner.algorithms)
            .field("max_token_size", &self.inner.max_token_size)
            .finish_non_exhaustive()
    }
}

/// What the token cache and the layer need to know of a verified token.
pub(crate) struct Verified<'a> {
    pub(crate) exp: i64,
    /// The issuer's index in `Inner::jwks`, the `kid`, and the key cache's removal count.
    pub(crate) key: KeyOrigin<'a>,
    pub(crate) binding: Binding,
}

/// The outcome of a verification attempt that did not wait for the network.
#[derive(Debug)]
pub(crate) enum Pending {
    /// Refused.
    Rejected(AuthError),
    /// Every check so far passed; the key for this `kid` of this issuer (index) is not cached.
    FetchKey { issuer: usize, kid: String },
}

impl From<TokenError> for Pending {
    fn from(e: TokenError) -> Self {
        Pending::Rejected(AuthError::InvalidToken(e))
    }
}

impl Verifier {
    pub(crate) fn from_inner(inner: Inner) -> Verifier {
        Verifier {
            inner: Arc::new(inner),
        }
    }

    /// The configured issuer.
    #[must_use]
    pub fn issuer(&self) -> &str {
        &self.inner.rules.issuers[0]
    }

    /// Every accepted issuer: the configured one first, then the additional ones.
    #[must_use]
    pub fn issuers(&self) -> &[String] {
        &self.inner.rules.issuers
    }

    /// The SPA's client ID.
    #[must_use]
    pub fn client_id(&self) -> &str {
        &self.inner.rules.client_id
    }

    /// The accepted access-token audiences.
    #[must_use]
    pub fn audiences(&self) -> &[String] {
        &self.inner.rules.audiences
    }

    /// The `realm` used in `WWW-Authenticate`.
    #[must_use]
    pub fn realm(&self) -> &str {
        &self.inner.realm
    }

    /// JWKS counters of the configured issuer.
    #[must_use]
    pub fn jwks_stats(&self) -> JwksStats {
        self.inner.jwks[0].stats()
    }

    /// JWKS counters of one of the accepted issuers.
    #[must_use]
    pub fn jwks_stats_for(&self, issuer: &str) -> Option<JwksStats> {
        let index = self.inner.rules.issuers.iter().position(|i| i == issuer)?;
        self.inner.jwks.get(index).map(|jwks| jwks.stats())
    }

    /// The configured issuer's key cache lookup, as on the hot path (for the benchmarks).
    #[cfg(feature = "__private")]
    pub(crate) fn key_is_cached(&self, kid: &str, now_ms: i64) -> bool {
        self.inner.jwks[0].cached(kid, now_ms).is_some()
    }

    /// Entries in the verified-token cache (0 when it is off).
    #[must_use]
    pub fn token_cache_len(&self) -> u64 {
        self.inner.token_cache.as_ref().map_or(0, TokenCache::len)
    }

    /// Fetches every accepted issuer's keys now (for example at startup), unless a fetch
    /// succeeded within the cooldown. It starts no cooldown: a token signed with a key
    /// published just after it still causes a fetch.
    ///
    /// # Errors
    /// [`AuthError::KeysUnavailable`] if the keys of an issuer could not be fetched.
    pub async fn refresh_keys(&self) -> Result<(), AuthError> {
        for jwks in &self.inner.jwks {
            jwks.refresh().await?;
        }
        Ok(())
    }

    /// Verifies an access token and returns its claims.
    ///
    /// # Errors
    /// [`AuthError::InvalidToken`] with the reason, or [`AuthError::KeysUnavailable`] if the
    /// signing keys cannot be fetched.
    pub async fn verify_access_token(&self, token: &str) -> Result<AccessClaims, AuthError> {
        self.verify(token, TokenKind::Access, None, Decoder::ACCESS)
            .await
    }

    /// Verifies an access token into the caller's claims type.
    ///
    /// # Errors
    /// As [`verify_access_token`](Self::verify_access_token); a payload that does not fit `C`
    /// gives [`TokenError::InvalidClaim`].
    pub async fn verify_access_token_as<C: DeserializeOwned>(
        &self,
        token: &str,
    ) -> Result<C, AuthError> {
        self.verify(token, TokenKind::Access, None, Decoder::serde())
            .await
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
        self.verify(token, TokenKind::Id, nonce, Decoder::serde())
            .await
    }

    /// Verifies an ID token into the caller's claims type.
    ///
    /// # Errors
    /// As [`verify_id_token`](Self::verify_id_token).
    pub async fn verify_id_token_as<C: DeserializeOwned>(
        &self,
        token: &str,
        nonce: Option<&str>,
    ) -> Result<C, AuthError> {
        self.verify(token, TokenKind::Id, nonce, Decoder::serde())
            .await
    }

    /// Verifies with at most one (shared) JWKS fetch; the `verify_*` methods end here.
    async fn verify<C>(
        &self,
        token: &str,
        kind: TokenKind,
        nonce: Option<&str>,
        decoder: Decoder<C>,
    ) -> Result<C, AuthError> {
        let attempt = || {
            let now_ms = self.inner.clock.now_millis();
            self.verify_cached(token, kind, nonce, now_ms, decoder, |claims, verified| {
                (claims, verified.binding)
            })
        };
        let (claims, binding) = match attempt() {
            Ok(verified) => verified,
            Err(Pending::Rejected(e)) => return Err(e),
            Err(Pending::FetchKey { issuer, kid }) => {
                self.after_fetch(issuer, &kid, attempt).await?
            }
        };
        // Without a request there is no proof: a DPoP-bound token is never accepted as Bearer.
        if binding.is_some() {
            return Err(TokenError::BoundTokenAsBearer.into());
        }
        if self.introspects(kind) {
            self.introspect(token).await?;
        }
        Ok(claims)
    }

    /// True if tokens of this kind are also introspected (access tokens, when configured).
    pub(crate) fn introspects(&self, kind: TokenKind) -> bool {
        kind == TokenKind::Access && self.inner.introspector.is_some()
    }

    /// The DPoP proof checker.
    pub(crate) fn dpop(&self) -> &DpopVerifier {
        &self.inner.dpop
    }

    /// Asks Okta whether a locally verified token is still active.
    pub(crate) async fn introspect(&self, token: &str) -> Result<(), AuthError> {
        match &self.inner.introspector {
            Some(introspector) => introspector.check(token).await,
            None => Ok(()),
        }
    }

    /// What the layer calls: the claims as an `Arc` and the token's DPoP binding, through the
    /// token cache when it is on. `FetchKey` sends the layer to [`verify_shared_after_fetch`].
    ///
    /// [`verify_shared_after_fetch`]: Self::verify_shared_after_fetch
    pub(crate) fn verify_shared<C>(
        &self,
        token: &str,
        kind: TokenKind,
        decoder: Decoder<C>,
    ) -> Result<(Arc<C>, Binding), Pending>
    where
        C: Send + Sync + 'static,
    {
        // One clock read serves the token cache, the claim checks and the key cache.
        let now_ms = self.inner.clock.now_millis();
        let Some(cache) = &self.inner.token_cache else {
            return self.verify_cached(token, kind, None, now_ms, decoder, |claims, verified| {
                (Arc::new(claims), verified.binding)
            });
        };
        let key_known = |(issuer, kid, removals): KeyOrigin<'_>| {
            let jwks = self.inner.jwks.get(issuer);
            jwks.is_some_and(|jwks| jwks.still_has(kid, removals, now_ms))
        };
        if let Some(hit) = cache.get(token, kind, now_ms, key_known) {
            return Ok(hit);
        }
        self.verify_cached(token, kind, None, now_ms, decoder, |claims, verified| {
            let claims = Arc::new(claims);
            let valid_until_ms = verified
                .exp
                .saturating_add(self.inner.rules.leeway)
                .saturating_mul(1000);
            cache.insert(
                token,
                Arc::clone(&claims),
                kind,
                (verified.key, verified.binding.clone()),
                now_ms,
                valid_until_ms,
            );
            (claims, verified.binding)
        })
    }

    /// The layer's slow path: fetch the keys, then [`verify_shared`](Self::verify_shared) again.
    pub(crate) async fn verify_shared_after_fetch<C>(
        &self,
        token: &str,
        (issuer, kid): (usize, &str),
        kind: TokenKind,
        decoder: Decoder<C>,
    ) -> Result<(Arc<C>, Binding), AuthError>
    where
        C: Send + Sync + 'static,
    {
        self.after_fetch(issuer, kid, || self.verify_shared(token, kind, decoder))
            .await
    }

    /// Fetches the keys (shared with concurrent callers) and tries once more.
    async fn after_fetch<R>(
        &self,
        issuer: usize,
        kid: &str,
        attempt: impl FnOnce() -> Result<R, Pending>,
    ) -> Result<R, AuthError> {
        let Some(jwks) = self.inner.jwks.get(issuer) else {
            return Err(TokenError::WrongIssuer.into());
        };
        if jwks.key_after_fetch(kid).await?.is_none() {
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
    fn verify_cached<C, R>(
        &self,
        token: &str,
        kind: TokenKind,
        nonce: Option<&str>,
        now_ms: i64,
        decoder: Decoder<C>,
        finish: impl FnOnce(C, Verified<'_>) -> R,
    ) -> Result<R, Pending> {
        let inner = &*self.inner;
        inner.rules.accepts(kind)?;

        // 1. Form. Every part is decoded before anything looks at a key, so a malformed token
        //    never causes a JWKS fetch.
        let (parts, decoded) = token::split_and_decode(token, inner.max_token_size)?;

        // 2. Header.
        let header = token::parse_header(decoded.header.text()?)?;
        if header.crit {
            return Err(TokenError::CriticalHeader.into());
        }
        if header.is_okta_internal() {
            return Err(TokenError::OrgAuthorizationServerToken.into());
        }
        let alg = Algorithm::from_name(&header.alg)
            .filter(|a| inner.algorithms.contains(a))
            .ok_or(TokenError::UnsupportedAlgorithm)?;
        let kid = header
            .kid
            .filter(|k| !k.is_empty())
            .ok_or(TokenError::MissingKeyId)?;

        // 3. Claims: one strict pass (for `AccessClaims` it also collects their fields), then
        //    the rules, a pure function of the claims, the settings and the time.
        let claims = if decoder.collect {
            token::parse_claims_collecting(&decoded.payload)?
        } else {
            token::parse_claims(&decoded.payload)?
        };
        let checked = validate::check(&claims, &inner.rules, kind, nonce, now_ms.div_euclid(1000))
            .inspect_err(|e| inner.diagnostics.explain(*e, &claims, &inner.rules, kind))?;
        if inner.trace_identity {
            let span = tracing::Span::current();
            span.record("sub", claims.sub.as_deref());
            span.record("cid", claims.cid.as_deref());
        }

        // 4. Key: the token's issuer selects the key source.
        let jwks = &inner.jwks[checked.issuer];
        let removals = jwks.removals();
        let Some(key) = jwks.cached(&kid, now_ms) else {
            return Err(Pending::FetchKey {
                issuer: checked.issuer,
                kid: kid.into_owned(),
            });
        };

        // 5. Signature.
        key.verify(
            alg,
            parts.signing_input.as_bytes(),
            decoded.signature.bytes(),
        )?;

        // 6. Typed claims, as the caller's decoder says; the DPoP binding is kept for the layer.
        let binding = claims.binding();
        let mut typed = (decoder.build)(claims, &decoded.payload)?;
        (decoder.keep)(&mut typed, decoded.payload);
        Ok(finish(
            typed,
            Verified {
                exp: checked.exp,
                key: (checked.issuer, &kid, removals),
                binding,
            },
        ))
    }
}
