//! Issuer URL rules, checked when a verifier is built: https (http only on loopback), no query,
//! fragment or trailing slash, and the JWKS URL derived from it. The org authorization server is
//! refused for access tokens.

use reqwest::Url;

use crate::error::ConfigError;
use crate::net::{check_secure_url, is_loopback};

/// Validates an issuer and derives its default JWKS URL (`{issuer}/v1/keys`, or
/// `{issuer}/oauth2/v1/keys` for the org authorization server, accepted for ID tokens only).
pub(crate) fn jwks_fallback(issuer: &str, id_tokens_only: bool) -> Result<Url, ConfigError> {
    let issuer_url = check_issuer(issuer)?;
    let is_org_server = issuer_url.path() == "/";
    if is_org_server && !id_tokens_only {
        return Err(ConfigError::OrgAuthorizationServer(issuer.to_owned()));
    }
    let fallback = if is_org_server {
        format!("{issuer}/oauth2/v1/keys")
    } else {
        format!("{issuer}/v1/keys")
    };
    Url::parse(&fallback).map_err(|_| ConfigError::InvalidIssuer {
        issuer: issuer.to_owned(),
        reason: "the JWKS URL derived from it is not a URL",
    })
}

fn check_issuer(issuer: &str) -> Result<Url, ConfigError> {
    let invalid = |reason| ConfigError::InvalidIssuer {
        issuer: issuer.to_owned(),
        reason,
    };
    let url = Url::parse(issuer).map_err(|_| invalid("not a URL"))?;
    if url.scheme() == "http" && url.host().is_some() && !is_loopback(&url) {
        return Err(ConfigError::InsecureIssuer(issuer.to_owned()));
    }
    check_secure_url(&url).map_err(|e| invalid(e.reason()))?;
    if url.query().is_some() || url.fragment().is_some() {
        return Err(invalid("it must not have a query or fragment"));
    }
    if issuer.ends_with('/') {
        return Err(invalid(
            "remove the trailing slash: Okta's `iss` claim has none and must match exactly",
        ));
    }
    Ok(url)
}
