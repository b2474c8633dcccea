//! Defaults and the SPA app's settings.

use std::time::Duration;

/// The default client ID of the mock SPA app.
pub const DEFAULT_CLIENT_ID: &str = "0oa1mockspa2client3id";
/// The client ID of the Web Application integration every mock has (a confidential client; see
/// [`WebApp`](crate::WebApp)).
pub const DEFAULT_WEB_CLIENT_ID: &str = "0oa1mockweb2client3id";
/// The client secret of the default Web Application integration: a **test value**, public, that
/// only the mock accepts. Never use it for a real app.
pub const DEFAULT_WEB_CLIENT_SECRET: &str = "mock-web-app-secret";
/// The default origin of the SPA: its sign-in redirect URIs are `{origin}/callback` and
/// `{origin}/silent-callback`, its sign-out redirect URIs `{origin}` and `{origin}/`, and it is
/// the trusted origin for CORS.
pub const DEFAULT_SPA_ORIGIN: &str = "http://localhost:8585";
/// Okta's `Cache-Control` on the keys endpoint: weeks.
pub const OKTA_KEYS_CACHE_CONTROL: &str = "max-age=3317760, must-revalidate";
/// The Audience of the authorization server Okta ships (`default`): `api://default`
/// ([`MockOktaBuilder::default_audience`](crate::MockOktaBuilder::default_audience)).
pub const OKTA_DEFAULT_AUDIENCE: &str = "api://default";
/// Okta's default refresh-token rotation grace period: 30 seconds
/// ([`MockOktaBuilder::refresh_token_grace`](crate::MockOktaBuilder::refresh_token_grace)).
pub const DEFAULT_REFRESH_TOKEN_GRACE: Duration = Duration::from_secs(30);

/// The SPA app's settings in the mock (set through `MockOktaBuilder`).
#[derive(Debug, Clone)]
pub(crate) struct AppConfig {
    pub(crate) redirect_uris: Vec<String>,
    pub(crate) post_logout_redirect_uris: Vec<String>,
    pub(crate) allowed_origins: Vec<String>,
    pub(crate) custom_scopes: Vec<String>,
    pub(crate) access_token_lifetime: Duration,
    /// How long a rotated-away refresh token still works.
    pub(crate) refresh_token_grace: Duration,
    /// Whether token requests of the SPA app must carry a DPoP proof.
    pub(crate) require_dpop: bool,
}

impl AppConfig {
    /// The SPA served from `origin`: sign-in redirect URIs `{origin}/callback` and
    /// `{origin}/silent-callback`, sign-out redirect URIs `{origin}` and `{origin}/`, trusted
    /// origin `origin`.
    pub(crate) fn for_origin(origin: &str) -> AppConfig {
        let origin = origin.trim_end_matches('/');
        AppConfig {
            redirect_uris: vec![
                format!("{origin}/callback"),
                format!("{origin}/silent-callback"),
            ],
            post_logout_redirect_uris: vec![origin.to_owned(), format!("{origin}/")],
            allowed_origins: vec![origin.to_owned()],
            custom_scopes: Vec::new(),
            access_token_lifetime: Duration::from_secs(3600),
            refresh_token_grace: DEFAULT_REFRESH_TOKEN_GRACE,
            require_dpop: false,
        }
    }
}
