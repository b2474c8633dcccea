//! What the running mock shares between its handle and its endpoints.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::AtomicUsize;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::SystemTime;

use serde_json::{Map, Value};

use crate::apps::App;
use crate::clock::Clock;
use crate::config::AppConfig;
use crate::fault::KeysFault;
use crate::grants::Grants;
use crate::jwt;
use crate::keys::MockKey;
use crate::keyset::Keys;
use crate::proof_memory::ProofMemory;
use crate::user::{AuthorizeOutcome, MockUser};
use crate::util::unix_secs;
use crate::web_app::WebApp;

/// Locks, ignoring poisoning (a panicking test must not take the mock down with it).
pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The state of a running mock.
#[derive(Debug)]
pub(crate) struct Shared {
    pub(crate) issuer: String,
    pub(crate) client_id: String,
    pub(crate) audience: String,
    pub(crate) user: MockUser,
    /// The org's Okta identity provider ID (`idp` in ID tokens).
    pub(crate) idp: String,
    pub(crate) config: AppConfig,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) keys: Mutex<Keys>,
    pub(crate) extra_jwks: Mutex<Vec<Value>>,
    pub(crate) keys_fault: Mutex<KeysFault>,
    pub(crate) cache_control: Mutex<String>,
    pub(crate) key_fetches: AtomicUsize,
    pub(crate) discovery_fetches: AtomicUsize,
    pub(crate) grants: Mutex<Grants>,
    /// Service and web apps, by client ID.
    pub(crate) apps: Mutex<HashMap<String, App>>,
    /// The client ID of the web app `MockOkta::web_app` returns.
    pub(crate) web_client_id: String,
    /// What `/v1/authorize` answers to a valid request.
    pub(crate) authorize_outcome: Mutex<AuthorizeOutcome>,
    /// Successful `/v1/logout` requests.
    pub(crate) logouts: AtomicUsize,
    /// Client assertion IDs already used.
    pub(crate) used_jtis: Mutex<HashSet<String>>,
    pub(crate) introspect_fault: Mutex<KeysFault>,
    pub(crate) token_fault: Mutex<KeysFault>,
    pub(crate) introspections: AtomicUsize,
    /// DPoP nonces issued and proof IDs seen.
    pub(crate) proofs: Mutex<ProofMemory>,
}

impl Shared {
    /// The mock clock's time.
    pub(crate) fn now(&self) -> SystemTime {
        self.clock.now()
    }

    /// The mock clock's time in Unix seconds.
    pub(crate) fn now_secs(&self) -> i64 {
        unix_secs(self.clock.now())
    }

    /// The registered web app with this client ID.
    pub(crate) fn web_app(&self, client_id: &str) -> Option<WebApp> {
        match lock(&self.apps).get(client_id) {
            Some(App::Web(entry)) => Some(entry.app.clone()),
            _ => None,
        }
    }

    /// True if `client_id` is the SPA's or a web app's: a client whose tokens are a user's.
    pub(crate) fn is_user_client(&self, client_id: &str) -> bool {
        client_id == self.client_id || matches!(lock(&self.apps).get(client_id), Some(App::Web(_)))
    }

    /// The key that signs now.
    pub(crate) fn signing_key(&self) -> MockKey {
        lock(&self.keys).signing.clone()
    }

    /// The JWKS document the keys endpoint serves now.
    pub(crate) fn jwks(&self) -> Value {
        let mut keys: Vec<Value> = lock(&self.keys)
            .published
            .iter()
            .map(MockKey::jwk)
            .collect();
        keys.extend(lock(&self.extra_jwks).iter().cloned());
        serde_json::json!({ "keys": keys })
    }

    /// The claims of a token the mock issued (signed by a published or the signing key, with
    /// this issuer); expiry and profile are the caller's business.
    pub(crate) fn verify_own(&self, token: &str) -> Option<Map<String, Value>> {
        jwt::verify_own(token, &self.issuer, |kid| {
            let keys = lock(&self.keys);
            keys.published
                .iter()
                .chain(std::iter::once(&keys.signing))
                .find(|k| k.kid() == kid)
                .cloned()
        })
    }

    /// True if the access token with this `jti` was revoked.
    pub(crate) fn is_revoked(&self, jti: &str) -> bool {
        lock(&self.grants).revoked_access.contains(jti)
    }

    /// The `jti` of a token the mock issued.
    fn own_jti(&self, token: &str) -> Option<String> {
        self.verify_own(token)
            .and_then(|claims| claims.get("jti").and_then(Value::as_str).map(str::to_owned))
    }

    /// Revokes an access token the mock issued (by its `jti`); false if it is not one.
    pub(crate) fn revoke_access_token(&self, token: &str) -> bool {
        let Some(jti) = self.own_jti(token) else {
            return false;
        };
        lock(&self.grants).revoked_access.insert(jti);
        true
    }

    /// True if `token` is one the mock issued and it was revoked (false for unknown tokens).
    pub(crate) fn is_token_revoked(&self, token: &str) -> bool {
        self.own_jti(token).is_some_and(|jti| self.is_revoked(&jti))
    }
}
