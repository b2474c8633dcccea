//! The web-app mode's errors: configuration errors of [`WebAppBuilder`](super::WebAppBuilder),
//! and why a sign-in, a refresh or a sign-out failed ([`WebAppError`], an axum response).

use std::fmt;

use http::StatusCode;

use crate::error::AuthError;

/// A configuration problem found by [`WebAppBuilder::build`](super::WebAppBuilder::build).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum WebAppConfigError {
    /// No client authentication was given.
    #[error(
        "client authentication is missing: call .client_secret(...) with the Web Application's \
         client secret (OKTA_CLIENT_SECRET), or .private_key_jwt(key) with the key registered \
         for it"
    )]
    MissingClientAuth,
    /// The client secret is empty.
    #[error("the client secret is empty")]
    EmptySecret,
    /// No redirect URI was given, or it is not an absolute http(s) URL.
    #[error(
        "redirect_uri `{0}` is invalid: give the absolute sign-in redirect URI registered in \
         Okta, for example http://localhost:8585/callback"
    )]
    InvalidRedirectUri(String),
    /// The post-logout redirect URI is not an absolute http(s) URL.
    #[error("post_logout_redirect_uri `{0}` is invalid: give an absolute http(s) URL")]
    InvalidPostLogoutRedirectUri(String),
    /// Cookies without `Secure` were asked for an app that is not on `http://localhost`.
    #[error(
        "session cookies without Secure are only allowed for an app on http://localhost or \
         http://127.0.0.1 (the redirect URI is `{0}`)"
    )]
    InsecureCookie(String),
    /// The scopes do not include `openid`.
    #[error("scopes must include openid")]
    MissingOpenidScope,
    /// The HTTP client could not be built.
    #[error("the HTTP client for the token endpoint could not be built: {0}")]
    HttpClient(#[source] reqwest::Error),
}

/// Why a sign-in, a session refresh or a sign-out failed. Each has a fixed description (never a
/// token, a code or a value from the request) and an HTTP status; as an axum response it is a
/// small plain-text page.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum WebAppError {
    /// `/callback` without a sign-in in progress in this browser session: the `state` is
    /// replayed, forged, from another browser, or the session expired.
    #[error("no sign-in is in progress in this browser session (start again from /login)")]
    NoLoginInProgress,
    /// `/callback` with a `state` that is not the one this session's sign-in sent.
    #[error("the sign-in response does not belong to this browser session (state mismatch)")]
    StateMismatch,
    /// `/callback` without a `code`.
    #[error("the sign-in response has no authorization code")]
    MissingCode,
    /// Okta answered `error=access_denied`: the user cancelled, or is not assigned to the app.
    #[error("sign-in was denied (the user cancelled, or is not assigned to this application)")]
    AccessDenied,
    /// Okta redirected back with another error code (`login_required`, `invalid_scope`...).
    #[error("the authorization server refused the sign-in ({0})")]
    AuthorizationServer(OktaErrorCode),
    /// The token endpoint refused the code or the refresh token (`invalid_grant`: expired,
    /// used, issued to another client, or a PKCE mismatch), or the client's authentication.
    #[error("the token endpoint refused the request ({0})")]
    TokenRefused(OktaErrorCode),
    /// The token endpoint answered something that is not a token response.
    #[error("the token endpoint's answer is not a valid token response")]
    BadTokenResponse,
    /// Okta could not be reached or answered 5xx.
    #[error("the authorization server is unavailable; try again later")]
    Unavailable,
    /// A token from the token endpoint failed verification (the source says why).
    #[error(
        "a token from the authorization server is not valid: {}",
        .0.description().unwrap_or("it could not be verified")
    )]
    InvalidToken(#[source] AuthError),
    /// The ID token's `at_hash` does not match the access token issued with it.
    #[error("the ID token's at_hash does not match the access token")]
    AtHashMismatch,
    /// The session store failed.
    #[error("the session store is unavailable")]
    SessionStore,
}

/// An OAuth error code from Okta, kept only if it is one of the registered codes (so that a
/// value from a query string is never echoed as it came).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct OktaErrorCode(&'static str);

impl OktaErrorCode {
    const KNOWN: [&'static str; 17] = [
        "invalid_request",
        "unauthorized_client",
        "access_denied",
        "unsupported_response_type",
        "invalid_scope",
        "server_error",
        "temporarily_unavailable",
        "interaction_required",
        "login_required",
        "account_selection_required",
        "consent_required",
        "invalid_client",
        "invalid_grant",
        "unsupported_grant_type",
        "invalid_dpop_proof",
        "use_dpop_nonce",
        "invalid_token",
    ];

    /// The registered code matching `code`, else `unknown_error`.
    pub(crate) fn of(code: Option<&str>) -> OktaErrorCode {
        let known = code.and_then(|c| Self::KNOWN.into_iter().find(|k| *k == c));
        OktaErrorCode(known.unwrap_or("unknown_error"))
    }

    /// The code.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        self.0
    }
}

impl fmt::Display for OktaErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0)
    }
}

impl WebAppError {
    /// The HTTP status of the page: 400 for a bad or foreign sign-in response, 401 for tokens
    /// that do not verify or a refused refresh, 403 for a denied sign-in, 502 or 503 when Okta
    /// or the session store fails.
    #[must_use]
    pub fn status(&self) -> StatusCode {
        match self {
            WebAppError::NoLoginInProgress
            | WebAppError::StateMismatch
            | WebAppError::MissingCode
            | WebAppError::AuthorizationServer(_) => StatusCode::BAD_REQUEST,
            WebAppError::AccessDenied => StatusCode::FORBIDDEN,
            WebAppError::TokenRefused(_)
            | WebAppError::InvalidToken(_)
            | WebAppError::AtHashMismatch => StatusCode::UNAUTHORIZED,
            WebAppError::BadTokenResponse => StatusCode::BAD_GATEWAY,
            WebAppError::Unavailable | WebAppError::SessionStore => StatusCode::SERVICE_UNAVAILABLE,
        }
    }
}

impl axum_core::response::IntoResponse for WebAppError {
    fn into_response(self) -> axum_core::response::Response {
        let body = format!("Sign-in failed: {self}.\n");
        let mut response = (self.status(), body).into_response();
        response.headers_mut().insert(
            http::header::CACHE_CONTROL,
            http::HeaderValue::from_static("no-store"),
        );
        response
    }
}
