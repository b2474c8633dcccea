//! Minting Okta-shaped tokens.

use std::time::{SystemTime, UNIX_EPOCH};

use base64::Engine;
use serde_json::{Map, Value};

use super::{MockKey, State};
use crate::token::STRICT_B64;

/// Random `[A-Za-z0-9]` characters, like Okta's IDs.
pub(crate) fn random_id(len: usize) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    let mut bytes = vec![0u8; len];
    aws_lc_rs::rand::fill(&mut bytes).expect("the system random source works");
    bytes
        .iter()
        .map(|b| char::from(ALPHABET[usize::from(*b) % ALPHABET.len()]))
        .collect()
}

/// Seconds since the Unix epoch.
pub(crate) fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

/// `base64url(header).base64url(claims).base64url(signature)`.
pub(crate) fn sign_compact(key: &MockKey, header: &[u8], claims: &[u8]) -> String {
    let signing_input = format!(
        "{}.{}",
        STRICT_B64.encode(header),
        STRICT_B64.encode(claims)
    );
    let signature = key.sign(signing_input.as_bytes());
    format!("{signing_input}.{}", STRICT_B64.encode(signature))
}

/// A token under construction: a JOSE header and claims, preset as Okta issues them.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> std::io::Result<()> {
/// let okta = tower_okta::mock::MockOkta::start().await?;
/// let expired = okta
///     .access_token_builder()
///     .claim("exp", 1_000_000_000)
///     .claim("scp", ["openid", "orders:read"])
///     .build();
/// assert_eq!(expired.split('.').count(), 3);
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
#[must_use]
pub struct TokenBuilder {
    header: Map<String, Value>,
    claims: Map<String, Value>,
    key: MockKey,
}

impl TokenBuilder {
    fn new(key: MockKey, claims: Value) -> TokenBuilder {
        let mut header = Map::new();
        header.insert("kid".into(), Value::from(key.kid()));
        header.insert("alg".into(), Value::from("RS256"));
        let Value::Object(claims) = claims else {
            unreachable!("claims are built as an object")
        };
        TokenBuilder {
            header,
            claims,
            key,
        }
    }

    pub(crate) fn access(state: &State, key: MockKey) -> TokenBuilder {
        let now = now();
        TokenBuilder::new(
            key,
            serde_json::json!({
                "ver": 1,
                "jti": format!("AT.{}", random_id(43)),
                "iss": state.issuer,
                "aud": state.audience,
                "iat": now,
                "exp": now + 3600,
                "cid": state.client_id,
                "uid": state.user.id,
                "scp": ["openid", "profile", "email"],
                "auth_time": now - 5,
                "sub": state.user.login,
            }),
        )
    }

    pub(crate) fn id(state: &State, key: MockKey) -> TokenBuilder {
        let now = now();
        TokenBuilder::new(
            key,
            serde_json::json!({
                "sub": state.user.id,
                "name": state.user.name,
                "email": state.user.email,
                "ver": 1,
                "iss": state.issuer,
                "aud": state.client_id,
                "iat": now,
                "exp": now + 3600,
                "jti": format!("ID.{}", random_id(43)),
                "amr": ["pwd"],
                "idp": state.idp,
                "preferred_username": state.user.login,
                "auth_time": now - 5,
            }),
        )
    }

    /// Sets a claim (any JSON value).
    pub fn claim(mut self, name: &str, value: impl Into<Value>) -> Self {
        self.claims.insert(name.to_owned(), value.into());
        self
    }

    /// Removes a claim.
    pub fn without_claim(mut self, name: &str) -> Self {
        self.claims.remove(name);
        self
    }

    /// Sets a header parameter (`alg`, `kid`, `typ`, `crit`, `jku`...).
    pub fn header(mut self, name: &str, value: impl Into<Value>) -> Self {
        self.header.insert(name.to_owned(), value.into());
        self
    }

    /// Removes a header parameter.
    pub fn without_header(mut self, name: &str) -> Self {
        self.header.remove(name);
        self
    }

    /// Signs with `key` and names its `kid` in the header.
    pub fn signed_with(mut self, key: &MockKey) -> Self {
        self.header.insert("kid".into(), Value::from(key.kid()));
        self.key = key.clone();
        self
    }

    /// The claims as they stand.
    #[must_use]
    pub fn claims(&self) -> &Map<String, Value> {
        &self.claims
    }

    /// The compact JWS, RS256-signed whatever the `alg` header says.
    #[must_use]
    pub fn build(&self) -> String {
        let header = serde_json::to_vec(&self.header).expect("a JSON map serializes");
        let claims = serde_json::to_vec(&self.claims).expect("a JSON map serializes");
        sign_compact(&self.key, &header, &claims)
    }
}
