//! What the OAuth endpoints remember: authorization codes, refresh-token families (rotation with
//! a grace period, reuse detection) and revoked access tokens.
//!
//! A family is one sign-in (one code exchange): its refresh tokens and the access tokens issued
//! since. Like Okta, a rotated-away refresh token still works within the grace period; reused
//! after it, it revokes the whole family: its live refresh tokens and every access token issued
//! since sign-in.

use std::collections::{HashMap, HashSet};
use std::time::{Duration, SystemTime};

/// An authorization code not yet exchanged.
#[derive(Debug)]
pub(crate) struct CodeGrant {
    /// The client it was issued to: only that client may exchange it.
    pub(crate) client_id: String,
    pub(crate) redirect_uri: String,
    pub(crate) scopes: Vec<String>,
    pub(crate) nonce: Option<String>,
    /// The PKCE S256 challenge (always there for the SPA; optional for a web app).
    pub(crate) code_challenge: Option<String>,
    pub(crate) expires: SystemTime,
    pub(crate) auth_time: i64,
}

/// What a refresh token grants.
#[derive(Debug, Clone)]
pub(crate) struct RefreshGrant {
    /// The client it was issued to: only that client may use, revoke or introspect it.
    pub(crate) client_id: String,
    pub(crate) family: u64,
    pub(crate) scopes: Vec<String>,
    pub(crate) auth_time: i64,
    /// The thumbprint of the DPoP key the token is bound to (RFC 9449 5): a refresh must
    /// carry a proof by that key.
    pub(crate) jkt: Option<String>,
}

/// A rotated-away refresh token: what it granted and when it was rotated.
#[derive(Debug, Clone)]
struct SpentRefresh {
    grant: RefreshGrant,
    spent_at: SystemTime,
}

/// One sign-in and what was issued since.
#[derive(Debug, Default)]
struct Family {
    access_jtis: Vec<String>,
    revoked: bool,
}

/// What a refresh token presented at the token endpoint is worth.
#[derive(Debug)]
pub(crate) enum RefreshUse {
    /// A live token: rotate it.
    Live(RefreshGrant),
    /// A rotated-away token within the grace period: it still works (and stays spent).
    Grace(RefreshGrant),
    /// Unknown, revoked, or reused after the grace period (which revoked its family).
    Refused,
}

/// The endpoints' memory.
#[derive(Debug, Default)]
pub(crate) struct Grants {
    /// Codes not yet exchanged.
    pub(crate) codes: HashMap<String, CodeGrant>,
    /// Codes exchanged (or tried), with the family the exchange started, if it succeeded.
    pub(crate) spent_codes: HashMap<String, Option<u64>>,
    /// Live refresh tokens.
    refresh: HashMap<String, RefreshGrant>,
    /// Rotated-away refresh tokens.
    spent_refresh: HashMap<String, SpentRefresh>,
    /// Revoked access tokens (`jti`), for userinfo and introspection.
    pub(crate) revoked_access: HashSet<String>,
    families: HashMap<u64, Family>,
    next_family: u64,
}

impl Grants {
    /// Starts a family (a successful code exchange).
    pub(crate) fn new_family(&mut self) -> u64 {
        let family = self.next_family;
        self.next_family += 1;
        self.families.insert(family, Family::default());
        family
    }

    /// Remembers that the access token `jti` was issued in `family` (revoked at once if the
    /// family already is).
    pub(crate) fn issued_access(&mut self, family: u64, jti: &str) {
        let entry = self.families.entry(family).or_default();
        entry.access_jtis.push(jti.to_owned());
        if entry.revoked {
            self.revoked_access.insert(jti.to_owned());
        }
    }

    /// Revokes a family: its refresh tokens (spent ones stop working within the grace period
    /// too) and the access tokens issued in it.
    pub(crate) fn revoke_family(&mut self, family: u64) {
        self.refresh.retain(|_, grant| grant.family != family);
        let entry = self.families.entry(family).or_default();
        entry.revoked = true;
        self.revoked_access
            .extend(entry.access_jtis.iter().cloned());
    }

    /// The family of a refresh token, live or spent.
    pub(crate) fn refresh_family(&self, token: &str) -> Option<u64> {
        self.refresh
            .get(token)
            .map(|grant| grant.family)
            .or_else(|| {
                self.spent_refresh
                    .get(token)
                    .map(|spent| spent.grant.family)
            })
    }

    /// The client a refresh token (live or spent) was issued to.
    pub(crate) fn refresh_client(&self, token: &str) -> Option<&str> {
        self.refresh
            .get(token)
            .or_else(|| self.spent_refresh.get(token).map(|spent| &spent.grant))
            .map(|grant| grant.client_id.as_str())
    }

    /// A live refresh token's grant (not rotated away, not revoked).
    pub(crate) fn live_refresh(&self, token: &str) -> Option<&RefreshGrant> {
        self.refresh.get(token)
    }

    fn is_revoked(&self, family: u64) -> bool {
        self.families.get(&family).is_some_and(|f| f.revoked)
    }

    /// What `token` is worth at `now` with this grace period; a reuse after the grace period
    /// revokes the token's family.
    pub(crate) fn use_refresh(
        &mut self,
        token: &str,
        now: SystemTime,
        grace: Duration,
    ) -> RefreshUse {
        if let Some(grant) = self.refresh.get(token) {
            return RefreshUse::Live(grant.clone());
        }
        let Some(spent) = self.spent_refresh.get(token).cloned() else {
            return RefreshUse::Refused;
        };
        let family = spent.grant.family;
        if self.is_revoked(family) {
            return RefreshUse::Refused;
        }
        let within_grace = spent
            .spent_at
            .checked_add(grace)
            .is_some_and(|end| now < end);
        if within_grace {
            return RefreshUse::Grace(spent.grant);
        }
        self.revoke_family(family);
        RefreshUse::Refused
    }

    /// A new refresh token granting what `grant` grants, in its family.
    pub(crate) fn issue_refresh(&mut self, token: String, grant: RefreshGrant) {
        self.refresh.insert(token, grant);
    }

    /// Spends a live refresh token at `now` (rotation).
    pub(crate) fn spend_refresh(&mut self, token: &str, now: SystemTime) {
        if let Some(grant) = self.refresh.remove(token) {
            self.spent_refresh.insert(
                token.to_owned(),
                SpentRefresh {
                    grant,
                    spent_at: now,
                },
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grant(family: u64) -> RefreshGrant {
        RefreshGrant {
            client_id: "0oa-spa".into(),
            family,
            scopes: vec!["offline_access".into()],
            auth_time: 0,
            jkt: None,
        }
    }

    #[test]
    fn grace_then_reuse_revokes_the_family() {
        let grace = Duration::from_secs(30);
        let t0 = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000);
        let mut grants = Grants::default();
        let family = grants.new_family();
        grants.issued_access(family, "AT.1");
        grants.issue_refresh("rt1".into(), grant(family));
        assert!(matches!(
            grants.use_refresh("rt1", t0, grace),
            RefreshUse::Live(_)
        ));
        grants.spend_refresh("rt1", t0);
        grants.issue_refresh("rt2".into(), grant(family));
        let in_grace = t0 + Duration::from_secs(29);
        assert!(matches!(
            grants.use_refresh("rt1", in_grace, grace),
            RefreshUse::Grace(_)
        ));
        assert!(grants.revoked_access.is_empty());
        let late = t0 + grace;
        assert!(matches!(
            grants.use_refresh("rt1", late, grace),
            RefreshUse::Refused
        ));
        assert!(matches!(
            grants.use_refresh("rt2", late, grace),
            RefreshUse::Refused
        ));
        assert!(grants.revoked_access.contains("AT.1"));
        // Issued after the revocation (a request that raced it): revoked too.
        grants.issued_access(family, "AT.2");
        assert!(grants.revoked_access.contains("AT.2"));
        assert_eq!(grants.refresh_family("rt1"), Some(family));
        assert_eq!(grants.refresh_family("nope"), None);
        assert_eq!(grants.refresh_client("rt1"), Some("0oa-spa"));
        assert!(grants.live_refresh("rt2").is_none());
    }
}
