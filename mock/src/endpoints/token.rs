//! `POST /v1/token`: `authorization_code` (with PKCE) and `refresh_token` (with rotation) for the
//! SPA; `client_credentials` for service apps (`private_key_jwt`).
//!
//! DPoP (RFC 9449), as Okta does it: a request with a `DPoP` proof (checked in `super::dpop`,
//! before the grant, so that a code survives the nonce challenge) must carry a nonce the mock
//! issued, else `400 use_dpop_nonce` with a fresh `DPoP-Nonce`; with a valid proof the access
//! token is bound to the proof's key (`cnf.jkt`, `token_type: DPoP`), and so are the SPA's
//! refresh tokens: refreshing one takes a proof by the same key. With
//! `MockOktaBuilder::require_dpop` the SPA's requests without a proof are refused.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use serde_json::{json, Value};

use super::client_auth::{invalid_client, public_client, service_app};
use super::dpop::{self, Expect};
use super::pkce::{is_pkce_string, s256};
use super::{has_scope, mint};
use crate::fault;
use crate::grants::{RefreshGrant, RefreshUse};
use crate::params::{param, read_form, Params};
use crate::reply::{json, no_store, oauth_error, Answer};
use crate::state::{lock, Shared};
use crate::token::TokenBuilder;
use crate::util::random_id;

/// Lifetime of client-credentials access tokens (Okta's default, one hour).
const SERVICE_TOKEN_LIFETIME: i64 = 3600;

/// The handler.
pub(crate) async fn post(
    State(state): State<Arc<Shared>>,
    headers: HeaderMap,
    body: Body,
) -> Answer {
    let params = match read_form(&headers, body).await {
        Ok(params) => params,
        Err(answer) => return *answer,
    };
    let fault = lock(&state.token_fault).clone();
    if let Some(answer) = fault::apply(fault, state.now()).await {
        return answer;
    }
    // Service apps authenticate with a client assertion, not as the public SPA client; the
    // proof comes first, so that the nonce challenge does not spend the assertion.
    if param(&params, "grant_type") == Some("client_credentials") {
        return match proof_key(&state, &headers, false) {
            Ok(jkt) => client_credentials_grant(&state, &params, jkt.as_deref()),
            Err(answer) => *answer,
        };
    }
    if let Err(answer) = public_client(&state, &headers, &params) {
        return *answer;
    }
    let jkt = match proof_key(&state, &headers, state.config.require_dpop) {
        Ok(jkt) => jkt,
        Err(answer) => return *answer,
    };
    let jkt = jkt.as_deref();
    match param(&params, "grant_type") {
        None => oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "The token request is missing a required parameter: 'grant_type'.",
        ),
        Some("authorization_code") => code_grant(&state, &params, jkt),
        Some("refresh_token") => refresh_grant(&state, &params, jkt),
        Some(_) => oauth_error(
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
            "The authorization grant type is not supported by the authorization server.",
        ),
    }
}

/// The thumbprint of the request's DPoP key: `None` without a proof (refused when `required`);
/// `Err` is the answer to a refused proof.
fn proof_key(
    state: &Shared,
    headers: &HeaderMap,
    required: bool,
) -> Result<Option<String>, Box<Answer>> {
    let url = format!("{}/v1/token", state.issuer);
    let expect = Expect {
        method: "POST",
        url: &url,
        access_token: None,
        nonce: true,
    };
    match dpop::check(state, headers, &expect) {
        Ok(None) if required => Err(Box::new(dpop::invalid_proof(dpop::MISSING))),
        Ok(jkt) => Ok(jkt),
        Err(refusal) => Err(Box::new(dpop::token_refusal(state, refusal))),
    }
}

fn invalid_grant(description: &str) -> Answer {
    oauth_error(StatusCode::BAD_REQUEST, "invalid_grant", description)
}

fn code_grant(state: &Shared, params: &Params, jkt: Option<&str>) -> Answer {
    let (Some(code), Some(redirect_uri), Some(verifier)) = (
        param(params, "code"),
        param(params, "redirect_uri"),
        param(params, "code_verifier"),
    ) else {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "The token request must include 'code', 'redirect_uri' and 'code_verifier'.",
        );
    };
    let mut grants = lock(&state.grants);
    // Single use: whatever happens next, this code is spent.
    let Some(grant) = grants.codes.remove(code) else {
        if let Some(Some(family)) = grants.spent_codes.get(code).copied() {
            // A replayed code: revoke what its first exchange issued (RFC 6749 4.1.2).
            grants.revoke_family(family);
        }
        return invalid_grant("The authorization code is invalid or has expired.");
    };
    grants.spent_codes.insert(code.to_owned(), None);
    if grant.expires <= state.now() {
        return invalid_grant("The authorization code is invalid or has expired.");
    }
    if grant.redirect_uri != redirect_uri {
        return invalid_grant(
            "The 'redirect_uri' does not match the redirection URI used in the authorization \
             request.",
        );
    }
    if !is_pkce_string(verifier) || s256(verifier) != grant.code_challenge {
        return invalid_grant("PKCE verification failed.");
    }
    // A new sign-in: what it issues is one family, revoked together.
    let family = grants.new_family();
    grants.spent_codes.insert(code.to_owned(), Some(family));
    let refresh = has_scope(&grant.scopes, "offline_access").then(|| {
        let token = random_id(43);
        let refresh_grant = RefreshGrant {
            family,
            scopes: grant.scopes.clone(),
            auth_time: grant.auth_time,
            jkt: jkt.map(str::to_owned),
        };
        grants.issue_refresh(token.clone(), refresh_grant);
        token
    });
    let jti = mint::access_jti();
    grants.issued_access(family, &jti);
    drop(grants);
    let issue = Issue {
        scopes: &grant.scopes,
        nonce: grant.nonce.as_deref(),
        auth_time: grant.auth_time,
        refresh_token: refresh,
        jti: &jti,
        jkt,
    };
    token_response(state, &issue)
}

/// The scopes a refresh asks for: fewer than granted is fine, more is not (RFC 6749 6).
fn refresh_scopes(params: &Params, granted: &[String]) -> Option<Vec<String>> {
    let Some(text) = param(params, "scope") else {
        return Some(granted.to_vec());
    };
    let asked: Vec<String> = text
        .split(' ')
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect();
    (!asked.is_empty() && asked.iter().all(|s| has_scope(granted, s))).then_some(asked)
}

/// `grant_type=refresh_token` with rotation: the token used is spent and a new one of the same
/// family replaces it. A spent token still works within the grace period (and gets a new pair,
/// as Okta answers); reused after it, it revokes its family (see `crate::grants`). A token bound
/// to a DPoP key takes a proof by that key.
fn refresh_grant(state: &Shared, params: &Params, jkt: Option<&str>) -> Answer {
    let Some(refresh_token) = param(params, "refresh_token") else {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "The token request is missing a required parameter: 'refresh_token'.",
        );
    };
    let now = state.now();
    let mut grants = lock(&state.grants);
    let (grant, live) =
        match grants.use_refresh(refresh_token, now, state.config.refresh_token_grace) {
            RefreshUse::Live(grant) => (grant, true),
            RefreshUse::Grace(grant) => (grant, false),
            RefreshUse::Refused => {
                return invalid_grant("The refresh token is invalid or expired.");
            }
        };
    if let Some(bound) = grant.jkt.as_deref() {
        match jkt {
            None => return dpop::invalid_proof(dpop::MISSING),
            Some(jkt) if jkt != bound => {
                return dpop::invalid_proof(
                    "The DPoP proof JWT key does not match the key the refresh token is bound to.",
                )
            }
            Some(_) => {}
        }
    }
    let Some(scopes) = refresh_scopes(params, &grant.scopes) else {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_scope",
            "The requested scope is invalid, unknown, or exceeds the scope granted.",
        );
    };
    if live {
        grants.spend_refresh(refresh_token, now);
    }
    let next = random_id(43);
    grants.issue_refresh(next.clone(), grant.clone());
    let jti = mint::access_jti();
    grants.issued_access(grant.family, &jti);
    drop(grants);
    let issue = Issue {
        scopes: &scopes,
        nonce: None,
        auth_time: grant.auth_time,
        refresh_token: Some(next),
        jti: &jti,
        jkt,
    };
    token_response(state, &issue)
}

/// What a token answer to the SPA carries.
struct Issue<'a> {
    scopes: &'a [String],
    nonce: Option<&'a str>,
    auth_time: i64,
    refresh_token: Option<String>,
    /// The access token's `jti`, already recorded in its family.
    jti: &'a str,
    /// The thumbprint of the DPoP key the access token is bound to.
    jkt: Option<&'a str>,
}

/// The token endpoint's success answer to the SPA.
fn token_response(state: &Shared, issue: &Issue<'_>) -> Answer {
    let scopes = issue.scopes;
    let access_token = mint::access_token(state, scopes, issue.auth_time, issue.jti, issue.jkt);
    let mut body = json!({
        "token_type": token_type(issue.jkt),
        "expires_in": state.config.access_token_lifetime.as_secs(),
        "access_token": access_token,
        "scope": scopes.join(" "),
    });
    if has_scope(scopes, "openid") {
        body["id_token"] = Value::from(mint::id_token(
            state,
            scopes,
            issue.nonce,
            issue.auth_time,
            Some(&access_token),
        ));
    }
    if let Some(refresh_token) = &issue.refresh_token {
        body["refresh_token"] = Value::from(refresh_token.as_str());
    }
    let mut response = json(StatusCode::OK, &body);
    no_store(&mut response);
    response
}

/// `DPoP` for a token bound to a key, `Bearer` otherwise.
fn token_type(jkt: Option<&str>) -> &'static str {
    if jkt.is_some() {
        "DPoP"
    } else {
        "Bearer"
    }
}

/// `grant_type=client_credentials`: tokens for a service app look like Okta's, `sub` = `cid` =
/// client ID, `scp` = the granted scopes asked for, no `uid`; bound to the DPoP key `jkt` if
/// there is one.
fn client_credentials_grant(state: &Shared, params: &Params, jkt: Option<&str>) -> Answer {
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
            invalid_client(
                "Client authentication failed. Either the client or the client credentials are \
                 invalid.",
            )
        };
    }
    let endpoint = format!("{}/v1/token", state.issuer);
    let (client_id, app) = match service_app(state, params, &endpoint) {
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
    let iat = state.now_secs();
    let mut builder = TokenBuilder::access(state, state.signing_key());
    if let Some(jkt) = jkt {
        builder = builder.claim("cnf", json!({ "jkt": jkt }));
    }
    let access_token = builder
        .claim("sub", client_id.as_str())
        .claim("cid", client_id.as_str())
        .claim("scp", requested.clone())
        .claim("iat", iat)
        .claim("exp", iat + SERVICE_TOKEN_LIFETIME)
        .without_claim("uid")
        .without_claim("auth_time")
        .build();
    json(
        StatusCode::OK,
        &json!({
            "token_type": token_type(jkt),
            "expires_in": SERVICE_TOKEN_LIFETIME,
            "access_token": access_token,
            "scope": requested.join(" "),
        }),
    )
}
