//! The machine-client side of the mock: service apps using the client-credentials grant with
//! `private_key_jwt` (RFC 7523), and token introspection (RFC 7662).
//!
//! A service app is registered with its public JWK and the custom scopes granted to it
//! ([`MockOkta::register_service_app`](super::MockOkta::register_service_app)). Its client
//! assertion is checked as Okta does: RS256 signature with the registered key (`kid` must match),
//! `iss` = `sub` = client ID, `aud` = the endpoint's URL, `exp` in the future and at most an hour
//! away, a `jti` never used before. Tokens it gets look like Okta's: `sub` = `cid` = client ID,
//! `scp` = the granted scopes asked for, no `uid`.

use std::collections::{HashMap, HashSet};
use std::sync::Mutex;

use aws_lc_rs::signature::RsaPublicKeyComponents;
use aws_lc_rs::signature::RSA_PKCS1_2048_8192_SHA256;
use base64::Engine;
use http::{HeaderMap, StatusCode};
use serde_json::{json, Map, Value};

use super::oauth::{form, is_revoked, oauth_error, param, verify_own, Answer};
use super::server::json;
use super::token::now;
use super::{lock, State, TokenBuilder};
use crate::token::STRICT_B64;

const JWT_BEARER: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";
/// Lifetime of client-credentials access tokens (Okta's default, one hour).
const TOKEN_LIFETIME: i64 = 3600;

/// A registered service app.
#[derive(Debug, Clone)]
struct ServiceApp {
    kid: String,
    n: Vec<u8>,
    e: Vec<u8>,
    scopes: Vec<String>,
}

/// Registered service apps and the assertion IDs already used.
#[derive(Debug, Default)]
pub(crate) struct ServiceApps {
    apps: Mutex<HashMap<String, ServiceApp>>,
    used_jtis: Mutex<HashSet<String>>,
}

impl ServiceApps {
    /// Registers (or replaces) a service app. `Err` if the JWK is not an RSA public key with a
    /// `kid`.
    pub(crate) fn register(
        &self,
        client_id: &str,
        jwk: &Value,
        scopes: &[&str],
    ) -> Result<(), &'static str> {
        let field = |name: &str| jwk.get(name).and_then(Value::as_str);
        if field("kty") != Some("RSA") {
            return Err("the JWK is not an RSA key");
        }
        let kid = field("kid").ok_or("the JWK has no kid")?.to_owned();
        let b64 = |v: Option<&str>| {
            v.and_then(|v| {
                base64::engine::general_purpose::URL_SAFE_NO_PAD
                    .decode(v)
                    .ok()
            })
            .ok_or("the JWK's n or e is not base64url")
        };
        let app = ServiceApp {
            kid,
            n: b64(field("n"))?,
            e: b64(field("e"))?,
            scopes: scopes.iter().map(|s| (*s).to_owned()).collect(),
        };
        lock(&self.apps).insert(client_id.to_owned(), app);
        Ok(())
    }
}

fn invalid_client(description: &str) -> Answer {
    oauth_error(StatusCode::UNAUTHORIZED, "invalid_client", description)
}

/// `invalid_client`, boxed (it is the error side of a `Result`).
fn refused(description: &str) -> Box<Answer> {
    Box::new(invalid_client(description))
}

/// Checks a client assertion for `audience`; returns the service app's client ID and its app.
fn authenticate(
    state: &State,
    params: &HashMap<String, String>,
    audience: &str,
) -> Result<(String, ServiceApp), Box<Answer>> {
    if param(params, "client_assertion_type") != Some(JWT_BEARER) {
        return Err(refused(
            "The client_assertion_type must be urn:ietf:params:oauth:client-assertion-type:jwt-bearer.",
        ));
    }
    let assertion = param(params, "client_assertion")
        .ok_or_else(|| refused("The client_assertion is missing."))?;
    let mut parts = assertion.split('.');
    let (Some(header), Some(claims), Some(signature), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(refused("The client_assertion is not a JWT."));
    };
    let decode = |part: &str| -> Option<Map<String, Value>> {
        serde_json::from_slice(&STRICT_B64.decode(part).ok()?).ok()
    };
    let (Some(header), Some(claims), Ok(signature)) =
        (decode(header), decode(claims), STRICT_B64.decode(signature))
    else {
        return Err(refused("The client_assertion is not a JWT."));
    };
    let text = |map: &Map<String, Value>, name: &str| {
        map.get(name).and_then(Value::as_str).map(str::to_owned)
    };
    let client_id =
        text(&claims, "iss").ok_or_else(|| refused("The client_assertion has no 'iss'."))?;
    if text(&claims, "sub").as_deref() != Some(client_id.as_str())
        || param(params, "client_id").is_some_and(|id| id != client_id)
    {
        return Err(refused(
            "The 'iss' and 'sub' claims of the client_assertion must be the client ID.",
        ));
    }
    let app = lock(&state.service_apps.apps)
        .get(&client_id)
        .cloned()
        .ok_or_else(|| refused("Client authentication failed. The client is not registered."))?;
    if header.get("alg").and_then(Value::as_str) != Some("RS256")
        || text(&header, "kid").as_deref() != Some(app.kid.as_str())
    {
        return Err(refused(
            "The client_assertion must be signed with RS256 and a registered key.",
        ));
    }
    let signing_input = &assertion[..assertion.rfind('.').unwrap_or(0)];
    let key = RsaPublicKeyComponents {
        n: &app.n,
        e: &app.e,
    };
    if key
        .verify(
            &RSA_PKCS1_2048_8192_SHA256,
            signing_input.as_bytes(),
            &signature,
        )
        .is_err()
    {
        return Err(refused("The client_assertion signature is invalid."));
    }
    if text(&claims, "aud").as_deref() != Some(audience) {
        return Err(refused(
            "The audience of the client_assertion is not the endpoint.",
        ));
    }
    let now = now();
    match claims.get("exp").and_then(Value::as_i64) {
        Some(exp) if exp > now && exp <= now + 3600 => {}
        Some(exp) if exp <= now => return Err(refused("The client_assertion token is expired.")),
        _ => {
            return Err(refused(
                "The client_assertion 'exp' must be at most one hour in the future.",
            ))
        }
    }
    let jti = text(&claims, "jti").ok_or_else(|| refused("The client_assertion has no 'jti'."))?;
    if !lock(&state.service_apps.used_jtis).insert(jti) {
        return Err(refused("The client_assertion token has already been used."));
    }
    Ok((client_id, app))
}

/// `grant_type=client_credentials` at `/v1/token`.
pub(crate) fn client_credentials_grant(state: &State, params: &HashMap<String, String>) -> Answer {
    if !params.contains_key("client_assertion") {
        // The SPA (a public client) may not use this grant; anyone else is unknown.
        return if param(params, "client_id") == Some(state.client_id.as_str()) {
            oauth_error(
                StatusCode::BAD_REQUEST,
                "unauthorized_client",
                "The client is not authorized to use the provided grant type. Configured grant \
                 types: [authorization_code, implicit, refresh_token].",
            )
        } else {
            invalid_client("Client authentication failed. Either the client or the client credentials are invalid.")
        };
    }
    let (client_id, app) = match authenticate(state, params, &format!("{}/v1/token", state.issuer))
    {
        Ok(found) => found,
        Err(answer) => return *answer,
    };
    let requested: Vec<String> = param(params, "scope")
        .unwrap_or("")
        .split(' ')
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect();
    if requested.is_empty() || requested.iter().any(|s| !app.scopes.contains(s)) {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_scope",
            "One or more scopes are not configured for the authorization server resource.",
        );
    }
    let key = lock(&state.keys).signing.clone();
    let iat = now();
    let access_token = TokenBuilder::access(state, key)
        .claim("sub", client_id.as_str())
        .claim("cid", client_id.as_str())
        .claim("scp", requested.clone())
        .claim("iat", iat)
        .claim("exp", iat + TOKEN_LIFETIME)
        .without_claim("uid")
        .without_claim("auth_time")
        .build();
    json(
        StatusCode::OK,
        &json!({
            "token_type": "Bearer",
            "expires_in": TOKEN_LIFETIME,
            "access_token": access_token,
            "scope": requested.join(" "),
        }),
    )
}

/// `POST /v1/introspect`: the public SPA client (`client_id`) or a service app (assertion).
pub(crate) fn introspect(state: &State, headers: &HeaderMap, body: &[u8]) -> Answer {
    let params = match form(headers, body) {
        Ok(params) => params,
        Err(answer) => return *answer,
    };
    let authenticated = if params.contains_key("client_assertion") {
        authenticate(state, &params, &format!("{}/v1/introspect", state.issuer))
            .map(|_| ())
            .map_err(|answer| *answer)
    } else if param(&params, "client_id") == Some(state.client_id.as_str())
        && !params.contains_key("client_secret")
    {
        Ok(())
    } else {
        Err(invalid_client(
            "Client authentication failed. Either the client or the client credentials are invalid.",
        ))
    };
    if let Err(answer) = authenticated {
        return answer;
    }
    let Some(token) = param(&params, "token") else {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "The introspection request is missing a required parameter: 'token'.",
        );
    };
    let inactive = || json(StatusCode::OK, &json!({ "active": false }));
    let Some(claims) = verify_own(state, token) else {
        return inactive();
    };
    let exp = claims.get("exp").and_then(Value::as_i64).unwrap_or(0);
    let jti = claims.get("jti").and_then(Value::as_str).unwrap_or("");
    if exp <= now() || is_revoked(state, jti) {
        return inactive();
    }
    let get = |name: &str| claims.get(name).cloned().unwrap_or(Value::Null);
    let scope = claims.get("scp").and_then(Value::as_array).map(|a| {
        a.iter()
            .filter_map(Value::as_str)
            .collect::<Vec<_>>()
            .join(" ")
    });
    let mut answer = json!({
        "active": true,
        "token_type": "Bearer",
        "scope": scope,
        "client_id": get("cid"),
        "username": get("sub"),
        "exp": exp,
        "iat": get("iat"),
        "sub": get("sub"),
        "aud": get("aud"),
        "iss": get("iss"),
        "jti": jti,
    });
    if let Some(uid) = claims.get("uid") {
        answer["uid"] = uid.clone();
    }
    json(StatusCode::OK, &answer)
}
