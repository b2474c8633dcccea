//! Typed claims of Okta access tokens and ID tokens.
//!
//! The verifier checks the registered claims (`iss`, `aud`, `exp`, `nbf`, `iat`) and the token
//! profile before these types are built, so a value of these types always comes from a token that
//! passed every rule. Claims not named here land in `extra`. Any type implementing
//! [`serde::de::DeserializeOwned`] can be used instead (see
//! [`Verifier::verify_access_token_as`](crate::Verifier::verify_access_token_as)).

use std::fmt;
use std::ops::{Deref, DerefMut};
use std::sync::OnceLock;

use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};

use crate::json::CowStr;
use serde::{Deserialize, Serialize, Serializer};
use serde_json::{Map, Value};

/// The marker an [`optional`](crate::OktaAuthLayer::optional) auth layer leaves in the
/// extensions of a request it let through without credentials, so that a guard behind it can
/// tell "anonymous" (401) from "no auth layer at all" (500).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Anonymous;

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
    /// Confirmation (RFC 7800): for a DPoP-bound token, the thumbprint of the key it is bound
    /// to. The layer accepts such a token only with a valid DPoP proof of that key; see
    /// [`is_sender_constrained`](AccessClaims::is_sender_constrained).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cnf: Option<Confirmation>,
    /// Every other claim (`ver`, `auth_time`, `groups`, custom claims...): a map, read from
    /// the token the first time it is looked at.
    #[serde(flatten)]
    pub extra: Extra,
}

/// The claims an [`AccessClaims`] names; the others are its [`Extra`] claims.
const ACCESS_NAMED: [&str; 10] = [
    "iss", "sub", "aud", "exp", "iat", "cid", "uid", "scp", "jti", "cnf",
];

/// The `cnf` claim of a sender-constrained token (RFC 7800, RFC 9449 section 6).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Confirmation {
    /// The RFC 7638 SHA-256 thumbprint of the DPoP key the token is bound to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jkt: Option<String>,
}

impl AccessClaims {
    /// True if `scp` contains `scope`.
    #[must_use]
    pub fn has_scope(&self, scope: &str) -> bool {
        self.scp.iter().any(|s| s == scope)
    }

    /// The token's confirmation (`cnf`), if it is bound to a key.
    #[must_use]
    pub fn confirmation(&self) -> Option<&Confirmation> {
        self.cnf.as_ref()
    }

    /// True if the token is DPoP-bound (`cnf.jkt`). Behind the layer, such a token was sent
    /// with a valid DPoP proof of its key, so a handler can require sender-constrained tokens:
    ///
    /// ```
    /// # let claims: tower_okta::AccessClaims = serde_json::from_str(
    /// #     r#"{"iss":"i","sub":"s","aud":"a","exp":2,"iat":1,"cnf":{"jkt":"0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I"}}"#).unwrap();
    /// assert!(claims.is_sender_constrained());
    /// ```
    #[must_use]
    pub fn is_sender_constrained(&self) -> bool {
        self.cnf.as_ref().is_some_and(|c| c.jkt.is_some())
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
    pub extra: Extra,
}

/// The claims that a claims struct does not name (`ver`, `auth_time`, `groups`, custom
/// claims...), as a [`serde_json::Map`].
///
/// `Extra` dereferences to the map, so it reads like one:
///
/// ```
/// # let claims: tower_okta::AccessClaims = serde_json::from_str(
/// #     r#"{"iss":"i","sub":"s","aud":"a","exp":2,"iat":1,"groups":["admins"],"ver":1}"#).unwrap();
/// let groups = claims.extra.get("groups").and_then(|g| g.as_array());
/// assert_eq!(groups.map(Vec::len), Some(1));
/// for (name, value) in &claims.extra {
///     println!("{name} = {value}");
/// }
/// ```
///
/// For an access token verified by the crate, the map is built from the token's claims set the
/// first time it is looked at, not during verification: a request whose handler reads only the
/// named claims does not pay for the others. The claims set was already checked strictly
/// (well-formed JSON, no repeated key at any depth) before the token was accepted.
#[derive(Clone, Default)]
pub struct Extra {
    /// The verified claims set, until the map is built from it (empty once built eagerly).
    source: String,
    map: OnceLock<Map<String, Value>>,
}

impl Extra {
    /// The claims of `source` (a verified access token's claims set) not named by
    /// [`AccessClaims`], built when first looked at.
    pub(crate) fn of_access_token(source: String) -> Extra {
        Extra {
            source,
            map: OnceLock::new(),
        }
    }

    /// The map.
    #[must_use]
    pub fn into_map(mut self) -> Map<String, Value> {
        self.map
            .take()
            .unwrap_or_else(|| unnamed_claims(&self.source, &ACCESS_NAMED))
    }
}

/// The members of the JSON object `json` whose keys are not in `named`. The text comes from a
/// token that passed the strict parser, so it is an object without repeated keys; anything else
/// gives an empty map.
fn unnamed_claims(json: &str, named: &[&str]) -> Map<String, Value> {
    struct Unnamed<'n>(&'n [&'n str]);
    impl<'de> DeserializeSeed<'de> for Unnamed<'_> {
        type Value = Map<String, Value>;
        fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
            d.deserialize_map(self)
        }
    }
    impl<'de> Visitor<'de> for Unnamed<'_> {
        type Value = Map<String, Value>;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a JWT claims object")
        }
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
            let mut out = Map::new();
            while let Some(CowStr(key)) = map.next_key()? {
                if self.0.contains(&&*key) {
                    map.next_value::<IgnoredAny>()?;
                } else {
                    out.insert(key.into_owned(), map.next_value()?);
                }
            }
            Ok(out)
        }
    }
    if json.is_empty() {
        return Map::new();
    }
    Unnamed(named)
        .deserialize(&mut serde_json::Deserializer::from_str(json))
        .unwrap_or_default()
}

impl Deref for Extra {
    type Target = Map<String, Value>;

    fn deref(&self) -> &Map<String, Value> {
        self.map
            .get_or_init(|| unnamed_claims(&self.source, &ACCESS_NAMED))
    }
}

impl DerefMut for Extra {
    fn deref_mut(&mut self) -> &mut Map<String, Value> {
        if self.map.get().is_none() {
            let map = unnamed_claims(&self.source, &ACCESS_NAMED);
            self.map = OnceLock::from(map);
        }
        self.source = String::new();
        self.map.get_mut().expect("the map was built above")
    }
}

impl From<Map<String, Value>> for Extra {
    fn from(map: Map<String, Value>) -> Extra {
        Extra {
            source: String::new(),
            map: OnceLock::from(map),
        }
    }
}

impl From<Extra> for Map<String, Value> {
    fn from(extra: Extra) -> Map<String, Value> {
        extra.into_map()
    }
}

impl<'a> IntoIterator for &'a Extra {
    type Item = (&'a String, &'a Value);
    type IntoIter = serde_json::map::Iter<'a>;

    fn into_iter(self) -> Self::IntoIter {
        self.iter()
    }
}

impl fmt::Debug for Extra {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self, f)
    }
}

impl PartialEq for Extra {
    fn eq(&self, other: &Extra) -> bool {
        **self == **other
    }
}

impl Serialize for Extra {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        (**self).serialize(s)
    }
}

impl<'de> Deserialize<'de> for Extra {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Map::deserialize(d).map(Extra::from)
    }
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
                            extra: Extra::from(extra),
                        })
                    }
                }
                d.deserialize_map(V)
            }
        }
    };
}

claims_deserialize!(AccessClaims, required: [iss, sub, aud, exp, iat], optional: [cid, uid, scp, jti, cnf]);
claims_deserialize!(
    IdClaims,
    required: [iss, sub, aud, exp, iat],
    optional: [nonce, at_hash, amr, idp, auth_time, name, email, preferred_username]
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn extra_is_built_from_the_claims_set_when_first_read() {
        let json = r#"{"iss":"i","sub":"s","aud":"a","exp":2,"iat":1,"cid":"c","uid":"u",
            "scp":["x"],"jti":"j","ver":1,"groups":["g1","g2"],"n\u0061me":{"k":[1.5,null]}}"#;
        let lazy = Extra::of_access_token(json.to_owned());
        assert!(
            lazy.map.get().is_none(),
            "nothing is built before it is read"
        );
        let eager: Map<String, Value> = serde_json::from_str::<Map<String, Value>>(json)
            .unwrap()
            .into_iter()
            .filter(|(k, _)| !ACCESS_NAMED.contains(&k.as_str()))
            .collect();
        assert_eq!(eager.len(), 3);
        assert_eq!(*lazy, eager);
        assert!(lazy.map.get().is_some(), "built once, then kept");
        assert_eq!(lazy["name"]["k"][0], 1.5);
        assert_eq!((&lazy).into_iter().count(), 3);
        assert_eq!(format!("{lazy:?}"), format!("{eager:?}"));
        assert_eq!(
            serde_json::to_value(&lazy).unwrap(),
            Value::Object(eager.clone())
        );

        let mut edited = lazy.clone();
        edited.insert("added".into(), Value::Bool(true));
        assert_eq!(edited.len(), 4);
        assert_ne!(edited, lazy);
        assert_eq!(Extra::of_access_token(json.to_owned()).into_map(), eager);
        assert_eq!(Map::from(Extra::from(eager.clone())), eager);
        assert!(Extra::default().is_empty());
    }

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
