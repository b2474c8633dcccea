//! Bearer credentials from a request (RFC 6750, section 2).
//!
//! Only the `Authorization` header is accepted. A token in the URI query (`access_token=`) is an
//! unsupported method (query tokens leak into logs and history): alone it counts as no
//! credentials (401 without an error code, RFC 6750 section 3.1); next to a header it is a 400 for
//! using more than one method.

use http::header::AUTHORIZATION;
use http::{HeaderMap, Method, Request, Uri};

use crate::error::{AuthError, RequestError};

/// The bearer token of a request, borrowed from its `Authorization` header.
///
/// - no `Authorization` header, or another scheme (a query `access_token` alone included):
///   [`AuthError::MissingToken`] (401, no error code);
/// - several `Authorization` headers, an empty or malformed credential, more than one token, or a
///   token also in the query: [`AuthError::InvalidRequest`] (400).
///
/// The scheme name is case-insensitive; the token must be an RFC 6750 `b64token`.
///
/// An extension point for code that verifies tokens without the layer (the layer uses the
/// same rules):
///
/// ```
/// use http::{HeaderMap, HeaderValue, Uri};
/// use tower_okta::{bearer_token, AuthError};
///
/// let mut headers = HeaderMap::new();
/// headers.insert("authorization", HeaderValue::from_static("Bearer eyJhbGciOi.eyJzdWIi.c2ln"));
/// let uri: Uri = "/api/me".parse().unwrap();
/// assert_eq!(bearer_token(&headers, &uri), Ok("eyJhbGciOi.eyJzdWIi.c2ln"));
/// assert_eq!(bearer_token(&HeaderMap::new(), &uri), Err(AuthError::MissingToken));
/// ```
///
/// # Errors
/// As above.
pub fn bearer_token<'r>(headers: &'r HeaderMap, uri: &Uri) -> Result<&'r str, AuthError> {
    let token = bearer_candidate(headers, uri)?;
    if !is_b64token(token) {
        return Err(RequestError::MalformedAuthorizationHeader.into());
    }
    Ok(token)
}

/// [`bearer_token`] without the scan of the token's characters, for the layer's hot path: the
/// verifier's strict parser refuses any character outside base64url anyway, and the layer calls
/// [`is_b64token`] only then, to answer 400 rather than 401 for a credential that is not even a
/// `b64token`. Saves a pass over the token on every request.
pub(crate) fn bearer_candidate<'r>(
    headers: &'r HeaderMap,
    uri: &Uri,
) -> Result<&'r str, AuthError> {
    let in_query = uri.query().is_some_and(query_has_token);
    let mut values = headers.get_all(AUTHORIZATION).iter();
    let Some(value) = values.next() else {
        return Err(AuthError::MissingToken);
    };
    if values.next().is_some() {
        return Err(RequestError::MultipleAuthorizationHeaders.into());
    }
    let malformed = || AuthError::from(RequestError::MalformedAuthorizationHeader);
    // UTF-8 (ASCII in practice) rather than `to_str`'s visible-ASCII scan: the token's characters
    // are checked later, strictly.
    let value = std::str::from_utf8(value.as_bytes()).map_err(|_| malformed())?;
    let (scheme, rest) = value.split_once(' ').unwrap_or((value, ""));
    if !scheme.eq_ignore_ascii_case("bearer") {
        // `Bearer` followed by a tab or another control character is a malformed Bearer
        // credential, not another scheme.
        let bearer_then_junk = scheme
            .get(..6)
            .is_some_and(|s| s.eq_ignore_ascii_case("bearer"))
            && scheme
                .as_bytes()
                .get(6)
                .is_some_and(u8::is_ascii_whitespace);
        return Err(if bearer_then_junk {
            malformed()
        } else {
            AuthError::MissingToken
        });
    }
    let token = rest.trim_matches(|c| c == ' ' || c == '\t');
    if token.is_empty() {
        return Err(malformed());
    }
    if in_query {
        return Err(RequestError::TokenInHeaderAndQuery.into());
    }
    Ok(token)
}

/// `b64token = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="`
pub(crate) fn is_b64token(token: &str) -> bool {
    let body = token.trim_end_matches('=');
    !body.is_empty()
        && body.bytes().all(|b| {
            b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~' | b'+' | b'/')
        })
}

fn query_has_token(query: &str) -> bool {
    query
        .split('&')
        .any(|pair| pair.split('=').next() == Some("access_token"))
}

/// A CORS preflight: `OPTIONS` with `Access-Control-Request-Method`. Browsers never send
/// credentials on it.
pub(crate) fn is_preflight<B>(req: &Request<B>) -> bool {
    req.method() == Method::OPTIONS
        && req
            .headers()
            .contains_key(http::header::ACCESS_CONTROL_REQUEST_METHOD)
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    fn run(values: &[&str], uri: &str) -> Result<String, AuthError> {
        let mut headers = HeaderMap::new();
        for v in values {
            headers.append(AUTHORIZATION, HeaderValue::from_str(v).unwrap());
        }
        let uri: Uri = uri.parse().unwrap();
        bearer_token(&headers, &uri).map(str::to_owned)
    }

    #[test]
    fn rfc6750_header_rules() {
        let bad = Err(AuthError::InvalidRequest(
            RequestError::MalformedAuthorizationHeader,
        ));
        assert_eq!(
            run(&["Bearer abc.def-_~+/=="], "/"),
            Ok("abc.def-_~+/==".into())
        );
        assert_eq!(run(&["bearer abc"], "/"), Ok("abc".into()));
        assert_eq!(run(&["BEARER abc"], "/"), Ok("abc".into()));
        assert_eq!(run(&[], "/"), Err(AuthError::MissingToken));
        assert_eq!(
            run(&["Basic dXNlcjpwYXNz"], "/"),
            Err(AuthError::MissingToken)
        );
        assert_eq!(run(&["Bearer"], "/"), bad);
        assert_eq!(run(&["Bearer "], "/"), bad);
        assert_eq!(run(&["Bearer a b"], "/"), bad);
        assert_eq!(run(&["Bearer a=b"], "/"), bad);
        assert_eq!(run(&["Bearer a,b"], "/"), bad);
        assert_eq!(
            run(&["Bearer a", "Bearer b"], "/"),
            Err(AuthError::InvalidRequest(
                RequestError::MultipleAuthorizationHeaders
            ))
        );
        assert_eq!(
            run(&["Bearer a"], "/x?access_token=a"),
            Err(AuthError::InvalidRequest(
                RequestError::TokenInHeaderAndQuery
            ))
        );
        assert_eq!(
            run(&[], "/x?a=1&access_token=a"),
            Err(AuthError::MissingToken)
        );
        assert_eq!(run(&["Bearer a"], "/x?access_tokens=1"), Ok("a".into()));
    }
}
