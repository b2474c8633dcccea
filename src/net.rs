//! The crate's HTTP policy, in one place: which URLs may be fetched, how large an answer may be,
//! and how forms are posted. Every outgoing request of the crate (JWKS and discovery fetches,
//! introspection, client-credentials tokens) goes through these rules.

use std::time::Duration;

use reqwest::Url;

/// The longest a 429 from Okta makes the crate wait before it asks again. Okta's rate-limit
/// windows are a minute long, so its `X-Rate-Limit-Reset` is at most about a minute away.
pub(crate) const MAX_RATE_LIMIT_WAIT: Duration = Duration::from_secs(60);

/// The largest response body the crate reads from any endpoint (1 MiB), unless a setting says
/// otherwise (`VerifierBuilder::jwks_max_response_bytes`).
pub(crate) const MAX_RESPONSE_BYTES: usize = 1024 * 1024;

/// Why a URL may not be fetched.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub(crate) enum UrlPolicyError {
    #[error("it has no host")]
    NoHost,
    #[error("it must not contain credentials")]
    Credentials,
    #[error("it must use https (plain http only on loopback hosts)")]
    PlainHttp,
    #[error("it must be an https URL")]
    NotHttps,
}

impl UrlPolicyError {
    /// The fixed text, for configuration errors.
    pub(crate) fn reason(self) -> &'static str {
        match self {
            UrlPolicyError::NoHost => "it has no host",
            UrlPolicyError::Credentials => "it must not contain credentials",
            UrlPolicyError::PlainHttp => "it must use https (plain http only on loopback hosts)",
            UrlPolicyError::NotHttps => "it must be an https URL",
        }
    }
}

/// True for `localhost`, `127.0.0.0/8` and `::1`.
pub(crate) fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    }
}

/// https, or http on a loopback host; a host; no credentials.
pub(crate) fn check_secure_url(url: &Url) -> Result<(), UrlPolicyError> {
    if url.host().is_none() {
        return Err(UrlPolicyError::NoHost);
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(UrlPolicyError::Credentials);
    }
    match url.scheme() {
        "https" => Ok(()),
        "http" if is_loopback(url) => Ok(()),
        "http" => Err(UrlPolicyError::PlainHttp),
        _ => Err(UrlPolicyError::NotHttps),
    }
}

/// Why a capped read failed.
#[derive(Debug, thiserror::Error)]
pub(crate) enum ReadError {
    #[error("HTTP request failed: {0}")]
    Http(#[from] reqwest::Error),
    #[error("response larger than {0} bytes")]
    TooLarge(usize),
}

/// Reads a response body, refusing more than `max` bytes (announced or actual).
pub(crate) async fn read_capped(
    mut response: reqwest::Response,
    max: usize,
) -> Result<Vec<u8>, ReadError> {
    if response
        .content_length()
        .is_some_and(|len| len > max as u64)
    {
        return Err(ReadError::TooLarge(max));
    }
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await? {
        if body.len() + chunk.len() > max {
            return Err(ReadError::TooLarge(max));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// POSTs `form` as `application/x-www-form-urlencoded`, asking for JSON.
pub(crate) async fn post_form(
    http: &reqwest::Client,
    url: &Url,
    form: &[(&str, &str)],
) -> Result<reqwest::Response, reqwest::Error> {
    with_form(http.post(url.clone()), form).send().await
}

/// `request` with `form` as its `application/x-www-form-urlencoded` body, asking for JSON.
pub(crate) fn with_form(
    request: reqwest::RequestBuilder,
    form: &[(&str, &str)],
) -> reqwest::RequestBuilder {
    let body = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(form)
        .finish();
    request
        .header(
            http::header::CONTENT_TYPE,
            "application/x-www-form-urlencoded",
        )
        .header(http::header::ACCEPT, "application/json")
        .body(body)
}

/// How long to wait after a 429 from Okta: until `X-Rate-Limit-Reset` (epoch seconds; Okta's
/// documented header), else `Retry-After` (seconds; not documented by Okta, honoured if sent),
/// bounded by [`MAX_RATE_LIMIT_WAIT`] and spread by up to 20% so that many instances do not
/// come back in the same second. `None` when neither header is usable: the caller backs off as
/// after any other failure.
pub(crate) fn rate_limit_wait(headers: &http::HeaderMap, now_ms: i64) -> Option<Duration> {
    let number = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<i64>().ok())
    };
    let wait_ms = match (number("x-rate-limit-reset"), number("retry-after")) {
        (Some(reset), _) => reset.saturating_mul(1000).saturating_sub(now_ms),
        (None, Some(secs)) => secs.saturating_mul(1000),
        (None, None) => return None,
    };
    let wait = Duration::from_millis(u64::try_from(wait_ms).unwrap_or(0))
        .clamp(Duration::from_secs(1), MAX_RATE_LIMIT_WAIT);
    let mut byte = [0u8; 1];
    let _ = aws_lc_rs::rand::fill(&mut byte);
    Some(wait.mul_f64(1.0 + 0.2 * f64::from(byte[0]) / 256.0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_policy() {
        let check = |u: &str| check_secure_url(&Url::parse(u).unwrap());
        assert_eq!(check("https://dev-1.okta.com/x"), Ok(()));
        assert_eq!(check("http://127.0.0.1:1/x"), Ok(()));
        assert_eq!(check("http://localhost:1/x"), Ok(()));
        assert_eq!(check("http://[::1]:1/x"), Ok(()));
        assert_eq!(
            check("http://dev-1.okta.com/x"),
            Err(UrlPolicyError::PlainHttp)
        );
        assert_eq!(
            check("ftp://dev-1.okta.com/x"),
            Err(UrlPolicyError::NotHttps)
        );
        assert_eq!(
            check("https://u:p@dev-1.okta.com/x"),
            Err(UrlPolicyError::Credentials)
        );
        assert_eq!(check("data:text/plain,x"), Err(UrlPolicyError::NoHost));
        assert_eq!(
            UrlPolicyError::PlainHttp.reason(),
            UrlPolicyError::PlainHttp.to_string()
        );
    }
}
