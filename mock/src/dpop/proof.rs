//! DPoP proofs under construction (RFC 9449 4.2).

use std::time::SystemTime;

use serde_json::{Map, Value};

use super::key::DpopKey;
use super::{ath, random_jti};
use crate::util::unix_secs;

/// A DPoP proof under construction: header `{"typ":"dpop+jwt","alg":...,"jwk":...}` and claims
/// `{"jti","htm","htu","iat"}`, plus `ath` and `nonce` when set. Any member can be changed or
/// removed for attack tests.
///
/// ```
/// use tower_okta_mock::DpopKey;
///
/// let key = DpopKey::es256()?;
/// let proof = key
///     .proof("POST", "http://127.0.0.1:8080/oauth2/default/v1/token")
///     .nonce("server-nonce")
///     .iat(1_700_000_000)
///     .claim("htm", "GET") // a wrong method, for a test that expects a refusal
///     .header("typ", serde_json::Value::Null) // removes `typ`
///     .build();
/// assert_eq!(proof.split('.').count(), 3);
/// # Ok::<(), tower_okta_mock::MockError>(())
/// ```
#[derive(Debug, Clone)]
#[must_use]
pub struct ProofBuilder {
    key: DpopKey,
    header: Map<String, Value>,
    claims: Map<String, Value>,
}

impl DpopKey {
    /// A proof for a request with this `method` and `url` (`htm`, `htu`), fresh `jti`, `iat`
    /// now by the system clock ([`MockOkta::dpop_proof`](crate::MockOkta::dpop_proof) dates it
    /// by the mock's clock).
    pub fn proof(&self, method: &str, url: &str) -> ProofBuilder {
        ProofBuilder::new(self.clone(), method, url)
    }
}

impl ProofBuilder {
    fn new(key: DpopKey, method: &str, url: &str) -> ProofBuilder {
        let mut header = Map::new();
        header.insert("typ".into(), Value::from("dpop+jwt"));
        header.insert("alg".into(), Value::from(key.alg()));
        header.insert("jwk".into(), key.public_jwk());
        let mut claims = Map::new();
        claims.insert("jti".into(), Value::from(random_jti()));
        claims.insert("htm".into(), Value::from(method));
        claims.insert("htu".into(), Value::from(url));
        claims.insert("iat".into(), Value::from(unix_secs(SystemTime::now())));
        ProofBuilder {
            key,
            header,
            claims,
        }
    }

    /// Binds the proof to this access token: `ath` = base64url(SHA-256(token)).
    pub fn access_token(self, token: &str) -> Self {
        self.claim("ath", ath(token))
    }

    /// The server-provided nonce (`nonce` claim).
    pub fn nonce(self, nonce: &str) -> Self {
        self.claim("nonce", nonce)
    }

    /// The creation time `iat`, in Unix seconds (default: the system clock's now).
    pub fn iat(self, iat: i64) -> Self {
        self.claim("iat", iat)
    }

    /// The proof's unique ID `jti` (default: 128 random bits, base64url).
    pub fn jti(self, jti: &str) -> Self {
        self.claim("jti", jti)
    }

    /// Sets a header member (any JSON value); `Value::Null` removes it.
    pub fn header(mut self, name: &str, value: impl Into<Value>) -> Self {
        set(&mut self.header, name, value.into());
        self
    }

    /// Sets a claim (any JSON value); `Value::Null` removes it.
    pub fn claim(mut self, name: &str, value: impl Into<Value>) -> Self {
        set(&mut self.claims, name, value.into());
        self
    }

    /// The claims as they stand.
    #[must_use]
    pub fn claims(&self) -> &Map<String, Value> {
        &self.claims
    }

    /// The compact JWS, signed with the key whatever the header says.
    #[must_use]
    pub fn build(&self) -> String {
        let header = Value::Object(self.header.clone()).to_string();
        let claims = Value::Object(self.claims.clone()).to_string();
        self.key.sign_raw(&header, &claims)
    }
}

fn set(map: &mut Map<String, Value>, name: &str, value: Value) {
    if value.is_null() {
        map.remove(name);
    } else {
        map.insert(name.to_owned(), value);
    }
}
