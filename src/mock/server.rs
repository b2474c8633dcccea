//! The mock's HTTP server (hyper, HTTP/1.1).

use std::sync::atomic::Ordering;
use std::sync::Arc;

use bytes::Bytes;
use http::{header, Method, Request, Response, StatusCode};
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;

use super::{lock, oauth, service_app, KeysFault, State};

/// The largest request body read (token and revocation forms are a few KiB).
const MAX_BODY: usize = 64 * 1024;

/// Accepts connections until the task is aborted.
pub(crate) async fn serve(listener: tokio::net::TcpListener, state: Arc<State>, base: String) {
    let base: Arc<str> = base.into();
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        let state = Arc::clone(&state);
        let base = Arc::clone(&base);
        tokio::spawn(async move {
            let service = service_fn(move |req| {
                let state = Arc::clone(&state);
                let base = Arc::clone(&base);
                async move { handle(req, &state, &base).await }
            });
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}

/// Dropping the connection: the error makes hyper close it without an answer.
#[derive(Debug)]
struct Close;

impl std::fmt::Display for Close {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("connection closed by fault injection")
    }
}

impl std::error::Error for Close {}

pub(super) fn json(status: StatusCode, body: &serde_json::Value) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from(body.to_string())));
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static("application/json"),
    );
    response
}

pub(super) fn okta_error(status: StatusCode, code: &str, summary: &str) -> Response<Full<Bytes>> {
    json(
        status,
        &serde_json::json!({
            "errorCode": code,
            "errorSummary": summary,
            "errorLink": code,
            "errorId": "oae-mock",
            "errorCauses": [],
        }),
    )
}

async fn handle(
    req: Request<Incoming>,
    state: &State,
    base: &str,
) -> Result<Response<Full<Bytes>>, Close> {
    let Some(path) = req.uri().path().strip_prefix(base) else {
        return Ok(okta_error(StatusCode::NOT_FOUND, "E0000022", "Not found"));
    };
    let path = path.to_owned();
    let cors = oauth::is_cors_path(&path);
    if cors
        && req.method() == Method::OPTIONS
        && req
            .headers()
            .contains_key(header::ACCESS_CONTROL_REQUEST_METHOD)
    {
        return Ok(oauth::preflight(state, req.headers()));
    }
    let (parts, body) = req.into_parts();
    let mut response = route(state, &path, &parts, body).await?;
    if cors {
        oauth::add_cors(state, &parts.headers, &mut response);
    }
    Ok(response)
}

async fn route(
    state: &State,
    path: &str,
    parts: &http::request::Parts,
    body: Incoming,
) -> Result<Response<Full<Bytes>>, Close> {
    if parts.method == Method::POST {
        let body = match Limited::new(body, MAX_BODY).collect().await {
            Ok(collected) => collected.to_bytes(),
            Err(_) => {
                return Ok(okta_error(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "E0000001",
                    "The request body is too large or could not be read",
                ))
            }
        };
        if path == "/v1/introspect" {
            state.introspections.fetch_add(1, Ordering::SeqCst);
            let fault = lock(&state.introspect_fault).clone();
            if let Some(answer) = apply_fault(fault).await? {
                return Ok(answer);
            }
            return Ok(service_app::introspect(state, &parts.headers, &body));
        }
        if let Some(answer) = oauth::handle(
            state,
            &parts.method,
            path,
            parts.uri.query(),
            &parts.headers,
            &body,
        ) {
            return Ok(answer);
        }
    } else if let Some(answer) = oauth::handle(
        state,
        &parts.method,
        path,
        parts.uri.query(),
        &parts.headers,
        &[],
    ) {
        return Ok(answer);
    }
    if parts.method != Method::GET {
        return Ok(okta_error(
            StatusCode::METHOD_NOT_ALLOWED,
            "E0000022",
            "The endpoint does not support the provided HTTP method",
        ));
    }
    match path {
        "/.well-known/openid-configuration" | "/.well-known/oauth-authorization-server" => {
            state.discovery_fetches.fetch_add(1, Ordering::SeqCst);
            Ok(json(StatusCode::OK, &state.discovery()))
        }
        "/v1/keys" => {
            state.key_fetches.fetch_add(1, Ordering::SeqCst);
            let fault = lock(&state.fault).clone();
            if let Some(answer) = apply_fault(fault).await? {
                return Ok(answer);
            }
            let mut response = json(StatusCode::OK, &state.jwks());
            let cache_control = lock(&state.cache_control).clone();
            if let Ok(value) = header::HeaderValue::from_str(&cache_control) {
                response.headers_mut().insert(header::CACHE_CONTROL, value);
            }
            Ok(response)
        }
        _ => Ok(okta_error(StatusCode::NOT_FOUND, "E0000022", "Not found")),
    }
}

/// What a fault-injected endpoint does: `Some` answer instead of the normal one, `None` to go on
/// (after a delay), or `Err` to drop the connection.
async fn apply_fault(fault: KeysFault) -> Result<Option<Response<Full<Bytes>>>, Close> {
    match fault {
        KeysFault::Status(429) => Ok(Some(okta_error(
            StatusCode::TOO_MANY_REQUESTS,
            "E0000047",
            "API call exceeded rate limit due to too many requests.",
        ))),
        KeysFault::Status(code) => {
            let status = StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            Ok(Some(okta_error(
                status,
                "E0000009",
                "Internal Server Error",
            )))
        }
        KeysFault::Delay(delay) => {
            tokio::time::sleep(delay).await;
            Ok(None)
        }
        KeysFault::Body(body) => {
            let mut response = Response::new(Full::new(Bytes::from(body)));
            response.headers_mut().insert(
                header::CONTENT_TYPE,
                header::HeaderValue::from_static("application/json"),
            );
            Ok(Some(response))
        }
        KeysFault::CloseConnection => Err(Close),
        KeysFault::None => Ok(None),
    }
}
