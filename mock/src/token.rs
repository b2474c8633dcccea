//! Okta-shaped tokens under construction.

use serde_json::{Map, Value};

use crate::dpop::DpopKey;
use crate::jwt;
use crate::keys::MockKey;
use crate::state::Shared;
use crate::util::random_id;

/// A token under construction: a JOSE header and claims, preset as Okta issues them.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), tower_okta_mock::MockError> {
/// let okta = tower_okta_mock::MockOkta::start().await?;
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

    /// An access token for the mock's user, valid for an hour from the mock clock's now.
    pub(crate) fn access(state: &Shared, key: MockKey) -> TokenBuilder {
        let now = state.now_secs();
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

    /// An ID token for the mock's user, valid for an hour from the mock clock's now.
    pub(crate) fn id(state: &Shared, key: MockKey) -> TokenBuilder {
        let now = state.now_secs();
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

    /// Binds the token to a DPoP key (RFC 9449 6.1): `cnf` = `{"jkt": <the key's RFC 7638
    /// thumbprint>}`.
    pub fn dpop_bound(self, key: &DpopKey) -> Self {
        self.claim("cnf", serde_json::json!({ "jkt": key.thumbprint() }))
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
        jwt::encode(&self.key, &self.header, &self.claims)
    }
}
