//! The claim rules as a unit: [`Rules`] is plain data built once by the builder, and [`check`]
//! is a pure function that holds a parsed claims set against them.
//!
//! No clock, no I/O, no logging: the caller passes the time in and decides what to report. The
//! table of unit tests below walks every boundary (`exp`, `nbf` and `iat` at now ± leeway and one
//! second either side) and every token shape.

use crate::error::TokenError;
use crate::token::RawClaims;

/// Which kind of token is expected: the one switch between the two Okta token profiles, used by
/// the layer, the verifier and the verified-token cache alike.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum TokenKind {
    /// An access token: `cid` or `scp` present; no `nonce`, `at_hash` or `c_hash`.
    Access,
    /// An ID token: the audience is the client ID; no `cid`, `scp` or `uid`.
    Id,
}

/// The claim rules of one verifier.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Rules {
    /// Accepted issuers, the configured one first; `iss` must equal one exactly.
    pub(crate) issuers: Vec<String>,
    /// Accepted access-token audiences.
    pub(crate) audiences: Vec<String>,
    /// The client ID: the only accepted ID-token audience.
    pub(crate) client_id: String,
    /// Clock skew tolerated on `exp`, `nbf` and `iat`, in seconds.
    pub(crate) leeway: i64,
    /// False when the verifier checks ID tokens only.
    pub(crate) access_tokens: bool,
}

/// What a claims set that passed the rules tells the rest of the path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Checked {
    /// Index of the token's issuer in [`Rules::issuers`]: it selects the key source.
    pub(crate) issuer: usize,
    /// The token's `exp`.
    pub(crate) exp: i64,
}

impl Rules {
    /// The audiences a token of `kind` may name.
    pub(crate) fn audiences_for(&self, kind: TokenKind) -> &[String] {
        match kind {
            TokenKind::Access => &self.audiences,
            TokenKind::Id => std::slice::from_ref(&self.client_id),
        }
    }

    /// Refuses access tokens up front when the verifier checks ID tokens only.
    pub(crate) fn accepts(&self, kind: TokenKind) -> Result<(), TokenError> {
        if kind == TokenKind::Access && !self.access_tokens {
            return Err(TokenError::AccessTokensDisabled);
        }
        Ok(())
    }
}

/// Checks `claims` against `rules` for a token of `kind` at `now` (seconds since the epoch):
/// `iss`, `aud`, `exp`/`nbf`/`iat` with leeway, `sub`, a `cnf` this crate can check (a DPoP
/// key thumbprint only; whether it matches a proof is the layer's job), the token profile and, for an ID token
/// with an expected `nonce`, the nonce.
///
/// # Errors
/// The first rule the claims break, in the order above.
pub(crate) fn check(
    claims: &RawClaims<'_>,
    rules: &Rules,
    kind: TokenKind,
    nonce: Option<&str>,
    now: i64,
) -> Result<Checked, TokenError> {
    let issuer = claims
        .iss
        .as_deref()
        .and_then(|iss| rules.issuers.iter().position(|i| i == iss))
        .ok_or(TokenError::WrongIssuer)?;
    let accepted = rules.audiences_for(kind);
    if !claims
        .aud
        .as_ref()
        .is_some_and(|aud| aud.contains_any(accepted))
    {
        return Err(TokenError::WrongAudience);
    }

    let leeway = rules.leeway;
    let exp = match claims.exp {
        Some(exp) if now < exp.saturating_add(leeway) => exp,
        _ => return Err(TokenError::Expired),
    };
    if claims
        .nbf
        .is_some_and(|nbf| nbf > now.saturating_add(leeway))
    {
        return Err(TokenError::NotYetValid);
    }
    if claims
        .iat
        .is_some_and(|iat| iat > now.saturating_add(leeway))
    {
        return Err(TokenError::IssuedInFuture);
    }
    if claims.sub.is_none() {
        return Err(TokenError::InvalidClaim);
    }
    // A confirmation this crate cannot check (an mTLS certificate hash...) is never ignored.
    if claims
        .cnf
        .as_ref()
        .is_some_and(|cnf| cnf.other || cnf.jkt.is_none())
    {
        return Err(TokenError::UnsupportedBinding);
    }

    match kind {
        TokenKind::Access => {
            let looks_like_id_token = claims.nonce.is_some() || claims.has_token_hash;
            let has_access_claims = claims.cid.is_some() || claims.has_scp;
            if looks_like_id_token || !has_access_claims {
                return Err(TokenError::NotAnAccessToken);
            }
        }
        TokenKind::Id => {
            if claims.cid.is_some() || claims.has_scp || claims.has_uid {
                return Err(TokenError::NotAnIdToken);
            }
            if let Some(expected) = nonce {
                if claims.nonce.as_deref() != Some(expected) {
                    return Err(TokenError::NonceMismatch);
                }
            }
        }
    }
    Ok(Checked { issuer, exp })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::token::parse_claims;

    const NOW: i64 = 1_700_000_000;
    const LEEWAY: i64 = 60;

    fn rules() -> Rules {
        Rules {
            issuers: vec![
                "https://i.example/oauth2/default".into(),
                "https://other.example/oauth2/x".into(),
            ],
            audiences: vec!["api://default".into(), "0oaSPA".into()],
            client_id: "0oaSPA".into(),
            leeway: LEEWAY,
            access_tokens: true,
        }
    }

    /// A claims set from a base access (or ID) token with `edits` applied: `("key", json)`
    /// replaces or adds a member, `("key", "")` removes it.
    fn claims(kind: TokenKind, edits: &[(&str, &str)]) -> String {
        let mut base: Vec<(String, String)> = [
            ("iss", r#""https://i.example/oauth2/default""#),
            ("sub", r#""user@example.com""#),
            ("aud", r#""0oaSPA""#),
            ("exp", "1700003600"),
            ("iat", "1699999000"),
        ]
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
        let shape: &[(&str, &str)] = match kind {
            TokenKind::Access => &[
                ("cid", r#""0oaSPA""#),
                ("scp", r#"["openid"]"#),
                ("uid", r#""00u1""#),
            ],
            TokenKind::Id => &[("nonce", r#""n-1""#), ("at_hash", r#""h""#)],
        };
        for (k, v) in shape.iter().chain(edits) {
            base.retain(|(key, _)| key != k);
            if !v.is_empty() {
                base.push(((*k).to_owned(), (*v).to_owned()));
            }
        }
        let members: Vec<String> = base.iter().map(|(k, v)| format!("\"{k}\":{v}")).collect();
        format!("{{{}}}", members.join(","))
    }

    fn run(
        kind: TokenKind,
        nonce: Option<&str>,
        now: i64,
        edits: &[(&str, &str)],
    ) -> Result<Checked, TokenError> {
        let json = claims(kind, edits);
        let parsed = parse_claims(&json).expect("the test claims parse");
        check(&parsed, &rules(), kind, nonce, now)
    }

    /// A table row: the edits to the base claims, and the expected outcome.
    type Row = (
        &'static [(&'static str, &'static str)],
        Result<(), TokenError>,
    );
    /// A row with the expected nonce too.
    type NonceRow = (
        &'static [(&'static str, &'static str)],
        Option<&'static str>,
        Result<(), TokenError>,
    );

    use TokenError::*;
    use TokenKind::{Access, Id};

    #[test]
    fn time_boundaries() {
        let exp = NOW + 10;
        let e = exp.to_string();
        // `exp`: accepted while now < exp + leeway.
        let table: &[(i64, Result<(), TokenError>)] = &[
            (exp + LEEWAY - 1, Ok(())),
            (exp + LEEWAY, Err(Expired)),
            (exp + LEEWAY + 1, Err(Expired)),
            (exp, Ok(())),
        ];
        for (now, want) in table {
            let got = run(
                Access,
                None,
                *now,
                &[("exp", &e), ("iat", "1"), ("nbf", "")],
            )
            .map(|_| ());
            assert_eq!(got, *want, "exp at now={now}");
        }
        // `nbf` and `iat`: accepted while value <= now + leeway.
        for claim in ["nbf", "iat"] {
            let refusal = if claim == "nbf" {
                NotYetValid
            } else {
                IssuedInFuture
            };
            for (value, want) in [
                (NOW + LEEWAY - 1, Ok(())),
                (NOW + LEEWAY, Ok(())),
                (NOW + LEEWAY + 1, Err(refusal)),
                (NOW - LEEWAY - 1, Ok(())),
                (NOW - LEEWAY, Ok(())),
                (NOW - LEEWAY + 1, Ok(())),
            ] {
                let v = value.to_string();
                let got = run(Access, None, NOW, &[(claim, &v)]).map(|_| ());
                assert_eq!(got, want, "{claim}={value} at now={NOW}");
            }
        }
        // No `exp` at all is refused; a missing `nbf`/`iat` is fine.
        assert_eq!(run(Access, None, NOW, &[("exp", "")]), Err(Expired));
        assert!(run(Access, None, NOW, &[("iat", "")]).is_ok());
        // Saturating arithmetic: a huge `exp` does not wrap around.
        assert!(run(Access, None, NOW, &[("exp", "253402300799")]).is_ok());
    }

    #[test]
    fn the_result_names_the_issuer_and_exp() {
        let ok = run(Access, None, NOW, &[]).unwrap();
        assert_eq!(
            ok,
            Checked {
                issuer: 0,
                exp: 1_700_003_600
            }
        );
        let other = run(
            Access,
            None,
            NOW,
            &[("iss", r#""https://other.example/oauth2/x""#)],
        )
        .unwrap();
        assert_eq!(other.issuer, 1);
    }

    #[test]
    fn issuer_and_audience() {
        let table: &[Row] = &[
            (&[("iss", "")], Err(WrongIssuer)),
            (
                &[("iss", r#""https://i.example/oauth2/default/""#)],
                Err(WrongIssuer),
            ),
            (
                &[("iss", r#""HTTPS://i.example/oauth2/default""#)],
                Err(WrongIssuer),
            ),
            (&[("aud", "")], Err(WrongAudience)),
            (&[("aud", r#""api://other""#)], Err(WrongAudience)),
            (&[("aud", "[]")], Err(WrongAudience)),
            (&[("aud", r#"["x","api://default"]"#)], Ok(())),
            (&[("aud", r#""api://default""#)], Ok(())),
            (&[("sub", "")], Err(InvalidClaim)),
            (&[("cnf", r#"{"jkt":"t"}"#)], Ok(())),
            (&[("cnf", r#"{"x5t#S256":"h"}"#)], Err(UnsupportedBinding)),
            (
                &[("cnf", r#"{"jkt":"t","x5t#S256":"h"}"#)],
                Err(UnsupportedBinding),
            ),
            (&[("cnf", "{}")], Err(UnsupportedBinding)),
        ];
        for (edits, want) in table {
            assert_eq!(
                run(Access, None, NOW, edits).map(|_| ()),
                *want,
                "{edits:?}"
            );
        }
        // ID tokens: the client ID only, not the other access-token audiences.
        assert_eq!(
            run(Id, None, NOW, &[("aud", r#""api://default""#)]).map(|_| ()),
            Err(WrongAudience)
        );
        assert!(run(Id, None, NOW, &[("aud", r#"["0oaSPA"]"#)]).is_ok());
    }

    #[test]
    fn access_token_shapes() {
        let table: &[Row] = &[
            // `cid` only, `scp` only, both, neither.
            (&[("scp", ""), ("uid", "")], Ok(())),
            (&[("cid", ""), ("uid", "")], Ok(())),
            (&[], Ok(())),
            (&[("cid", ""), ("scp", "")], Err(NotAnAccessToken)),
            (
                &[("cid", ""), ("scp", ""), ("uid", "")],
                Err(NotAnAccessToken),
            ),
            // ID-token claims make it an ID token.
            (&[("nonce", r#""n""#)], Err(NotAnAccessToken)),
            (&[("at_hash", r#""h""#)], Err(NotAnAccessToken)),
            (&[("c_hash", r#""h""#)], Err(NotAnAccessToken)),
        ];
        for (edits, want) in table {
            assert_eq!(
                run(Access, None, NOW, edits).map(|_| ()),
                *want,
                "{edits:?}"
            );
        }
    }

    #[test]
    fn id_token_shapes_and_nonce() {
        let table: &[NonceRow] = &[
            (&[], None, Ok(())),
            (&[], Some("n-1"), Ok(())),
            (&[], Some("n-2"), Err(NonceMismatch)),
            (&[("nonce", "")], Some("n-1"), Err(NonceMismatch)),
            (&[("nonce", "")], None, Ok(())),
            (&[("cid", r#""0oaSPA""#)], None, Err(NotAnIdToken)),
            (&[("scp", "[]")], None, Err(NotAnIdToken)),
            (&[("uid", r#""00u1""#)], None, Err(NotAnIdToken)),
        ];
        for (edits, nonce, want) in table {
            assert_eq!(
                run(Id, *nonce, NOW, edits).map(|_| ()),
                *want,
                "{edits:?} {nonce:?}"
            );
        }
    }

    #[test]
    fn rules_order_and_kind_switch() {
        // Issuer before audience before time before profile.
        assert_eq!(
            run(Access, None, NOW, &[("iss", r#""x""#), ("aud", r#""x""#)]),
            Err(WrongIssuer)
        );
        assert_eq!(
            run(Access, None, NOW, &[("aud", r#""x""#), ("exp", "1")]),
            Err(WrongAudience)
        );
        assert_eq!(
            run(Access, None, NOW, &[("exp", "1"), ("cid", ""), ("scp", "")]),
            Err(Expired)
        );
        let mut only_id = rules();
        assert_eq!(only_id.accepts(Access), Ok(()));
        only_id.access_tokens = false;
        assert_eq!(only_id.accepts(Access), Err(AccessTokensDisabled));
        assert_eq!(only_id.accepts(Id), Ok(()));
        assert_eq!(only_id.audiences_for(Id), ["0oaSPA"]);
        assert_eq!(only_id.audiences_for(Access), ["api://default", "0oaSPA"]);
    }
}
