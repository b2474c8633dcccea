//! CORS for the endpoints a browser calls with `fetch` (discovery, keys, token, userinfo,
//! revoke, introspect), for the trusted origins only (Okta's Security > API > Trusted Origins).

use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Request, State};
use axum::http::{header, request, HeaderName, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use tower_http::cors::{AllowOrigin, CorsLayer};

use crate::reply::{okta_error, Answer};

/// The request headers a browser may send (okta-auth-js sends `Accept`, `Content-Type`,
/// `X-Okta-User-Agent-Extended`, and `Authorization` to revoke and introspect).
const ALLOWED_HEADERS: [HeaderName; 6] = [
    header::ACCEPT,
    header::AUTHORIZATION,
    header::CONTENT_TYPE,
    HeaderName::from_static("dpop"),
    HeaderName::from_static("x-okta-user-agent-extended"),
    HeaderName::from_static("x-requested-with"),
];

/// The trusted origins.
pub(crate) type Origins = Arc<[String]>;

fn is_trusted(origins: &[String], origin: &HeaderValue) -> bool {
    origin
        .to_str()
        .is_ok_and(|origin| origins.iter().any(|trusted| trusted == origin))
}

/// Whether the answer may name `origin` in `Access-Control-Allow-Origin`: a trusted origin, and
/// for a preflight, a method the endpoints serve and only headers of [`ALLOWED_HEADERS`] (so
/// that the browser refuses the request before sending it, as with Okta).
fn allows(origins: &[String], origin: &HeaderValue, parts: &request::Parts) -> bool {
    if !is_trusted(origins, origin) {
        return false;
    }
    if parts.method != Method::OPTIONS {
        return true;
    }
    let method_ok = parts
        .headers
        .get(header::ACCESS_CONTROL_REQUEST_METHOD)
        .is_some_and(|m| m == "GET" || m == "POST");
    let headers_ok = parts
        .headers
        .get_all(header::ACCESS_CONTROL_REQUEST_HEADERS)
        .iter()
        .all(|value| {
            value.to_str().is_ok_and(|list| {
                list.split(',')
                    .map(str::trim)
                    .filter(|h| !h.is_empty())
                    .all(|h| {
                        ALLOWED_HEADERS
                            .iter()
                            .any(|a| a.as_str().eq_ignore_ascii_case(h))
                    })
            })
        });
    method_ok && headers_ok
}

/// The CORS layer: `Access-Control-Allow-Origin` (the request's origin) on answers to trusted
/// origins, `Access-Control-Expose-Headers: WWW-Authenticate, DPoP-Nonce` (userinfo's challenge,
/// the token endpoint's DPoP nonce), preflights
/// answered for `GET` and `POST` with a ten-minute max age.
pub(crate) fn layer(origins: Origins) -> CorsLayer {
    CorsLayer::new()
        .allow_origin(AllowOrigin::predicate(move |origin, parts| {
            allows(&origins, origin, parts)
        }))
        .allow_methods([Method::GET, Method::POST, Method::OPTIONS])
        .allow_headers(ALLOWED_HEADERS)
        .expose_headers([
            header::WWW_AUTHENTICATE,
            HeaderName::from_static("dpop-nonce"),
        ])
        .max_age(Duration::from_secs(600))
}

/// Okta refuses a preflight from an origin that is not trusted with `403` and an Okta error
/// body. `CorsLayer` answers every preflight itself with `200` (leaving out
/// `Access-Control-Allow-Origin` when the origin is not allowed) and cannot be told another
/// status, so this middleware, outside the layer, answers those preflights first.
pub(crate) async fn refuse_untrusted_preflight(
    State(origins): State<Origins>,
    request: Request,
    next: Next,
) -> Answer {
    let preflight = request.method() == Method::OPTIONS
        && request
            .headers()
            .contains_key(header::ACCESS_CONTROL_REQUEST_METHOD);
    let trusted = request
        .headers()
        .get(header::ORIGIN)
        .is_some_and(|origin| is_trusted(&origins, origin));
    if preflight && !trusted {
        return okta_error(
            StatusCode::FORBIDDEN,
            "E0000006",
            "The origin is not a trusted origin of this org",
        );
    }
    next.run(request).await
}
