//! Typed claims of Okta access tokens and ID tokens.
//!
//! The verifier checks the registered claims (`iss`, `aud`, `exp`, `nbf`, `iat`) and the token
//! profile before these types are built, so a value of these types always comes from a token that
//! passed every rule. Claims not named here land in `extra`. Any type implementing
//! [`serde::de::DeserializeOwned`] can be used instead (see
//! [`Verifier::verify_access_token_as`](crate::Verifier::verify_access_token_as)).

use std::fmt;

use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};

use crate::token::CowStr;
use serde::{Deserialize, Serialize, Serializer};
use serde_json::{Map, Value};

/// The `aud` claim: one audience or several.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Audience {
    /// A single audience (Okta's usual form).
    One(String),
    /// Several audiences.
    Many(Vec<String>),
}

impl Audience {
    /// True if `aud` is or contains `audience`.
    #[must_use]
    pub fn contains(&self, audience: &str) -> bool {
        match self {
            Audience::One(a) => a == audience,
            Audience::Many(list) => list.iter().any(|a| a == audience),
        }
    }

    /// The audiences as a slice-like iterator.
    pub fn iter(&self) -> impl Iterator<Item = &str> {
        let slice: &[String] = match self {
            Audience::One(a) => std::slice::from_ref(a),
            Audience::Many(list) => list,
        };
        slice.iter().map(String::as_str)
    }
}

impl Serialize for Audience {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Audience::One(a) => s.serialize_str(a),
            Audience::Many(list) => list.serialize(s),
        }
    }
}

impl<'de> Deserialize<'de> for Audience {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Audience;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string or an array of strings")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Audience, E> {
                Ok(Audience::One(v.to_owned()))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<Audience, E> {
                Ok(Audience::One(v))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Audience, A::Error> {
                let mut list = Vec::with_capacity(seq.size_hint().unwrap_or(1));
                while let Some(a) = seq.next_element::<String>()? {
                    list.push(a);
                }
                Ok(Audience::Many(list))
            }
        }
        d.deserialize_any(V)
    }
}

/// Claims of an Okta access token from a custom authorization server.
///
/// For a user's token `sub` is the user's login and `uid` the user's Okta ID; for a service app's
/// client-credentials token `sub` is the client ID and there is no `uid`
/// (see [`is_client_token`](AccessClaims::is_client_token)).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct AccessClaims {
    /// Issuer: the authorization server's URL.
    pub iss: String,
    /// Subject: the user's login, or the client ID for client credentials.
    pub sub: String,
    /// Audience: the authorization server's Audience setting.
    pub aud: Audience,
    /// Expiry, seconds since the Unix epoch.
    pub exp: i64,
    /// Issued at, seconds since the Unix epoch.
    pub iat: i64,
    /// The client ID that asked for the token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cid: Option<String>,
    /// The user's Okta ID (absent in client-credentials tokens).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uid: Option<String>,
    /// Granted scopes.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub scp: Vec<String>,
    /// Token ID.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jti: Option<String>,
    /// Every other claim (`ver`, `auth_time`, `groups`, custom claims...).
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl AccessClaims {
    /// True if `scp` contains `scope`.
    #[must_use]
    pub fn has_scope(&self, scope: &str) -> bool {
        self.scp.iter().any(|s| s == scope)
    }

    /// True for a machine (client-credentials) token: no `uid`, so no user behind it.
    #[must_use]
    pub fn is_client_token(&self) -> bool {
        self.uid.is_none()
    }

    /// The strings of an array claim such as Okta's `groups`; empty if absent or not an array.
    pub fn string_list<'a>(&'a self, claim: &str) -> impl Iterator<Item = &'a str> + 'a {
        self.extra
            .get(claim)
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
    }
}

/// Claims of an Okta ID token.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct IdClaims {
    /// Issuer.
    pub iss: String,
    /// Subject: the user's Okta ID (`00u...`).
    pub sub: String,
    /// Audience: the client ID.
    pub aud: Audience,
    /// Expiry, seconds since the Unix epoch.
    pub exp: i64,
    /// Issued at, seconds since the Unix epoch.
    pub iat: i64,
    /// The nonce the client sent to `/authorize` (implicit and hybrid flows).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nonce: Option<String>,
    /// Hash of the access token issued with this ID token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub at_hash: Option<String>,
    /// Authentication methods.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub amr: Vec<String>,
    /// Identity provider ID.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub idp: Option<String>,
    /// Time of the user's authentication.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth_time: Option<i64>,
    /// Full name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Email address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// The user's login.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub preferred_username: Option<String>,
    /// Every other claim.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// `Deserialize` for a claims struct whose unnamed claims go to `extra`, in one pass: serde's
/// `#[serde(flatten)]` would buffer the whole object first, which doubles the cost on the hot
/// path. Duplicate keys are refused earlier, by the verifier's strict pass.
macro_rules! claims_deserialize {
    ($ty:ident, required: [$($req:ident),*], optional: [$($opt:ident),*]) => {
        impl<'de> Deserialize<'de> for $ty {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                struct V;
                impl<'de> Visitor<'de> for V {
                    type Value = $ty;
                    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                        f.write_str(concat!("the claims of ", stringify!($ty)))
                    }
                    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<$ty, A::Error> {
                        $(let mut $req = None;)*
                        $(let mut $opt = Default::default();)*
                        let mut extra = Map::new();
                        while let Some(CowStr(key)) = map.next_key()? {
                            match &*key {
                                $(stringify!($req) => $req = Some(map.next_value()?),)*
                                $(stringify!($opt) => {
                                    $opt = map.next_value::<Option<_>>()?.unwrap_or_default()
                                })*
                                _ => {
                                    extra.insert(key.into_owned(), map.next_value()?);
                                }
                            }
                        }
                        Ok($ty {
                            $($req: $req.ok_or_else(|| de::Error::missing_field(stringify!($req)))?,)*
                            $($opt,)*
                            extra,
                        })
                    }
                }
                d.deserialize_map(V)
            }
        }
    };
}

claims_deserialize!(AccessClaims, required: [iss, sub, aud, exp, iat], optional: [cid, uid, scp, jti]);
claims_deserialize!(
    IdClaims,
    required: [iss, sub, aud, exp, iat],
    optional: [nonce, at_hash, amr, idp, auth_time, name, email, preferred_username]
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn access_claims_round_trip_and_helpers() {
        let json = r#"{"ver":1,"jti":"AT.x","iss":"https://i","aud":"api","iat":1,"exp":2,
            "cid":"0oa","uid":"00u","scp":["openid","read"],"sub":"a@b.c","groups":["admins"]}"#;
        let c: AccessClaims = serde_json::from_str(json).unwrap();
        assert!(c.has_scope("read") && !c.has_scope("write"));
        assert!(!c.is_client_token());
        assert_eq!(c.string_list("groups").collect::<Vec<_>>(), ["admins"]);
        assert_eq!(c.extra.get("ver"), Some(&Value::from(1)));
        let back: AccessClaims = serde_json::from_value(serde_json::to_value(&c).unwrap()).unwrap();
        assert_eq!(back, c);
        assert!(Audience::Many(vec!["a".into(), "b".into()]).contains("b"));
        assert_eq!(Audience::One("x".into()).iter().collect::<Vec<_>>(), ["x"]);
    }
}
