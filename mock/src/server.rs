//! The mock's HTTP server: an axum router under the issuer's path, served on a spawned task
//! until the `MockOkta` handle is dropped.

use std::sync::Arc;

use axum::middleware::from_fn_with_state;
use axum::routing::{get, post, MethodRouter};
use axum::Router;
use tokio::net::TcpListener;
use tokio::sync::oneshot;

use crate::cors;
use crate::endpoints::{authorize, discovery, introspect, keys, logout, revoke, token, userinfo};
use crate::reply::{method_not_allowed, not_found};
use crate::state::Shared;

type Endpoint = MethodRouter<Arc<Shared>>;

/// The routes of the authorization server whose issuer path is `base` (`/oauth2/{id}`).
pub(crate) fn router(state: Arc<Shared>, base: &str) -> Router {
    let origins: cors::Origins = state.config.allowed_origins.clone().into();
    let cors = cors::layer(Arc::clone(&origins));
    // Called by a browser with `fetch`: CORS for the trusted origins.
    let browser = |endpoint: Endpoint| {
        endpoint
            .fallback(method_not_allowed)
            .layer(cors.clone())
            .layer(from_fn_with_state(
                Arc::clone(&origins),
                cors::refuse_untrusted_preflight,
            ))
    };
    // Navigations (authorize, logout): no CORS.
    let plain = |endpoint: Endpoint| endpoint.fallback(method_not_allowed);
    let path = |suffix: &str| format!("{base}{suffix}");
    Router::new()
        .route(
            &path("/.well-known/openid-configuration"),
            browser(get(discovery::get)),
        )
        .route(
            &path("/.well-known/oauth-authorization-server"),
            browser(get(discovery::get)),
        )
        .route(&path("/v1/keys"), browser(get(keys::get)))
        .route(&path("/v1/token"), browser(post(token::post)))
        .route(
            &path("/v1/userinfo"),
            browser(get(userinfo::handle).post(userinfo::handle)),
        )
        .route(&path("/v1/revoke"), browser(post(revoke::post)))
        .route(&path("/v1/introspect"), browser(post(introspect::post)))
        .route(&path("/v1/authorize"), plain(get(authorize::get)))
        .route(&path("/v1/logout"), plain(get(logout::get)))
        .fallback(not_found)
        .with_state(state)
}

/// Serves `router` on `listener` from a task on the current runtime; dropping (or sending on)
/// the returned sender stops accepting, closes idle connections and lets running requests end.
pub(crate) fn spawn(listener: TcpListener, router: Router) -> oneshot::Sender<()> {
    let (stop, stopped) = oneshot::channel::<()>();
    tokio::spawn(async move {
        let shutdown = async {
            // Sent or dropped: either way, stop.
            let _ = stopped.await;
        };
        if let Err(error) = axum::serve(listener, router)
            .with_graceful_shutdown(shutdown)
            .await
        {
            tracing::warn!(%error, "mock Okta server stopped");
        }
    });
    stop
}
