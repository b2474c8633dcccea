//! `GET /v1/authorize`: checks the request, signs the test user in without asking (or refuses,
//! as `MockOkta::set_authorize_outcome` says), and redirects back with a code (PKCE) or tokens
//! (implicit).
//!
//! The client is the SPA (PKCE required; implicit allowed) or a web app (response type `code`
//! only; PKCE optional, checked when sent). Each client has its own redirect URIs, and a code
//! is bound to the client it was issued to.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::State;
use axum::http::{StatusCode, Uri};

use super::pkce::is_pkce_string;
use super::{has_scope, mint, OIDC_SCOPES};
use crate::grants::CodeGrant;
use crate::params::{param, parse, Params};
use crate::reply::{error_page, redirect, redirect_error, Answer, Mode};
use crate::state::{lock, Shared};
use crate::user::AuthorizeOutcome;
use crate::util::random_id;

/// How long an authorization code can be exchanged.
const CODE_LIFETIME: Duration = Duration::from_secs(60);

/// What `/v1/authorize` can answer with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct ResponseType {
    code: bool,
    token: bool,
    id_token: bool,
}

fn parse_response_type(value: &str) -> Option<ResponseType> {
    let set: BTreeSet<&str> = value.split(' ').filter(|s| !s.is_empty()).collect();
    let names: Vec<&str> = set.into_iter().collect();
    let (code, token, id_token) = match names.as_slice() {
        ["code"] => (true, false, false),
        ["token"] => (false, true, false),
        ["id_token"] => (false, false, true),
        ["id_token", "token"] => (false, true, true),
        _ => return None,
    };
    Some(ResponseType {
        code,
        token,
        id_token,
    })
}

/// The scopes of a request, checked against the authorization server's scopes.
fn parse_scopes(state: &Shared, value: &str) -> Option<Vec<String>> {
    let mut scopes: Vec<String> = Vec::new();
    for scope in value.split(' ').filter(|s| !s.is_empty()) {
        let known =
            OIDC_SCOPES.contains(&scope) || state.config.custom_scopes.iter().any(|s| s == scope);
        if !known {
            return None;
        }
        if !scopes.iter().any(|s| s == scope) {
            scopes.push(scope.to_owned());
        }
    }
    (!scopes.is_empty()).then_some(scopes)
}

/// The PKCE parameters of a code request: a challenge is required from the SPA (a public
/// client) and optional for a web app; one sent must be S256. `Err` is the description.
fn check_pkce(params: &Params, spa: bool) -> Result<(), &'static str> {
    let Some(code_challenge) = param(params, "code_challenge") else {
        return if spa {
            Err(
                "PKCE code challenge is required when the token endpoint authentication method \
                 is 'NONE'.",
            )
        } else {
            Ok(())
        };
    };
    if param(params, "code_challenge_method") != Some("S256") {
        return Err("The 'code_challenge_method' parameter must be 'S256'.");
    }
    if code_challenge.len() != 43 || !is_pkce_string(code_challenge) {
        return Err("The 'code_challenge' parameter is not a valid S256 code challenge.");
    }
    Ok(())
}

/// The handler.
pub(crate) async fn get(State(state): State<Arc<Shared>>, uri: Uri) -> Answer {
    authorize(&state, uri.query().unwrap_or(""))
}

fn authorize(state: &Shared, query: &str) -> Answer {
    let Ok(params) = parse(query.as_bytes()) else {
        return error_page(
            StatusCode::BAD_REQUEST,
            "A parameter was included more than once.",
        );
    };
    // Without a known client and one of its redirect URIs nothing may be redirected anywhere.
    let client_id = param(&params, "client_id").unwrap_or_default();
    let spa = client_id == state.client_id;
    let redirect_uris = if spa {
        state.config.redirect_uris.clone()
    } else if let Some(app) = state.web_app(client_id) {
        app.sign_in_redirect_uris().to_vec()
    } else {
        return error_page(
            StatusCode::BAD_REQUEST,
            "The 'client_id' parameter is missing or does not name a client of this \
             authorization server.",
        );
    };
    let Some(redirect_uri) =
        param(&params, "redirect_uri").filter(|uri| redirect_uris.iter().any(|r| r == uri))
    else {
        return error_page(
            StatusCode::BAD_REQUEST,
            "The 'redirect_uri' parameter must be a Login redirect URI in the client app settings.",
        );
    };
    let oauth_state = param(&params, "state");

    let Some(response_type_text) = param(&params, "response_type") else {
        return redirect_error(
            redirect_uri,
            Mode::Query,
            "invalid_request",
            "The authorization request is missing a required parameter: 'response_type'.",
            oauth_state,
        );
    };
    let Some(response_type) = parse_response_type(response_type_text) else {
        let mode = if response_type_text.contains("token") {
            Mode::Fragment
        } else {
            Mode::Query
        };
        return redirect_error(
            redirect_uri,
            mode,
            "unsupported_response_type",
            "The response type is not supported by the authorization server. Supported: \
             'code', 'token', 'id_token', 'id_token token'.",
            oauth_state,
        );
    };
    if !spa && !response_type.code {
        // A web app has the Authorization Code grant only.
        let mode = if response_type.token || response_type.id_token {
            Mode::Fragment
        } else {
            Mode::Query
        };
        return redirect_error(
            redirect_uri,
            mode,
            "unsupported_response_type",
            "The response type is not supported by the authorization server. Configured response \
             types: [code].",
            oauth_state,
        );
    }
    let default_mode = if response_type.code {
        Mode::Query
    } else {
        Mode::Fragment
    };
    let mode = match param(&params, "response_mode") {
        None => default_mode,
        Some("fragment") => Mode::Fragment,
        Some("query") if response_type.code => Mode::Query,
        Some("query") => {
            return redirect_error(
                redirect_uri,
                default_mode,
                "invalid_request",
                "The 'query' response mode cannot return tokens; use 'fragment'.",
                oauth_state,
            )
        }
        Some(_) => {
            return redirect_error(
                redirect_uri,
                default_mode,
                "unsupported_response_mode",
                "The response mode is not supported by this authorization server. Supported: \
                 'query', 'fragment'.",
                oauth_state,
            )
        }
    };
    let fail = |error: &str, description: &str| {
        redirect_error(redirect_uri, mode, error, description, oauth_state)
    };
    let Some(oauth_state) = oauth_state else {
        return fail(
            "invalid_request",
            "The authorization request is missing a required parameter: 'state'.",
        );
    };
    let Some(scope_text) = param(&params, "scope") else {
        return fail(
            "invalid_scope",
            "The authorization request is missing a required parameter: 'scope'.",
        );
    };
    let Some(mut scopes) = parse_scopes(state, scope_text) else {
        return fail(
            "invalid_scope",
            "One or more scopes are not configured for the authorization server resource.",
        );
    };
    if response_type.id_token && !has_scope(&scopes, "openid") {
        return fail(
            "invalid_scope",
            "The 'openid' scope is required when requesting an ID token.",
        );
    }
    let nonce = param(&params, "nonce");
    if response_type.id_token && nonce.is_none() {
        return fail(
            "invalid_request",
            "The authentication request has an invalid 'nonce' parameter: a nonce is required \
             when requesting an ID token.",
        );
    }
    if response_type.code {
        if let Err(description) = check_pkce(&params, spa) {
            return fail("invalid_request", description);
        }
    }
    if *lock(&state.authorize_outcome) == AuthorizeOutcome::AccessDenied {
        return fail(
            "access_denied",
            "User is not assigned to the client application.",
        );
    }
    let auth_time = state.now_secs();

    if response_type.code {
        let code = random_id(43);
        lock(&state.grants).codes.insert(
            code.clone(),
            CodeGrant {
                client_id: client_id.to_owned(),
                redirect_uri: redirect_uri.to_owned(),
                scopes: scopes.clone(),
                nonce: nonce.map(str::to_owned),
                code_challenge: param(&params, "code_challenge").map(str::to_owned),
                expires: state.now() + CODE_LIFETIME,
                auth_time,
            },
        );
        return redirect(
            redirect_uri,
            mode,
            &[("code", &code), ("state", oauth_state)],
        );
    }

    // Implicit: no refresh token is ever issued (RFC 6749 4.2.2).
    scopes.retain(|s| s != "offline_access");
    let scope_text = scopes.join(" ");
    let access_token = response_type.token.then(|| {
        mint::access_token(
            state,
            client_id,
            &scopes,
            auth_time,
            &mint::access_jti(),
            None,
        )
    });
    let id_token = response_type.id_token.then(|| {
        mint::id_token(
            state,
            client_id,
            &scopes,
            nonce,
            auth_time,
            access_token.as_deref(),
        )
    });
    let expires_in = state.config.access_token_lifetime.as_secs().to_string();
    let mut answer: Vec<(&str, &str)> = Vec::new();
    if let Some(access_token) = &access_token {
        answer.extend([
            ("access_token", access_token.as_str()),
            ("token_type", "Bearer"),
            ("expires_in", expires_in.as_str()),
            ("scope", scope_text.as_str()),
        ]);
    }
    if let Some(id_token) = &id_token {
        answer.push(("id_token", id_token));
    }
    answer.push(("state", oauth_state));
    redirect(redirect_uri, mode, &answer)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn response_types_are_sets() {
        assert_eq!(
            parse_response_type("token id_token"),
            parse_response_type("id_token token")
        );
        assert!(parse_response_type("code id_token").is_none());
        assert!(parse_response_type("code code").unwrap().code);
    }
}
