//! The attack corpus: every security rule (README "Security", SECURITY.md) as crafted requests
//! sent through the real layer (`verifier.layer()` / `verifier.id_token_layer()` on an axum router, called with
//! `oneshot`), with the embedded mock Okta as the issuer.
//!
//! Each row names the attack, holds the request (a bearer token or raw `Authorization` values and
//! a query) and the expected answer: status, `WWW-Authenticate` challenge (RFC 6750 error code and
//! the fixed description of the reason, or no code) and JSON body. Rows whose reason is decided
//! before the key lookup must cause no JWKS fetch; rows with an unknown `kid` exactly one (the
//! verifiers use `.jwks_cooldown(Duration::ZERO)` so that every such row refetches).
//!
//! Keys with odd attributes are published next to the issuer's key with
//! `MockOkta::set_extra_jwks`, and tokens naming them are *validly signed* by the matching private
//! key wherever one exists, so that a row can only pass because the key itself is refused: the
//! controls (`control: ...` rows) show that the same signing paths are accepted for a sane key.
//!
//! A second test replays the corpus and checks that no answer (headers or body) and no log line of
//! the crate echoes a token, a segment of it or any value it carries.

mod common;
use common::MockExt;
#[path = "attacks/dpop.rs"]
mod dpop;
#[path = "attacks/keys.rs"]
mod keys;

use std::collections::{BTreeSet, HashSet};
use std::io;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aws_lc_rs::hmac;
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::rsa::{KeyPair as RsaKeyPair, KeySize};
use aws_lc_rs::signature::{
    EcdsaKeyPair, KeyPair as _, RsaEncoding, ECDSA_P256_SHA256_FIXED_SIGNING, RSA_PKCS1_SHA256,
    RSA_PKCS1_SHA384, RSA_PKCS1_SHA512, RSA_PSS_SHA256, RSA_PSS_SHA384, RSA_PSS_SHA512,
};
use axum::routing::get;
use axum::Router;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD as B64};
use base64::Engine;
use common::{send_with, Answer};
use http::{HeaderValue, StatusCode};
use keys::RawRsa;
use num_bigint::BigUint;
use serde_json::{json, Map, Value};
use tower_okta::{
    AccessClaims, Algorithm, AuthError, Claims, Dpop, DpopError, DpopOptions, IdClaims,
    RequestError, RequireGroupLayer, RequireScopeLayer, TokenError, Verifier,
};
use tower_okta_mock::{DpopKey, KeysFault, MockKey, MockOkta, TokenBuilder};

// ---------------------------------------------------------------------------------------------
// Rows

/// The answer a row expects.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Expect {
    /// 200: the handler ran with verified claims.
    Pass,
    /// 401 with a bare `Bearer realm="api"`: no credentials.
    NoCredentials,
    /// 400 `invalid_request` for this reason.
    BadRequest(RequestError),
    /// 403 `insufficient_scope`, with this `scope="..."` (none for a group guard).
    Forbidden(Option<&'static str>),
    /// 401 `invalid_token` for this reason.
    Refused(TokenError),
    /// 503 without a challenge: the keys cannot be fetched and none is cached.
    Unavailable,
    /// 401 `invalid_dpop_proof` for this reason.
    DpopRefused(DpopError),
    /// 401 `use_dpop_nonce` with a `DPoP-Nonce` header.
    NonceRequired,
}

use Expect::{
    BadRequest, DpopRefused, Forbidden, NoCredentials, NonceRequired, Pass, Refused, Unavailable,
};

impl Expect {
    fn status(self) -> StatusCode {
        match self {
            Pass => StatusCode::OK,
            NoCredentials | Refused(_) | DpopRefused(_) | NonceRequired => StatusCode::UNAUTHORIZED,
            BadRequest(_) => StatusCode::BAD_REQUEST,
            Forbidden(_) => StatusCode::FORBIDDEN,
            Unavailable => StatusCode::SERVICE_UNAVAILABLE,
        }
    }

    /// The RFC 6750 error code and fixed description.
    fn error(self) -> Option<(&'static str, &'static str)> {
        match self {
            BadRequest(e) => Some(("invalid_request", e.description())),
            Refused(e) => Some(("invalid_token", e.description())),
            Forbidden(scope) => Some((
                "insufficient_scope",
                AuthError::InsufficientScope(scope.unwrap_or_default().to_owned())
                    .description()
                    .expect("a fixed description"),
            )),
            DpopRefused(e) => Some(("invalid_dpop_proof", e.description())),
            NonceRequired => Some((
                "use_dpop_nonce",
                "the resource server requires a nonce in the DPoP proof",
            )),
            Pass | NoCredentials | Unavailable => None,
        }
    }

    /// True for the rejections RFC 9449 section 7.1 puts in the `DPoP` challenge whatever the
    /// scheme used: the proof, the `DPoP` header, a token's key binding.
    fn about_dpop(self) -> bool {
        matches!(
            self,
            DpopRefused(_)
                | NonceRequired
                | Refused(
                    TokenError::BoundTokenAsBearer
                        | TokenError::NotSenderConstrained
                        | TokenError::KeyBindingMismatch
                        | TokenError::DpopRequired
                )
                | BadRequest(
                    RequestError::MultipleDpopHeaders
                        | RequestError::MalformedDpopHeader
                        | RequestError::MissingDpopProof
                )
        )
    }
}

/// The `DPoP` challenge of a verifier with the default proof algorithms.
const DPOP_CHALLENGE: &str = r#"DPoP algs="ES256 RS256""#;

/// The exact `WWW-Authenticate` value of a row's answer, or `None` when there must be none. The
/// auth layer advertises the schemes its policy accepts (both by default); the error goes in
/// the challenge of the scheme it concerns, first, and the other scheme follows bare. The
/// guards' 403 is RFC 6750 alone.
fn expected_challenge(row: &Row) -> Option<String> {
    let expect = row.expect;
    let bearer = r#"Bearer realm="api""#;
    let params = expect
        .error()
        .map(|(code, description)| {
            format!(r#", error="{code}", error_description="{description}""#)
        })
        .unwrap_or_default();
    let policy = row.target.policy();
    match expect {
        Pass | Unavailable => None,
        Forbidden(Some(scope)) => Some(format!(r#"{bearer}{params}, scope="{scope}""#)),
        Forbidden(None) => Some(format!("{bearer}{params}")),
        _ if policy == Dpop::Disabled => Some(format!("{bearer}{params}")),
        _ if policy == Dpop::Required => Some(format!("{DPOP_CHALLENGE}{params}")),
        _ if row.req.uses_dpop() || expect.about_dpop() => {
            Some(format!("{DPOP_CHALLENGE}{params}, {bearer}"))
        }
        _ => Some(format!("{bearer}{params}, {DPOP_CHALLENGE}")),
    }
}

/// Which verifier and layer a row goes through.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Target {
    /// The issuer's verifier (RS256 only), access-token layer.
    Access,
    /// The same verifier, ID-token layer.
    Id,
    /// The same verifier's access-token layer around `RequireScopeLayer::all(["orders:read"])`.
    Scoped,
    /// The same verifier's access-token layer around `RequireGroupLayer::any(["admins"])`.
    Grouped,
    /// A verifier with `.max_token_size(2048)`.
    SmallCap,
    /// A verifier allowing every RSA algorithm.
    AllRsa,
    /// A verifier built with `.id_tokens_only()`, access-token layer.
    IdOnly,
    /// A verifier whose issuer's keys endpoint answers 500.
    KeysDown,
    /// A verifier whose issuer's keys endpoint answers an HTML page.
    KeysJunk,
    /// The issuer's verifier, access-token layer with `Dpop::Required`.
    DpopRequired,
    /// The issuer's verifier, access-token layer with `Dpop::Disabled`.
    DpopDisabled,
    /// A verifier that requires DPoP server nonces, access-token layer.
    DpopNonce,
}

impl Target {
    /// The DPoP policy of the target's layer.
    fn policy(self) -> Dpop {
        match self {
            Target::DpopRequired => Dpop::Required,
            Target::DpopDisabled => Dpop::Disabled,
            _ => Dpop::Allowed,
        }
    }
}

/// The request of a row.
#[derive(Debug, Clone)]
enum Req {
    /// `Authorization: Bearer {token}`.
    Bearer(String),
    /// Raw `Authorization` values (none, one or several) and a query string.
    Raw {
        auth: Vec<Vec<u8>>,
        query: Option<String>,
    },
    /// `Authorization: {scheme} {token}` and one `DPoP` header per proof (`GET`, with
    /// `Host: api.test`: proofs for this request name `http://api.test{path}`).
    Dpop {
        scheme: &'static str,
        token: String,
        proofs: Vec<String>,
    },
}

impl Req {
    /// True if the request uses the `DPoP` scheme.
    fn uses_dpop(&self) -> bool {
        matches!(self, Req::Dpop { scheme: "DPoP", .. })
    }
}

#[derive(Debug)]
struct Row {
    /// The rule (section of the corpus) the row exercises.
    group: &'static str,
    name: String,
    target: Target,
    req: Req,
    expect: Expect,
}

#[derive(Default)]
struct Corpus {
    group: &'static str,
    rows: Vec<Row>,
}

impl Corpus {
    /// Starts a section: the rows after this call exercise `group`.
    fn group(&mut self, group: &'static str) {
        self.group = group;
    }

    /// A DPoP-scheme (or `scheme`) request to `target`.
    fn dpop(
        &mut self,
        target: Target,
        name: impl Into<String>,
        (scheme, token): (&'static str, &str),
        proofs: Vec<String>,
        expect: Expect,
    ) {
        self.rows.push(Row {
            group: self.group,
            name: name.into(),
            target,
            req: Req::Dpop {
                scheme,
                token: token.to_owned(),
                proofs,
            },
            expect,
        });
    }

    /// A bearer token sent to the access-token layer of the issuer's verifier.
    fn token(&mut self, name: impl Into<String>, token: impl Into<String>, expect: Expect) {
        self.on(Target::Access, name, token, expect);
    }

    fn on(
        &mut self,
        target: Target,
        name: impl Into<String>,
        token: impl Into<String>,
        expect: Expect,
    ) {
        self.rows.push(Row {
            group: self.group,
            name: name.into(),
            target,
            req: Req::Bearer(token.into()),
            expect,
        });
    }

    fn raw(
        &mut self,
        name: impl Into<String>,
        auth: &[&[u8]],
        query: Option<String>,
        expect: Expect,
    ) {
        self.rows.push(Row {
            group: self.group,
            name: name.into(),
            target: Target::Access,
            req: Req::Raw {
                auth: auth.iter().map(|a| a.to_vec()).collect(),
                query,
            },
            expect,
        });
    }
}

// ---------------------------------------------------------------------------------------------
// The lab: issuers, verifiers, routers and keys

/// An aws-lc-rs RSA 2048 key pair that signs with every RSA JWS algorithm.
struct MultiKey {
    kid: String,
    pair: RsaKeyPair,
}

impl MultiKey {
    fn generate(kid: &str) -> MultiKey {
        MultiKey {
            kid: kid.to_owned(),
            pair: RsaKeyPair::generate(KeySize::Rsa2048).expect("RSA key generation"),
        }
    }

    /// The public JWK, without `alg` (usable with every allowed algorithm).
    fn jwk(&self) -> Value {
        let public = self.pair.public_key();
        json!({
            "kty": "RSA",
            "kid": self.kid,
            "use": "sig",
            "n": B64.encode(public.modulus().big_endian_without_leading_zero()),
            "e": B64.encode(public.exponent().big_endian_without_leading_zero()),
        })
    }

    fn sign(&self, alg: &str, message: &[u8]) -> Vec<u8> {
        let encoding: &'static dyn RsaEncoding = match alg {
            "RS256" => &RSA_PKCS1_SHA256,
            "RS384" => &RSA_PKCS1_SHA384,
            "RS512" => &RSA_PKCS1_SHA512,
            "PS256" => &RSA_PSS_SHA256,
            "PS384" => &RSA_PSS_SHA384,
            "PS512" => &RSA_PSS_SHA512,
            other => panic!("not an RSA algorithm: {other}"),
        };
        let mut signature = vec![0u8; self.pair.public_modulus_len()];
        self.pair
            .sign(encoding, &SystemRandom::new(), message, &mut signature)
            .expect("RSA signing");
        signature
    }
}

/// Textbook-RSA keys signed by hand (see `attacks/keys.rs`).
struct RawKeys {
    /// 2048 bits, e = 65537: the control for the hand-made signatures.
    e65537: RawRsa,
    /// 2048 bits, e = 3: the smallest exponent allowed.
    e3: RawRsa,
    /// 2048 bits, e = 2^32 - 5: the largest prime exponent allowed.
    e_max: RawRsa,
    /// 2048 bits, e = 2^32 + 15: just over the cap.
    e_over: RawRsa,
    /// 2048 bits, e = the private exponent of `e65537` (a 2048-bit exponent); signs with 65537.
    e_huge: RawRsa,
    /// 2048 bits, e = 1: anyone can "sign" (the signature is the encoded message).
    e1: RawRsa,
    /// 2048 bits, e = 65536 (even): public only.
    e_even: RawRsa,
    /// 1024 bits, e = 65537.
    short1024: RawRsa,
    /// 2047 bits, e = 65537.
    short2047: RawRsa,
}

impl RawKeys {
    fn new() -> RawKeys {
        let big = |v: u64| BigUint::from(v);
        let p2048 =
            |kid: &str, e: BigUint| RawRsa::from_primes(kid, keys::P2048_P, keys::P2048_Q, e);
        let e65537 = p2048("raw-2048", big(65_537));
        // Swapping e and d: verifying with e = d inverts signing with 65537.
        let e_huge = RawRsa::from_primes_swapped("raw-e-huge", keys::P2048_P, keys::P2048_Q);
        RawKeys {
            e3: p2048("raw-e3", big(3)),
            e_max: p2048("raw-e-max", big((1 << 32) - 5)),
            e_over: p2048("raw-e-over", big((1 << 32) + 15)),
            e1: p2048("raw-e1", big(1)),
            e_even: e65537.with_public_exponent("raw-e-even", big(65_536)),
            short1024: RawRsa::from_primes("raw-1024", keys::P1024_P, keys::P1024_Q, big(65_537)),
            short2047: RawRsa::from_primes("raw-2047", keys::P2047_P, keys::P2047_Q, big(65_537)),
            e_huge,
            e65537,
        }
    }
}

struct Lab {
    okta: MockOkta,
    /// An attacker's own "Okta" on loopback: what `jku`/`x5u` point at. It must never be asked.
    attacker: MockOkta,
    /// Kept running: an issuer whose keys endpoint answers 500.
    _down: MockOkta,
    /// Kept running: an issuer whose keys endpoint answers an HTML page.
    _junk: MockOkta,
    down_issuer: String,
    junk_issuer: String,
    down_okta_token: String,
    down_okta_expired: String,
    junk_okta_token: String,
    main: Verifier,
    small: Verifier,
    all_rsa: Verifier,
    id_only: Verifier,
    down: Verifier,
    junk: Verifier,
    main_app: Router,
    small_app: Router,
    all_rsa_app: Router,
    id_only_app: Router,
    down_app: Router,
    junk_app: Router,
    /// A second RSA 2048 key, published under many `kid`s with odd attributes.
    spare: MockKey,
    multi: MultiKey,
    ec: EcdsaKeyPair,
    hmac_secret: Vec<u8>,
    raw: RawKeys,
    /// The DPoP client's key (the issuer binds tokens to it) and another client's.
    dpop_key: DpopKey,
    dpop_thief: DpopKey,
    /// The verifier that requires DPoP nonces, its app, and a nonce it handed out.
    nonce: Verifier,
    nonce_app: Router,
    current_nonce: String,
}

async fn access_ok(claims: Claims<AccessClaims>) -> &'static str {
    assert!(!claims.sub.is_empty());
    "ok"
}

async fn id_ok(claims: Claims<IdClaims>) -> &'static str {
    assert!(!claims.sub.is_empty());
    "ok"
}

/// `/api/me` (access tokens), `/id/me` (ID tokens), `/api/orders` (scope `orders:read`) and
/// `/api/admin` (group `admins`); the handlers answer a fixed `ok`.
fn app(verifier: &Verifier) -> Router {
    let orders = Router::new()
        .route("/api/orders", get(access_ok))
        .route_layer(RequireScopeLayer::all(["orders:read"]))
        .route_layer(verifier.layer());
    let admin = Router::new()
        .route("/api/admin", get(access_ok))
        .route_layer(RequireGroupLayer::any(["admins"]))
        .route_layer(verifier.layer());
    Router::new()
        .route("/api/me", get(access_ok).layer(verifier.layer()))
        .route(
            "/dpop/required",
            get(access_ok).layer(verifier.layer().dpop(Dpop::Required)),
        )
        .route(
            "/dpop/disabled",
            get(access_ok).layer(verifier.layer().dpop(Dpop::Disabled)),
        )
        .route("/id/me", get(id_ok).layer(verifier.id_token_layer()))
        .merge(orders)
        .merge(admin)
}

fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
        .try_into()
        .unwrap()
}

impl Lab {
    async fn start() -> Lab {
        let okta = MockOkta::start().await.expect("mock Okta starts");
        let attacker = MockOkta::start().await.expect("mock Okta starts");
        let down = MockOkta::start().await.expect("mock Okta starts");
        down.set_keys_fault(KeysFault::Status(500));
        let junk = MockOkta::start().await.expect("mock Okta starts");
        junk.set_keys_fault(KeysFault::Body(
            "<html><body>Down for maintenance</body></html>".into(),
        ));

        let spare = MockKey::generate().expect("key generation");
        let multi = MultiKey::generate("multi");
        let ec = EcdsaKeyPair::generate(&ECDSA_P256_SHA256_FIXED_SIGNING).expect("EC key");
        let hmac_secret = b"attacker-chosen HMAC secret".to_vec();
        let raw = RawKeys::new();

        let spare_jwk = |kid: &str, edit: &dyn Fn(&mut Map<String, Value>)| {
            let Value::Object(mut jwk) = spare.with_kid(kid).jwk() else {
                unreachable!()
            };
            edit(&mut jwk);
            Value::Object(jwk)
        };
        let point = ec.public_key().as_ref().to_vec();
        let mut huge_n = vec![0xffu8; 1025];
        huge_n[0] = 0x01;
        let mut extra = vec![
            spare_jwk("spare-good", &|_| {}),
            multi.jwk(),
            raw.e65537.jwk(),
            raw.e3.jwk(),
            raw.e_max.jwk(),
            raw.e_over.jwk(),
            raw.e_huge.jwk(),
            raw.e1.jwk(),
            raw.e_even.jwk(),
            raw.short1024.jwk(),
            raw.short2047.jwk(),
            // The 1024-bit modulus with 128 leading zero bytes: 256 bytes long, 1024 bits.
            raw.short1024
                .with_public_exponent("raw-1024-padded", BigUint::from(65_537u32))
                .jwk_with_n(&keys::left_pad(&raw.short1024.n.to_bytes_be(), 256)),
            json!({"kty":"RSA","kid":"raw-e-zero","use":"sig",
                   "n": B64.encode(raw.e65537.n.to_bytes_be()), "e": "AA"}),
            json!({"kty":"RSA","kid":"huge-n","use":"sig","n": B64.encode(&huge_n), "e":"AQAB"}),
            spare_jwk("spare-enc", &|j| {
                j.insert("use".into(), "enc".into());
            }),
            spare_jwk("spare-keyops", &|j| {
                j.insert("key_ops".into(), json!(["encrypt", "wrapKey"]));
            }),
            spare_jwk("spare-kty-ec", &|j| {
                j.insert("kty".into(), "EC".into());
            }),
            spare_jwk("spare-kty-lower", &|j| {
                j.insert("kty".into(), "rsa".into());
            }),
            spare_jwk("spare-kty-missing", &|j| {
                j.remove("kty");
            }),
            spare_jwk("spare-alg-rs512", &|j| {
                j.insert("alg".into(), "RS512".into());
            }),
            spare_jwk("spare-alg-hs256", &|j| {
                j.insert("alg".into(), "HS256".into());
            }),
            spare_jwk("spare-alg-none", &|j| {
                j.insert("alg".into(), "none".into());
            }),
            spare_jwk("dup-same", &|_| {}),
            spare_jwk("dup-same", &|_| {}),
            spare_jwk("dup-mixed", &|_| {}),
            attacker.signing_key().with_kid("dup-mixed").jwk(),
            json!({"kty":"oct","kid":"hmac","alg":"HS256","use":"sig","k": B64.encode(&hmac_secret)}),
            json!({"kty":"EC","kid":"ec","crv":"P-256","alg":"ES256","use":"sig",
                   "x": B64.encode(&point[1..33]), "y": B64.encode(&point[33..65])}),
        ];
        // Fill the set up to the 64-key cap (the issuer's own key is the first entry), then one
        // sane key past it, which must never be read.
        assert!(extra.len() < 60);
        while extra.len() < 63 {
            let filler = format!("filler-{}", extra.len());
            extra.push(json!({"kty": "RSA", "kid": filler}));
        }
        extra.push(spare_jwk("past-the-cap", &|_| {}));
        okta.set_extra_jwks(std::mem::take(&mut extra));

        let zero = Duration::ZERO;
        let main = okta.verifier_builder().jwks_cooldown(zero).build().unwrap();
        let small = okta
            .verifier_builder()
            .jwks_cooldown(zero)
            .max_token_size(2048)
            .build()
            .unwrap();
        let all_rsa = okta
            .verifier_builder()
            .jwks_cooldown(zero)
            .allowed_algorithms(Algorithm::ALL)
            .build()
            .unwrap();
        let id_only = okta
            .verifier_builder()
            .jwks_cooldown(zero)
            .id_tokens_only()
            .build()
            .unwrap();
        let nonce = okta
            .verifier_builder()
            .dpop(DpopOptions::new().require_nonce(Duration::from_secs(300)))
            .build()
            .unwrap();
        let down_v = down.verifier_builder().build().unwrap();
        let junk_v = junk.verifier_builder().build().unwrap();
        // Warm up: after this, only an unknown kid may cause a fetch.
        for v in [&main, &small, &all_rsa, &id_only, &nonce] {
            v.refresh_keys()
                .await
                .expect("the mock's keys can be fetched");
        }
        let dpop_key = DpopKey::es256().expect("DPoP key");
        let nonce_app = app(&nonce);
        // A nonce as a client gets it: from a `use_dpop_nonce` answer.
        let current_nonce = {
            let token = okta.dpop_access_token(&dpop_key);
            let proof = dpop_key
                .proof("GET", "http://api.test/api/me")
                .access_token(&token)
                .build();
            let answer = send_with(&nonce_app, |r| {
                r.uri("/api/me")
                    .header("host", "api.test")
                    .header("authorization", format!("DPoP {token}"))
                    .header("dpop", proof)
            })
            .await;
            answer.headers["dpop-nonce"].to_str().unwrap().to_owned()
        };
        Lab {
            dpop_key,
            dpop_thief: DpopKey::es256().expect("DPoP key"),
            nonce,
            nonce_app,
            current_nonce,
            down_issuer: down.issuer().to_owned(),
            junk_issuer: junk.issuer().to_owned(),
            down_okta_token: down.access_token(),
            down_okta_expired: down
                .access_token_builder()
                .claim("exp", now() - 3600)
                .build(),
            junk_okta_token: junk.access_token(),
            main_app: app(&main),
            small_app: app(&small),
            all_rsa_app: app(&all_rsa),
            id_only_app: app(&id_only),
            down_app: app(&down_v),
            junk_app: app(&junk_v),
            okta,
            attacker,
            _down: down,
            _junk: junk,
            main,
            small,
            all_rsa,
            id_only,
            down: down_v,
            junk: junk_v,
            spare,
            multi,
            ec,
            hmac_secret,
            raw,
        }
    }

    fn verifier(&self, target: Target) -> &Verifier {
        match target {
            Target::Access | Target::Id | Target::Scoped | Target::Grouped => &self.main,
            Target::SmallCap => &self.small,
            Target::AllRsa => &self.all_rsa,
            Target::IdOnly => &self.id_only,
            Target::KeysDown => &self.down,
            Target::KeysJunk => &self.junk,
            Target::DpopRequired | Target::DpopDisabled => &self.main,
            Target::DpopNonce => &self.nonce,
        }
    }

    fn route(&self, target: Target) -> (&Router, &'static str) {
        match target {
            Target::Access => (&self.main_app, "/api/me"),
            Target::Id => (&self.main_app, "/id/me"),
            Target::Scoped => (&self.main_app, "/api/orders"),
            Target::Grouped => (&self.main_app, "/api/admin"),
            Target::SmallCap => (&self.small_app, "/api/me"),
            Target::AllRsa => (&self.all_rsa_app, "/api/me"),
            Target::IdOnly => (&self.id_only_app, "/api/me"),
            Target::KeysDown => (&self.down_app, "/api/me"),
            Target::KeysJunk => (&self.junk_app, "/api/me"),
            Target::DpopRequired => (&self.main_app, "/dpop/required"),
            Target::DpopDisabled => (&self.main_app, "/dpop/disabled"),
            Target::DpopNonce => (&self.nonce_app, "/api/me"),
        }
    }

    async fn send(&self, row: &Row) -> Answer {
        let (router, path) = self.route(row.target);
        let (auth, query, proofs) = match &row.req {
            Req::Bearer(token) => (vec![format!("Bearer {token}").into_bytes()], None, vec![]),
            Req::Raw { auth, query } => (auth.clone(), query.clone(), vec![]),
            Req::Dpop {
                scheme,
                token,
                proofs,
            } => (
                vec![format!("{scheme} {token}").into_bytes()],
                None,
                proofs.clone(),
            ),
        };
        let uri = match query {
            Some(q) => format!("{path}?{q}"),
            None => path.to_owned(),
        };
        send_with(router, |mut r| {
            r = r.uri(uri).header("host", "api.test");
            for proof in proofs {
                r = r.header("dpop", proof);
            }
            for value in auth {
                r = r.header(
                    http::header::AUTHORIZATION,
                    HeaderValue::from_bytes(&value).expect("a header value"),
                );
            }
            r
        })
        .await
    }
}

// ---------------------------------------------------------------------------------------------
// Token crafting

/// `b64(header).b64(claims).b64(sign(signing input))`.
fn compact(header: &Value, claims: &Value, sign: impl FnOnce(&[u8]) -> Vec<u8>) -> String {
    compact_text(&header.to_string(), &claims.to_string(), sign)
}

fn compact_text(header: &str, claims: &str, sign: impl FnOnce(&[u8]) -> Vec<u8>) -> String {
    let input = format!("{}.{}", B64.encode(header), B64.encode(claims));
    let signature = sign(input.as_bytes());
    format!("{input}.{}", B64.encode(signature))
}

/// The claims of a token builder as JSON text.
fn claims_json(builder: &TokenBuilder) -> String {
    serde_json::to_string(builder.claims()).unwrap()
}

/// The three segments of a compact token.
fn parts(token: &str) -> (String, String, String) {
    let mut it = token.split('.');
    let (h, p, s) = (it.next(), it.next(), it.next());
    (
        h.unwrap().to_owned(),
        p.unwrap().to_owned(),
        s.unwrap().to_owned(),
    )
}

/// An HS* token over `header`/`claims` keyed with `key`.
fn hmac_token(alg: hmac::Algorithm, key: &[u8], header: &Value, claims: &Value) -> String {
    let key = hmac::Key::new(alg, key);
    compact(header, claims, |input| {
        hmac::sign(&key, input).as_ref().to_vec()
    })
}

fn der(tag: u8, content: &[u8]) -> Vec<u8> {
    let mut out = vec![tag];
    let len = content.len();
    if len < 0x80 {
        out.push(len as u8);
    } else {
        let bytes: Vec<u8> = len
            .to_be_bytes()
            .into_iter()
            .skip_while(|b| *b == 0)
            .collect();
        out.push(0x80 | bytes.len() as u8);
        out.extend(bytes);
    }
    out.extend_from_slice(content);
    out
}

/// `SubjectPublicKeyInfo` around a PKCS#1 `RSAPublicKey`.
fn spki_der(pkcs1: &[u8]) -> Vec<u8> {
    // AlgorithmIdentifier { rsaEncryption, NULL }
    let algorithm = der(
        0x30,
        &[
            0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01, 0x05, 0x00,
        ],
    );
    let mut bits = vec![0u8];
    bits.extend_from_slice(pkcs1);
    der(0x30, &[algorithm, der(0x03, &bits)].concat())
}

fn pem(label: &str, der: &[u8]) -> String {
    let body = STANDARD.encode(der);
    let mut out = format!("-----BEGIN {label}-----\n");
    for line in body.as_bytes().chunks(64) {
        out.push_str(std::str::from_utf8(line).unwrap());
        out.push('\n');
    }
    out.push_str(&format!("-----END {label}-----\n"));
    out
}

/// A token of exactly `len` bytes: the mock's access token with a padding claim (and a padding
/// header parameter to reach lengths a base64 segment cannot end on).
fn sized_token(okta: &MockOkta, len: usize) -> String {
    let b64_len = |n: usize| (4 * n).div_ceil(3);
    for extra in 0..4 {
        let base = okta
            .access_token_builder()
            .header("x", "y".repeat(extra))
            .claim("pad", "");
        let (h, p, s) = parts(&base.build());
        let payload_bytes = B64.decode(&p).unwrap().len();
        let fixed = h.len() + s.len() + 2;
        if let Some(pad) = (0..len).find(|pad| fixed + b64_len(payload_bytes + pad) == len) {
            let token = base.claim("pad", "p".repeat(pad)).build();
            assert_eq!(token.len(), len);
            return token;
        }
    }
    panic!("no token of {len} bytes");
}

/// `segment` with its last character replaced so that the base64url decoding has non-zero
/// trailing bits: same length, same alphabet, the same bytes under a lenient decoder.
fn non_canonical(segment: &str) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    assert!(
        segment.len() % 4 == 2 || segment.len() % 4 == 3,
        "a segment with trailing bits"
    );
    let last = *segment.as_bytes().last().unwrap();
    let index = ALPHABET.iter().position(|c| *c == last).unwrap();
    let replacement = ALPHABET[index | 1] as char;
    format!("{}{replacement}", &segment[..segment.len() - 1])
}

// ---------------------------------------------------------------------------------------------
// The corpus

#[allow(clippy::too_many_lines)]
fn corpus(lab: &Lab) -> Vec<Row> {
    use RequestError as R;
    use TokenError as T;

    let mut c = Corpus::default();
    let okta = &lab.okta;
    let key = okta.signing_key();
    let kid = key.kid().to_owned();
    let at = || okta.access_token_builder();
    let good = okta.access_token();
    let (h, p, s) = parts(&good);
    let claims = Value::Object(at().claims().clone());
    let header = json!({"alg": "RS256", "kid": kid});
    let header_text = header.to_string();
    let claims_text = claims.to_string();
    let now = now();
    let signed_input =
        |input: String| format!("{input}.{}", B64.encode(key.sign(input.as_bytes())));

    // ---- Controls: the paths the attacks below abuse work for legitimate tokens.
    c.group("controls");
    c.token("control: valid access token", good.clone(), Pass);
    c.on(
        Target::Id,
        "control: valid ID token on the ID-token layer",
        okta.id_token(None),
        Pass,
    );

    // ---- RFC 6750 header rules.
    c.group("RFC 6750 header");
    c.raw("no Authorization header", &[], None, NoCredentials);
    c.raw(
        "Basic scheme",
        &[b"Basic dXNlcjpwYXNz"],
        None,
        NoCredentials,
    );
    c.raw(
        "token only in the query",
        &[],
        Some(format!("access_token={good}")),
        NoCredentials,
    );
    let malformed = BadRequest(R::MalformedAuthorizationHeader);
    c.raw("empty bearer credentials", &[b"Bearer "], None, malformed);
    c.raw("scheme without credentials", &[b"Bearer"], None, malformed);
    c.raw("two tokens: Bearer a b", &[b"Bearer a b"], None, malformed);
    let two_valid = format!("Bearer {good} {good}");
    c.raw(
        "two valid tokens in one header",
        &[two_valid.as_bytes()],
        None,
        malformed,
    );
    let comma = format!("Bearer {good},{good}");
    c.raw(
        "comma-separated tokens",
        &[comma.as_bytes()],
        None,
        malformed,
    );
    let with_header = format!("Bearer {good}");
    c.raw(
        "two Authorization headers",
        &[with_header.as_bytes(), with_header.as_bytes()],
        None,
        BadRequest(R::MultipleAuthorizationHeaders),
    );
    c.raw(
        "Bearer and Basic Authorization headers",
        &[with_header.as_bytes(), b"Basic dXNlcjpwYXNz"],
        None,
        BadRequest(R::MultipleAuthorizationHeaders),
    );
    c.raw(
        "token in header and query",
        &[with_header.as_bytes()],
        Some(format!("access_token={good}")),
        BadRequest(R::TokenInHeaderAndQuery),
    );
    let inner_space = format!("Bearer {h}.{p} .{s}");
    c.raw(
        "inner space in the token",
        &[inner_space.as_bytes()],
        None,
        malformed,
    );
    let inner_tab = format!("Bearer {h}.\t{p}.{s}");
    c.raw(
        "inner tab in the token",
        &[inner_tab.as_bytes()],
        None,
        malformed,
    );
    let inner_eq = format!("Bearer {h}=.{p}.{s}");
    c.raw(
        "'=' inside the token",
        &[inner_eq.as_bytes()],
        None,
        malformed,
    );
    let percent = format!("Bearer {h}%2E{p}%2E{s}");
    c.raw(
        "percent-encoded dots",
        &[percent.as_bytes()],
        None,
        malformed,
    );
    let mut obs_text = format!("Bearer {h}.{p}.").into_bytes();
    obs_text.extend_from_slice(&[0xc3, 0xa9]);
    obs_text.extend_from_slice(s.as_bytes());
    c.raw(
        "non-ASCII bytes in the token",
        &[&obs_text],
        None,
        malformed,
    );
    let json_serialization = json!({"protected": h, "payload": p, "signature": s}).to_string();
    let json_header = format!("Bearer {json_serialization}");
    c.raw(
        "JWS JSON serialization as credentials",
        &[json_header.as_bytes()],
        None,
        malformed,
    );
    for scheme in ["bearer", "BEARER", "bEaReR"] {
        let value = format!("{scheme} {good}");
        c.raw(
            format!("scheme spelled {scheme}"),
            &[value.as_bytes()],
            None,
            Pass,
        );
    }
    let spaces = format!("Bearer    {good}");
    c.raw(
        "several spaces before the token (1*SP)",
        &[spaces.as_bytes()],
        None,
        Pass,
    );

    // ---- alg: none, HMAC with the public key, algorithms outside the allow-list.
    c.group("alg");
    for alg in ["none", "None", "NONE"] {
        let none = B64.encode(json!({"alg": alg, "kid": kid}).to_string());
        c.token(
            format!("alg {alg}, empty signature"),
            format!("{none}.{p}."),
            Refused(T::Malformed),
        );
        c.token(
            format!("alg {alg}, original signature"),
            format!("{none}.{p}.{s}"),
            Refused(T::UnsupportedAlgorithm),
        );
    }
    let none_no_kid = B64.encode(r#"{"alg":"none"}"#);
    c.token(
        "alg none without kid, junk signature",
        format!("{none_no_kid}.{p}.AAAA"),
        Refused(T::UnsupportedAlgorithm),
    );
    let pkcs1 = key.public_key_der();
    let spki = spki_der(&pkcs1);
    let hmac_keys: [(&str, Vec<u8>); 5] = [
        ("PKCS#1 PEM", pem("RSA PUBLIC KEY", &pkcs1).into_bytes()),
        ("SPKI PEM", pem("PUBLIC KEY", &spki).into_bytes()),
        ("PKCS#1 DER", pkcs1.clone()),
        ("SPKI DER", spki.clone()),
        ("raw modulus bytes", key.modulus()),
    ];
    for (alg, algorithm) in [
        ("HS256", hmac::HMAC_SHA256),
        ("HS384", hmac::HMAC_SHA384),
        ("HS512", hmac::HMAC_SHA512),
    ] {
        for (form, secret) in &hmac_keys {
            c.token(
                format!("{alg} keyed with the issuer's public key ({form})"),
                hmac_token(algorithm, secret, &json!({"alg": alg, "kid": kid}), &claims),
                Refused(T::UnsupportedAlgorithm),
            );
        }
    }
    c.token(
        "HS256 keyed with the issuer's JWK JSON text",
        hmac_token(
            hmac::HMAC_SHA256,
            key.jwk().to_string().as_bytes(),
            &json!({"alg": "HS256", "kid": kid}),
            &claims,
        ),
        Refused(T::UnsupportedAlgorithm),
    );
    let hs_oct = hmac_token(
        hmac::HMAC_SHA256,
        &lab.hmac_secret,
        &json!({"alg": "HS256", "kid": "hmac"}),
        &claims,
    );
    c.token(
        "HS256 with the secret of an oct key in the JWKS",
        hs_oct.clone(),
        Refused(T::UnsupportedAlgorithm),
    );
    c.on(
        Target::AllRsa,
        "HS256 with the oct key's secret (all-RSA verifier)",
        hs_oct,
        Refused(T::UnsupportedAlgorithm),
    );
    c.on(
        Target::AllRsa,
        "HS256 keyed with the SPKI PEM (all-RSA verifier)",
        hmac_token(
            hmac::HMAC_SHA256,
            &hmac_keys[1].1,
            &json!({"alg": "HS256", "kid": kid}),
            &claims,
        ),
        Refused(T::UnsupportedAlgorithm),
    );
    let multi_token = |alg: &str| {
        compact(
            &json!({"alg": alg, "kid": lab.multi.kid}),
            &claims,
            |input| lab.multi.sign(alg, input),
        )
    };
    c.token(
        "control: RS256 by a second published key without alg",
        multi_token("RS256"),
        Pass,
    );
    for alg in ["RS384", "RS512", "PS256", "PS384", "PS512"] {
        c.token(
            format!("{alg}, validly signed, RS256-only verifier"),
            multi_token(alg),
            Refused(T::UnsupportedAlgorithm),
        );
        c.on(
            Target::AllRsa,
            format!("control: {alg}, validly signed, all-RSA verifier"),
            multi_token(alg),
            Pass,
        );
    }
    let es256 = compact(&json!({"alg": "ES256", "kid": "ec"}), &claims, |input| {
        lab.ec
            .sign(&SystemRandom::new(), input)
            .unwrap()
            .as_ref()
            .to_vec()
    });
    c.token(
        "ES256 by an EC key in the JWKS",
        es256.clone(),
        Refused(T::UnsupportedAlgorithm),
    );
    c.on(
        Target::AllRsa,
        "ES256 by an EC key in the JWKS (all-RSA verifier)",
        es256,
        Refused(T::UnsupportedAlgorithm),
    );
    c.on(
        Target::AllRsa,
        "PS256 header on the issuer's RS256-bound key",
        at().header("alg", "PS256").build(),
        Refused(T::KeyAlgorithmMismatch),
    );
    for (name, alg) in [
        ("alg in lowercase", json!("rs256")),
        ("alg with a trailing space", json!("RS256 ")),
        ("alg with a NUL suffix", json!("RS256\u{0}")),
    ] {
        c.token(
            name,
            at().header("alg", alg).build(),
            Refused(T::UnsupportedAlgorithm),
        );
    }
    for (name, alg) in [
        ("alg as a number", json!(256)),
        ("alg as an array", json!(["RS256"])),
        ("alg null", Value::Null),
    ] {
        c.token(name, at().header("alg", alg).build(), Refused(T::Malformed));
    }
    c.token(
        "alg missing",
        at().without_header("alg").build(),
        Refused(T::Malformed),
    );

    // ---- kid.
    c.group("kid");
    c.token(
        "kid missing",
        at().without_header("kid").build(),
        Refused(T::MissingKeyId),
    );
    c.token(
        "kid empty",
        at().header("kid", "").build(),
        Refused(T::MissingKeyId),
    );
    c.token(
        "kid as a number",
        at().header("kid", 7).build(),
        Refused(T::Malformed),
    );
    c.token(
        "kid null",
        at().header("kid", Value::Null).build(),
        Refused(T::Malformed),
    );
    let upper = kid.to_uppercase();
    assert_ne!(upper, kid);
    for (name, value) in [
        (
            "kid unknown (refetch, still unknown)",
            "attacker-kid".to_owned(),
        ),
        (
            "kid path traversal",
            "../../../../../../etc/passwd".to_owned(),
        ),
        ("kid SQL injection", "' OR '1'='1' --".to_owned()),
        ("kid 4000 characters", "k".repeat(4000)),
        ("kid in another case", upper),
        ("kid with a suffix", format!("{kid}x")),
        ("kid with a NUL suffix", format!("{kid}\u{0}")),
    ] {
        c.token(
            name,
            at().header("kid", value).build(),
            Refused(T::UnknownKeyId),
        );
    }

    // ---- jwk, jku, x5u, x5c: keys never come from the token.
    c.group("jwk/jku/x5u/x5c");
    let evil = lab.attacker.signing_key();
    let evil_as_issuer = evil.with_kid(&kid);
    let x5c = json!([STANDARD.encode(evil.public_key_der())]);
    let attacker_jwks = lab.attacker.jwks_uri();
    let attacker_discovery = format!("{}/.well-known/openid-configuration", lab.attacker.issuer());
    for (param, value, value_as_issuer) in [
        ("jwk", evil.jwk(), evil_as_issuer.jwk()),
        ("jku", json!(attacker_jwks), json!(attacker_jwks)),
        ("x5u", json!(attacker_discovery), json!(attacker_discovery)),
        ("x5c", x5c.clone(), x5c.clone()),
    ] {
        c.token(
            format!("{param} header with the attacker's key and kid"),
            at().signed_with(&evil).header(param, value).build(),
            Refused(T::UnknownKeyId),
        );
        c.token(
            format!("{param} header with the attacker's key and the issuer's kid"),
            at().signed_with(&evil_as_issuer)
                .header(param, value_as_issuer)
                .build(),
            Refused(T::BadSignature),
        );
    }
    c.token(
        "jwk, jku, x5u and x5c headers without kid",
        at().signed_with(&evil)
            .without_header("kid")
            .header("jwk", evil.jwk())
            .header("jku", attacker_jwks.clone())
            .header("x5u", attacker_jwks.clone())
            .header("x5c", x5c)
            .build(),
        Refused(T::MissingKeyId),
    );

    // ---- crit, in any form; typ of the org authorization server.
    c.group("crit/typ");
    for (form, value) in [
        ("array", json!(["exp"])),
        ("empty array", json!([])),
        ("string", json!("exp")),
        ("object", json!({"exp": true})),
        ("null", Value::Null),
    ] {
        c.token(
            format!("crit as {form}"),
            at().header("crit", value).build(),
            Refused(T::CriticalHeader),
        );
    }
    c.token(
        "crit b64 with an unencoded payload flag (RFC 7797)",
        at().header("crit", json!(["b64"]))
            .header("b64", false)
            .build(),
        Refused(T::CriticalHeader),
    );
    c.token(
        "typ application/okta-internal-at+jwt (org server token)",
        at().header("typ", "application/okta-internal-at+jwt")
            .build(),
        Refused(T::OrgAuthorizationServerToken),
    );
    // RFC 7515 section 4.1.9: `typ` is compared case-insensitively and a value without '/' means
    // "application/<value>", so these name the org-server type too.
    c.token(
        "typ okta-internal-at+jwt (no application/ prefix)",
        at().header("typ", "okta-internal-at+jwt").build(),
        Refused(T::OrgAuthorizationServerToken),
    );
    c.token(
        "typ APPLICATION/OKTA-INTERNAL-AT+JWT (other case)",
        at().header("typ", "APPLICATION/OKTA-INTERNAL-AT+JWT")
            .build(),
        Refused(T::OrgAuthorizationServerToken),
    );

    // ---- Signatures.
    c.group("signature");
    let flip = |segment: &str, at: usize| {
        let mut bytes = segment.as_bytes().to_vec();
        bytes[at] = if bytes[at] == b'A' { b'B' } else { b'A' };
        String::from_utf8(bytes).unwrap()
    };
    let sig_bytes = B64.decode(&s).unwrap();
    let modulus = key.modulus();
    c.token(
        "flipped signature character",
        format!("{h}.{p}.{}", flip(&s, 10)),
        Refused(T::BadSignature),
    );
    c.token(
        "tampered payload (sub: admin), original signature",
        format!(
            "{h}.{}.{s}",
            B64.encode(claims_json(&at().claim("sub", "admin")))
        ),
        Refused(T::BadSignature),
    );
    c.token(
        "tampered header (extra parameter), original signature",
        format!(
            "{}.{p}.{s}",
            B64.encode(json!({"alg":"RS256","kid":kid,"x":1}).to_string())
        ),
        Refused(T::BadSignature),
    );
    c.token(
        "signature truncated by two characters (255 bytes)",
        &good[..good.len() - 2],
        Refused(T::BadSignature),
    );
    c.token(
        "signature truncated by one character (bad base64 length)",
        &good[..good.len() - 1],
        Refused(T::Malformed),
    );
    c.token(
        "empty signature",
        format!("{h}.{p}."),
        Refused(T::Malformed),
    );
    c.token(
        "padded signature (==)",
        format!("{good}=="),
        Refused(T::Malformed),
    );
    c.token(
        "padded signature (=)",
        format!("{good}="),
        Refused(T::Malformed),
    );
    c.token(
        "signature with non-zero trailing bits",
        format!("{h}.{p}.{}", non_canonical(&s)),
        Refused(T::Malformed),
    );
    let (_, _, other_sig) = parts(&okta.access_token());
    c.token(
        "foreign signature (another token's)",
        format!("{h}.{p}.{other_sig}"),
        Refused(T::BadSignature),
    );
    c.token(
        "signed by another key under the issuer's kid",
        at().signed_with(&lab.spare.with_kid(&kid)).build(),
        Refused(T::BadSignature),
    );
    let sig_variant = |bytes: Vec<u8>| format!("{h}.{p}.{}", B64.encode(bytes));
    c.token(
        "all-zero signature",
        sig_variant(vec![0; 256]),
        Refused(T::BadSignature),
    );
    c.token(
        "signature = 1",
        sig_variant(keys::left_pad(&[1], 256)),
        Refused(T::BadSignature),
    );
    c.token(
        "signature = the modulus",
        sig_variant(modulus.clone()),
        Refused(T::BadSignature),
    );
    c.token(
        "signature with a zero byte prepended (257 bytes)",
        sig_variant([&[0u8][..], &sig_bytes].concat()),
        Refused(T::BadSignature),
    );
    c.token(
        "signature with a zero byte appended (257 bytes)",
        sig_variant([&sig_bytes[..], &[0u8][..]].concat()),
        Refused(T::BadSignature),
    );
    c.token(
        "textbook e=1 forgery against the issuer's key",
        sig_variant(keys::emsa_pkcs1_sha256(format!("{h}.{p}").as_bytes(), 256)),
        Refused(T::BadSignature),
    );

    // ---- base64url strictness (every token here is validly signed over what it carries).
    c.group("base64url");
    let padded = |json: &str| {
        let mut json = json.to_owned();
        while !STANDARD.encode(&json).ends_with('=') {
            json.push(' ');
        }
        STANDARD.encode(&json).replace('+', "-").replace('/', "_")
    };
    // '=' is only allowed at the end of an RFC 6750 b64token: padding inside is a malformed
    // header (400) before it is a malformed token.
    c.token(
        "header with base64 padding",
        signed_input(format!("{}.{p}", padded(&header_text))),
        malformed,
    );
    c.token(
        "payload with base64 padding",
        signed_input(format!("{h}.{}", padded(&claims_text))),
        malformed,
    );
    // A payload whose base64url form has '-' and '_', sent in the standard alphabet ('+', '/').
    let (std_payload, url_payload) = (0..64)
        .map(|i| {
            let text = claims_json(&at().claim("x", format!("{}???>>>", "~".repeat(i))));
            (
                STANDARD.encode(&text).trim_end_matches('=').to_owned(),
                B64.encode(&text),
            )
        })
        .find(|(_, url)| url.contains('-') && url.contains('_'))
        .unwrap();
    c.token(
        "control: payload using '-' and '_'",
        signed_input(format!("{h}.{url_payload}")),
        Pass,
    );
    c.token(
        "payload in the standard alphabet ('+' and '/')",
        signed_input(format!("{h}.{std_payload}")),
        Refused(T::Malformed),
    );
    let odd_header = (0..3)
        .map(|i| format!("{}{}", header_text, " ".repeat(i)))
        .map(|text| B64.encode(text))
        .find(|b| b.len() % 4 != 0)
        .unwrap();
    c.token(
        "header with non-zero trailing bits",
        signed_input(format!("{}.{p}", non_canonical(&odd_header))),
        Refused(T::Malformed),
    );
    c.token(
        "'~' in the token (b64token, not base64url)",
        format!("{h}.{p}~.{s}"),
        Refused(T::Malformed),
    );

    // ---- Segments.
    c.group("segments");
    c.token("one segment", h.clone(), Refused(T::Malformed));
    c.token("two segments", format!("{h}.{p}"), Refused(T::Malformed));
    c.token(
        "four segments",
        format!("{good}.{s}"),
        Refused(T::Malformed),
    );
    c.token("trailing dot", format!("{good}."), Refused(T::Malformed));
    c.token("leading dot", format!(".{good}"), Refused(T::Malformed));
    c.token("empty header", format!(".{p}.{s}"), Refused(T::Malformed));
    c.token("empty payload", format!("{h}..{s}"), Refused(T::Malformed));
    c.token("only dots", "..", Refused(T::Malformed));
    c.token(
        "five segments of the JWS (JWE shape)",
        format!("{good}.{p}.{s}"),
        Refused(T::Encrypted),
    );
    let jwe_header = B64.encode(r#"{"alg":"RSA-OAEP","enc":"A256GCM","kid":"k"}"#);
    c.token(
        "JWE (RSA-OAEP, A256GCM)",
        format!(
            "{jwe_header}.{}.{}.{}.{}",
            B64.encode([7u8; 256]),
            B64.encode([1u8; 12]),
            B64.encode(b"ciphertext"),
            B64.encode([2u8; 16])
        ),
        Refused(T::Encrypted),
    );
    c.token(
        "six segments",
        format!("{good}.{p}.{s}.{s}"),
        Refused(T::Malformed),
    );
    c.token(
        "JWS JSON serialization, base64url-encoded",
        B64.encode(&json_serialization),
        Refused(T::Malformed),
    );

    // ---- Size cap before decoding.
    c.group("size cap");
    c.token(
        "control: exactly 16384 bytes",
        sized_token(okta, 16_384),
        Pass,
    );
    c.token(
        "16385 bytes (default cap 16 KiB)",
        sized_token(okta, 16_385),
        Refused(T::TooLarge),
    );
    c.token(
        "100 KB of '~' (refused before the alphabet check)",
        "~".repeat(100_000),
        Refused(T::TooLarge),
    );
    let three_k = sized_token(okta, 3000);
    c.token("control: 3000 bytes, default cap", three_k.clone(), Pass);
    c.on(
        Target::SmallCap,
        "3000 bytes, max_token_size(2048)",
        three_k,
        Refused(T::TooLarge),
    );
    c.on(
        Target::SmallCap,
        "control: exactly 2048 bytes, max_token_size(2048)",
        sized_token(okta, 2048),
        Pass,
    );
    c.on(
        Target::SmallCap,
        "2049 bytes, max_token_size(2048)",
        sized_token(okta, 2049),
        Refused(T::TooLarge),
    );
    c.on(
        Target::SmallCap,
        "2049 bytes of '~', max_token_size(2048)",
        "~".repeat(2049),
        Refused(T::TooLarge),
    );

    // ---- Claims: exp, nbf, iat.
    c.group("exp/nbf/iat");
    let claim = |name: &str, value: Value| at().claim(name, value).build();
    c.token(
        "exp missing",
        at().without_claim("exp").build(),
        Refused(T::Expired),
    );
    c.token(
        "exp in the past",
        claim("exp", json!(now - 3600)),
        Refused(T::Expired),
    );
    c.token("exp 0", claim("exp", json!(0)), Refused(T::Expired));
    c.token(
        "control: exp 30 s ago (within the 60 s leeway)",
        claim("exp", json!(now - 30)),
        Pass,
    );
    c.token(
        "exp 120 s ago (beyond leeway)",
        claim("exp", json!(now - 120)),
        Refused(T::Expired),
    );
    for (name, value) in [
        ("exp as a string", json!((now + 3600).to_string())),
        ("exp as a float", json!(now as f64 + 3600.5)),
        ("exp as a float with .0", json!((now + 3600) as f64)),
        ("exp in exponent notation", json!(1e10)),
        ("exp huge (u64::MAX)", json!(u64::MAX)),
        ("exp past year 9999", json!(253_402_300_800_i64)),
        ("exp negative", json!(-1)),
        ("exp true", json!(true)),
        ("exp null", Value::Null),
        ("exp as an array", json!([now + 3600])),
    ] {
        c.token(name, claim("exp", value), Refused(T::InvalidClaim));
    }
    c.token(
        "exp 1e30 (beyond every integer type)",
        okta.sign_raw(
            &header_text,
            &claims_text.replacen(&format!("\"exp\":{}", now + 3600), "\"exp\":1e30", 1),
        ),
        Refused(T::InvalidClaim),
    );
    c.token(
        "nbf an hour ahead",
        claim("nbf", json!(now + 3600)),
        Refused(T::NotYetValid),
    );
    c.token(
        "control: nbf 30 s ahead (leeway)",
        claim("nbf", json!(now + 30)),
        Pass,
    );
    c.token(
        "nbf as a string",
        claim("nbf", json!(now.to_string())),
        Refused(T::InvalidClaim),
    );
    c.token(
        "nbf as a float",
        claim("nbf", json!(now as f64 - 0.5)),
        Refused(T::InvalidClaim),
    );
    c.token(
        "iat an hour ahead",
        claim("iat", json!(now + 3600)),
        Refused(T::IssuedInFuture),
    );
    c.token(
        "iat 120 s ahead (beyond leeway)",
        claim("iat", json!(now + 120)),
        Refused(T::IssuedInFuture),
    );
    c.token(
        "control: iat 30 s ahead (leeway)",
        claim("iat", json!(now + 30)),
        Pass,
    );
    c.token(
        "iat as a string",
        claim("iat", json!(now.to_string())),
        Refused(T::InvalidClaim),
    );

    // ---- Claims: iss.
    c.group("iss");
    let issuer = okta.issuer().to_owned();
    for (name, value) in [
        (
            "iss of another issuer",
            "https://evil.example/oauth2/default".to_owned(),
        ),
        ("iss with a trailing slash", format!("{issuer}/")),
        (
            "iss with https instead of http",
            issuer.replacen("http://", "https://", 1),
        ),
        (
            "iss with HTTP in capitals",
            issuer.replacen("http://", "HTTP://", 1),
        ),
        (
            "iss with the server id in capitals",
            issuer.replace("/default", "/DEFAULT"),
        ),
        (
            "iss of the org server (no /oauth2/...)",
            issuer.split("/oauth2").next().unwrap().to_owned(),
        ),
        ("iss with an extra path segment", format!("{issuer}/v1")),
        ("iss with a NUL suffix", format!("{issuer}\u{0}")),
        ("iss with a leading space", format!(" {issuer}")),
    ] {
        c.token(name, claim("iss", json!(value)), Refused(T::WrongIssuer));
    }
    c.token(
        "iss missing",
        at().without_claim("iss").build(),
        Refused(T::WrongIssuer),
    );
    for (name, value) in [
        ("iss as an array", json!([issuer])),
        ("iss as a number", json!(1)),
        ("iss null", Value::Null),
    ] {
        c.token(name, claim("iss", value), Refused(T::InvalidClaim));
    }
    c.token(
        "control: iss written with a JSON escape (same string)",
        okta.sign_raw(
            &header_text,
            &claims_text.replacen("\"iss\":\"h", "\"iss\":\"\\u0068", 1),
        ),
        Pass,
    );

    // ---- Claims: aud.
    c.group("aud/sub");
    let aud = okta.audience().to_owned();
    for (name, value) in [
        ("aud of another API", json!("api://default")),
        ("aud empty string", json!("")),
        ("aud in capitals", json!(aud.to_uppercase())),
        ("aud with a trailing space", json!(format!("{aud} "))),
        ("aud empty array", json!([])),
        (
            "aud array without us",
            json!(["api://default", "0oaOTHERclient"]),
        ),
        ("aud as the issuer", json!(issuer)),
    ] {
        c.token(name, claim("aud", value), Refused(T::WrongAudience));
    }
    c.token(
        "aud missing",
        at().without_claim("aud").build(),
        Refused(T::WrongAudience),
    );
    c.token(
        "control: aud array containing us",
        claim("aud", json!(["api://default", aud])),
        Pass,
    );
    for (name, value) in [
        ("aud as a number", json!(42)),
        ("aud as an object", json!({"aud": aud})),
        ("aud array with a number", json!([aud, 1])),
        ("aud array with null", json!([aud, null])),
        ("aud nested array", json!([[aud]])),
    ] {
        c.token(name, claim("aud", value), Refused(T::InvalidClaim));
    }
    c.token(
        "sub missing",
        at().without_claim("sub").build(),
        Refused(T::InvalidClaim),
    );
    c.token(
        "sub as a number",
        claim("sub", json!(7)),
        Refused(T::InvalidClaim),
    );

    // ---- Duplicate JSON keys (signed as written, byte for byte).
    c.group("duplicate keys");
    let body = &claims_text[1..];
    let head = &header_text[1..];
    for (name, header_json) in [
        (
            "duplicate alg in the header (none first)",
            format!(r#"{{"alg":"none",{head}"#),
        ),
        (
            "duplicate alg in the header (none last)",
            format!(
                r#"{},"alg":"none"}}"#,
                &header_text[..header_text.len() - 1]
            ),
        ),
        (
            "duplicate kid in the header",
            format!(r#"{{"kid":"attacker-kid",{head}"#),
        ),
        (
            "escaped duplicate alg (\\u0061lg)",
            format!(r#"{{"\u0061lg":"none",{head}"#),
        ),
        (
            "duplicate unknown header parameter",
            format!(r#"{{"x":1,"x":2,{head}"#),
        ),
    ] {
        c.token(
            name,
            okta.sign_raw(&header_json, &claims_text),
            Refused(T::DuplicateKey),
        );
    }
    for (name, claims_json) in [
        (
            "duplicate sub",
            format!(r#"{{"sub":"admin@example.com",{body}"#),
        ),
        (
            "escaped duplicate sub (\\u0073ub)",
            format!(r#"{{"\u0073ub":"admin@example.com",{body}"#),
        ),
        (
            "fully escaped duplicate sub",
            format!(r#"{{"\u0073\u0075\u0062":"admin@example.com",{body}"#),
        ),
        (
            "duplicate exp (far future first)",
            format!(r#"{{"exp":{},{body}"#, now + 10 * 365 * 86_400),
        ),
        (
            "duplicate iss",
            format!(r#"{{"iss":"https://evil.example/oauth2/default",{body}"#),
        ),
        (
            "duplicate aud",
            format!(r#"{{"aud":"api://default",{body}"#),
        ),
        ("duplicate scp", format!(r#"{{"scp":["admin"],{body}"#)),
        (
            "duplicate key in a nested object",
            format!(r#"{{"groups":{{"admin":false,"admin":true}},{body}"#),
        ),
        (
            "duplicate key in an object inside an array",
            format!(r#"{{"roles":[{{"r":1,"\u0072":2}}],{body}"#),
        ),
    ] {
        c.token(
            name,
            okta.sign_raw(&header_text, &claims_json),
            Refused(T::DuplicateKey),
        );
    }

    // ---- Non-object and non-JSON header and payload.
    c.group("non-object JSON");
    for (name, header_json) in [
        ("header is an array", r#"["RS256"]"#.to_owned()),
        ("header is a string", r#""RS256""#.to_owned()),
        ("header is a number", "256".to_owned()),
        ("header is null", "null".to_owned()),
        ("header is not JSON", "alg=RS256".to_owned()),
        ("header is an empty object", "{}".to_owned()),
        ("header with trailing data", format!("{header_text}x")),
    ] {
        c.token(
            name,
            okta.sign_raw(&header_json, &claims_text),
            Refused(T::Malformed),
        );
    }
    for (name, claims_json) in [
        ("payload is an array", format!("[{claims_text}]")),
        (
            "payload is a string",
            r#""jane.doe@example.com""#.to_owned(),
        ),
        ("payload is a number", "1234567".to_owned()),
        ("payload is null", "null".to_owned()),
    ] {
        c.token(
            name,
            okta.sign_raw(&header_text, &claims_json),
            Refused(T::InvalidClaim),
        );
    }
    for (name, claims_json) in [
        ("payload is not JSON", "sub=admin".to_owned()),
        ("payload with trailing data", format!("{claims_text}{{}}")),
        (
            "payload with a byte-order mark",
            format!("\u{feff}{claims_text}"),
        ),
        (
            "payload with a lone surrogate escape",
            format!(r#"{{"x":"\ud800",{body}"#),
        ),
        (
            "payload nested 200 deep (over serde_json's limit of 128)",
            format!(r#"{{"deep":{}{},{body}"#, "[".repeat(200), "]".repeat(200)),
        ),
    ] {
        c.token(
            name,
            okta.sign_raw(&header_text, &claims_json),
            Refused(T::Malformed),
        );
    }

    // ---- Access-token and ID-token profiles.
    c.group("token profiles");
    c.token(
        "ID token on the access-token layer",
        okta.id_token(None),
        Refused(T::NotAnAccessToken),
    );
    c.on(
        Target::Id,
        "access token on the ID-token layer",
        good.clone(),
        Refused(T::NotAnIdToken),
    );
    for (name, token) in [
        (
            "access token with a nonce",
            claim("nonce", json!("n-0S6_WzA2Mj")),
        ),
        (
            "access token with at_hash",
            claim("at_hash", json!("77QmUPtjPfzWtF2AnpK9RQ")),
        ),
        (
            "access token with c_hash",
            claim("c_hash", json!("LDktKdoQak3Pk0cnXxCltA")),
        ),
        (
            "access token without cid and scp",
            at().without_claim("cid").without_claim("scp").build(),
        ),
    ] {
        c.token(name, token, Refused(T::NotAnAccessToken));
    }
    let id = || okta.id_token_builder();
    for (name, token) in [
        (
            "ID token with cid",
            id().claim("cid", okta.client_id()).build(),
        ),
        (
            "ID token with scp",
            id().claim("scp", json!(["openid"])).build(),
        ),
        (
            "ID token with uid",
            id().claim("uid", "00uABCDEFGHIJKLMNOPQ").build(),
        ),
    ] {
        c.on(Target::Id, name, token, Refused(T::NotAnIdToken));
    }
    c.on(
        Target::Id,
        "ID token for another client",
        id().claim("aud", "0oaOTHERclient").build(),
        Refused(T::WrongAudience),
    );
    c.on(
        Target::IdOnly,
        "access token on an id_tokens_only verifier",
        good.clone(),
        Refused(T::AccessTokensDisabled),
    );

    // ---- Keys in the JWKS: only sane RSA signature keys are used.
    c.group("scope and group guards");
    c.on(
        Target::Scoped,
        "token without the required scope",
        good.clone(),
        Forbidden(Some("orders:read")),
    );
    c.on(
        Target::Scoped,
        "control: token with the required scope",
        claim("scp", json!(["openid", "orders:read"])),
        Pass,
    );
    for (name, scp) in [
        ("scope in capitals", json!(["ORDERS:READ"])),
        ("scope with a trailing space", json!(["orders:read "])),
        ("scope as a prefix", json!(["orders:read:all"])),
        ("scope split in two", json!(["orders:", "read"])),
        (
            "scope inside a space-separated string element",
            json!(["openid orders:read"]),
        ),
        ("empty scope list", json!([])),
    ] {
        c.on(
            Target::Scoped,
            name,
            claim("scp", scp),
            Forbidden(Some("orders:read")),
        );
    }
    c.on(
        Target::Scoped,
        "scope only in a custom claim",
        claim("scope", json!("orders:read")),
        Forbidden(Some("orders:read")),
    );
    c.on(
        Target::Scoped,
        "scp as a string (not Okta's array)",
        claim("scp", json!("orders:read")),
        Refused(T::InvalidClaim),
    );
    c.on(
        Target::Scoped,
        "ID token on a scoped route",
        okta.id_token(None),
        Refused(T::NotAnAccessToken),
    );
    c.on(
        Target::Grouped,
        "token without the required group",
        good.clone(),
        Forbidden(None),
    );
    c.on(
        Target::Grouped,
        "control: token with the required group",
        claim("groups", json!(["Everyone", "admins"])),
        Pass,
    );
    c.on(
        Target::Grouped,
        "group in another case",
        claim("groups", json!(["Admins"])),
        Forbidden(None),
    );

    c.group("JWKS keys");
    let by_spare = |kid: &str| at().signed_with(&lab.spare.with_kid(kid)).build();
    c.token(
        "control: a second sane key (spare-good)",
        by_spare("spare-good"),
        Pass,
    );
    let raw_token = |raw: &RawRsa| {
        compact(&json!({"alg": "RS256", "kid": raw.kid}), &claims, |input| {
            let signature = raw.sign_rs256(input);
            assert!(
                raw.verifies(input, &signature),
                "{}: bad hand-made signature",
                raw.kid
            );
            signature
        })
    };
    assert_eq!(lab.raw.e65537.bits(), 2048);
    assert_eq!(lab.raw.short1024.bits(), 1024);
    assert_eq!(lab.raw.short2047.bits(), 2047);
    c.token(
        "control: hand-signed RS256, 2048-bit key, e = 65537",
        raw_token(&lab.raw.e65537),
        Pass,
    );
    c.token("control: hand-signed, e = 3", raw_token(&lab.raw.e3), Pass);
    c.token(
        "control: hand-signed, e = 2^32 - 5 (largest prime under the cap)",
        raw_token(&lab.raw.e_max),
        Pass,
    );
    let unknown = Refused(T::UnknownKeyId);
    c.token(
        "1024-bit key, validly signed",
        raw_token(&lab.raw.short1024),
        unknown,
    );
    c.token(
        "1024-bit modulus zero-padded to 256 bytes, validly signed",
        compact(
            &json!({"alg": "RS256", "kid": "raw-1024-padded"}),
            &claims,
            |input| lab.raw.short1024.sign_rs256(input),
        ),
        unknown,
    );
    c.token(
        "2047-bit key, validly signed",
        raw_token(&lab.raw.short2047),
        unknown,
    );
    c.token(
        "exponent 2^32 + 15, validly signed",
        raw_token(&lab.raw.e_over),
        unknown,
    );
    c.token(
        "exponent of 2048 bits, validly signed",
        raw_token(&lab.raw.e_huge),
        unknown,
    );
    c.token(
        "exponent 1, forged signature",
        raw_token(&lab.raw.e1),
        unknown,
    );
    c.token(
        "exponent 65536 (even)",
        compact(
            &json!({"alg": "RS256", "kid": "raw-e-even"}),
            &claims,
            |input| lab.raw.e65537.sign_rs256(input),
        ),
        unknown,
    );
    c.token(
        "exponent 0",
        compact(
            &json!({"alg": "RS256", "kid": "raw-e-zero"}),
            &claims,
            |input| lab.raw.e65537.sign_rs256(input),
        ),
        unknown,
    );
    c.token(
        "modulus of 8200 bits",
        at().header("kid", "huge-n").build(),
        unknown,
    );
    for (name, kid) in [
        ("key with use: enc, validly signed", "spare-enc"),
        (
            "key with key_ops without verify, validly signed",
            "spare-keyops",
        ),
        ("RSA key labelled kty EC, validly signed", "spare-kty-ec"),
        (
            "RSA key labelled kty rsa (lowercase), validly signed",
            "spare-kty-lower",
        ),
        ("RSA key without kty, validly signed", "spare-kty-missing"),
        (
            "key with alg RS512 (not allowed), RS256 token",
            "spare-alg-rs512",
        ),
        ("key with alg HS256, validly signed", "spare-alg-hs256"),
        ("key with alg none, validly signed", "spare-alg-none"),
        ("kid listed twice (same key), validly signed", "dup-same"),
        (
            "kid listed twice (two keys), signed by the first",
            "dup-mixed",
        ),
        ("oct key's kid on an RS256 token", "hmac"),
        ("EC key's kid on an RS256 token", "ec"),
        ("sane key listed after the 64-key cap", "past-the-cap"),
    ] {
        c.token(name, by_spare(kid), unknown);
    }
    c.token(
        "kid listed twice (two keys), signed by the second",
        at().signed_with(&evil.with_kid("dup-mixed")).build(),
        unknown,
    );
    c.on(
        Target::AllRsa,
        "key bound to RS512, RS256 token (all-RSA verifier)",
        by_spare("spare-alg-rs512"),
        Refused(T::KeyAlgorithmMismatch),
    );

    // ---- Keys unavailable: 503, unless the token is refused before any key is needed.
    c.group("keys unavailable");
    c.on(
        Target::KeysDown,
        "keys endpoint answers 500, no key cached",
        lab.down_okta_token.clone(),
        Unavailable,
    );
    c.on(
        Target::KeysJunk,
        "keys endpoint answers HTML, no key cached",
        lab.junk_okta_token.clone(),
        Unavailable,
    );
    c.on(
        Target::KeysDown,
        "expired token while the keys are down (refused before any fetch)",
        lab.down_okta_expired.clone(),
        Refused(T::Expired),
    );
    c.on(
        Target::KeysDown,
        "alg none while the keys are down (refused before any fetch)",
        format!(
            "{}.{}.AAAA",
            B64.encode(r#"{"alg":"none","kid":"x"}"#),
            parts(&lab.down_okta_token).1
        ),
        Refused(T::UnsupportedAlgorithm),
    );

    dpop::rows(lab, &mut c);
    c.rows
}

// ---------------------------------------------------------------------------------------------
// Checks

/// Compares an answer with a row's expectation.
fn check(row: &Row, answer: &Answer) -> Result<(), String> {
    let expect = row.expect;
    if answer.status != expect.status() {
        return Err(format!(
            "status {} instead of {} (challenge {:?}, body {:?})",
            answer.status,
            expect.status(),
            answer.www_authenticate(),
            answer.body
        ));
    }
    let challenge = answer.www_authenticate().map(str::to_owned);
    if challenge != expected_challenge(row) {
        return Err(format!(
            "WWW-Authenticate {challenge:?} instead of {:?}",
            expected_challenge(row)
        ));
    }
    // `use_dpop_nonce` hands out a nonce; no other answer does.
    match (expect, answer.headers.get("dpop-nonce")) {
        (NonceRequired, Some(nonce)) if !nonce.is_empty() => {}
        (NonceRequired, None) => return Err("use_dpop_nonce without a DPoP-Nonce".to_owned()),
        (_, None) => {}
        (_, Some(_)) => return Err("DPoP-Nonce on another answer".to_owned()),
    }
    // Every 503 says when to come back (at least a second); no other answer does.
    let retry_after = answer
        .headers
        .get(http::header::RETRY_AFTER)
        .map(|v| v.to_str().unwrap_or_default().parse::<u64>());
    match (expect, retry_after) {
        (Unavailable, Some(Ok(secs))) if secs >= 1 => {}
        (Unavailable, other) => return Err(format!("503 with Retry-After {other:?}")),
        (_, None) => {}
        (_, Some(_)) => return Err("Retry-After on an answer that is not a 503".to_owned()),
    }
    match (expect, expect.error()) {
        (Pass, _) if answer.body != "ok" => {
            return Err(format!("body {:?} instead of ok", answer.body));
        }
        (_, Some((code, description))) => {
            let body: Value = serde_json::from_str(&answer.body)
                .map_err(|_| format!("body is not JSON: {:?}", answer.body))?;
            if body["error"] != code || body["error_description"] != description {
                return Err(format!("body {body} does not say {code}: {description}"));
            }
        }
        _ => {}
    }
    Ok(())
}

/// Fetches a row may cause: one for an unknown kid (the cooldown is zero), none for every other
/// answer (warm cache, or refused before the key lookup). `None`: not asserted (the 503 targets
/// follow the retry backoff).
fn expected_fetches(row: &Row) -> Option<u64> {
    match (row.target, row.expect) {
        (_, Refused(TokenError::UnknownKeyId)) => Some(1),
        (Target::KeysDown | Target::KeysJunk, Unavailable) => None,
        _ => Some(0),
    }
}

#[tokio::test]
async fn attack_corpus_answers_as_design_section_3() {
    let (_logs, _guard) = capture_logs();
    let lab = Lab::start().await;
    let rows = corpus(&lab);
    assert!(rows.len() >= 60, "only {} rows", rows.len());
    let mut names = HashSet::new();
    for row in &rows {
        assert!(
            names.insert(row.name.as_str()),
            "duplicate row name {}",
            row.name
        );
    }

    let mut failures = Vec::new();
    for row in &rows {
        let before = lab.verifier(row.target).jwks_stats().fetches;
        let answer = lab.send(row).await;
        let fetches = lab.verifier(row.target).jwks_stats().fetches - before;
        if let Err(why) = check(row, &answer) {
            failures.push(format!(
                "{}: {} [{:?}]: {why}",
                row.group, row.name, row.target
            ));
        }
        if let Some(expected) = expected_fetches(row) {
            if fetches != expected {
                failures.push(format!(
                    "{} [{:?}]: {fetches} JWKS fetches instead of {expected}",
                    row.name, row.target
                ));
            }
        }
    }
    // jku / x5u never made the verifier talk to the attacker's server.
    assert_eq!(
        lab.attacker.key_fetch_count(),
        0,
        "the attacker's JWKS was fetched"
    );
    assert_eq!(
        lab.attacker.discovery_fetch_count(),
        0,
        "the attacker's discovery document was fetched"
    );
    assert!(
        failures.is_empty(),
        "{} of {} rows differ from the security rules:\n{}",
        failures.len(),
        rows.len(),
        failures.join("\n")
    );
}

#[tokio::test]
async fn corpus_covers_every_reason() {
    let (_logs, _guard) = capture_logs();
    let lab = Lab::start().await;
    let rows = corpus(&lab);
    let covered: HashSet<Expect> = rows.iter().map(|r| r.expect).collect();
    use TokenError as T;
    let mut missing: Vec<String> = [
        T::TooLarge,
        T::Encrypted,
        T::Malformed,
        T::DuplicateKey,
        T::UnsupportedAlgorithm,
        T::MissingKeyId,
        T::CriticalHeader,
        T::OrgAuthorizationServerToken,
        T::UnknownKeyId,
        T::KeyAlgorithmMismatch,
        T::BadSignature,
        T::WrongIssuer,
        T::WrongAudience,
        T::Expired,
        T::NotYetValid,
        T::IssuedInFuture,
        T::InvalidClaim,
        T::NotAnAccessToken,
        T::NotAnIdToken,
        T::AccessTokensDisabled,
        T::BoundTokenAsBearer,
        T::NotSenderConstrained,
        T::KeyBindingMismatch,
        T::UnsupportedBinding,
        T::DpopRequired,
        // NonceMismatch needs an expected nonce, which only verify_id_token takes; the layer has none.
    ]
    .into_iter()
    .map(Refused)
    .chain(
        [
            RequestError::MultipleAuthorizationHeaders,
            RequestError::MalformedAuthorizationHeader,
            RequestError::TokenInHeaderAndQuery,
            RequestError::MultipleDpopHeaders,
            RequestError::MalformedDpopHeader,
            RequestError::MissingDpopProof,
        ]
        .into_iter()
        .map(BadRequest),
    )
    .chain(dpop::EVERY_PROOF_ERROR.into_iter().map(DpopRefused))
    .chain([
        Pass,
        NoCredentials,
        Unavailable,
        Forbidden(Some("orders:read")),
        Forbidden(None),
        NonceRequired,
    ])
    .filter(|e| !covered.contains(e))
    .map(|e| format!("{e:?}"))
    .collect();
    missing.sort();
    assert!(missing.is_empty(), "no row for {missing:?}");
}

/// The configuration side of the security rules: caps that cannot be raised, algorithms that cannot be
/// allowed, key sources that cannot be insecure.
#[test]
fn configuration_cannot_weaken_the_rules() {
    use tower_okta::{ConfigError, DEFAULT_LEEWAY, DEFAULT_MAX_TOKEN_SIZE, MAX_LEEWAY};
    let builder = || {
        Verifier::builder()
            .issuer("https://dev-123.okta.com/oauth2/default")
            .client_id("0oa1example2SPAclient")
    };
    assert_eq!(DEFAULT_MAX_TOKEN_SIZE, 16 * 1024);
    assert_eq!(DEFAULT_LEEWAY, Duration::from_secs(60));
    assert_eq!(MAX_LEEWAY, Duration::from_secs(300));
    assert!(builder().leeway(MAX_LEEWAY).build().is_ok());
    assert!(matches!(
        builder()
            .leeway(MAX_LEEWAY + Duration::from_secs(1))
            .build(),
        Err(ConfigError::LeewayTooLarge { .. })
    ));
    for size in [1024, 65_536] {
        assert!(builder().max_token_size(size).build().is_ok(), "{size}");
    }
    for size in [0, 1023, 65_537, 1 << 20] {
        assert!(
            matches!(builder().max_token_size(size).build(), Err(ConfigError::MaxTokenSize(s)) if s == size),
            "{size}"
        );
    }
    for name in [
        "none", "None", "HS256", "HS384", "HS512", "ES256", "EdDSA", "rs256", "",
    ] {
        assert!(name.parse::<Algorithm>().is_err(), "{name} can be allowed");
    }
    assert!(matches!(
        builder().allowed_algorithms(std::iter::empty()).build(),
        Err(ConfigError::NoAlgorithms)
    ));
    assert!(matches!(
        Verifier::builder()
            .issuer("http://dev-123.okta.com/oauth2/default")
            .client_id("0oa1example2SPAclient")
            .build(),
        Err(ConfigError::InsecureIssuer(_))
    ));
    assert!(matches!(
        Verifier::builder()
            .issuer("https://dev-123.okta.com")
            .client_id("0oa1example2SPAclient")
            .build(),
        Err(ConfigError::OrgAuthorizationServer(_))
    ));
    for uri in [
        "http://keys.example/v1/keys",
        "ftp://keys.example/keys",
        "https://user:pw@keys.example/",
    ] {
        assert!(
            matches!(
                builder().jwks_uri(uri).build(),
                Err(ConfigError::InvalidJwksUri { .. })
            ),
            "{uri}"
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Nothing is echoed

/// Every string worth looking for in an answer or a log: the token's text and segments, and every
/// value (at any depth) of the JSON its segments decode to.
fn secrets(row: &Row) -> BTreeSet<String> {
    fn collect(value: &Value, out: &mut BTreeSet<String>) {
        match value {
            Value::String(s) if s.trim().chars().count() >= 6 => {
                out.insert(s.clone());
                out.insert(s.trim().to_owned());
            }
            Value::Number(n) if n.to_string().len() >= 6 => {
                out.insert(n.to_string());
            }
            Value::Array(items) => items.iter().for_each(|v| collect(v, out)),
            Value::Object(map) => map.values().for_each(|v| collect(v, out)),
            _ => {}
        }
    }
    let text = match &row.req {
        Req::Bearer(token) => token.clone(),
        Req::Raw { auth, query } => {
            let mut all: Vec<String> = auth
                .iter()
                .map(|a| String::from_utf8_lossy(a).into_owned())
                .collect();
            all.extend(query.iter().cloned());
            all.join(" ")
        }
        Req::Dpop { token, proofs, .. } => format!("{token} {}", proofs.join(" ")),
    };
    let mut out = BTreeSet::new();
    for chunk in text.split([' ', '\t', '.', ',', '=', '&', '%']) {
        let chunk = chunk.trim_start_matches("Bearer");
        if chunk.len() < 8 {
            continue;
        }
        out.insert(chunk.to_owned());
        let lenient = base64::engine::GeneralPurpose::new(
            &base64::alphabet::URL_SAFE,
            base64::engine::GeneralPurposeConfig::new()
                .with_decode_padding_mode(base64::engine::DecodePaddingMode::Indifferent)
                .with_decode_allow_trailing_bits(true),
        );
        let decoded = lenient
            .decode(chunk)
            .or_else(|_| STANDARD.decode(chunk.trim_end_matches('=')));
        if let Ok(bytes) = decoded {
            if let Ok(value) = serde_json::from_slice::<Value>(&bytes) {
                collect(&value, &mut out);
            }
        }
    }
    out.remove("");
    out
}

#[derive(Clone, Default)]
struct LogBuffer(Arc<Mutex<Vec<u8>>>);

impl io::Write for LogBuffer {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Captures the crate's log events (at every level) on this thread, except the mock's and the
/// one-time configuration hints of `tower_okta::diagnose`, which quote a refused token's `iss` or
/// `aud` on purpose (with `Debug` escaping, once per verifier) to explain an Okta setup mistake.
///
/// Every test of this file calls it before touching the crate: tracing caches, per call site,
/// whether anyone listens, and a call site first reached on a thread without a subscriber while
/// another thread installs one could stay silent. With the same subscriber in every test, the
/// cached answer is the same whichever thread gets there first.
fn capture_logs() -> (LogBuffer, tracing::subscriber::DefaultGuard) {
    use tracing_subscriber::util::SubscriberInitExt;
    let logs = LogBuffer::default();
    let writer = logs.clone();
    let guard = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::new(
            "tower_okta=trace,tower_okta_mock=off,tower_okta::diagnose=off",
        ))
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .finish()
        .set_default();
    (logs, guard)
}

#[tokio::test]
async fn no_answer_or_log_echoes_token_content() {
    let (logs, _guard) = capture_logs();

    let lab = Lab::start().await;
    let rows = corpus(&lab);
    // Configuration, not token content: the crate may log its own issuer and client ID.
    let config = [
        lab.okta.issuer().to_owned(),
        lab.okta.jwks_uri(),
        lab.okta.client_id().to_owned(),
        lab.down_issuer.clone(),
        lab.junk_issuer.clone(),
    ];
    let mut leaks = Vec::new();
    let mut checked = 0usize;
    for row in &rows {
        let answer = lab.send(row).await;
        let mut text = answer.body.clone();
        for (name, value) in &answer.headers {
            text.push_str(&format!(
                "\n{name}: {}",
                String::from_utf8_lossy(value.as_bytes())
            ));
        }
        let secrets = secrets(row);
        for secret in &secrets {
            checked += 1;
            // A 403 advertises the route's required scope (configuration): a token may name it too.
            let advertised =
                matches!(row.expect, Forbidden(Some(scope)) if scope.contains(secret.as_str()));
            if !advertised && text.contains(secret.as_str()) {
                leaks.push(format!("{}: answer contains {secret:?}", row.name));
            }
        }
        let logged = String::from_utf8_lossy(&logs.0.lock().unwrap()).into_owned();
        logs.0.lock().unwrap().clear();
        for secret in secrets
            .iter()
            .filter(|s| !config.iter().any(|c| c.contains(s.as_str())))
        {
            if logged.contains(secret.as_str()) {
                leaks.push(format!("{}: log contains {secret:?}", row.name));
            }
        }
        // Every refusal is logged (by kind), so the log check above looked at something.
        let event = match row.expect {
            Pass => None,
            Forbidden(_) => Some("request refused by guard"),
            _ => Some("request rejected"),
        };
        if let Some(event) = event {
            assert!(
                logged.contains(event),
                "{}: no `{event}` event was logged",
                row.name
            );
        }
    }
    // The corpus's own values were found as secrets (so the check above can fail).
    assert!(checked > rows.len() * 5, "only {checked} secrets checked");
    assert!(leaks.is_empty(), "{}", leaks.join("\n"));
}
