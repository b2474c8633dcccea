//! RFC 6750 answers, and the response body type of the layer.

use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use http::header::{
    HeaderName, HeaderValue, CACHE_CONTROL, CONTENT_TYPE, RETRY_AFTER, WWW_AUTHENTICATE,
};
use http::Response;
use http_body::{Body, Frame, SizeHint};
use percent_encoding::{utf8_percent_encode, AsciiSet, CONTROLS};
use pin_project_lite::pin_project;

use crate::error::{AuthError, ErrorKind};

/// The HTTP answer to a rejection:
///
/// | kind | status | `WWW-Authenticate` |
/// |---|---|---|
/// | missing token | 401 | `Bearer realm="..."` |
/// | invalid request | 400 | `Bearer realm="...", error="invalid_request", error_description="..."` |
/// | invalid token | 401 | `Bearer realm="...", error="invalid_token", error_description="..."` |
/// | insufficient scope | 403 | `Bearer realm="...", error="insufficient_scope", error_description="...", scope="..."` |
/// | keys unavailable | 503 | none; `Retry-After` |
/// | introspection unavailable (fail closed) | 503 | none; `Retry-After` |
///
/// The JSON body repeats the error code and description. Descriptions are fixed strings: no
/// token content is ever echoed.
///
/// An extension point: the layer answers with it, and so can code that verifies tokens itself
/// (with [`Verifier::verify_access_token`](crate::Verifier::verify_access_token) outside tower,
/// or a check of its own in a handler):
///
/// ```
/// use tower_okta::{rejection_response, AuthError, ResponseBody, TokenError};
///
/// let error = AuthError::InvalidToken(TokenError::Expired);
/// let response = rejection_response::<()>(&error, "orders-api");
/// assert_eq!(response.status(), 401);
/// assert_eq!(
///     response.headers()["www-authenticate"],
///     r#"Bearer realm="orders-api", error="invalid_token", error_description="the token has expired""#
/// );
/// # let _: &ResponseBody<()> = response.body();
/// ```
#[must_use]
pub fn rejection_response<B>(error: &AuthError, realm: &str) -> Response<ResponseBody<B>> {
    rejection_response_with(error, realm, Challenges::BEARER)
}

/// The schemes a rejection's `WWW-Authenticate` advertises, and where its error goes.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Challenges<'a> {
    /// `Bearer` is accepted.
    pub(crate) bearer: bool,
    /// `DPoP` is accepted, with these proof algorithms (`"ES256 RS256"`).
    pub(crate) dpop_algs: Option<&'a str>,
    /// The request used the `DPoP` scheme.
    pub(crate) dpop_used: bool,
}

impl Challenges<'_> {
    /// Bearer only (RFC 6750).
    pub(crate) const BEARER: Challenges<'static> = Challenges {
        bearer: true,
        dpop_algs: None,
        dpop_used: false,
    };
}

/// [`rejection_response`] with the challenges of a layer's DPoP policy (RFC 9449 section 7.1):
/// the error goes in the challenge of the scheme it concerns, and the other accepted scheme
/// follows as a bare challenge; `use_dpop_nonce` also carries the `DPoP-Nonce` header.
pub(crate) fn rejection_response_with<B>(
    error: &AuthError,
    realm: &str,
    challenges: Challenges<'_>,
) -> Response<ResponseBody<B>> {
    let kind = error.kind();
    let status = kind.status();
    let (code, description) = match kind {
        ErrorKind::MissingToken => ("unauthorized", "a bearer token is required"),
        ErrorKind::KeysUnavailable => (
            "temporarily_unavailable",
            "the token issuer's signing keys are unavailable; try again later",
        ),
        ErrorKind::IntrospectionUnavailable => (
            "temporarily_unavailable",
            "the token issuer cannot confirm the token is active; try again later",
        ),
        _ => (
            kind.error_code().unwrap_or("invalid_token"),
            error.description().unwrap_or(""),
        ),
    };
    let body = serde_json::json!({ "error": code, "error_description": description }).to_string();
    let mut response = Response::new(ResponseBody::full(Bytes::from(body)));
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    challenge_headers(headers, error, realm, challenges);
    response
}

/// `WWW-Authenticate` (not for a 503), `Retry-After` (503) and `DPoP-Nonce` (`use_dpop_nonce`).
fn challenge_headers(
    headers: &mut http::HeaderMap,
    error: &AuthError,
    realm: &str,
    challenges: Challenges<'_>,
) {
    if !error.kind().is_unavailable() {
        if let Ok(value) = HeaderValue::from_str(&www_authenticate(error, realm, challenges)) {
            headers.insert(WWW_AUTHENTICATE, value);
        }
    }
    if let Some(secs) = error.retry_after_secs() {
        headers.insert(RETRY_AFTER, HeaderValue::from(secs));
    }
    if let AuthError::UseDpopNonce { nonce } = error {
        if let Ok(value) = HeaderValue::from_str(nonce) {
            headers.insert(HeaderName::from_static("dpop-nonce"), value);
        }
    }
}

/// The gRPC answer to a rejection, for requests with `content-type: application/grpc...`: a
/// trailers-only gRPC response (HTTP 200, `grpc-status`, `grpc-message`), so that gRPC clients
/// see `UNAUTHENTICATED` (missing, malformed or invalid token), `PERMISSION_DENIED` (insufficient
/// scope) or `UNAVAILABLE` (keys or introspection unavailable) instead of a protocol error. The
/// `WWW-Authenticate` challenge, and for `UNAVAILABLE` the `Retry-After` seconds, are kept as
/// metadata.
///
/// An extension point, like [`rejection_response`], for gRPC services:
///
/// ```
/// use tower_okta::{grpc_rejection_response, AuthError};
///
/// let response = grpc_rejection_response::<()>(&AuthError::MissingToken, "api");
/// assert_eq!(response.status(), 200);
/// assert_eq!(response.headers()["grpc-status"], "16"); // UNAUTHENTICATED
/// ```
#[must_use]
pub fn grpc_rejection_response<B>(error: &AuthError, realm: &str) -> Response<ResponseBody<B>> {
    grpc_rejection_response_with(error, realm, Challenges::BEARER)
}

/// [`grpc_rejection_response`] with the challenges of a layer's DPoP policy.
pub(crate) fn grpc_rejection_response_with<B>(
    error: &AuthError,
    realm: &str,
    challenges: Challenges<'_>,
) -> Response<ResponseBody<B>> {
    let kind = error.kind();
    let code = match kind {
        ErrorKind::InsufficientScope => "7",
        _ if kind.is_unavailable() => "14",
        _ => "16",
    };
    let message = error.description().unwrap_or(match kind {
        ErrorKind::KeysUnavailable => "the token issuer's signing keys are unavailable",
        ErrorKind::IntrospectionUnavailable => "token introspection is unavailable",
        _ => "a bearer token is required",
    });
    let mut response = Response::new(ResponseBody::full(Bytes::new()));
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/grpc"));
    headers.insert("grpc-status", HeaderValue::from_static(code));
    if let Ok(value) = HeaderValue::from_str(&grpc_percent_encode(message)) {
        headers.insert("grpc-message", value);
    }
    challenge_headers(headers, error, realm, challenges);
    response
}

/// The 500 answer of a guard on a route where no auth layer ran: a server misconfiguration,
/// explained in plain text (the message names a type, never request content).
pub(crate) fn missing_layer_response<B>(message: String) -> Response<ResponseBody<B>> {
    let mut response = Response::new(ResponseBody::full(Bytes::from(message)));
    *response.status_mut() = http::StatusCode::INTERNAL_SERVER_ERROR;
    response.headers_mut().insert(
        CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    response
}

/// True for gRPC requests (`content-type: application/grpc`, `application/grpc+proto`...).
pub(crate) fn is_grpc(headers: &http::HeaderMap) -> bool {
    headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/grpc"))
}

/// gRPC's `grpc-message` encoding: printable ASCII except `%` as is, the rest percent-encoded.
const GRPC_MESSAGE: &AsciiSet = &CONTROLS.add(b'%');

fn grpc_percent_encode(message: &str) -> String {
    utf8_percent_encode(message, GRPC_MESSAGE).to_string()
}

/// The `WWW-Authenticate` value for an error: the challenge that carries the error first, then
/// the other accepted scheme's bare challenge (one header, comma-separated, as RFC 9449 section
/// 7.2 shows).
fn www_authenticate(error: &AuthError, realm: &str, challenges: Challenges<'_>) -> String {
    let mut params = String::new();
    if let (Some(code), Some(description)) = (error.kind().error_code(), error.description()) {
        params.push_str(&format!(
            ", error=\"{code}\", error_description=\"{}\"",
            quote(description)
        ));
    }
    if let AuthError::InsufficientScope(scope) = error {
        if !scope.is_empty() {
            params.push_str(&format!(", scope=\"{}\"", quote(scope)));
        }
    }
    let bearer = format!("Bearer realm=\"{}\"", quote(realm));
    let Some(algs) = challenges.dpop_algs else {
        return bearer + &params;
    };
    let dpop = format!("DPoP algs=\"{}\"", quote(algs));
    let error_in_dpop = challenges.dpop_used || error.concerns_dpop() || !challenges.bearer;
    match (error_in_dpop, challenges.bearer) {
        (true, true) => format!("{dpop}{params}, {bearer}"),
        (true, false) => dpop + &params,
        (false, _) if params.is_empty() => format!("{bearer}, {dpop}"),
        (false, _) => format!("{bearer}{params}, {dpop}"),
    }
}

/// Keeps a quoted-string well formed: printable ASCII only, `"` and `\` escaped.
fn quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '"' | '\\' => {
                out.push('\\');
                out.push(c);
            }
            ' '..='~' => out.push(c),
            _ => out.push('?'),
        }
    }
    out
}

pin_project! {
    /// The response body of [`OktaAuth`](crate::OktaAuth): the inner service's body, or the
    /// small JSON body of a rejection.
    pub struct ResponseBody<B> {
        #[pin]
        kind: BodyKind<B>,
    }
}

pin_project! {
    #[project = BodyKindProj]
    enum BodyKind<B> {
        Inner { #[pin] body: B },
        Full { data: Option<Bytes> },
    }
}

impl<B> ResponseBody<B> {
    /// Wraps a body of the inner service's type, for responses built outside the layer that
    /// must have the same type as the layer's (for example a public route next to it).
    pub fn new(body: B) -> Self {
        ResponseBody::inner(body)
    }

    pub(crate) fn inner(body: B) -> Self {
        ResponseBody {
            kind: BodyKind::Inner { body },
        }
    }

    pub(crate) fn full(data: Bytes) -> Self {
        let data = (!data.is_empty()).then_some(data);
        ResponseBody {
            kind: BodyKind::Full { data },
        }
    }
}

impl<B> std::fmt::Debug for ResponseBody<B> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ResponseBody")
    }
}

impl<B: Body<Data = Bytes>> Body for ResponseBody<B> {
    type Data = Bytes;
    type Error = B::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        match self.project().kind.project() {
            BodyKindProj::Inner { body } => body.poll_frame(cx),
            BodyKindProj::Full { data } => Poll::Ready(data.take().map(|d| Ok(Frame::data(d)))),
        }
    }

    fn is_end_stream(&self) -> bool {
        match &self.kind {
            BodyKind::Inner { body } => body.is_end_stream(),
            BodyKind::Full { data } => data.is_none(),
        }
    }

    fn size_hint(&self) -> SizeHint {
        match &self.kind {
            BodyKind::Inner { body } => body.size_hint(),
            BodyKind::Full { data } => {
                SizeHint::with_exact(data.as_ref().map_or(0, |d| d.len() as u64))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::{RequestError, TokenError};
    use http::StatusCode;

    fn header(e: &AuthError) -> Option<String> {
        let r: Response<ResponseBody<String>> = rejection_response(e, "api");
        r.headers()
            .get(WWW_AUTHENTICATE)
            .map(|v| v.to_str().unwrap().to_owned())
    }

    #[test]
    fn challenges_follow_rfc6750() {
        assert_eq!(
            header(&AuthError::MissingToken).unwrap(),
            r#"Bearer realm="api""#
        );
        assert_eq!(
            header(&AuthError::InvalidToken(TokenError::Expired)).unwrap(),
            r#"Bearer realm="api", error="invalid_token", error_description="the token has expired""#
        );
        assert!(header(&RequestError::MalformedAuthorizationHeader.into())
            .unwrap()
            .contains(r#"error="invalid_request""#));
        assert!(header(&AuthError::InsufficientScope("read write".into()))
            .unwrap()
            .ends_with(r#"scope="read write""#));
        assert_eq!(
            header(&AuthError::KeysUnavailable {
                retry_after_secs: 3
            }),
            None
        );
        assert_eq!(quote("a\"b\\c\u{7f}é"), "a\\\"b\\\\c??");
        assert_eq!(grpc_percent_encode("50% ok\n"), "50%25 ok%0A");
    }

    #[test]
    fn grpc_requests_get_grpc_statuses() {
        let grpc = |e: &AuthError| {
            let r: Response<ResponseBody<String>> = grpc_rejection_response(e, "api");
            assert_eq!(r.status(), StatusCode::OK);
            assert_eq!(r.headers()[CONTENT_TYPE], "application/grpc");
            (
                r.headers()["grpc-status"].to_str().unwrap().to_owned(),
                r.headers()
                    .get("grpc-message")
                    .map(|v| v.to_str().unwrap().to_owned()),
                r.headers().contains_key(WWW_AUTHENTICATE),
            )
        };
        assert_eq!(
            grpc(&AuthError::MissingToken),
            ("16".into(), Some("a bearer token is required".into()), true)
        );
        assert_eq!(
            grpc(&AuthError::InvalidToken(TokenError::Expired)),
            ("16".into(), Some("the token has expired".into()), true)
        );
        assert_eq!(grpc(&AuthError::InsufficientScope("a".into())).0, "7");
        assert_eq!(
            grpc(&AuthError::KeysUnavailable {
                retry_after_secs: 3
            })
            .0,
            "14"
        );
        assert!(
            !grpc(&AuthError::KeysUnavailable {
                retry_after_secs: 3
            })
            .2
        );
        let mut headers = http::HeaderMap::new();
        assert!(!is_grpc(&headers));
        headers.insert(
            CONTENT_TYPE,
            HeaderValue::from_static("application/grpc+proto"),
        );
        assert!(is_grpc(&headers));
    }

    #[test]
    fn every_503_says_when_to_retry() {
        let keys = AuthError::KeysUnavailable {
            retry_after_secs: 7,
        };
        let introspection = AuthError::IntrospectionUnavailable {
            retry_after_secs: 0,
        };
        for (error, secs) in [(&keys, "7"), (&introspection, "1")] {
            let http: Response<ResponseBody<String>> = rejection_response(error, "api");
            assert_eq!(http.status(), StatusCode::SERVICE_UNAVAILABLE);
            assert_eq!(http.headers()[RETRY_AFTER], secs, "{error:?}");
            assert!(!http.headers().contains_key(WWW_AUTHENTICATE));
            let grpc: Response<ResponseBody<String>> = grpc_rejection_response(error, "api");
            assert_eq!(grpc.headers()["grpc-status"], "14");
            assert_eq!(grpc.headers()[RETRY_AFTER], secs, "{error:?}");
        }
        let message = |e: &AuthError| {
            let r: Response<ResponseBody<String>> = grpc_rejection_response(e, "api");
            r.headers()["grpc-message"].to_str().unwrap().to_owned()
        };
        assert_eq!(
            message(&introspection),
            "token introspection is unavailable"
        );
        let refused: Response<ResponseBody<String>> =
            rejection_response(&AuthError::InvalidToken(TokenError::Expired), "api");
        assert!(!refused.headers().contains_key(RETRY_AFTER));
        assert_eq!(
            AuthError::keys_unavailable(std::time::Duration::from_millis(1_200)).retry_after_secs(),
            Some(2)
        );
        assert_eq!(
            AuthError::keys_unavailable(std::time::Duration::ZERO).retry_after_secs(),
            Some(1)
        );
    }
}
