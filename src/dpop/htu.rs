//! The `htu` comparison (RFC 9449 section 4.3): the request's URL, as the client saw it, and the
//! normalisation both sides go through before they are compared (RFC 3986 section 6.2.2 and
//! 6.2.3: scheme and host in lower case, no default port, dot segments removed, an empty path as
//! `/`, percent-encodings in upper case, unreserved characters decoded; query and fragment
//! dropped).

use http::header::HOST;
use http::{HeaderMap, Uri};

/// Where the layer takes the request's scheme and host from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Origin {
    /// A fixed external origin (`https://api.example.com`): the URL clients call, behind a proxy.
    Fixed(String),
    /// The request itself: an absolute-form URI, else the `Host` header; `https` as the scheme
    /// when set (else `http`); `Forwarded` / `X-Forwarded-*` headers only when trusted.
    Request { https: bool, trust_forwarded: bool },
}

/// True if a proof's `htu` names the request's URL: both normalised are equal (and the request
/// names a usable host).
///
/// Most proofs carry the URL exactly as the request's own (`https://api.example.com/api/me`):
/// when the request's URL is already in normal form (see [`is_normal`]) it is compared as it
/// is, so that only an `htu` spelled differently goes through the URL parser.
pub(crate) fn matches(origin: &Origin, uri: &Uri, headers: &HeaderMap, htu: &str) -> bool {
    let Some(raw) = raw_request_url(origin, uri, headers) else {
        return false;
    };
    if is_normal(&raw) {
        // `normalize(&raw) == Some(raw)`: an identical `htu` normalises to it too.
        return htu == raw || normalize(htu).is_some_and(|htu| htu == raw);
    }
    normalize(&raw).is_some_and(|url| normalize(htu).is_some_and(|htu| htu == url))
}

/// The request's URL as the origin and the request give it, not normalised yet.
fn raw_request_url(origin: &Origin, uri: &Uri, headers: &HeaderMap) -> Option<String> {
    let path = uri.path();
    let url = match origin {
        Origin::Fixed(origin) => format!("{origin}{path}"),
        Origin::Request {
            https,
            trust_forwarded,
        } => {
            let forwarded = trust_forwarded.then(|| forwarded(headers)).flatten();
            let (scheme, host) = match (forwarded, uri.scheme_str(), uri.authority()) {
                (Some((proto, host)), _, authority) => {
                    let host = host.or_else(|| {
                        authority
                            .map(|a| a.as_str().to_owned())
                            .or_else(|| host_header(headers))
                    })?;
                    let scheme = proto.unwrap_or(if *https { "https" } else { "http" }.into());
                    (scheme, host)
                }
                (None, Some(scheme), Some(authority)) => (scheme.to_owned(), authority.to_string()),
                (None, _, _) => (
                    if *https { "https" } else { "http" }.to_owned(),
                    host_header(headers)?,
                ),
            };
            format!("{scheme}://{host}{path}")
        }
    };
    Some(url)
}

fn host_header(headers: &HeaderMap) -> Option<String> {
    let mut hosts = headers.get_all(HOST).iter();
    let host = hosts.next()?.to_str().ok()?;
    // Several Host headers: no host to trust.
    hosts.next().is_none().then(|| host.to_owned())
}

/// The scheme and host a trusted proxy reports: RFC 7239 `Forwarded` (its first element), else
/// `X-Forwarded-Proto` / `X-Forwarded-Host` (their first values). `None` when there is neither.
fn forwarded(headers: &HeaderMap) -> Option<(Option<String>, Option<String>)> {
    let first = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(',').next())
            .map(|v| v.trim().to_owned())
            .filter(|v| !v.is_empty())
    };
    if let Some(element) = first("forwarded") {
        let (mut proto, mut host) = (None, None);
        for pair in element.split(';') {
            let Some((name, value)) = pair.split_once('=') else {
                continue;
            };
            let value = value.trim().trim_matches('"').to_owned();
            match name.trim().to_ascii_lowercase().as_str() {
                "proto" => proto = Some(value.to_ascii_lowercase()),
                "host" => host = Some(value),
                _ => {}
            }
        }
        return Some((proto, host));
    }
    let proto = first("x-forwarded-proto").map(|p| p.to_ascii_lowercase());
    let host = first("x-forwarded-host");
    (proto.is_some() || host.is_some()).then_some((proto, host))
}

/// `url` normalised for comparison, without query and fragment; `None` if it is not an absolute
/// `http`/`https` URL with a host and no user information.
pub(crate) fn normalize(url: &str) -> Option<String> {
    let parsed = url::Url::parse(url).ok()?;
    if !matches!(parsed.scheme(), "http" | "https")
        || !parsed.username().is_empty()
        || parsed.password().is_some()
    {
        return None;
    }
    let host = parsed.host_str()?;
    let mut out = format!("{}://{host}", parsed.scheme());
    if let Some(port) = parsed.port() {
        out.push(':');
        out.push_str(&port.to_string());
    }
    normalize_percent(parsed.path(), &mut out);
    Some(out)
}

/// True only for a URL that [`normalize`] returns unchanged: `http` or `https`, a lower-case
/// domain name of letters, digits, `-` and `.` (no empty label, no IDNA `xn--` label, the last
/// label starting with a letter, so never an IP address), an optional port that is not the
/// scheme's default (digits, no leading zero, at most 65535), and a path of `/`-separated
/// segments of unreserved characters without `.` or `..` segments. Conservative: a URL it
/// refuses may still be normal; the property tests check that every URL it accepts is.
fn is_normal(url: &str) -> bool {
    let (rest, default_port) = if let Some(rest) = url.strip_prefix("https://") {
        (rest, "443")
    } else if let Some(rest) = url.strip_prefix("http://") {
        (rest, "80")
    } else {
        return false;
    };
    let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    let (host, port) = match authority.split_once(':') {
        Some((host, port)) => (host, Some(port)),
        None => (authority, None),
    };
    let label_ok = |label: &str| {
        !label.is_empty()
            && !label.starts_with("xn--")
            && label
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
    };
    let host_ok = host.split('.').all(label_ok)
        && host
            .rsplit('.')
            .next()
            .is_some_and(|last| last.starts_with(|c: char| c.is_ascii_lowercase()));
    let port_ok = port.is_none_or(|port| {
        !port.starts_with('0')
            && port != default_port
            && port.len() <= 5
            && port.bytes().all(|b| b.is_ascii_digit())
            && port.parse::<u16>().is_ok()
    });
    let segment_ok = |segment: &str| {
        segment != "."
            && segment != ".."
            && segment
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'))
    };
    host_ok
        && port_ok
        && path
            .strip_prefix('/')
            .is_some_and(|path| path.split('/').all(segment_ok))
}

/// Appends `path` with its percent-encodings normalised: unreserved characters decoded, the
/// other encodings with upper-case hex digits.
fn normalize_percent(path: &str, out: &mut String) {
    let bytes = path.as_bytes();
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        let digit = |at: usize| bytes.get(at).copied().and_then(hex);
        if let (b'%', Some(hi), Some(lo)) = (b, digit(i + 1), digit(i + 2)) {
            let decoded = hi << 4 | lo;
            if decoded.is_ascii_alphanumeric() || matches!(decoded, b'-' | b'.' | b'_' | b'~') {
                out.push(char::from(decoded));
            } else {
                out.push('%');
                out.push(char::from(bytes[i + 1].to_ascii_uppercase()));
                out.push(char::from(bytes[i + 2].to_ascii_uppercase()));
            }
            i += 3;
        } else {
            // The path is ASCII: the URL parser percent-encoded everything else.
            out.push(char::from(b));
            i += 1;
        }
    }
}

fn hex(c: u8) -> Option<u8> {
    char::from(c)
        .to_digit(16)
        .and_then(|d| u8::try_from(d).ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The normalised URL of a request, as `matches` compares it.
    fn request_url(origin: &Origin, uri: &Uri, headers: &HeaderMap) -> Option<String> {
        normalize(&raw_request_url(origin, uri, headers)?)
    }

    fn norm(url: &str) -> Option<String> {
        normalize(url)
    }

    #[test]
    fn normalisation_follows_rfc3986_section_6() {
        let want = Some("https://api.example.com/api/me".to_owned());
        for same in [
            "https://api.example.com/api/me",
            "HTTPS://API.Example.COM/api/me",
            "https://api.example.com:443/api/me",
            "https://api.example.com/api/./x/../me",
            "https://api.example.com/api/%6De",
            "https://api.example.com/api/me?query=1",
            "https://api.example.com/api/me#fragment",
            "https://api.example.com/api/me?/api/other",
        ] {
            assert_eq!(norm(same), want, "{same}");
        }
        assert_eq!(norm("http://a:80"), Some("http://a/".into()));
        assert_eq!(norm("http://a:8080/%2f"), Some("http://a:8080/%2F".into()));
        for other in [
            "https://api.example.com/api/ME",
            "http://api.example.com/api/me",
            "https://api.example.com:8443/api/me",
            "https://api.example.com/api/me/",
            "https://api.example.com/api/other?/api/me",
        ] {
            assert_ne!(norm(other), want, "{other}");
        }
        for refused in ["/api/me", "ftp://a/b", "https://user@a/b", "not a url"] {
            assert_eq!(norm(refused), None, "{refused}");
        }
    }

    #[test]
    fn urls_already_normal_are_recognised_conservatively() {
        for normal in [
            "https://api.example.com/api/me",
            "http://api.test/",
            "http://localhost:3000/a//b/c.d/~x_y-z",
            "https://a-b.c1/",
            "https://a-.-b.c--d/",
        ] {
            assert!(is_normal(normal), "{normal}");
            assert_eq!(normalize(normal).as_deref(), Some(normal));
        }
        // Long labels and hosts: no DNS length limit in URL parsing, none here either.
        let long = format!("https://{}.{}.example/x", "a".repeat(100), "b".repeat(300));
        assert!(is_normal(&long));
        assert_eq!(normalize(&long).as_deref(), Some(long.as_str()));
        for not_normal in [
            "https://API.example.com/api/me",
            "https://api.example.com:443/api/me",
            "https://api.example.com",
            "https://api.example.com/api/./me",
            "https://api.example.com/api/%6De",
            "https://api.example.com/api/me?x=1",
            "https://127.0.0.1/api/me",
            "https://xn--nxasmq6b.com/",
            "https://a..b/",
            "https://a:080/",
            "https://a:65536/",
            "ftp://a/b",
        ] {
            assert!(!is_normal(not_normal), "{not_normal}");
        }
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(4000))]
        /// `is_normal` never accepts a URL that `normalize` would change or refuse.
        #[test]
        fn what_is_normal_normalises_to_itself(
            url in proptest::prop_oneof![
                // Anything URL-like...
                "(https?|HTTPS?|ftp)://((xn--)?[a-z0-9A-Z-]{0,4}\\.){0,3}(xn--)?[a-z0-9A-Z-]{0,5}(:[0-9]{0,6})?(/[a-zA-Z0-9._~%-]{0,4}){0,4}",
                // ...and URLs close to normal form, so that many are.
                "https?://((xn--)?[a-z0-9-]{1,4}\\.){0,3}(xn--)?[a-z][a-z0-9-]{0,4}(:[0-9]{1,6})?(/[a-z0-9._~-]{0,4}){1,4}",
            ]
        ) {
            if is_normal(&url) {
                let normalized = normalize(&url);
                proptest::prop_assert_eq!(normalized.as_deref(), Some(url.as_str()));
            }
        }
    }

    #[test]
    fn an_htu_matches_the_request_however_either_is_spelled() {
        let uri: Uri = "/api/me".parse().unwrap();
        let plain = Origin::Request {
            https: false,
            trust_forwarded: false,
        };
        let mut headers = HeaderMap::new();
        headers.insert(HOST, "api.test".parse().unwrap());
        for htu in [
            "http://api.test/api/me",
            "HTTP://API.TEST:80/api/./me",
            "http://api.test/api/%6De?x=1",
        ] {
            assert!(matches(&plain, &uri, &headers, htu), "{htu}");
        }
        for htu in ["http://api.test/api/you", "https://api.test/api/me", "x"] {
            assert!(!matches(&plain, &uri, &headers, htu), "{htu}");
        }
        // A request URL that is not in normal form is normalised before the comparison.
        headers.insert(HOST, "API.test:80".parse().unwrap());
        assert!(matches(&plain, &uri, &headers, "http://api.test/api/me"));
        assert!(!matches(&plain, &uri, &headers, "http://api.test/api/you"));
        // No usable host: nothing matches, not even the same text.
        headers.insert(HOST, "user@api.test".parse().unwrap());
        assert!(!matches(
            &plain,
            &uri,
            &headers,
            "http://user@api.test/api/me"
        ));
        assert!(!matches(&plain, &uri, &HeaderMap::new(), "http:///api/me"));
    }

    #[test]
    fn the_request_url_comes_from_the_configured_origin_or_the_request() {
        let mut headers = HeaderMap::new();
        headers.insert(HOST, "api.local:3000".parse().unwrap());
        headers.insert("x-forwarded-proto", "https".parse().unwrap());
        headers.insert("x-forwarded-host", "api.example.com".parse().unwrap());
        let uri: Uri = "/api/me?x=1".parse().unwrap();
        let plain = Origin::Request {
            https: false,
            trust_forwarded: false,
        };
        assert_eq!(
            request_url(&plain, &uri, &headers).as_deref(),
            Some("http://api.local:3000/api/me")
        );
        let https = Origin::Request {
            https: true,
            trust_forwarded: false,
        };
        assert_eq!(
            request_url(&https, &uri, &headers).as_deref(),
            Some("https://api.local:3000/api/me")
        );
        let proxied = Origin::Request {
            https: false,
            trust_forwarded: true,
        };
        assert_eq!(
            request_url(&proxied, &uri, &headers).as_deref(),
            Some("https://api.example.com/api/me")
        );
        headers.insert(
            "forwarded",
            r#"for=1.2.3.4;proto=https;host="edge.example.com""#
                .parse()
                .unwrap(),
        );
        assert_eq!(
            request_url(&proxied, &uri, &headers).as_deref(),
            Some("https://edge.example.com/api/me")
        );
        let fixed = Origin::Fixed("https://public.example.com".into());
        assert_eq!(
            request_url(&fixed, &uri, &headers).as_deref(),
            Some("https://public.example.com/api/me")
        );
        let absolute: Uri = "http://abs.example.com:8080/api/me".parse().unwrap();
        assert_eq!(
            request_url(&plain, &absolute, &HeaderMap::new()).as_deref(),
            Some("http://abs.example.com:8080/api/me")
        );
        assert_eq!(request_url(&plain, &uri, &HeaderMap::new()), None);
    }
}
