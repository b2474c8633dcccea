//! Strict JSON plumbing for serde_json: strings that borrow when they can, the repeated-key
//! check at any depth, and RFC 7519 NumericDates. Token parsing (`token.rs`) and the lazy
//! extra claims (`claims.rs`) build on it.

use std::borrow::Cow;
use std::collections::HashSet;
use std::fmt;

use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;

use crate::error::TokenError;

/// The largest numeric date accepted (9999-12-31T23:59:59Z); larger values are absurd.
const MAX_NUMERIC_DATE: i64 = 253_402_300_799;

/// Marker in serde errors raised for a repeated JSON key.
pub(crate) const DUPLICATE_KEY: &str = "tower-okta: duplicate key";

/// Keys remembered inline before [`SeenKeys`] switches to a set.
const SMALL_OBJECT: usize = 16;

/// The [`TokenError`] for a serde_json error of the strict parsers: a repeated key, a value of the
/// wrong type, or text that is not JSON.
pub(crate) fn classify(e: serde_json::Error) -> TokenError {
    if e.is_data() && e.to_string().starts_with(DUPLICATE_KEY) {
        TokenError::DuplicateKey
    } else if e.is_data() {
        TokenError::InvalidClaim
    } else {
        TokenError::Malformed
    }
}

/// A string that borrows from the input when it has no escapes.
pub(crate) struct CowStr<'a>(pub(crate) Cow<'a, str>);

impl<'de> Deserialize<'de> for CowStr<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = CowStr<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string")
            }
            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(CowStr(Cow::Borrowed(v)))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                Ok(CowStr(Cow::Owned(v.to_owned())))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
                Ok(CowStr(Cow::Owned(v)))
            }
        }
        d.deserialize_str(V)
    }
}

/// The keys seen so far in one JSON object: a short inline list (no allocation for the usual
/// token), then a set for large objects so that a token full of keys cannot make the check
/// quadratic.
pub(crate) struct SeenKeys<'de> {
    small: [Cow<'de, str>; SMALL_OBJECT],
    len: usize,
    large: Option<HashSet<Cow<'de, str>>>,
}

impl<'de> Default for SeenKeys<'de> {
    fn default() -> Self {
        SeenKeys {
            small: std::array::from_fn(|_| Cow::Borrowed("")),
            len: 0,
            large: None,
        }
    }
}

impl<'de> SeenKeys<'de> {
    /// Records `key`; errors if it was seen before.
    pub(crate) fn insert<E: de::Error>(&mut self, key: Cow<'de, str>) -> Result<(), E> {
        let fresh = if let Some(set) = &mut self.large {
            set.insert(key)
        } else if self.small[..self.len].contains(&key) {
            false
        } else if let Some(slot) = self.small.get_mut(self.len) {
            *slot = key;
            self.len += 1;
            true
        } else {
            let mut set: HashSet<Cow<'de, str>> =
                self.small.iter_mut().map(std::mem::take).collect();
            let fresh = set.insert(key);
            self.large = Some(set);
            fresh
        };
        if fresh {
            Ok(())
        } else {
            Err(E::custom(DUPLICATE_KEY))
        }
    }
}

/// Any JSON value, walked only to refuse repeated keys in nested objects.
pub(crate) struct StrictAny;

impl<'de> Deserialize<'de> for StrictAny {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = StrictAny;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("any JSON value")
            }
            fn visit_bool<E>(self, _: bool) -> Result<StrictAny, E> {
                Ok(StrictAny)
            }
            fn visit_i64<E>(self, _: i64) -> Result<StrictAny, E> {
                Ok(StrictAny)
            }
            fn visit_u64<E>(self, _: u64) -> Result<StrictAny, E> {
                Ok(StrictAny)
            }
            fn visit_f64<E>(self, _: f64) -> Result<StrictAny, E> {
                Ok(StrictAny)
            }
            fn visit_str<E>(self, _: &str) -> Result<StrictAny, E> {
                Ok(StrictAny)
            }
            fn visit_unit<E>(self) -> Result<StrictAny, E> {
                Ok(StrictAny)
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<StrictAny, A::Error> {
                while seq.next_element::<StrictAny>()?.is_some() {}
                Ok(StrictAny)
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<StrictAny, A::Error> {
                let mut seen = SeenKeys::default();
                while let Some(CowStr(key)) = map.next_key()? {
                    seen.insert(key)?;
                    map.next_value::<StrictAny>()?;
                }
                Ok(StrictAny)
            }
        }
        d.deserialize_any(V)
    }
}

/// A NumericDate: an integer number of seconds in a sane range. Strings and fractions are refused.
pub(crate) struct NumericDate(pub(crate) i64);

impl<'de> Deserialize<'de> for NumericDate {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = NumericDate;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an integer number of seconds")
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<NumericDate, E> {
                if (0..=MAX_NUMERIC_DATE).contains(&v) {
                    Ok(NumericDate(v))
                } else {
                    Err(E::custom("numeric date out of range"))
                }
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<NumericDate, E> {
                i64::try_from(v)
                    .map_err(|_| E::custom("numeric date out of range"))
                    .and_then(|v| self.visit_i64(v))
            }
        }
        d.deserialize_any(V)
    }
}

/// Reads a value for a key that must not repeat.
pub(crate) fn once<'de, A, T>(map: &mut A, slot: &mut Option<T>) -> Result<(), A::Error>
where
    A: MapAccess<'de>,
    T: Deserialize<'de>,
{
    if slot.is_some() {
        return Err(de::Error::custom(DUPLICATE_KEY));
    }
    *slot = Some(map.next_value()?);
    Ok(())
}
