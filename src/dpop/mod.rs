//! DPoP (RFC 9449): sender-constrained access tokens. A DPoP request carries
//! `Authorization: DPoP <token>` and a `DPoP: <proof>` header; the proof is a JWT signed by a
//! key the client holds, made for this request (method and URL), fresh (`iat`, single-use
//! `jti`), tied to the token (`ath`), and the token names the key (`cnf.jkt`).
//!
//! [`Dpop`] is a layer's policy, [`DpopOptions`] the verifier's settings. `DpopVerifier::check`
//! runs the proof checks of RFC 9449 section 4.3 in this order: form (`proof.rs`), key
//! (`key.rs`), `htm`, `htu` (`htu.rs`), `iat`, `ath`, signature, nonce (`nonce.rs`). The layer
//! then verifies the token, compares its `cnf.jkt` with the proof key's thumbprint, and only
//! then records the `jti` ([`DpopVerifier::first_use`]): a proof replayed within the window is
//! refused, and only requests that passed every other check can fill the replay cache.

pub(crate) mod error;
mod htu;
mod key;
mod nonce;
pub(crate) mod proof;
mod replay;

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use aws_lc_rs::digest;
use http::{HeaderMap, Method, Uri};

pub use error::DpopError;
pub use key::DpopAlgorithm;

use crate::clock::Clock;
use crate::error::{AuthError, ConfigError};
use htu::Origin;
use key::{is_access_token_hash, ProofKey};
use nonce::Nonces;
use replay::ReplayCache;

/// The DPoP key a verified token is bound to (its `cnf.jkt`), if any.
pub(crate) type Binding = Option<Arc<str>>;

/// A layer's DPoP policy: which token schemes it accepts.
///
/// ```
/// # fn run(verifier: tower_okta::Verifier) {
/// use tower_okta::Dpop;
///
/// // Only sender-constrained tokens: `Authorization: DPoP` with a valid proof.
/// let layer = verifier.layer().dpop(Dpop::Required);
/// # }
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum Dpop {
    /// Both schemes, each checked by its own rules (the default): `Bearer` for unbound tokens,
    /// `DPoP` with a valid proof for tokens bound to a key. A bound token sent as `Bearer` is
    /// refused. Answers advertise both schemes.
    #[default]
    Allowed,
    /// Only `DPoP` with a valid proof. A `Bearer` credential is refused (401 `invalid_token`
    /// in a DPoP challenge).
    Required,
    /// Only `Bearer`: a `DPoP` credential counts as no credentials, and bound tokens are still
    /// refused (they are never accepted as `Bearer`).
    Disabled,
}

impl Dpop {
    /// True if `Bearer` credentials are accepted.
    pub(crate) fn accepts_bearer(self) -> bool {
        self != Dpop::Required
    }

    /// True if `DPoP` credentials are accepted.
    pub(crate) fn accepts_dpop(self) -> bool {
        self != Dpop::Disabled
    }
}

/// Default accepted distance of a proof's `iat` from now.
pub const DEFAULT_PROOF_WINDOW: Duration = Duration::from_secs(60);
/// Default number of proof `jti`s remembered.
pub const DEFAULT_REPLAY_CACHE_SIZE: u64 = 100_000;

/// The DPoP settings of a [`Verifier`](crate::Verifier), given to
/// [`VerifierBuilder::dpop`](crate::VerifierBuilder::dpop). Which scheme a route accepts is the
/// layer's [`Dpop`] policy.
///
/// ```
/// use std::time::Duration;
/// use tower_okta::{DpopAlgorithm, DpopOptions, Verifier};
///
/// # fn run() -> Result<(), tower_okta::ConfigError> {
/// let verifier = Verifier::builder()
///     .issuer("https://dev-123.okta.com/oauth2/default")
///     .client_id("0oa1example2SPAclient")
///     .dpop(
///         DpopOptions::new()
///             // Behind a TLS-terminating proxy: the URL the SPA calls.
///             .external_origin("https://api.example.com")
///             .algorithms([DpopAlgorithm::ES256])
///             .require_nonce(Duration::from_secs(300)),
///     )
///     .build()?;
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
#[must_use]
pub struct DpopOptions {
    algorithms: Vec<DpopAlgorithm>,
    proof_window: Duration,
    replay_cache_size: u64,
    nonce_rotation: Option<Duration>,
    external_origin: Option<String>,
    https: bool,
    trust_forwarded: bool,
}

impl Default for DpopOptions {
    fn default() -> Self {
        DpopOptions {
            algorithms: vec![DpopAlgorithm::ES256, DpopAlgorithm::RS256],
            proof_window: DEFAULT_PROOF_WINDOW,
            replay_cache_size: DEFAULT_REPLAY_CACHE_SIZE,
            nonce_rotation: None,
            external_origin: None,
            https: false,
            trust_forwarded: false,
        }
    }
}

impl DpopOptions {
    /// The defaults: ES256 and RS256 proofs, `iat` within 60 s of now, 100,000 remembered
    /// `jti`s, no server nonce, the request's own `Host` with `http` as the `htu` origin.
    pub fn new() -> Self {
        DpopOptions::default()
    }

    /// The algorithms a proof may be signed with (ES256 and RS256 by default).
    pub fn algorithms(mut self, algorithms: impl IntoIterator<Item = DpopAlgorithm>) -> Self {
        self.algorithms = algorithms.into_iter().collect();
        self
    }

    /// How far a proof's `iat` may be from now, either way (60 s by default; 1 s to 5 min).
    /// The replay cache remembers each `jti` for twice this window.
    pub fn proof_window(mut self, window: Duration) -> Self {
        self.proof_window = window;
        self
    }

    /// How many proof `jti`s are remembered (100,000 by default). Size it to hold every DPoP
    /// request of two proof windows: past it, the oldest are forgotten first.
    pub fn replay_cache_size(mut self, max_entries: u64) -> Self {
        self.replay_cache_size = max_entries;
        self
    }

    /// Requires a server nonce in every proof (RFC 9449 section 9). A proof without the
    /// current (or the previous) nonce is answered 401 `use_dpop_nonce` with a fresh
    /// `DPoP-Nonce` header, and the client retries with it. Nonces are stateless (an HMAC of
    /// the time window under a random key of this verifier) and change every `rotation`
    /// (10 s to 1 h).
    pub fn require_nonce(mut self, rotation: Duration) -> Self {
        self.nonce_rotation = Some(rotation);
        self
    }

    /// The origin clients call (`https://api.example.com`), when a proxy in front of the API
    /// changes the scheme or the host: proofs' `htu` are compared with this origin followed by
    /// the request's path. Without it the origin comes from the request.
    pub fn external_origin(mut self, origin: impl Into<String>) -> Self {
        self.external_origin = Some(origin.into());
        self
    }

    /// Takes `https` as the scheme of requests that do not name one (origin-form requests:
    /// HTTP/1.1 without a proxy). Off by default: `http`.
    pub fn https(mut self, https: bool) -> Self {
        self.https = https;
        self
    }

    /// Trusts the `Forwarded` header (RFC 7239; else `X-Forwarded-Proto` and
    /// `X-Forwarded-Host`) for the scheme and host. Only for an API reachable solely through a
    /// proxy that sets these headers and drops the client's own; otherwise prefer
    /// [`external_origin`](Self::external_origin). Off by default.
    pub fn trust_forwarded_headers(mut self, trust: bool) -> Self {
        self.trust_forwarded = trust;
        self
    }

    /// Checks the settings and builds the proof checker, which reads `clock` (the verifier's).
    pub(crate) fn build(self, clock: Arc<dyn Clock>) -> Result<DpopVerifier, ConfigError> {
        if self.algorithms.is_empty() {
            return Err(ConfigError::Dpop("the DPoP algorithm list is empty"));
        }
        if !(Duration::from_secs(1)..=Duration::from_secs(300)).contains(&self.proof_window) {
            return Err(ConfigError::Dpop("proof_window must be from 1 s to 5 min"));
        }
        if !(1..=100_000_000).contains(&self.replay_cache_size) {
            return Err(ConfigError::Dpop(
                "replay_cache_size must be from 1 to 100,000,000",
            ));
        }
        let nonces = match self.nonce_rotation {
            None => None,
            Some(rotation) => {
                if !(Duration::from_secs(10)..=Duration::from_secs(3600)).contains(&rotation) {
                    return Err(ConfigError::Dpop("nonce rotation must be from 10 s to 1 h"));
                }
                let window_ms = i64::try_from(rotation.as_millis()).unwrap_or(i64::MAX);
                Some(Nonces::new(window_ms).ok_or(ConfigError::Dpop(
                    "no random key for DPoP nonces could be drawn",
                ))?)
            }
        };
        let origin = match self.external_origin {
            Some(origin) => Origin::Fixed(external_origin(&origin)?),
            None => Origin::Request {
                https: self.https,
                trust_forwarded: self.trust_forwarded,
            },
        };
        let mut algorithms = self.algorithms;
        algorithms.dedup();
        let challenge_algs = algorithms
            .iter()
            .map(|a| a.as_str())
            .collect::<Vec<_>>()
            .join(" ");
        let window_secs = i64::try_from(self.proof_window.as_secs()).unwrap_or(300);
        let replay_lifetime_ms = (window_secs * 2 + 1) * 1000;
        Ok(DpopVerifier {
            algorithms,
            challenge_algs,
            window_secs,
            replay: ReplayCache::new(
                self.replay_cache_size,
                replay_lifetime_ms,
                clock.now_millis(),
            ),
            nonces,
            origin,
            clock,
        })
    }
}

/// An external origin: `http(s)://host[:port]` and nothing more, normalised.
fn external_origin(origin: &str) -> Result<String, ConfigError> {
    let invalid = || {
        ConfigError::Dpop("external_origin must be an http(s) origin such as https://api.example.com, without a path")
    };
    let normalized = htu::normalize(origin).ok_or_else(invalid)?;
    let url = url::Url::parse(origin).map_err(|_| invalid())?;
    if url.path() != "/" || url.query().is_some() || url.fragment().is_some() {
        return Err(invalid());
    }
    Ok(normalized.trim_end_matches('/').to_owned())
}

/// The key of a parsed proof.
pub(crate) fn import_key(proof: &proof::Proof<'_>) -> Result<ProofKey, DpopError> {
    ProofKey::import(&proof.jwk, proof.alg)
}

/// A proof that passed every check but the replay check.
#[derive(Debug)]
pub(crate) struct CheckedProof {
    /// The proof key's RFC 7638 thumbprint: the token's `cnf.jkt` must equal it.
    pub(crate) jkt: String,
    /// SHA-256 of the thumbprint and the `jti`: the replay cache's key.
    replay_key: [u8; 32],
    /// The clock's milliseconds when the proof was checked.
    checked_ms: i64,
}

/// The proof checker of a verifier: its settings and its replay cache.
pub(crate) struct DpopVerifier {
    algorithms: Vec<DpopAlgorithm>,
    /// The `algs` of `WWW-Authenticate: DPoP` challenges (`"ES256 RS256"`).
    pub(crate) challenge_algs: String,
    window_secs: i64,
    replay: ReplayCache,
    nonces: Option<Nonces>,
    origin: Origin,
    clock: Arc<dyn Clock>,
}

impl fmt::Debug for DpopVerifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DpopVerifier")
            .field("algorithms", &self.algorithms)
            .field("window_secs", &self.window_secs)
            .field("nonces", &self.nonces.is_some())
            .field("origin", &self.origin)
            .finish_non_exhaustive()
    }
}

impl DpopVerifier {
    /// Every check of the proof sent with `token` on a request (RFC 9449 section 4.3) but the
    /// token's binding and the replay check, which the layer makes once the token is verified.
    pub(crate) fn check(
        &self,
        (method, uri, headers): (&Method, &Uri, &HeaderMap),
        proof: &str,
        token: &str,
    ) -> Result<CheckedProof, AuthError> {
        let now_ms = self.clock.now_millis();
        let proof = proof::parse(proof, &self.algorithms)?;
        let key = import_key(&proof)?;
        let claims = &proof.claims;
        if claims.htm != method.as_str() {
            return Err(DpopError::MethodMismatch.into());
        }
        if !htu::matches(&self.origin, uri, headers, &claims.htu) {
            return Err(DpopError::UrlMismatch.into());
        }
        let now = now_ms.div_euclid(1000);
        if claims.iat < now - self.window_secs {
            return Err(DpopError::TooOld.into());
        }
        if claims.iat > now + self.window_secs {
            return Err(DpopError::IssuedInFuture.into());
        }
        if !claims
            .ath
            .as_deref()
            .is_some_and(|ath| is_access_token_hash(ath, token))
        {
            return Err(DpopError::AccessTokenHashMismatch.into());
        }
        key.verify(proof.signing_input.as_bytes(), proof.signature.bytes())?;
        if let Some(nonces) = &self.nonces {
            if !claims
                .nonce
                .as_deref()
                .is_some_and(|n| nonces.accepts(n, now_ms))
            {
                return Err(AuthError::UseDpopNonce {
                    nonce: nonces.current(now_ms),
                });
            }
        }
        let mut ctx = digest::Context::new(&digest::SHA256);
        ctx.update(key.thumbprint.as_bytes());
        ctx.update(b".");
        ctx.update(claims.jti.as_bytes());
        let mut replay_key = [0u8; 32];
        replay_key.copy_from_slice(ctx.finish().as_ref());
        Ok(CheckedProof {
            jkt: key.thumbprint,
            replay_key,
            checked_ms: now_ms,
        })
    }

    /// Records the proof's `jti`; refuses a proof seen before within the window.
    pub(crate) fn first_use(&self, proof: &CheckedProof) -> Result<(), AuthError> {
        if self.replay.first_use(proof.replay_key, proof.checked_ms) {
            Ok(())
        } else {
            Err(DpopError::Replayed.into())
        }
    }
}

/// The token's `cnf.jkt` against the scheme it came with: a bound token only with a proof of
/// its key, an unbound token only as `Bearer`.
pub(crate) fn check_binding(
    proof: Option<&CheckedProof>,
    token_jkt: Option<&str>,
) -> Result<(), AuthError> {
    use crate::error::TokenError;
    match (proof, token_jkt) {
        (None, None) => Ok(()),
        (None, Some(_)) => Err(TokenError::BoundTokenAsBearer.into()),
        (Some(_), None) => Err(TokenError::NotSenderConstrained.into()),
        (Some(proof), Some(jkt)) if proof.jkt == jkt => Ok(()),
        (Some(_), Some(_)) => Err(TokenError::KeyBindingMismatch.into()),
    }
}
