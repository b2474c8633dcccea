//! What the web-app mode keeps in the session (tower-sessions), the session cookie, and the
//! small pure helpers of the flow: random values, PKCE, `at_hash`, the return path.

use aws_lc_rs::digest;
use base64::Engine;
use serde::{Deserialize, Serialize};
use tower_sessions::cookie::SameSite;
use tower_sessions::{SessionManagerLayer, SessionStore};

use super::WebApp;
use crate::b64::STRICT_B64;

/// The session key of a sign-in in progress.
pub(crate) const LOGIN_KEY: &str = "tower_okta.login";
/// The session key of the signed-in user's tokens.
pub(crate) const TOKENS_KEY: &str = "tower_okta.tokens";

/// A sign-in in progress: what `/callback` checks and needs.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct PendingLogin {
    pub(crate) state: String,
    pub(crate) nonce: String,
    pub(crate) code_verifier: String,
    /// A same-origin path (see [`return_path`]).
    pub(crate) return_to: String,
}

/// The tokens of a signed-in session (server-side only).
#[derive(Clone, Serialize, Deserialize)]
pub(crate) struct StoredTokens {
    pub(crate) access_token: String,
    pub(crate) refresh_token: Option<String>,
    pub(crate) id_token: Option<String>,
    /// When the access token expires, seconds since the epoch.
    pub(crate) expires_at: i64,
}

/// Lengths only.
impl std::fmt::Debug for StoredTokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StoredTokens")
            .field("expires_at", &self.expires_at)
            .field("refresh_token", &self.refresh_token.is_some())
            .finish_non_exhaustive()
    }
}

/// The session cookie's name: the `__Host-` prefix (RFC 6265bis: `Secure`, `Path=/`, no
/// `Domain`) unless `Secure` is off for `http://localhost`.
pub(crate) fn cookie_name(secure: bool) -> &'static str {
    if secure {
        "__Host-okta-session"
    } else {
        "okta-session"
    }
}

/// Adds a `Set-Cookie` that removes the session cookie with the attributes it was set with.
/// tower-sessions' own removal cookie lacks `Secure`, which browsers ignore for a `__Host-`
/// cookie, so the dead id would stay in the browser.
pub(crate) fn expire_cookie(response: &mut http::Response<axum_core::body::Body>, secure: bool) {
    let value = format!(
        "{}=; Path=/; Max-Age=0; HttpOnly; SameSite=Lax{}",
        cookie_name(secure),
        if secure { "; Secure" } else { "" }
    );
    if let Ok(value) = http::HeaderValue::try_from(value) {
        response
            .headers_mut()
            .append(http::header::SET_COOKIE, value);
    }
}

impl WebApp {
    /// tower-sessions' session layer with this mode's cookie: an opaque session id named
    /// `__Host-okta-session`, `Secure`, `HttpOnly`, `SameSite=Lax`, `Path=/`, no `Domain`.
    /// Put it outermost (outside [`layer`](Self::layer) and the routes).
    ///
    /// The store decides where sessions live: `tower_sessions::MemoryStore` for one process; a
    /// shared store such as `tower_sessions_redis_store::RedisStore` when the API runs on
    /// several replicas (every replica then sees every session).
    pub fn session_layer<Store: SessionStore + Clone>(
        &self,
        store: Store,
    ) -> SessionManagerLayer<Store> {
        let secure = self.inner.secure_cookie;
        SessionManagerLayer::new(store)
            .with_name(cookie_name(secure))
            .with_secure(secure)
            .with_http_only(true)
            .with_same_site(SameSite::Lax)
            .with_path("/")
    }
}

/// 32 random bytes, base64url (43 characters): a `state`, a `nonce`, a PKCE verifier.
pub(crate) fn random_value() -> Option<String> {
    let mut bytes = [0u8; 32];
    aws_lc_rs::rand::fill(&mut bytes).ok()?;
    Some(STRICT_B64.encode(bytes))
}

/// The PKCE S256 challenge of a verifier.
pub(crate) fn pkce_challenge(verifier: &str) -> String {
    STRICT_B64.encode(digest::digest(&digest::SHA256, verifier.as_bytes()))
}

/// OIDC `at_hash` for an RS256 ID token: base64url of the left half of SHA-256(access token).
pub(crate) fn at_hash(access_token: &str) -> String {
    let hash = digest::digest(&digest::SHA256, access_token.as_bytes());
    STRICT_B64.encode(&hash.as_ref()[..16])
}

/// Constant-time comparison of two values from the flow (`state`).
pub(crate) fn same(a: &str, b: &str) -> bool {
    aws_lc_rs::constant_time::verify_slices_are_equal(a.as_bytes(), b.as_bytes()).is_ok()
}

/// Where to go after sign-in: `requested` if it is a same-origin relative path (`/...`, not
/// `//...` nor `/\...`, visible ASCII only, so also a valid `Location`), else `/`. Closes the open
/// redirect through the return URL.
pub(crate) fn return_path(requested: Option<&str>) -> String {
    let ok = requested.is_some_and(|p| {
        p.starts_with('/')
            && !p.starts_with("//")
            && !p.starts_with("/\\")
            && p.bytes().all(|b| b.is_ascii_graphic() && b != b'\\')
            && p.len() <= 2048
    });
    match requested {
        Some(p) if ok => p.to_owned(),
        _ => "/".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn return_paths_stay_on_this_origin() {
        for (given, want) in [
            (Some("/orders?id=1#x"), "/orders?id=1#x"),
            (Some("/"), "/"),
            (None, "/"),
            (Some("https://evil.example/"), "/"),
            (Some("//evil.example/"), "/"),
            (Some("/\\evil.example/"), "/"),
            (Some("/ok\\..\\evil"), "/"),
            (Some("/a\nb"), "/"),
            (Some("/café"), "/"),
            (Some("/a b"), "/"),
            (Some("javascript:alert(1)"), "/"),
            (Some(""), "/"),
        ] {
            assert_eq!(return_path(given), want, "{given:?}");
        }
    }

    #[test]
    fn pkce_and_at_hash_follow_their_specs() {
        // RFC 7636 appendix B.
        assert_eq!(
            pkce_challenge("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        );
        // OIDC: the left half of SHA-256, base64url.
        assert_eq!(at_hash("").len(), 22);
        assert_ne!(at_hash("a"), at_hash("b"));
        let value = random_value().unwrap();
        assert_eq!(value.len(), 43);
        assert_ne!(value, random_value().unwrap());
        assert!(same("abc", "abc") && !same("abc", "abd") && !same("abc", "ab"));
        assert_eq!(cookie_name(true), "__Host-okta-session");
    }
}
