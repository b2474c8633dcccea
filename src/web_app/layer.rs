//! [`WebSessionLayer`]: sessions to credentials. For a request that carries the session cookie
//! and no `Authorization` header, it refuses cross-site unsafe requests (CSRF), refreshes an
//! access token about to expire, and hands the session's access token to the auth layer inside
//! it as `Authorization: Bearer`, so that one [`OktaAuthLayer`](crate::OktaAuthLayer) verifies
//! both kinds of request and the handlers cannot tell them apart.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use axum_core::response::{IntoResponse, Response};
use http::header::{AUTHORIZATION, ORIGIN};
use http::{HeaderValue, Method, Request, StatusCode};
use tower_layer::Layer;
use tower_service::Service;
use tower_sessions::Session;

use super::session::{expire_cookie, StoredTokens, TOKENS_KEY};
use super::{Inner, OnSessionEnd, WebApp, WebAppError};

impl WebApp {
    /// The session layer of the app's routes; see [`WebSessionLayer`]. Put it inside
    /// [`session_layer`](Self::session_layer) and outside the auth layer.
    #[must_use]
    pub fn layer(&self) -> WebSessionLayer {
        WebSessionLayer { app: self.clone() }
    }
}

/// Turns a browser session into credentials for the auth layer inside it:
///
/// - a request with an `Authorization` header goes through untouched (bearer clients);
/// - a request with the session cookie and an unsafe method (`POST`, `PUT`, `PATCH`,
///   `DELETE`...) must come from the app's own origin (`Origin` equal to the redirect URI's
///   origin, or `Sec-Fetch-Site: same-origin`), else 403 with a plain-text reason;
/// - an access token within a minute of expiry is refreshed with the refresh token first (one
///   refresh per session at a time; a rotated refresh token replaces the old one); a refresh
///   that fails ends the session, and the request goes on without credentials (the auth layer
///   answers 401) or, with [`OnSessionEnd::LoginForNavigation`], a navigation is sent to
///   `/login`;
/// - the session's access token is then passed on as `Authorization: Bearer`.
#[derive(Debug, Clone)]
pub struct WebSessionLayer {
    app: WebApp,
}

impl<S> Layer<S> for WebSessionLayer {
    type Service = WebSession<S>;

    fn layer(&self, inner: S) -> WebSession<S> {
        WebSession {
            inner,
            app: self.app.clone(),
        }
    }
}

/// The service of [`WebSessionLayer`].
#[derive(Debug, Clone)]
pub struct WebSession<S> {
    inner: S,
    app: WebApp,
}

impl<S, B> Service<Request<B>> for WebSession<S>
where
    S: Service<Request<B>, Response = Response> + Clone + Send + 'static,
    S::Future: Send + 'static,
    B: Send + 'static,
{
    type Response = Response;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Response, S::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut req: Request<B>) -> Self::Future {
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let app = Arc::clone(&self.app.inner);
        Box::pin(async move {
            if req.headers().contains_key(AUTHORIZATION) {
                return inner.call(req).await;
            }
            let Some(session) = req.extensions().get::<Session>().cloned() else {
                let message = "tower-okta: WebApp::layer() needs WebApp::session_layer() \
                               outside it (no session in the request)";
                return Ok((StatusCode::INTERNAL_SERVER_ERROR, message).into_response());
            };
            // A session cookie came with the request (an id was loaded).
            if session.id().is_some() && !is_safe(req.method()) && !same_origin(&app, &req) {
                return Ok(cross_site());
            }
            match session_token(&app, &session).await {
                Ok(Some(token)) => {
                    if let Ok(value) = HeaderValue::try_from(format!("Bearer {token}")) {
                        req.headers_mut().insert(AUTHORIZATION, value);
                    }
                }
                Ok(None) => {}
                Err(ended) => {
                    let navigation = req
                        .headers()
                        .get("sec-fetch-mode")
                        .is_some_and(|v| v == "navigate");
                    let mut response = if app.on_session_end == OnSessionEnd::LoginForNavigation
                        && navigation
                        && req.method() == Method::GET
                    {
                        to_login(req.uri())
                    } else {
                        inner.call(req).await?
                    };
                    if ended == Ended::Cleared {
                        expire_cookie(&mut response, app.secure_cookie);
                    }
                    return Ok(response);
                }
            }
            inner.call(req).await
        })
    }
}

/// The session's tokens expired and could not be refreshed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ended {
    /// Okta refused: the session was cleared.
    Cleared,
    /// Okta could not be reached: the session stays for a later try.
    Kept,
}

/// The session's access token, refreshed first if it expires within the margin. `Ok(None)`: no
/// signed-in session.
async fn session_token(app: &Inner, session: &Session) -> Result<Option<String>, Ended> {
    let tokens: Option<StoredTokens> = session.get(TOKENS_KEY).await.ok().flatten();
    let Some(tokens) = tokens else {
        return Ok(None);
    };
    if tokens.expires_at - app.now() > app.refresh_margin_secs {
        return Ok(Some(tokens.access_token));
    }
    // One refresh per session at a time: the others wait, then find the new tokens.
    let id = session.id().map(|id| id.to_string()).unwrap_or_default();
    let lock = app
        .refresh_locks
        .get_with(id, || Arc::new(tokio::sync::Mutex::new(())));
    let _guard = lock.lock().await;
    let tokens: Option<StoredTokens> = session.get(TOKENS_KEY).await.ok().flatten();
    let Some(tokens) = tokens else {
        return Ok(None);
    };
    if tokens.expires_at - app.now() > app.refresh_margin_secs {
        return Ok(Some(tokens.access_token));
    }
    match refresh(app, &tokens).await {
        Ok(fresh) => {
            let token = fresh.access_token.clone();
            if session.insert(TOKENS_KEY, fresh).await.is_err() {
                tracing::warn!("refreshed tokens could not be stored in the session");
            }
            Ok(Some(token))
        }
        // Okta unreachable: the session stays for the next request to try again.
        Err(WebAppError::Unavailable) => {
            tracing::warn!("session refresh failed: the authorization server is unavailable");
            Err(Ended::Kept)
        }
        Err(error) => {
            tracing::info!(reason = %error, "session refresh failed: the session ends");
            let _ = session.flush().await;
            Err(Ended::Cleared)
        }
    }
}

/// New tokens for `tokens`, verified like those of the sign-in.
async fn refresh(app: &Inner, tokens: &StoredTokens) -> Result<StoredTokens, WebAppError> {
    let refresh_token = tokens
        .refresh_token
        .as_deref()
        .ok_or(WebAppError::TokenRefused(super::OktaErrorCode::of(Some(
            "invalid_grant",
        ))))?;
    let fresh = app.refresh(refresh_token).await?;
    app.verifier
        .verify_access_token(&fresh.access_token)
        .await
        .map_err(WebAppError::InvalidToken)?;
    if let Some(id_token) = &fresh.id_token {
        app.verifier
            .verify_id_token(id_token, None)
            .await
            .map_err(WebAppError::InvalidToken)?;
    }
    Ok(StoredTokens {
        expires_at: app.expires_at(fresh.expires_in),
        access_token: fresh.access_token,
        // Rotation: the new refresh token replaces the old one; without one, the old one stays.
        refresh_token: fresh.refresh_token.or_else(|| tokens.refresh_token.clone()),
        id_token: fresh.id_token.or_else(|| tokens.id_token.clone()),
    })
}

/// Methods that change nothing (RFC 9110 section 9.2.1).
fn is_safe(method: &Method) -> bool {
    matches!(
        *method,
        Method::GET | Method::HEAD | Method::OPTIONS | Method::TRACE
    )
}

/// `Origin` is the app's origin, or the browser says the request is same-origin.
fn same_origin<B>(app: &Inner, req: &Request<B>) -> bool {
    let headers = req.headers();
    if let Some(origin) = headers.get(ORIGIN) {
        return origin.as_bytes() == app.origin.as_bytes();
    }
    headers
        .get("sec-fetch-site")
        .is_some_and(|v| v == "same-origin")
}

fn cross_site() -> Response {
    let body = "Forbidden: a cross-site request with this site's session cookie was refused \
                (CSRF protection: unsafe methods need an Origin of this site).\n";
    (StatusCode::FORBIDDEN, body).into_response()
}

/// A redirect to `/login`, back to `uri` after sign-in.
fn to_login(uri: &http::Uri) -> Response {
    let back = uri.path_and_query().map_or("/", |p| p.as_str());
    let mut login = url::Url::parse("http://x/login").expect("a fixed URL");
    login.query_pairs_mut().append_pair("return_to", back);
    let location = format!("/login?{}", login.query().unwrap_or_default());
    let mut response = StatusCode::SEE_OTHER.into_response();
    if let Ok(value) = HeaderValue::try_from(location) {
        response.headers_mut().insert(http::header::LOCATION, value);
    }
    response
}
