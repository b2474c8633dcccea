//! Credentials from a request: bearer tokens (RFC 6750, section 2) and DPoP-bound tokens with
//! their proof (RFC 9449, section 7).
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

/// The scheme of the `Authorization` credential.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Scheme {
    /// `Bearer` (RFC 6750).
    Bearer,
    /// `DPoP` (RFC 9449): the token comes with a proof in the `DPoP` header.
    Dpop,
}

/// [`bearer_token`] without the scan of the token's characters, for the layer's hot path: the
/// verifier's strict parser refuses any character outside base64url anyway, and the layer calls
/// [`is_b64token`] only then, to answer 400 rather than 401 for a credential that is not even a
/// `b64token`. Saves a pass over the token on every request.
pub(crate) fn bearer_candidate<'r>(
    headers: &'r HeaderMap,
    uri: &Uri,
) -> Result<&'r str, AuthError> {
    match credentials(headers, uri)? {
        (Scheme::Bearer, token) => Ok(token),
        (Scheme::Dpop, _) => Err(AuthError::MissingToken),
    }
}

/// The scheme and token of the `Authorization` header, `Bearer` or `DPoP` (same rules for both:
/// RFC 9449 section 7.1 reuses RFC 6750's `b64token`); the token's characters are checked as
/// for [`bearer_candidate`].
pub(crate) fn credentials<'r>(
    headers: &'r HeaderMap,
    uri: &Uri,
) -> Result<(Scheme, &'r str), AuthError> {
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
    let (name, rest) = value.split_once(' ').unwrap_or((value, ""));
    let scheme = if name.eq_ignore_ascii_case("bearer") {
        Scheme::Bearer
    } else if name.eq_ignore_ascii_case("dpop") {
        Scheme::Dpop
    } else {
        // `Bearer` (or `DPoP`) followed by a tab or another control character is a malformed
        // credential of that scheme, not another scheme.
        let then_junk = |prefix: &str| {
            name.get(..prefix.len())
                .is_some_and(|s| s.eq_ignore_ascii_case(prefix))
                && name
                    .as_bytes()
                    .get(prefix.len())
                    .is_some_and(u8::is_ascii_whitespace)
        };
        return Err(if then_junk("bearer") || then_junk("dpop") {
            malformed()
        } else {
            AuthError::MissingToken
        });
    };
    let token = rest.trim_matches(|c| c == ' ' || c == '\t');
    if token.is_empty() {
        return Err(malformed());
    }
    if in_query {
        return Err(RequestError::TokenInHeaderAndQuery.into());
    }
    Ok((scheme, token))
}

/// The DPoP proof of a request: exactly one `DPoP` header, not empty, UTF-8. Its characters are
/// not scanned here: the verifier's strict parser refuses anything but a compact JWS (base64url
/// and two dots), and the layer calls [`is_jws`] only then, to answer 400 rather than 401 for a
/// header that is not even a JWS (as for the `Authorization` credential, [`bearer_candidate`]).
pub(crate) fn dpop_proof(headers: &HeaderMap) -> Result<&str, AuthError> {
    let mut values = headers.get_all(&DPOP).iter();
    let Some(value) = values.next() else {
        return Err(RequestError::MissingDpopProof.into());
    };
    if values.next().is_some() {
        return Err(RequestError::MultipleDpopHeaders.into());
    }
    let proof = std::str::from_utf8(value.as_bytes())
        .map_err(|_| AuthError::from(RequestError::MalformedDpopHeader))?;
    if proof.is_empty() {
        return Err(RequestError::MalformedDpopHeader.into());
    }
    Ok(proof)
}

/// True if `proof` has only the characters of a compact JWS: the base64url alphabet and `.`.
pub(crate) fn is_jws(proof: &str) -> bool {
    proof.bytes().all(|b| JWS_CHARS[usize::from(b)])
}

/// The `DPoP` request header (RFC 9449 section 4.1).
static DPOP: http::HeaderName = http::HeaderName::from_static("dpop");

/// The characters of a compact JWS: the base64url alphabet and `.`.
static JWS_CHARS: [bool; 256] = {
    let mut table = [false; 256];
    let mut b = 0;
    while b < 256 {
        let c = b as u8;
        table[b] = c.is_ascii_alphanumeric() || matches!(c, b'-' | b'_' | b'.');
        b += 1;
    }
    table
};

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
        // DPoP credentials are not bearer tokens; `DPoP` then a tab is malformed.
        assert_eq!(run(&["DPoP abc"], "/"), Err(AuthError::MissingToken));
        assert_eq!(run(&["DPoP\tabc"], "/"), bad);
    }

    #[test]
    fn dpop_credentials_and_proof_header() {
        let mut headers = HeaderMap::new();
        headers.insert(AUTHORIZATION, HeaderValue::from_static("dpop tok"));
        let uri: Uri = "/".parse().unwrap();
        assert_eq!(credentials(&headers, &uri), Ok((Scheme::Dpop, "tok")));
        assert_eq!(
            dpop_proof(&headers),
            Err(RequestError::MissingDpopProof.into())
        );
        headers.insert("dpop", HeaderValue::from_static("a.b.c"));
        assert_eq!(dpop_proof(&headers), Ok("a.b.c"));
        assert!(is_jws("a.b.c") && is_jws("aZ09-_.x"));
        headers.insert("dpop", HeaderValue::from_static(""));
        assert_eq!(
            dpop_proof(&headers),
            Err(RequestError::MalformedDpopHeader.into())
        );
        headers.insert("dpop", HeaderValue::from_bytes(b"a.b\xff").unwrap());
        assert_eq!(
            dpop_proof(&headers),
            Err(RequestError::MalformedDpopHeader.into())
        );
        // Other characters reach the parser, which refuses them; `is_jws` then makes it a 400.
        for bad in ["a.b c", "a.b.c=", "a+b", "a/b"] {
            headers.insert("dpop", HeaderValue::from_str(bad).unwrap());
            assert_eq!(dpop_proof(&headers), Ok(bad));
            assert!(!is_jws(bad), "{bad:?}");
        }
        headers.insert("dpop", HeaderValue::from_static("a.b.c"));
        headers.append("dpop", HeaderValue::from_static("a.b.c"));
        assert_eq!(
            dpop_proof(&headers),
            Err(RequestError::MultipleDpopHeaders.into())
        );
    }
}
