//! Fault injection into the keys and introspection endpoints.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::Response;
use http_body::Frame;

use crate::reply::{okta_error, Answer};

/// What the keys endpoint does instead of answering normally.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum KeysFault {
    /// Answer normally.
    #[default]
    None,
    /// Answer with this HTTP status and an Okta-style error body.
    Status(u16),
    /// Wait this long, then answer normally.
    Delay(Duration),
    /// Answer 200 with this body instead of the JWKS.
    Body(String),
    /// Close the connection without answering.
    CloseConnection,
}

/// What a fault-injected endpoint does: `Some` answer instead of the normal one, or `None` to go
/// on (after a delay).
pub(crate) async fn apply(fault: KeysFault) -> Option<Answer> {
    match fault {
        KeysFault::Status(429) => Some(okta_error(
            StatusCode::TOO_MANY_REQUESTS,
            "E0000047",
            "API call exceeded rate limit due to too many requests.",
        )),
        KeysFault::Status(code) => {
            let status = StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            Some(okta_error(status, "E0000009", "Internal Server Error"))
        }
        KeysFault::Delay(delay) => {
            tokio::time::sleep(delay).await;
            None
        }
        KeysFault::Body(body) => {
            let mut response = Response::new(Body::from(body));
            response.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            );
            Some(response)
        }
        KeysFault::CloseConnection => Some(Response::new(Body::new(Broken))),
        KeysFault::None => None,
    }
}

/// A body that fails before its first byte: hyper then drops the connection without sending
/// the response head (a handler cannot close its connection any other way).
struct Broken;

impl http_body::Body for Broken {
    type Data = Bytes;
    type Error = io::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        _: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, io::Error>>> {
        Poll::Ready(Some(Err(io::Error::other(
            "connection closed by fault injection",
        ))))
    }
}
