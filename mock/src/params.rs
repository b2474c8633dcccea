//! Request parameters: queries and `application/x-www-form-urlencoded` bodies.

use std::collections::hash_map::Entry;
use std::collections::HashMap;

use axum::body::{Body, Bytes};
use axum::http::{header, HeaderMap, StatusCode};
use url::form_urlencoded;

use crate::reply::{oauth_error, okta_error, Answer};

/// The largest request body read (token and revocation forms are a few KiB).
const MAX_BODY: usize = 64 * 1024;

/// Parameters by name.
pub(crate) type Params = HashMap<String, String>;

/// Parameters of a query or form body; a parameter given twice is an error (RFC 6749 3.1, 3.2).
pub(crate) fn parse(input: &[u8]) -> Result<Params, String> {
    let mut params = HashMap::new();
    for (name, value) in form_urlencoded::parse(input) {
        match params.entry(name.into_owned()) {
            Entry::Occupied(entry) => {
                return Err(format!(
                    "The '{}' parameter was included more than once.",
                    entry.key()
                ))
            }
            Entry::Vacant(entry) => {
                entry.insert(value.into_owned());
            }
        }
    }
    Ok(params)
}

/// A non-empty parameter.
pub(crate) fn param<'p>(params: &'p Params, name: &str) -> Option<&'p str> {
    params
        .get(name)
        .map(String::as_str)
        .filter(|v| !v.is_empty())
}

/// The body of a `POST`, up to [`MAX_BODY`]; `Err` is the answer (413).
pub(crate) async fn read_body(body: Body) -> Result<Bytes, Box<Answer>> {
    axum::body::to_bytes(body, MAX_BODY).await.map_err(|_| {
        Box::new(okta_error(
            StatusCode::PAYLOAD_TOO_LARGE,
            "E0000001",
            "The request body is too large or could not be read",
        ))
    })
}

/// The form of a `POST` (`application/x-www-form-urlencoded`), or the answer.
pub(crate) fn form(headers: &HeaderMap, body: &[u8]) -> Result<Params, Box<Answer>> {
    let form_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|v| {
            v.trim()
                .eq_ignore_ascii_case("application/x-www-form-urlencoded")
        });
    if !form_type {
        return Err(Box::new(oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "The request must be sent as application/x-www-form-urlencoded.",
        )));
    }
    parse(body).map_err(|message| {
        Box::new(oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            &message,
        ))
    })
}

/// Reads and parses the form of a `POST`; `Err` is the answer.
pub(crate) async fn read_form(headers: &HeaderMap, body: Body) -> Result<Params, Box<Answer>> {
    let body = read_body(body).await?;
    form(headers, &body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn duplicate_parameters_are_refused() {
        assert!(parse(b"a=1&b=2").is_ok());
        assert!(parse(b"a=1&a=2").is_err());
    }
}
