//! How the typed claims are built from a token that passed every check: [`Decoder`], chosen once
//! (when a layer is built, or by the `verify_*` method called), so that the hot path makes no
//! type test.

use std::fmt;

use serde::de::DeserializeOwned;

use crate::claims::{AccessClaims, Confirmation, Extra};
use crate::error::TokenError;
use crate::token::{AccessRest, RawClaims};

/// How the typed claims are built from a verified token. Chosen once: by the layer when it is
/// built, or by the `verify_*` method called. [`AccessClaims`] are collected in the strict
/// claims pass itself (one pass over the payload); any other type goes through serde.
pub(crate) struct Decoder<C> {
    /// Whether the strict pass also collects the fields of `AccessClaims`.
    pub(crate) collect: bool,
    /// The typed claims from the checked claims set and its JSON text.
    pub(crate) build: fn(RawClaims<'_>, &str) -> Result<C, TokenError>,
    /// Hands the claims set's text over to the claims, once nothing borrows it any more.
    pub(crate) keep: fn(&mut C, String),
}

impl<C> Clone for Decoder<C> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<C> Copy for Decoder<C> {}

impl<C> fmt::Debug for Decoder<C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Decoder")
            .field("claims", &std::any::type_name::<C>())
            .field("one_pass", &self.collect)
            .finish()
    }
}

impl Decoder<AccessClaims> {
    /// `AccessClaims` from the strict pass, the rest of the claims set kept for [`Extra`].
    pub(crate) const ACCESS: Decoder<AccessClaims> = Decoder {
        collect: true,
        build: access_claims,
        keep: |claims, payload| claims.extra = Extra::of_access_token(payload),
    };
}

impl<C: DeserializeOwned> Decoder<C> {
    /// Any `DeserializeOwned` type, deserialized from the claims set by serde_json.
    pub(crate) fn serde() -> Decoder<C> {
        Decoder {
            collect: false,
            build: |_, payload| serde_json::from_str(payload).map_err(|_| TokenError::InvalidClaim),
            keep: |_, _| {},
        }
    }
}

/// `AccessClaims` from the single strict pass (the registered claims were checked already);
/// the claims set's text then moves into their [`Extra`], built from it only if asked for.
fn access_claims(mut claims: RawClaims<'_>, _: &str) -> Result<AccessClaims, TokenError> {
    let rest: AccessRest = claims.access.take().ok_or(TokenError::InvalidClaim)?;
    let (Some(iss), Some(sub), Some(aud), Some(exp), Some(iat)) =
        (claims.iss, claims.sub, claims.aud, claims.exp, claims.iat)
    else {
        return Err(TokenError::InvalidClaim);
    };
    Ok(AccessClaims {
        iss: iss.into_owned(),
        sub: sub.into_owned(),
        aud: aud.into_owned(),
        exp,
        iat,
        cid: claims.cid.map(std::borrow::Cow::into_owned),
        uid: rest.uid,
        scp: rest.scp,
        jti: rest.jti,
        cnf: claims.cnf.map(|cnf| Confirmation {
            jkt: cnf.jkt.map(std::borrow::Cow::into_owned),
        }),
        extra: Extra::default(),
    })
}
