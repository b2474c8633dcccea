//! One-time `tracing` warnings that explain a subtly wrong Okta setup.
//!
//! They run only on the rejection path. The HTTP answer stays the fixed `invalid_token`; the
//! warning, written once per verifier and kind, says what to change in Okta. Values from the
//! (unverified) token are logged with `Debug` formatting, so they cannot forge log lines.

use std::sync::atomic::{AtomicBool, Ordering};

use reqwest::Url;

use crate::error::TokenError;
use crate::token::{RawAudience, RawClaims};
use crate::validate::{Rules, TokenKind};

/// Which explanations were already logged.
#[derive(Debug, Default)]
pub(crate) struct Diagnostics {
    trailing_slash: AtomicBool,
    other_host: AtomicBool,
    org_server: AtomicBool,
    default_audience: AtomicBool,
    rfc9068: AtomicBool,
}

fn once(flag: &AtomicBool) -> bool {
    !flag.swap(true, Ordering::Relaxed)
}

impl Diagnostics {
    /// The hint, if any, for a token of `kind` refused with `error` (rejection path only).
    pub(crate) fn explain(
        &self,
        error: TokenError,
        claims: &RawClaims<'_>,
        rules: &Rules,
        kind: TokenKind,
    ) {
        match error {
            TokenError::WrongIssuer => {
                if let Some(iss) = claims.iss.as_deref() {
                    self.wrong_issuer(iss, &rules.issuers);
                }
            }
            TokenError::WrongAudience => {
                self.wrong_audience(claims.aud.as_ref(), rules.audiences_for(kind));
            }
            TokenError::NotAnAccessToken if claims.has_rfc9068_claims => {
                self.rfc9068_access_token(&rules.issuers);
            }
            _ => {}
        }
    }

    /// A token whose `iss` is none of the accepted issuers.
    fn wrong_issuer(&self, token_iss: &str, issuers: &[String]) {
        let Some(configured) = issuers.first() else {
            return;
        };
        let trimmed = token_iss.trim_end_matches('/');
        if trimmed != token_iss && issuers.iter().any(|i| i == trimmed) {
            if once(&self.trailing_slash) {
                tracing::warn!(
                    token_iss = ?token_iss,
                    configured = %configured,
                    "token issuer differs from the configured issuer only by a trailing slash; \
                     Okta issuers have none: check the issuer your clients are configured with"
                );
            }
            return;
        }
        let (Ok(token_url), Ok(configured_url)) = (Url::parse(token_iss), Url::parse(configured))
        else {
            return;
        };
        if token_url.path() == "/" && token_url.host() == configured_url.host() {
            if once(&self.org_server) {
                tracing::warn!(
                    token_iss = ?token_iss,
                    configured = %configured,
                    "token comes from Okta's org authorization server, whose access tokens only \
                     Okta's own APIs can validate: have the SPA request tokens from the custom \
                     authorization server (its issuer is the configured one, e.g. \
                     https://{{yourOktaDomain}}/oauth2/default)"
                );
            }
            return;
        }
        if token_url.path() == configured_url.path()
            && token_url.host() != configured_url.host()
            && once(&self.other_host)
        {
            tracing::warn!(
                token_iss = ?token_iss,
                configured = %configured,
                "token issuer differs from the configured issuer only by host (custom domain \
                 vs Okta domain?): the authorization server's Issuer setting is probably \
                 'Dynamic', so `iss` follows the domain used to sign in. Set it to 'Okta URL' \
                 (Security > API > Authorization Servers > Settings > Issuer) or accept both \
                 issuers with VerifierBuilder::additional_issuer"
            );
        }
    }

    /// A token whose `aud` is none of the accepted audiences.
    fn wrong_audience(&self, aud: Option<&RawAudience<'_>>, audiences: &[String]) {
        let default = ["api://default".to_owned()];
        if aud.is_some_and(|a| a.contains_any(&default))
            && !audiences.iter().any(|a| a == "api://default")
            && once(&self.default_audience)
        {
            tracing::warn!(
                accepted = ?audiences,
                "token audience is `api://default`, Okta's default Audience: set the authorization \
                 server's Audience to the SPA's client ID (Security > API > Authorization Servers > \
                 Settings), or accept it with OKTA_AUDIENCE / VerifierBuilder::audience"
            );
        }
    }

    /// An access token refused for its shape that carries RFC 9068's `client_id` and `scope`
    /// instead of Okta's `cid` and `scp`.
    fn rfc9068_access_token(&self, issuers: &[String]) {
        if once(&self.rfc9068) {
            tracing::warn!(
                issuers = ?issuers,
                "token has RFC 9068 `client_id` and `scope` claims but no `cid`/`scp`: Okta \
                 custom authorization servers issue `cid` and `scp`, so this issuer may not be an \
                 Okta custom authorization server (check OKTA_ISSUER: \
                 https://{{yourOktaDomain}}/oauth2/{{authServerId}})"
            );
        }
    }
}
