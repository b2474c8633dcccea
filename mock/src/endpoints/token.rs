//! `POST /v1/token`: `authorization_code` (with PKCE) and `refresh_token` (with rotation) for the
//! SPA and web apps (which authenticate, see `super::client_auth`); `client_credentials` for
//! service apps (`private_key_jwt`). Codes and refresh tokens belong to the client they were
//! issued to: another client's are `invalid_grant`.
//!
//! DPoP (RFC 9449), as Okta does it: a request with a `DPoP` proof (checked in `super::dpop`,
//! before the grant, so that a code survives the nonce challenge) must carry a nonce the mock
//! issued, else `400 use_dpop_nonce` with a fresh `DPoP-Nonce`; with a valid proof the access
//! token is bound to the proof's key (`cnf.jkt`, `token_type: DPoP`), and so are the SPA's
//! refresh tokens: refreshing one takes a proof by the same key. With
//! `MockOktaBuilder::require_dpop` the SPA's requests without a proof are refused.
//!
//! Tokens issued to a web app: the access token's `cid` is its client ID and its `aud` the
//! authorization server's audience (as the SPA's: one verifier accepts both); the ID token's
//! `aud` is its client ID.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use serde_json::{json, Value};

use super::client_auth::{authenticate, Client};
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
    let endpoint = format!("{}/v1/token", state.issuer);
    // A client assertion is single-use: the proof comes first, so that the nonce challenge does
    // not spend it. Other clients authenticate first (that spends nothing).
    let (client, jkt) = if params.contains_key("client_assertion") {
        let jkt = match proof_key(&state, &headers, false) {
            Ok(jkt) => jkt,
            Err(answer) => return *answer,
        };
        match authenticate(&state, &headers, &params, &endpoint) {
            Ok(client) => (client, jkt),
            Err(answer) => return *answer,
        }
    } else {
        let client = match authenticate(&state, &headers, &params, &endpoint) {
            Ok(client) => client,
            Err(answer) => return *answer,
        };
        let required = matches!(client, Client::Spa) && state.config.require_dpop;
        match proof_key(&state, &headers, required) {
            Ok(jkt) => (client, jkt),
            Err(answer) => return *answer,
        }
    };
    let jkt = jkt.as_deref();
    let grant_type = param(&params, "grant_type");
    match (grant_type, &client) {
        (None, _) => oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "The token request is missing a required parameter: 'grant_type'.",
        ),
        (Some("client_credentials"), Client::Service { client_id, scopes }) => {
            client_credentials_grant(&state, client_id, scopes, &params, jkt)
        }
        (Some("authorization_code" | "refresh_token"), Client::Service { .. }) => {
            unauthorized_client("[client_credentials]")
        }
        (Some("client_credentials"), _) if matches!(client, Client::Spa) => {
            unauthorized_client("[authorization_code, implicit, refresh_token]")
        }
        (Some("client_credentials"), _) => {
            unauthorized_client("[authorization_code, refresh_token]")
        }
        (Some("authorization_code"), _) => code_grant(&state, &client, &params, jkt),
        (Some("refresh_token"), _) => refresh_grant(&state, client.id(&state), &params, jkt),
        (Some(_), _) => oauth_error(
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
            "The authorization grant type is not supported by the authorization server.",
        ),
    }
}

/// Okta's answer to a grant the client's app does not have (`configured`: its grant types).
fn unauthorized_client(configured: &str) -> Answer {
    oauth_error(
        StatusCode::BAD_REQUEST,
        "unauthorized_client",
        &format!(
            "The client is not authorized to use the provided grant type. Configured grant \
             types: {configured}."
        ),
    )
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

/// `grant_type=authorization_code`: the code must be the client's, with its redirect URI, and
/// the PKCE verifier of its challenge (the SPA's codes always have one; a web app's only when
/// it sent one, and then a verifier without a challenge is refused too).
fn code_grant(state: &Shared, client: &Client, params: &Params, jkt: Option<&str>) -> Answer {
    let verifier = param(params, "code_verifier");
    let (Some(code), Some(redirect_uri)) = (param(params, "code"), param(params, "redirect_uri"))
    else {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "The token request must include 'code' and 'redirect_uri'.",
        );
    };
    if verifier.is_none() && matches!(client, Client::Spa) {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "The token request must include 'code', 'redirect_uri' and 'code_verifier'.",
        );
    }
    let client_id = client.id(state);
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
    if grant.expires <= state.now() || grant.client_id != client_id {
        return invalid_grant("The authorization code is invalid or has expired.");
    }
    if grant.redirect_uri != redirect_uri {
        return invalid_grant(
            "The 'redirect_uri' does not match the redirection URI used in the authorization \
             request.",
        );
    }
    let pkce_ok = match (grant.code_challenge.as_deref(), verifier) {
        (Some(challenge), Some(verifier)) => {
            is_pkce_string(verifier) && s256(verifier) == challenge
        }
        (None, None) => true,
        _ => false,
    };
    if !pkce_ok {
        return invalid_grant("PKCE verification failed.");
    }
    // A new sign-in: what it issues is one family, revoked together.
    let family = grants.new_family();
    grants.spent_codes.insert(code.to_owned(), Some(family));
    let refresh = has_scope(&grant.scopes, "offline_access").then(|| {
        let token = random_id(43);
        let refresh_grant = RefreshGrant {
            client_id: client_id.to_owned(),
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
        client_id,
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
/// to a DPoP key takes a proof by that key. Another client's token is refused untouched.
fn refresh_grant(state: &Shared, client_id: &str, params: &Params, jkt: Option<&str>) -> Answer {
    let Some(refresh_token) = param(params, "refresh_token") else {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "The token request is missing a required parameter: 'refresh_token'.",
        );
    };
    let now = state.now();
    let mut grants = lock(&state.grants);
    if grants
        .refresh_client(refresh_token)
        .is_some_and(|owner| owner != client_id)
    {
        return invalid_grant("The refresh token is invalid or expired.");
    }
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
        client_id,
        scopes: &scopes,
        nonce: None,
        auth_time: grant.auth_time,
        refresh_token: Some(next),
        jti: &jti,
        jkt,
    };
    token_response(state, &issue)
}

/// What a token answer to the SPA or a web app carries.
struct Issue<'a> {
    client_id: &'a str,
    scopes: &'a [String],
    nonce: Option<&'a str>,
    auth_time: i64,
    refresh_token: Option<String>,
    /// The access token's `jti`, already recorded in its family.
    jti: &'a str,
    /// The thumbprint of the DPoP key the access token is bound to.
    jkt: Option<&'a str>,
}

/// The token endpoint's success answer to the SPA or a web app.
fn token_response(state: &Shared, issue: &Issue<'_>) -> Answer {
    let scopes = issue.scopes;
    let access_token = mint::access_token(
        state,
        issue.client_id,
        scopes,
        issue.auth_time,
        issue.jti,
        issue.jkt,
    );
    let mut body = json!({
        "token_type": token_type(issue.jkt),
        "expires_in": state.config.access_token_lifetime.as_secs(),
        "access_token": access_token,
        "scope": scopes.join(" "),
    });
    if has_scope(scopes, "openid") {
        body["id_token"] = Value::from(mint::id_token(
            state,
            issue.client_id,
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

/// `grant_type=client_credentials` for an authenticated service app: tokens look like Okta's,
/// `sub` = `cid` = client ID, `scp` = the granted scopes asked for, no `uid`; bound to the DPoP
/// key `jkt` if there is one.
fn client_credentials_grant(
    state: &Shared,
    client_id: &str,
    granted: &[String],
    params: &Params,
    jkt: Option<&str>,
) -> Answer {
    let requested: Vec<String> = param(params, "scope")
        .unwrap_or("")
        .split(' ')
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect();
    if requested.is_empty() || requested.iter().any(|s| !granted.contains(s)) {
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
        .claim("sub", client_id)
        .claim("cid", client_id)
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
