//! Compact JWS parsing: the strict split, strict base64url, and strict JSON for the header and the
//! registered claims.
//!
//! Nothing here trusts the token: it only checks its form. The verification path (`verifier.rs`)
//! and the claim rules (`validate.rs`) decide what the parsed values mean.
//!
//! What "strict" means here (RFC 7515, RFC 8725):
//! - compact form only: exactly three non-empty parts separated by `.`; five parts is a JWE and is
//!   refused with its own reason; any character outside the base64url alphabet (whitespace,
//!   padding `=`, `+`, `/`) is refused;
//! - base64url without padding and with zero trailing bits (one encoding per value);
//! - JSON objects must not repeat a key, at any depth, even when the repeats are spelled with
//!   different escapes;
//! - registered claims must have their registered types: `iss`/`sub`/`nonce` strings, `aud` a
//!   string or an array of strings, `exp`/`nbf`/`iat` integer numbers of seconds.

use std::borrow::Cow;
use std::fmt;

use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;

use crate::claims::Audience;
use crate::error::TokenError;
use crate::json::{classify, once, CowStr, NumericDate, SeenKeys, StrictAny};

/// The three parts of a compact JWS, still encoded.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Compact<'t> {
    /// `header.payload`: the bytes the signature covers.
    pub(crate) signing_input: &'t str,
    pub(crate) header: &'t str,
    pub(crate) payload: &'t str,
    pub(crate) signature: &'t str,
}

/// Splits a compact JWS after checking its size. Decodes nothing; the alphabet of each part is
/// checked by the decoder (strict base64url refuses everything else, whitespace, padding and a
/// third `.` included), so the token is scanned once, by the decoder, not twice. Use
/// [`split_and_decode`], which also names a JWE as such.
fn split(token: &str, max_len: usize) -> Result<Compact<'_>, TokenError> {
    if token.len() > max_len {
        return Err(TokenError::TooLarge);
    }
    // `.` is ASCII, so both positions are character boundaries (memchr: SIMD byte search).
    let bytes = token.as_bytes();
    let h = memchr::memchr(b'.', bytes).ok_or(TokenError::Malformed)?;
    let p = h + 1 + memchr::memchr(b'.', &bytes[h + 1..]).ok_or(TokenError::Malformed)?;
    let compact = Compact {
        signing_input: &token[..p],
        header: &token[..h],
        payload: &token[h + 1..p],
        // Everything after the second `.`: another `.` makes it fail to decode.
        signature: &token[p + 1..],
    };
    if compact.header.is_empty() || compact.payload.is_empty() || compact.signature.is_empty() {
        return Err(TokenError::Malformed);
    }
    Ok(compact)
}

/// Splits a compact JWS and decodes its three parts. A malformed token with five parts is a JWE
/// and is refused with its own reason.
pub(crate) fn split_and_decode(
    token: &str,
    max_len: usize,
) -> Result<(Compact<'_>, Decoded), TokenError> {
    let parts = split(token, max_len).and_then(|parts| Ok((parts, Decoded::new(&parts)?)));
    parts.map_err(|e| {
        if e == TokenError::Malformed && token.bytes().filter(|&b| b == b'.').count() == 4 {
            TokenError::Encrypted
        } else {
            e
        }
    })
}

pub(crate) use crate::b64::{decode, Inline};

/// The three parts of a compact JWS, decoded. The header and the signature are small and go to
/// inline buffers; the claims set is kept as a `String` that the typed claims may take over.
pub(crate) struct Decoded {
    pub(crate) header: Inline<256>,
    pub(crate) payload: String,
    pub(crate) signature: Inline<512>,
}

impl Decoded {
    /// Strict base64url decode of every part. The claims set must also be UTF-8 (RFC 7519
    /// section 7.2): checked once here, so that the JSON parser need not check each string again.
    fn new(parts: &Compact<'_>) -> Result<Decoded, TokenError> {
        let mut decoded = Decoded {
            header: Inline::Stack([0; 256], 0),
            payload: String::new(),
            signature: Inline::Stack([0; 512], 0),
        };
        decoded.header.decode(parts.header)?;
        decoded.payload =
            String::from_utf8(decode(parts.payload)?).map_err(|_| TokenError::Malformed)?;
        decoded.signature.decode(parts.signature)?;
        Ok(decoded)
    }
}

/// Lengths only: the contents are a token's.
impl std::fmt::Debug for Decoded {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Decoded")
            .field("header_len", &self.header.bytes().len())
            .field("payload_len", &self.payload.len())
            .field("signature_len", &self.signature.bytes().len())
            .finish()
    }
}

/// The JOSE header fields that matter. `jku`, `x5u`, `jwk` and `x5c` are deliberately ignored:
/// keys come only from the issuer's JWKS.
#[derive(Debug)]
pub(crate) struct Header<'a> {
    pub(crate) alg: Cow<'a, str>,
    pub(crate) kid: Option<Cow<'a, str>>,
    pub(crate) typ: Option<Cow<'a, str>>,
    /// A `crit` parameter was present (in any form).
    pub(crate) crit: bool,
}

/// The `typ` of access tokens from Okta's org authorization server.
const OKTA_INTERNAL_TYP: &str = "application/okta-internal-at+jwt";

impl Header<'_> {
    /// True for an access token of Okta's org authorization server. RFC 7515 section 4.1.9:
    /// media types compare case-insensitively, and a `typ` without `/` stands for
    /// `application/<typ>`.
    pub(crate) fn is_okta_internal(&self) -> bool {
        let short = &OKTA_INTERNAL_TYP["application/".len()..];
        self.typ.as_deref().is_some_and(|typ| {
            typ.eq_ignore_ascii_case(OKTA_INTERNAL_TYP) || typ.eq_ignore_ascii_case(short)
        })
    }
}

/// Parses a decoded JOSE header.
pub(crate) fn parse_header(json: &str) -> Result<Header<'_>, TokenError> {
    let h: Header<'_> = serde_json::from_str(json).map_err(|e| match classify(e) {
        TokenError::InvalidClaim => TokenError::Malformed,
        other => other,
    })?;
    Ok(h)
}

/// `aud`: a string or an array of strings.
#[derive(Debug)]
pub(crate) enum RawAudience<'a> {
    One(Cow<'a, str>),
    Many(Vec<Cow<'a, str>>),
}

impl RawAudience<'_> {
    /// The owned [`Audience`](Audience).
    pub(crate) fn into_owned(self) -> Audience {
        match self {
            RawAudience::One(a) => Audience::One(a.into_owned()),
            RawAudience::Many(list) => {
                Audience::Many(list.into_iter().map(Cow::into_owned).collect())
            }
        }
    }

    /// True if any audience equals one of `accepted`.
    pub(crate) fn contains_any(&self, accepted: &[String]) -> bool {
        match self {
            RawAudience::One(a) => accepted.iter().any(|x| x == a),
            RawAudience::Many(list) => list.iter().any(|a| accepted.iter().any(|x| x == a)),
        }
    }
}

/// The registered and profile-relevant claims, borrowed from the decoded payload where possible.
#[derive(Debug, Default)]
pub(crate) struct RawClaims<'a> {
    pub(crate) iss: Option<Cow<'a, str>>,
    pub(crate) sub: Option<Cow<'a, str>>,
    pub(crate) aud: Option<RawAudience<'a>>,
    pub(crate) exp: Option<i64>,
    pub(crate) nbf: Option<i64>,
    pub(crate) iat: Option<i64>,
    pub(crate) nonce: Option<Cow<'a, str>>,
    /// Okta's `cid`: the client the access token was issued to.
    pub(crate) cid: Option<Cow<'a, str>>,
    /// Okta access-token claims present (`scp`, `uid`).
    pub(crate) has_scp: bool,
    pub(crate) has_uid: bool,
    /// ID-token-only claims present (`at_hash`, `c_hash`).
    pub(crate) has_token_hash: bool,
    /// RFC 9068 access-token claims present (`client_id` and `scope`), which Okta's custom
    /// authorization servers do not issue (they issue `cid` and `scp`).
    pub(crate) has_rfc9068_claims: bool,
    /// `cnf` (RFC 7800): the token's confirmation, for DPoP its key's thumbprint `jkt`.
    pub(crate) cnf: Option<RawCnf<'a>>,
    /// With [`parse_claims_collecting`]: what [`AccessClaims`](crate::AccessClaims) needs beyond
    /// the fields above, read in the same pass (its other claims are read only if asked for:
    /// [`Extra`](crate::Extra)).
    pub(crate) access: Option<AccessRest>,
}

impl RawClaims<'_> {
    /// The DPoP key the token is bound to (`cnf.jkt`), if any.
    pub(crate) fn binding(&self) -> Option<std::sync::Arc<str>> {
        self.cnf.as_ref()?.jkt.as_deref().map(Into::into)
    }
}

/// A `cnf` claim: the DPoP key thumbprint `jkt`, and whether it names any other confirmation
/// method (an mTLS certificate hash...), which cannot be checked here.
#[derive(Debug, Default)]
pub(crate) struct RawCnf<'a> {
    pub(crate) jkt: Option<Cow<'a, str>>,
    pub(crate) other: bool,
}

impl<'de> Deserialize<'de> for RawCnf<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = RawCnf<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a cnf object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut seen = SeenKeys::default();
                let mut jkt = None;
                let mut other = false;
                while let Some(CowStr(key)) = map.next_key()? {
                    if key == "jkt" {
                        once(&mut map, &mut jkt)?;
                    } else {
                        other = true;
                        seen.insert(key)?;
                        map.next_value::<StrictAny>()?;
                    }
                }
                Ok(RawCnf {
                    jkt: jkt.map(|CowStr(j)| j),
                    other,
                })
            }
        }
        d.deserialize_map(V)
    }
}

/// The rest of an access token's claims, for building `AccessClaims` without a second pass.
#[derive(Debug, Default)]
pub(crate) struct AccessRest {
    pub(crate) jti: Option<String>,
    pub(crate) uid: Option<String>,
    pub(crate) scp: Vec<String>,
}

/// Parses a decoded claims set: a JSON object without repeated keys and with typed registered claims.
pub(crate) fn parse_claims(json: &str) -> Result<RawClaims<'_>, TokenError> {
    parse_with(json, ClaimsSeed { collect: false })
}

/// [`parse_claims`], also collecting the other claims of an access token
/// ([`RawClaims::access`]) so that the verifier builds `AccessClaims` from this single pass.
pub(crate) fn parse_claims_collecting(json: &str) -> Result<RawClaims<'_>, TokenError> {
    parse_with(json, ClaimsSeed { collect: true })
}

fn parse_with(json: &str, seed: ClaimsSeed) -> Result<RawClaims<'_>, TokenError> {
    let mut de = serde_json::Deserializer::from_str(json);
    let claims = seed.deserialize(&mut de).map_err(classify)?;
    de.end().map_err(classify)?;
    Ok(claims)
}

impl<'de> Deserialize<'de> for RawAudience<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = RawAudience<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string or an array of strings")
            }
            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(RawAudience::One(Cow::Borrowed(v)))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                Ok(RawAudience::One(Cow::Owned(v.to_owned())))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                let mut list = Vec::new();
                while let Some(CowStr(a)) = seq.next_element()? {
                    list.push(a);
                }
                Ok(RawAudience::Many(list))
            }
        }
        d.deserialize_any(V)
    }
}

impl<'de> Deserialize<'de> for Header<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Header<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a JOSE header object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut seen = SeenKeys::default();
                let (mut alg, mut kid, mut typ) = (None, None, None);
                let mut crit = false;
                while let Some(CowStr(key)) = map.next_key()? {
                    seen.insert(key.clone())?;
                    match &*key {
                        "alg" => once(&mut map, &mut alg)?,
                        "kid" => once(&mut map, &mut kid)?,
                        "typ" => once(&mut map, &mut typ)?,
                        "crit" => {
                            crit = true;
                            map.next_value::<StrictAny>()?;
                        }
                        _ => {
                            map.next_value::<StrictAny>()?;
                        }
                    }
                }
                let alg: CowStr<'de> = alg.ok_or_else(|| de::Error::custom("missing alg"))?;
                Ok(Header {
                    alg: alg.0,
                    kid: kid.map(|k: CowStr<'de>| k.0),
                    typ: typ.map(|t: CowStr<'de>| t.0),
                    crit,
                })
            }
        }
        d.deserialize_map(V)
    }
}

/// Reads the claims; with `collect`, also the rest of an access token's claims.
struct ClaimsSeed {
    collect: bool,
}

impl<'de> de::DeserializeSeed<'de> for ClaimsSeed {
    type Value = RawClaims<'de>;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<RawClaims<'de>, D::Error> {
        struct V {
            collect: bool,
        }
        impl<'de> Visitor<'de> for V {
            type Value = RawClaims<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a JWT claims object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut seen = SeenKeys::default();
                let mut c = RawClaims::default();
                let (mut has_client_id, mut has_scope) = (false, false);
                let (mut iss, mut sub, mut nonce, mut cid) = (None, None, None, None);
                let (mut exp, mut nbf, mut iat) = (None, None, None);
                let mut aud = None;
                let mut cnf = None;
                let mut rest = self.collect.then(AccessRest::default);
                let (mut jti, mut uid, mut scp) = (None, None, None);
                // Registered claims (and, when collecting, `jti`, `uid` and `scp`) are read once
                // each (`once` refuses a repeat, whatever its escapes); only the other keys need
                // the duplicate list.
                while let Some(CowStr(key)) = map.next_key()? {
                    match &*key {
                        "iss" => once(&mut map, &mut iss)?,
                        "sub" => once(&mut map, &mut sub)?,
                        "nonce" => once(&mut map, &mut nonce)?,
                        "cid" => once(&mut map, &mut cid)?,
                        "aud" => once(&mut map, &mut aud)?,
                        "exp" => once(&mut map, &mut exp)?,
                        "nbf" => once(&mut map, &mut nbf)?,
                        "iat" => once(&mut map, &mut iat)?,
                        "cnf" => once(&mut map, &mut cnf)?,
                        other => {
                            match other {
                                "scp" => c.has_scp = true,
                                "uid" => c.has_uid = true,
                                "at_hash" | "c_hash" => c.has_token_hash = true,
                                "client_id" => has_client_id = true,
                                "scope" => has_scope = true,
                                _ => {}
                            }
                            match (&rest, other) {
                                (Some(_), "jti") => once(&mut map, &mut jti)?,
                                (Some(_), "uid") => once(&mut map, &mut uid)?,
                                (Some(_), "scp") => once(&mut map, &mut scp)?,
                                _ => {
                                    seen.insert(key)?;
                                    map.next_value::<StrictAny>()?;
                                }
                            }
                        }
                    }
                }
                c.iss = iss.map(|s: CowStr<'de>| s.0);
                c.sub = sub.map(|s: CowStr<'de>| s.0);
                c.nonce = nonce.map(|s: CowStr<'de>| s.0);
                c.cid = cid.map(|s: CowStr<'de>| s.0);
                c.aud = aud;
                c.cnf = cnf;
                c.exp = exp.map(|d: NumericDate| d.0);
                c.nbf = nbf.map(|d: NumericDate| d.0);
                c.iat = iat.map(|d: NumericDate| d.0);
                if let Some(rest) = &mut rest {
                    rest.jti = jti.flatten();
                    rest.uid = uid.flatten();
                    rest.scp = scp.flatten().unwrap_or_default();
                }
                c.access = rest;
                c.has_rfc9068_claims = has_client_id && has_scope;
                Ok(c)
            }
        }
        d.deserialize_map(V {
            collect: self.collect,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::b64::STRICT_B64;
    use base64::Engine;

    fn b64(s: &str) -> String {
        STRICT_B64.encode(s)
    }

    #[test]
    fn split_accepts_three_parts_and_refuses_others() {
        let t = format!("{}.{}.{}", b64("{}"), b64("{}"), "c2ln");
        let c = split(&t, 8192).unwrap();
        assert!(split_and_decode(&t, 8192).is_ok());
        assert_eq!(c.signature, "c2ln");
        assert_eq!(c.signing_input, &t[..t.rfind('.').unwrap()]);
        assert_eq!(split("a.b", 100).unwrap_err(), TokenError::Malformed);
        assert_eq!(
            split_and_decode("a.b.c.d.e", 100).unwrap_err(),
            TokenError::Encrypted
        );
        assert_eq!(
            split_and_decode("e30..c2ln.c2ln.c2ln", 100).unwrap_err(),
            TokenError::Encrypted
        );
        let four = format!("{}.c2ln", t);
        assert_eq!(
            split_and_decode(&four, 8192).unwrap_err(),
            TokenError::Malformed
        );
        assert_eq!(split("a.b.", 100).unwrap_err(), TokenError::Malformed);
        assert_eq!(split(".b.c", 100).unwrap_err(), TokenError::Malformed);
        // The alphabet is the decoder's job.
        for part in ["c=", "b+", "c ", " c", "é"] {
            assert_eq!(decode(part).unwrap_err(), TokenError::Malformed, "{part:?}");
        }
        assert_eq!(split("a.b.c", 4).unwrap_err(), TokenError::TooLarge);
    }

    #[test]
    fn decode_is_strict() {
        assert_eq!(decode("YQ").unwrap(), b"a");
        assert!(decode("YQ==").is_err());
        assert!(
            decode("YR").is_err(),
            "non-zero trailing bits must be refused"
        );
    }

    #[test]
    fn header_refuses_duplicates_even_with_escapes() {
        assert_eq!(
            parse_header(r#"{"alg":"RS256","alg":"none"}"#).unwrap_err(),
            TokenError::DuplicateKey
        );
        assert_eq!(
            parse_header(r#"{"alg":"RS256","\u0061lg":"none"}"#).unwrap_err(),
            TokenError::DuplicateKey
        );
        assert_eq!(
            parse_header(r#"{"alg":"RS256","x":{"a":1,"a":2}}"#).unwrap_err(),
            TokenError::DuplicateKey
        );
        let h = parse_header(r#"{"alg":"RS256","kid":"k1","crit":["b64"]}"#).unwrap();
        assert!(h.crit);
        assert_eq!(h.kid.as_deref(), Some("k1"));
        assert!(matches!(h.kid, Some(Cow::Borrowed(_))));
        assert_eq!(parse_header("[]").unwrap_err(), TokenError::Malformed);
        assert_eq!(
            parse_header(r#"{"kid":"k"}"#).unwrap_err(),
            TokenError::Malformed
        );
        assert_eq!(parse_header(r#"{"alg":"RS256"} "#).unwrap().alg, "RS256");
        assert_eq!(
            parse_header(r#"{"alg":"RS256"}x"#).unwrap_err(),
            TokenError::Malformed
        );
    }

    #[test]
    fn claims_types_are_strict() {
        let c = parse_claims(r#"{"iss":"i","aud":["a","b"],"exp":10,"cid":"x","scp":[]}"#).unwrap();
        assert_eq!(c.exp, Some(10));
        assert!(c.cid.is_some() && c.has_scp && !c.has_uid);
        assert!(c.aud.unwrap().contains_any(&["b".to_owned()]));
        for bad in [
            r#"{"exp":"10"}"#,
            r#"{"exp":10.5}"#,
            r#"{"exp":-1}"#,
            r#"{"exp":1e300}"#,
            r#"{"exp":99999999999999999999}"#,
            r#"{"iss":["i"]}"#,
            r#"{"aud":[1]}"#,
            r#"{"aud":{}}"#,
        ] {
            assert_eq!(
                parse_claims(bad).unwrap_err(),
                TokenError::InvalidClaim,
                "{bad:?}"
            );
        }
        assert_eq!(
            parse_claims(r#"{"sub":"a","sub":"b"}"#).unwrap_err(),
            TokenError::DuplicateKey
        );
        assert_eq!(
            parse_claims(r#"{"x":1,"x":1}"#).unwrap_err(),
            TokenError::DuplicateKey
        );
        let bound = parse_claims(r#"{"cnf":{"jkt":"t"}}"#).unwrap().cnf.unwrap();
        assert_eq!((bound.jkt.as_deref(), bound.other), (Some("t"), false));
        let mtls = parse_claims(r#"{"cnf":{"x5t#S256":"h"}}"#)
            .unwrap()
            .cnf
            .unwrap();
        assert_eq!((mtls.jkt, mtls.other), (None, true));
        for bad in [r#"{"cnf":"t"}"#, r#"{"cnf":{"jkt":1}}"#] {
            assert_eq!(
                parse_claims(bad).unwrap_err(),
                TokenError::InvalidClaim,
                "{bad}"
            );
        }
        assert_eq!(
            parse_claims(r#"{"cnf":{"jkt":"a","jkt":"b"}}"#).unwrap_err(),
            TokenError::DuplicateKey
        );
        assert_eq!(
            parse_claims("\"str\"").unwrap_err(),
            TokenError::InvalidClaim
        );
    }

    #[test]
    fn small_parts_decode_inline_and_debug_shows_only_lengths() {
        let t = format!(
            "{}.{}.{}",
            b64(r#"{"alg":"RS256"}"#),
            b64("{}"),
            b64(&"s".repeat(256))
        );
        let (_, decoded) = split_and_decode(&t, 8192).unwrap();
        assert!(matches!(decoded.header, Inline::Stack(_, 15)));
        assert!(matches!(decoded.signature, Inline::Stack(_, 256)));
        assert_eq!(decoded.signature.bytes(), "s".repeat(256).as_bytes());
        // Too large for the inline buffer: on the heap, same bytes.
        let big = format!(
            "{}.{}.{}",
            b64(r#"{"alg":"RS256"}"#),
            b64("{}"),
            b64(&"s".repeat(600))
        );
        let (_, decoded) = split_and_decode(&big, 8192).unwrap();
        assert!(matches!(decoded.signature, Inline::Heap(_)));
        assert_eq!(decoded.signature.bytes().len(), 600);
        assert_eq!(
            format!("{decoded:?}"),
            "Decoded { header_len: 15, payload_len: 2, signature_len: 600 }"
        );
    }

    #[test]
    fn parser_errors_say_what_was_expected() {
        let header = serde_json::from_str::<Header<'_>>("1")
            .unwrap_err()
            .to_string();
        assert!(header.contains("a JOSE header object"), "{header}");
        let claims = ClaimsSeed { collect: false }
            .deserialize(&mut serde_json::Deserializer::from_str("1"))
            .unwrap_err()
            .to_string();
        assert!(claims.contains("a JWT claims object"), "{claims}");
        let aud = serde_json::from_str::<RawAudience<'_>>("1")
            .unwrap_err()
            .to_string();
        assert!(aud.contains("a string or an array of strings"), "{aud}");
    }

    #[test]
    fn many_keys_switch_to_a_set() {
        let mut json = String::from("{");
        for i in 0..200 {
            json.push_str(&format!("\"k{i}\":{i},"));
        }
        json.push_str("\"k7\":0}");
        assert_eq!(parse_claims(&json).unwrap_err(), TokenError::DuplicateKey);
    }
}
