//! The mock's HTTP server (hyper, HTTP/1.1).

use std::sync::atomic::Ordering;
use std::sync::Arc;

use bytes::Bytes;
use http::{header, Method, Request, Response, StatusCode};
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;

use super::{lock, KeysFault, State};

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

fn json(status: StatusCode, body: &serde_json::Value) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from(body.to_string())));
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static("application/json"),
    );
    response
}

fn okta_error(status: StatusCode, code: &str, summary: &str) -> Response<Full<Bytes>> {
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
    if req.method() != Method::GET {
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
            match fault {
                KeysFault::Status(code) => {
                    let status =
                        StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
                    return Ok(okta_error(status, "E0000009", "Internal Server Error"));
                }
                KeysFault::Delay(delay) => tokio::time::sleep(delay).await,
                KeysFault::Body(body) => {
                    let mut response = Response::new(Full::new(Bytes::from(body)));
                    response.headers_mut().insert(
                        header::CONTENT_TYPE,
                        header::HeaderValue::from_static("application/json"),
                    );
                    return Ok(response);
                }
                KeysFault::CloseConnection => return Err(Close),
                KeysFault::None => {}
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
