//! Fault injection into the keys and introspection endpoints.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::body::{Body, Bytes};
use axum::http::{header, HeaderName, HeaderValue, StatusCode};
use axum::response::Response;
use http_body::Frame;

use crate::reply::{okta_error, Answer};

/// How long after a `429` Okta's rate limit resets when the fault does not say:
/// `X-Rate-Limit-Reset` is the mock clock's now plus this.
const DEFAULT_RATE_LIMIT_RESET: Duration = Duration::from_secs(60);

/// The `X-Rate-Limit-Limit` of the mock's `429` answers (requests per minute).
const RATE_LIMIT_LIMIT: &str = "600";

/// What the keys (or introspection) endpoint does instead of answering normally.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum KeysFault {
    /// Answer normally.
    #[default]
    None,
    /// Answer with this HTTP status and an Okta-style error body. `429` is Okta's rate limit,
    /// as [`KeysFault::RateLimited`] with a reset one minute away.
    Status(u16),
    /// Answer `429` as Okta's rate limiter does: error `E0000047`, `X-Rate-Limit-Limit`,
    /// `X-Rate-Limit-Remaining: 0` and `X-Rate-Limit-Reset` (Unix seconds: the mock clock's now
    /// plus `reset_after`, rounded up), and no `Retry-After` (Okta does not send one).
    RateLimited {
        /// How long until the limit resets, from the mock clock's now.
        reset_after: Duration,
    },
    /// Wait this long, then answer normally.
    Delay(Duration),
    /// Answer 200 with this body instead of the JWKS.
    Body(String),
    /// Close the connection without answering.
    CloseConnection,
}

/// Okta's `429` at `now`, its limit resetting `reset_after` later (rounded up to a whole
/// second).
fn rate_limited(now: SystemTime, reset_after: Duration) -> Answer {
    let mut response = okta_error(
        StatusCode::TOO_MANY_REQUESTS,
        "E0000047",
        "API call exceeded rate limit due to too many requests.",
    );
    let reset = now.checked_add(reset_after).unwrap_or(now);
    let reset = reset.duration_since(UNIX_EPOCH).unwrap_or_default();
    let reset_secs = reset.as_secs() + u64::from(reset.subsec_nanos() > 0);
    let headers = response.headers_mut();
    headers.insert(
        HeaderName::from_static("x-rate-limit-limit"),
        HeaderValue::from_static(RATE_LIMIT_LIMIT),
    );
    headers.insert(
        HeaderName::from_static("x-rate-limit-remaining"),
        HeaderValue::from_static("0"),
    );
    headers.insert(
        HeaderName::from_static("x-rate-limit-reset"),
        HeaderValue::from(reset_secs),
    );
    response
}

/// What a fault-injected endpoint does at `now` (the mock clock's): `Some` answer instead of
/// the normal one, or `None` to go on (after a delay).
pub(crate) async fn apply(fault: KeysFault, now: SystemTime) -> Option<Answer> {
    match fault {
        KeysFault::None => None,
        KeysFault::Status(429) => Some(rate_limited(now, DEFAULT_RATE_LIMIT_RESET)),
        KeysFault::RateLimited { reset_after } => Some(rate_limited(now, reset_after)),
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
