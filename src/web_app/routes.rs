//! The sign-in routes: `GET /login`, `GET /callback` (the redirect URI's path), `POST /logout`.

use std::collections::HashMap;

use axum::extract::{Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Router;
use tower_sessions::Session;

use super::session::{
    at_hash, expire_cookie, pkce_challenge, random_value, return_path, same, PendingLogin,
    StoredTokens, LOGIN_KEY, TOKENS_KEY,
};
use super::{OktaErrorCode, WebApp, WebAppError};

type Params = Query<HashMap<String, String>>;

impl WebApp {
    /// The sign-in routes, to merge into the app's router (inside
    /// [`session_layer`](Self::session_layer)):
    ///
    /// - `GET /login?return_to=/path`: starts the Authorization Code flow with PKCE (S256),
    ///   `state` and `nonce` kept in the session, and redirects to Okta's `/v1/authorize`;
    /// - `GET {redirect URI's path}`: checks `state` (single use, bound to this session),
    ///   exchanges the code with the client's authentication, verifies the ID token (`nonce`,
    ///   `at_hash`) and the access token with the verifier, rotates the session id, stores the
    ///   tokens server-side and redirects to `return_to` (same-origin paths only). Okta's error
    ///   redirects and every failure are a [`WebAppError`] page, never a panic;
    /// - `POST /logout`: revokes the refresh token, ends the session and redirects to Okta's
    ///   `/v1/logout` (`id_token_hint`, `post_logout_redirect_uri`) to end the Okta session too.
    pub fn routes<S: Clone + Send + Sync + 'static>(&self) -> Router<S> {
        let callback = self.inner.redirect_uri.path().to_owned();
        Router::new()
            .route("/login", get(login))
            .route(&callback, get(callback_handler))
            .route("/logout", post(logout))
            .with_state(self.clone())
    }
}

/// `GET /login`.
async fn login(State(app): State<WebApp>, session: Session, Query(q): Params) -> Response {
    let (Some(state), Some(nonce), Some(code_verifier)) =
        (random_value(), random_value(), random_value())
    else {
        return WebAppError::Unavailable.into_response();
    };
    let challenge = pkce_challenge(&code_verifier);
    let url = app.inner.authorize_url(&state, &nonce, &challenge);
    let pending = PendingLogin {
        state,
        nonce,
        code_verifier,
        return_to: return_path(q.get("return_to").map(String::as_str)),
    };
    if session.insert(LOGIN_KEY, pending).await.is_err() {
        return WebAppError::SessionStore.into_response();
    }
    Redirect::to(url.as_str()).into_response()
}

/// `GET /callback`.
async fn callback_handler(
    State(app): State<WebApp>,
    session: Session,
    Query(q): Params,
) -> Response {
    match callback(&app, &session, &q).await {
        Ok(return_to) => Redirect::to(&return_to).into_response(),
        Err(error) => {
            tracing::info!(reason = %error, "sign-in failed");
            error.into_response()
        }
    }
}

async fn callback(
    app: &WebApp,
    session: &Session,
    q: &HashMap<String, String>,
) -> Result<String, WebAppError> {
    // Single use: whatever happens next, this sign-in is over.
    let pending: PendingLogin = session
        .remove(LOGIN_KEY)
        .await
        .map_err(|_| WebAppError::SessionStore)?
        .ok_or(WebAppError::NoLoginInProgress)?;
    let state = q.get("state").map(String::as_str).unwrap_or_default();
    if !same(state, &pending.state) {
        return Err(WebAppError::StateMismatch);
    }
    match q.get("error").map(String::as_str) {
        Some("access_denied") => return Err(WebAppError::AccessDenied),
        Some(other) => {
            return Err(WebAppError::AuthorizationServer(OktaErrorCode::of(Some(
                other,
            ))))
        }
        None => {}
    }
    let code = q.get("code").ok_or(WebAppError::MissingCode)?;
    let inner = &app.inner;
    let tokens = inner.exchange_code(code, &pending.code_verifier).await?;
    let id_token = tokens
        .id_token
        .as_deref()
        .ok_or(WebAppError::BadTokenResponse)?;
    let id_claims = inner
        .verifier
        .verify_id_token(id_token, Some(&pending.nonce))
        .await
        .map_err(WebAppError::InvalidToken)?;
    if let Some(hash) = &id_claims.at_hash {
        if !same(hash, &at_hash(&tokens.access_token)) {
            return Err(WebAppError::AtHashMismatch);
        }
    }
    inner
        .verifier
        .verify_access_token(&tokens.access_token)
        .await
        .map_err(WebAppError::InvalidToken)?;
    // A new session id at sign-in: an id planted before it (session fixation) gets nothing.
    session
        .cycle_id()
        .await
        .map_err(|_| WebAppError::SessionStore)?;
    let stored = StoredTokens {
        expires_at: inner.expires_at(tokens.expires_in),
        access_token: tokens.access_token,
        refresh_token: tokens.refresh_token,
        id_token: tokens.id_token,
    };
    session
        .insert(TOKENS_KEY, stored)
        .await
        .map_err(|_| WebAppError::SessionStore)?;
    tracing::info!(sub = %id_claims.sub, "signed in");
    Ok(pending.return_to)
}

/// `POST /logout`.
async fn logout(State(app): State<WebApp>, session: Session) -> Response {
    let tokens: Option<StoredTokens> = session.get(TOKENS_KEY).await.ok().flatten();
    if let Some(refresh) = tokens.as_ref().and_then(|t| t.refresh_token.as_deref()) {
        if !app.inner.revoke_refresh_token(refresh).await {
            tracing::warn!("the refresh token could not be revoked at sign-out");
        }
    }
    if session.flush().await.is_err() {
        return WebAppError::SessionStore.into_response();
    }
    let okta_logout = tokens
        .as_ref()
        .and_then(|t| t.id_token.as_deref())
        .and_then(|id| {
            let back = app.inner.post_logout_redirect_uri.as_ref()?;
            Some(app.inner.logout_url(id, back))
        });
    let mut response = match okta_logout {
        Some(url) => Redirect::to(url.as_str()).into_response(),
        None => Redirect::to("/").into_response(),
    };
    expire_cookie(&mut response, app.inner.secure_cookie);
    response
}
