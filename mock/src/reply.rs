//! The answers the endpoints build: JSON, Okta's error shapes, HTML error pages, redirects.

use axum::body::Body;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::Response;
use serde_json::{json, Value};
use url::form_urlencoded;

/// What every endpoint answers.
pub(crate) type Answer = Response<Body>;

/// A JSON answer.
pub(crate) fn json(status: StatusCode, body: &Value) -> Answer {
    let mut response = Response::new(Body::from(body.to_string()));
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}

/// An Okta API error (`errorCode`, `errorSummary`...), as Okta answers outside OAuth.
pub(crate) fn okta_error(status: StatusCode, code: &str, summary: &str) -> Answer {
    json(
        status,
        &json!({
            "errorCode": code,
            "errorSummary": summary,
            "errorLink": code,
            "errorId": "oae-mock",
            "errorCauses": [],
        }),
    )
}

/// Any path the authorization server does not serve.
pub(crate) async fn not_found() -> Answer {
    okta_error(StatusCode::NOT_FOUND, "E0000022", "Not found")
}

/// A path served, with a method it does not serve.
pub(crate) async fn method_not_allowed() -> Answer {
    okta_error(
        StatusCode::METHOD_NOT_ALLOWED,
        "E0000022",
        "The endpoint does not support the provided HTTP method",
    )
}

/// An OAuth error (RFC 6749 5.2): JSON `{error, error_description}`, not cached.
pub(crate) fn oauth_error(status: StatusCode, error: &str, description: &str) -> Answer {
    let mut response = json(
        status,
        &json!({ "error": error, "error_description": description }),
    );
    no_store(&mut response);
    response
}

/// `Cache-Control: no-store` and `Pragma: no-cache`, as token responses carry them.
pub(crate) fn no_store(response: &mut Answer) {
    let headers = response.headers_mut();
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
}

/// An HTML error page (no redirect): for requests whose client or redirect URI is not valid.
/// The message is fixed text, never a request value.
pub(crate) fn error_page(status: StatusCode, message: &str) -> Answer {
    let body = format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>{status}</title>\
         </head>\n<body><h1>{status}</h1>\n<p>{message}</p></body></html>\n"
    );
    let mut response = Response::new(Body::from(body));
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// Where a redirect carries its parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mode {
    Query,
    Fragment,
}

/// A 302 to `redirect_uri` with `params` in its query or fragment.
pub(crate) fn redirect(redirect_uri: &str, mode: Mode, params: &[(&str, &str)]) -> Answer {
    let Ok(mut url) = url::Url::parse(redirect_uri) else {
        return error_page(
            StatusCode::BAD_REQUEST,
            "The redirect URI registered for this client is not a valid URL.",
        );
    };
    match mode {
        Mode::Query => {
            let mut pairs = url.query_pairs_mut();
            for (name, value) in params {
                pairs.append_pair(name, value);
            }
        }
        Mode::Fragment => {
            let mut serializer = form_urlencoded::Serializer::new(String::new());
            for (name, value) in params {
                serializer.append_pair(name, value);
            }
            url.set_fragment(Some(&serializer.finish()));
        }
    }
    let mut response = Response::new(Body::empty());
    *response.status_mut() = StatusCode::FOUND;
    if let Ok(location) = HeaderValue::from_str(url.as_str()) {
        response.headers_mut().insert(header::LOCATION, location);
    }
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// An OAuth error sent back to the (valid) redirect URI (RFC 6749 4.1.2.1, 4.2.2.1).
pub(crate) fn redirect_error(
    redirect_uri: &str,
    mode: Mode,
    error: &str,
    description: &str,
    state: Option<&str>,
) -> Answer {
    let mut params = vec![("error", error), ("error_description", description)];
    if let Some(state) = state {
        params.push(("state", state));
    }
    redirect(redirect_uri, mode, &params)
}
