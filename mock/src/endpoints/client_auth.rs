//! Client authentication at the token, revocation and introspection endpoints, as Okta does it:
//! the public SPA client names itself and sends no secret; a web app (a confidential client)
//! authenticates with its client secret (`client_secret_basic`: `Authorization: Basic
//! base64(urlencode(id) ":" urlencode(secret))`, or `client_secret_post`: both in the form) or
//! with `private_key_jwt`, as its registration allows; a service app with `private_key_jwt`
//! (assertions are checked in `super::assertion`). A request carrying two kinds of credentials
//! is refused, and a `401` to a client that used `Basic` carries a `Basic` challenge (RFC 6749
//! 5.2).

use aws_lc_rs::constant_time::verify_slices_are_equal;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use base64::Engine;

use super::assertion;
pub(super) use super::assertion::invalid_client;
use crate::apps::App;
use crate::params::{param, Params};
use crate::reply::{oauth_error, Answer};
use crate::state::{lock, Shared};
use crate::web_app::ClientAuthMethod;

/// The authenticated client of a request.
#[derive(Debug)]
pub(super) enum Client {
    /// The SPA app (public: it names itself).
    Spa,
    /// A web app, with its client ID.
    Web(String),
    /// A service app, with its client ID and the scopes its access policy grants.
    Service {
        client_id: String,
        scopes: Vec<String>,
    },
}

impl Client {
    /// The client ID.
    pub(super) fn id<'a>(&'a self, state: &'a Shared) -> &'a str {
        match self {
            Client::Spa => &state.client_id,
            Client::Web(client_id) | Client::Service { client_id, .. } => client_id,
        }
    }
}

const FAILED: &str =
    "Client authentication failed. Either the client or the client credentials are invalid.";

/// `invalid_client`, with a `Basic` challenge when the client used Basic.
fn refused(description: &str, basic: bool) -> Box<Answer> {
    let mut response = invalid_client(description);
    if basic {
        response.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Basic realm=\"Okta\""),
        );
    }
    Box::new(response)
}

/// Okta's answer to credentials sent two ways at once.
fn multiple_credentials() -> Box<Answer> {
    Box::new(oauth_error(
        StatusCode::BAD_REQUEST,
        "invalid_request",
        "Cannot supply multiple client credentials. Use one of the following: credentials in the \
         Authorization header, credentials in the post body, or a client_assertion in the post \
         body.",
    ))
}

/// Decodes `application/x-www-form-urlencoded` text (`%XX`, `+` for a space), as RFC 6749
/// 2.3.1 encodes the client ID and secret before Basic; `None` if it is not UTF-8.
fn form_decode(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |at: usize| {
            bytes
                .get(at)
                .and_then(|b| char::from(*b).to_digit(16))
                .and_then(|d| u8::try_from(d).ok())
        };
        match bytes[i] {
            b'%' => {
                if let (Some(high), Some(low)) = (hex(i + 1), hex(i + 2)) {
                    out.push(high * 16 + low);
                    i += 3;
                    continue;
                }
                out.push(b'%');
            }
            b'+' => out.push(b' '),
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8(out).ok()
}

/// The `Authorization: Basic` credentials (client ID, secret; the secret empty when absent);
/// `Ok(None)` without the header; `Err` is the answer to another scheme or to credentials that
/// do not decode.
fn basic_credentials(headers: &HeaderMap) -> Result<Option<(String, String)>, Box<Answer>> {
    let Some(value) = headers.get(header::AUTHORIZATION) else {
        return Ok(None);
    };
    let bad = || refused(FAILED, true);
    let text = value.to_str().map_err(|_| bad())?;
    let (scheme, credentials) = text.split_once(' ').ok_or_else(bad)?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return Err(bad());
    }
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(credentials.trim())
        .ok()
        .and_then(|d| String::from_utf8(d).ok())
        .ok_or_else(bad)?;
    let (id, secret) = decoded.split_once(':').unwrap_or((&decoded, ""));
    match (form_decode(id), form_decode(secret)) {
        (Some(id), Some(secret)) => Ok(Some((id, secret))),
        _ => Err(bad()),
    }
}

/// The client of a `private_key_jwt` request: a service app or a web app allowed the method.
fn by_assertion(state: &Shared, params: &Params, endpoint: &str) -> Result<Client, Box<Answer>> {
    let mut service_scopes = None;
    let client_id = assertion::check(state, params, endpoint, |client_id| {
        match lock(&state.apps).get(client_id) {
            Some(App::Service(app)) => {
                service_scopes = Some(app.scopes.clone());
                Ok(app.key.clone())
            }
            Some(App::Web(entry)) => entry
                .assertion_key()
                .cloned()
                .ok_or("The client is not configured for private_key_jwt client authentication."),
            None => Err("Client authentication failed. The client is not registered."),
        }
    })?;
    Ok(match service_scopes {
        Some(scopes) => Client::Service { client_id, scopes },
        None => Client::Web(client_id),
    })
}

/// The authenticated client of a token, revocation or introspection request to `endpoint` (the
/// endpoint's URL, the `aud` of client assertions). `Err` is the answer: `401 invalid_client`,
/// or `400 invalid_request` for credentials sent two ways.
///
/// The SPA, a public client, names itself (`client_id` in the body, or `Authorization: Basic`
/// with `base64(client_id)` or `base64(client_id:)`, as okta-auth-js sends to revoke and
/// introspect) and sends no secret: a secret from it is refused like a wrong one.
pub(super) fn authenticate(
    state: &Shared,
    headers: &HeaderMap,
    params: &Params,
    endpoint: &str,
) -> Result<Client, Box<Answer>> {
    let basic = basic_credentials(headers)?;
    let used_basic = basic.is_some();
    let basic_secret = basic
        .as_ref()
        .map(|(_, secret)| secret.as_str())
        .filter(|secret| !secret.is_empty());
    let body_secret = params.get("client_secret").map(String::as_str);
    if params.contains_key("client_assertion") {
        if used_basic || body_secret.is_some() {
            return Err(multiple_credentials());
        }
        return by_assertion(state, params, endpoint);
    }
    let client_id = match (param(params, "client_id"), basic.as_ref()) {
        (Some(body), Some((basic, _))) if body != basic => return Err(refused(FAILED, true)),
        (Some(id), _) => id,
        (None, Some((id, _))) => id.as_str(),
        (None, None) => return Err(refused(FAILED, false)),
    };
    if client_id == state.client_id {
        if basic_secret.is_some() {
            return Err(refused(FAILED, true));
        }
        if body_secret.is_some() || params.contains_key("client_assertion_type") {
            return Err(refused(FAILED, false));
        }
        return Ok(Client::Spa);
    }
    let Some(app) = state.web_app(client_id) else {
        return Err(refused(FAILED, used_basic));
    };
    let (method, secret) = match (basic_secret, body_secret) {
        (Some(_), Some(_)) => return Err(multiple_credentials()),
        (Some(secret), None) => (ClientAuthMethod::ClientSecretBasic, secret),
        (None, Some(secret)) => (ClientAuthMethod::ClientSecretPost, secret),
        // A confidential client that does not authenticate.
        (None, None) => return Err(refused(FAILED, used_basic)),
    };
    if !app.accepts(method) {
        return Err(refused(
            match method {
                ClientAuthMethod::ClientSecretBasic => {
                    "The client is not configured for client_secret_basic client authentication."
                }
                _ => "The client is not configured for client_secret_post client authentication.",
            },
            used_basic,
        ));
    }
    let expected = app.secret().unwrap_or_default();
    if verify_slices_are_equal(secret.as_bytes(), expected.as_bytes()).is_err() {
        return Err(refused(
            "The client secret supplied for a confidential client is invalid.",
            used_basic,
        ));
    }
    Ok(Client::Web(client_id.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn basic_credentials_are_form_decoded() {
        assert_eq!(form_decode("a%3Ab+c%2").as_deref(), Some("a:b c%2"));
        assert_eq!(form_decode("%C3%A9").as_deref(), Some("\u{e9}"));
        assert_eq!(form_decode("%FF"), None);
    }
}
