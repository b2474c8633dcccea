//! Strict parsing of a DPoP proof (RFC 9449 section 4.2): the compact JWS, its header (`typ`,
//! `alg`, `jwk`, `crit`) and its claims (`jti`, `htm`, `htu`, `iat`, `ath`, `nonce`).
//!
//! The same strictness as for tokens (`token.rs`, whose split and decode it reuses): a size cap
//! before decoding, strict base64url, no repeated JSON key at any depth, typed claims. Nothing
//! here checks a value against the request: `dpop/mod.rs` does.

use std::fmt;

use serde::de::{self, Deserializer, MapAccess, Visitor};
use serde::Deserialize;

use crate::dpop::error::DpopError;
use crate::dpop::key::{DpopAlgorithm, ProofJwk};
use crate::error::TokenError;
use crate::json::{classify, once, CowStr, NumericDate, SeenKeys, StrictAny};
use crate::token::{self, Inline};

/// The largest proof accepted, in bytes (an RSA-8192 `jwk` fits).
pub(crate) const MAX_PROOF_BYTES: usize = 8192;
/// The longest `jti` accepted, in bytes.
const MAX_JTI_BYTES: usize = 256;

/// The media type a proof's `typ` must name.
const DPOP_TYP: &str = "dpop+jwt";

/// A parsed, not yet verified proof.
#[derive(Debug)]
pub(crate) struct Proof<'a> {
    pub(crate) alg: DpopAlgorithm,
    pub(crate) jwk: ProofJwk,
    /// `header.payload` of the proof: the bytes its signature covers.
    pub(crate) signing_input: &'a str,
    pub(crate) signature: Inline<512>,
    pub(crate) claims: ProofClaims,
}

/// A proof's claims.
#[derive(Debug, Default)]
pub(crate) struct ProofClaims {
    pub(crate) jti: String,
    pub(crate) htm: String,
    pub(crate) htu: String,
    pub(crate) iat: i64,
    pub(crate) ath: Option<String>,
    pub(crate) nonce: Option<String>,
}

/// Parses `proof` and checks its form: size, compact JWS, `typ`, no `crit`, `alg` among
/// `allowed`, a `jwk`, and the required claims with their types.
pub(crate) fn parse<'a>(proof: &'a str, allowed: &[DpopAlgorithm]) -> Result<Proof<'a>, DpopError> {
    let (parts, decoded) =
        token::split_and_decode(proof, MAX_PROOF_BYTES).map_err(|e| match e {
            TokenError::TooLarge => DpopError::TooLarge,
            _ => DpopError::Malformed,
        })?;
    let header_text = decoded.header.text().map_err(|_| DpopError::Malformed)?;
    let header: Header = serde_json::from_str(header_text).map_err(json_error)?;
    if header.crit {
        return Err(DpopError::CriticalHeader);
    }
    // RFC 9449 section 4.3: exactly `dpop+jwt` (a media type, so case-insensitive).
    if !header
        .typ
        .as_deref()
        .is_some_and(|t| t.eq_ignore_ascii_case(DPOP_TYP))
    {
        return Err(DpopError::WrongType);
    }
    let alg = DpopAlgorithm::from_name(&header.alg)
        .filter(|a| allowed.contains(a))
        .ok_or(DpopError::UnsupportedAlgorithm)?;
    let jwk = header.jwk.ok_or(DpopError::InvalidKey)?;
    let claims = parse_claims(&decoded.payload)?;
    Ok(Proof {
        alg,
        jwk,
        signing_input: parts.signing_input,
        signature: decoded.signature,
        claims,
    })
}

fn parse_claims(json: &str) -> Result<ProofClaims, DpopError> {
    let raw: RawClaims = serde_json::from_str(json).map_err(json_error)?;
    let (Some(jti), Some(htm), Some(htu), Some(iat)) = (raw.jti, raw.htm, raw.htu, raw.iat) else {
        return Err(DpopError::MissingClaim);
    };
    if jti.is_empty() || jti.len() > MAX_JTI_BYTES {
        return Err(DpopError::MissingClaim);
    }
    Ok(ProofClaims {
        jti,
        htm,
        htu,
        iat,
        ath: raw.ath,
        nonce: raw.nonce,
    })
}

fn json_error(e: serde_json::Error) -> DpopError {
    match classify(e) {
        TokenError::DuplicateKey => DpopError::DuplicateKey,
        _ => DpopError::Malformed,
    }
}

/// The header members that matter.
struct Header {
    alg: String,
    typ: Option<String>,
    jwk: Option<ProofJwk>,
    crit: bool,
}

impl<'de> Deserialize<'de> for Header {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Header;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a DPoP proof header")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Header, A::Error> {
                let mut seen = SeenKeys::default();
                let (mut alg, mut typ, mut jwk) = (None, None, None);
                let mut crit = false;
                while let Some(CowStr(key)) = map.next_key()? {
                    match &*key {
                        "alg" => once(&mut map, &mut alg)?,
                        "typ" => once(&mut map, &mut typ)?,
                        "jwk" => once(&mut map, &mut jwk)?,
                        other => {
                            crit |= other == "crit";
                            seen.insert(key)?;
                            map.next_value::<StrictAny>()?;
                        }
                    }
                }
                let alg: CowStr<'de> = alg.ok_or_else(|| de::Error::custom("missing alg"))?;
                Ok(Header {
                    alg: alg.0.into_owned(),
                    typ: typ.map(|t: CowStr<'de>| t.0.into_owned()),
                    jwk: jwk.map(|JwkMembers(j)| j),
                    crit,
                })
            }
        }
        d.deserialize_map(V)
    }
}

/// A `jwk` header member: the public members that matter, and whether a private one is there.
struct JwkMembers(ProofJwk);

impl<'de> Deserialize<'de> for JwkMembers {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = JwkMembers;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a JWK object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<JwkMembers, A::Error> {
                let mut seen = SeenKeys::default();
                let mut jwk = ProofJwk::default();
                let mut slots: [Option<CowStr<'de>>; 6] = Default::default();
                while let Some(CowStr(key)) = map.next_key()? {
                    let slot = match &*key {
                        "kty" => Some(0),
                        "crv" => Some(1),
                        "x" => Some(2),
                        "y" => Some(3),
                        "n" => Some(4),
                        "e" => Some(5),
                        _ => None,
                    };
                    match slot.and_then(|i| slots.get_mut(i)) {
                        Some(slot) => once(&mut map, slot)?,
                        None => {
                            jwk.private |=
                                matches!(&*key, "d" | "p" | "q" | "dp" | "dq" | "qi" | "oth" | "k");
                            seen.insert(key)?;
                            map.next_value::<StrictAny>()?;
                        }
                    }
                }
                let [kty, crv, x, y, n, e] = slots.map(|s| s.map(|CowStr(v)| v.into_owned()));
                jwk.kty = kty;
                jwk.crv = crv;
                jwk.x = x;
                jwk.y = y;
                jwk.n = n;
                jwk.e = e;
                Ok(JwkMembers(jwk))
            }
        }
        d.deserialize_map(V)
    }
}

/// The claims, before the required ones are checked.
#[derive(Default)]
struct RawClaims {
    jti: Option<String>,
    htm: Option<String>,
    htu: Option<String>,
    iat: Option<i64>,
    ath: Option<String>,
    nonce: Option<String>,
}

impl<'de> Deserialize<'de> for RawClaims {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = RawClaims;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("DPoP proof claims")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<RawClaims, A::Error> {
                let mut seen = SeenKeys::default();
                let mut strings: [Option<CowStr<'de>>; 5] = Default::default();
                let mut iat: Option<NumericDate> = None;
                while let Some(CowStr(key)) = map.next_key()? {
                    let slot = match &*key {
                        "jti" => Some(0),
                        "htm" => Some(1),
                        "htu" => Some(2),
                        "ath" => Some(3),
                        "nonce" => Some(4),
                        _ => None,
                    };
                    match slot.and_then(|i| strings.get_mut(i)) {
                        Some(slot) => once(&mut map, slot)?,
                        None if &*key == "iat" => once(&mut map, &mut iat)?,
                        None => {
                            seen.insert(key)?;
                            map.next_value::<StrictAny>()?;
                        }
                    }
                }
                let [jti, htm, htu, ath, nonce] =
                    strings.map(|s| s.map(|CowStr(v)| v.into_owned()));
                Ok(RawClaims {
                    jti,
                    htm,
                    htu,
                    iat: iat.map(|d| d.0),
                    ath,
                    nonce,
                })
            }
        }
        d.deserialize_map(V)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::b64::STRICT_B64;
    use base64::Engine;

    const ALL: &[DpopAlgorithm] = &DpopAlgorithm::ALL;

    fn jws(header: &str, claims: &str) -> String {
        format!(
            "{}.{}.c2ln",
            STRICT_B64.encode(header),
            STRICT_B64.encode(claims)
        )
    }

    const JWK: &str = r#"{"kty":"EC","crv":"P-256","x":"a","y":"b"}"#;
    const CLAIMS: &str = r#"{"jti":"j","htm":"GET","htu":"https://a/b","iat":1}"#;

    fn header(extra: &str) -> String {
        format!(r#"{{"typ":"dpop+jwt","alg":"ES256","jwk":{JWK}{extra}}}"#)
    }

    #[test]
    fn a_well_formed_proof_parses() {
        let proof = jws(&header(""), CLAIMS);
        let p = parse(&proof, ALL).unwrap();
        assert_eq!(p.alg, DpopAlgorithm::ES256);
        assert_eq!(p.jwk.kty.as_deref(), Some("EC"));
        assert_eq!(p.claims.htu, "https://a/b");
        assert_eq!(p.claims.iat, 1);
        assert_eq!(p.signature.bytes(), b"sig");
        assert!(p.claims.ath.is_none() && p.claims.nonce.is_none());
    }

    #[test]
    fn every_form_rule_has_its_reason() {
        let cases = [
            (
                jws(&header(r#","crit":["x"]"#), CLAIMS),
                DpopError::CriticalHeader,
            ),
            (
                jws(&header("").replace("dpop+jwt", "JWT"), CLAIMS),
                DpopError::WrongType,
            ),
            (
                jws(&header("").replace(r#""typ":"dpop+jwt","#, ""), CLAIMS),
                DpopError::WrongType,
            ),
            (
                jws(&header("").replace("ES256", "HS256"), CLAIMS),
                DpopError::UnsupportedAlgorithm,
            ),
            (
                jws(&header("").replace("ES256", "none"), CLAIMS),
                DpopError::UnsupportedAlgorithm,
            ),
            (
                jws(&header(r#","alg":"ES256""#), CLAIMS),
                DpopError::DuplicateKey,
            ),
            (
                jws(
                    &header(""),
                    r#"{"jti":"j","jti":"k","htm":"GET","htu":"u","iat":1}"#,
                ),
                DpopError::DuplicateKey,
            ),
            (
                jws(&header(""), r#"{"htm":"GET","htu":"u","iat":1}"#),
                DpopError::MissingClaim,
            ),
            (
                jws(&header(""), r#"{"jti":"","htm":"GET","htu":"u","iat":1}"#),
                DpopError::MissingClaim,
            ),
            (
                jws(
                    &header(""),
                    r#"{"jti":"j","htm":"GET","htu":"u","iat":"1"}"#,
                ),
                DpopError::Malformed,
            ),
            (
                jws(r#"{"typ":"dpop+jwt","alg":"ES256"}"#, CLAIMS),
                DpopError::InvalidKey,
            ),
            ("a.b".to_owned(), DpopError::Malformed),
            ("x".repeat(MAX_PROOF_BYTES + 1), DpopError::TooLarge),
        ];
        for (proof, expected) in cases {
            assert_eq!(parse(&proof, ALL).unwrap_err(), expected, "{expected:?}");
        }
        // Not allowed by this configuration.
        assert_eq!(
            parse(&jws(&header(""), CLAIMS), &[DpopAlgorithm::RS256]).unwrap_err(),
            DpopError::UnsupportedAlgorithm
        );
    }

    #[test]
    fn private_members_are_noticed_and_repeats_refused() {
        let proof = jws(
            &header("").replace(r#""y":"b""#, r#""y":"b","d":"s""#),
            CLAIMS,
        );
        let p = parse(&proof, ALL).unwrap();
        assert!(p.jwk.private);
        assert_eq!(
            parse(
                &jws(
                    &header("").replace(r#""y":"b""#, r#""y":"b","\u0078":"c""#),
                    CLAIMS
                ),
                ALL
            )
            .unwrap_err(),
            DpopError::DuplicateKey
        );
    }
}
