//! The browser-facing endpoints of the mock custom authorization server: `/v1/authorize`,
//! `/v1/token`, `/v1/userinfo`, `/v1/revoke`, `/v1/logout`, and CORS for the endpoints a browser
//! calls with `fetch`.
//!
//! The client is the SPA app integration of DESIGN 1: a public client (no secret), Authorization
//! Code with PKCE (S256, required), Implicit (`token`, `id_token`, `id_token token`), Refresh Token
//! with rotation (grace period 0: a refresh token is spent by its first use; a second use is
//! reuse, which also revokes the token that replaced it). Sign-in is auto-approved for the
//! configured [`MockUser`].

use std::collections::hash_map::Entry;
use std::collections::{BTreeSet, HashMap, HashSet};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use aws_lc_rs::digest::{digest, SHA256};
use aws_lc_rs::signature::{UnparsedPublicKey, RSA_PKCS1_2048_8192_SHA256};
use base64::Engine;
use bytes::Bytes;
use http::{header, HeaderMap, HeaderValue, Method, Response, StatusCode};
use http_body_util::Full;
use serde_json::{json, Map, Value};
use url::form_urlencoded;

use super::server::{json, okta_error};
use super::token::{now, random_id};
use super::{lock, State, TokenBuilder};
use crate::token::STRICT_B64;

/// How long an authorization code can be exchanged.
const CODE_LIFETIME: Duration = Duration::from_secs(60);
/// The request headers a browser may send to the CORS-enabled endpoints (okta-auth-js sends
/// `Accept`, `Content-Type`, `X-Okta-User-Agent-Extended`, and `Authorization` to revoke).
const CORS_ALLOWED_HEADERS: &[&str] = &[
    "accept",
    "authorization",
    "content-type",
    "dpop",
    "x-okta-user-agent-extended",
    "x-requested-with",
];
/// Scopes every Okta custom authorization server has.
const OIDC_SCOPES: &[&str] = &[
    "openid",
    "profile",
    "email",
    "address",
    "phone",
    "offline_access",
];

/// The user the mock signs in: `/v1/authorize` approves every sign-in for this user.
///
/// ```
/// use tower_okta::mock::MockUser;
///
/// let user = MockUser::new("00u1ab2cd3ef4gh5ij6k", "ada@example.com", "Ada Lovelace");
/// assert_eq!(user.email, "ada@example.com");
/// assert_eq!(MockUser::default().login, "jane.doe@example.com");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct MockUser {
    /// The Okta user ID (`00u...`): the ID token's and userinfo's `sub`, the access token's `uid`.
    pub id: String,
    /// The Okta login (an email address): the access token's `sub`, `preferred_username`.
    pub login: String,
    /// The display name: `name` (`given_name` and `family_name` are split from it).
    pub name: String,
    /// The primary email: `email`.
    pub email: String,
}

impl MockUser {
    /// A user with this Okta ID, login and name; the email is the login.
    #[must_use]
    pub fn new(id: impl Into<String>, login: impl Into<String>, name: impl Into<String>) -> Self {
        let login = login.into();
        MockUser {
            id: id.into(),
            email: login.clone(),
            login,
            name: name.into(),
        }
    }

    /// The same user with another primary email.
    #[must_use]
    pub fn with_email(mut self, email: impl Into<String>) -> Self {
        self.email = email.into();
        self
    }
}

impl Default for MockUser {
    /// Jane Doe, `jane.doe@example.com`, with a random `00u...` ID.
    fn default() -> Self {
        MockUser::new(
            format!("00u{}", random_id(17)),
            "jane.doe@example.com",
            "Jane Doe",
        )
    }
}

/// The SPA app's settings in the mock (set through `MockOktaBuilder`).
#[derive(Debug, Clone)]
pub(crate) struct OAuthConfig {
    pub(crate) redirect_uris: Vec<String>,
    pub(crate) post_logout_redirect_uris: Vec<String>,
    pub(crate) allowed_origins: Vec<String>,
    pub(crate) custom_scopes: Vec<String>,
    pub(crate) access_token_lifetime: Duration,
}

impl OAuthConfig {
    /// The SPA served from `origin`: sign-in redirect URIs `{origin}/callback` and
    /// `{origin}/silent-callback`, sign-out redirect URIs `{origin}` and `{origin}/`, trusted
    /// origin `origin`.
    pub(crate) fn for_origin(origin: &str) -> OAuthConfig {
        let origin = origin.trim_end_matches('/');
        OAuthConfig {
            redirect_uris: vec![
                format!("{origin}/callback"),
                format!("{origin}/silent-callback"),
            ],
            post_logout_redirect_uris: vec![origin.to_owned(), format!("{origin}/")],
            allowed_origins: vec![origin.to_owned()],
            custom_scopes: Vec::new(),
            access_token_lifetime: Duration::from_secs(3600),
        }
    }
}

/// What the endpoints remember: codes, refresh tokens, revocations.
#[derive(Debug)]
pub(crate) struct OAuthState {
    pub(crate) config: OAuthConfig,
    grants: Mutex<Grants>,
}

impl OAuthState {
    pub(crate) fn new(config: OAuthConfig) -> OAuthState {
        OAuthState {
            config,
            grants: Mutex::new(Grants::default()),
        }
    }
}

#[derive(Debug, Default)]
struct Grants {
    /// Codes not yet exchanged.
    codes: HashMap<String, CodeGrant>,
    /// Codes exchanged (or tried), with the refresh-token family the exchange started, if any.
    spent_codes: HashMap<String, Option<u64>>,
    /// Live refresh tokens.
    refresh: HashMap<String, RefreshGrant>,
    /// Rotated-away refresh tokens and their family.
    spent_refresh: HashMap<String, u64>,
    /// Revoked access tokens (`jti`), for userinfo.
    revoked_access: HashSet<String>,
    next_family: u64,
}

impl Grants {
    /// Revokes the live refresh token of `family` (reuse detected, or a code replayed).
    fn revoke_family(&mut self, family: u64) {
        self.refresh.retain(|_, grant| grant.family != family);
    }
}

#[derive(Debug)]
struct CodeGrant {
    redirect_uri: String,
    scopes: Vec<String>,
    nonce: Option<String>,
    code_challenge: String,
    expires: Instant,
    auth_time: i64,
}

#[derive(Debug, Clone)]
struct RefreshGrant {
    family: u64,
    scopes: Vec<String>,
    auth_time: i64,
}

pub(crate) type Answer = Response<Full<Bytes>>;

/// The endpoints a browser calls with `fetch` (the others are navigations).
pub(crate) fn is_cors_path(path: &str) -> bool {
    matches!(
        path,
        "/.well-known/openid-configuration"
            | "/.well-known/oauth-authorization-server"
            | "/v1/keys"
            | "/v1/token"
            | "/v1/userinfo"
            | "/v1/revoke"
    )
}

/// The `Origin` header, if it is a trusted origin.
fn trusted_origin<'h>(state: &State, headers: &'h HeaderMap) -> Option<&'h HeaderValue> {
    let origin = headers.get(header::ORIGIN)?;
    let text = origin.to_str().ok()?;
    state
        .oauth
        .config
        .allowed_origins
        .iter()
        .any(|allowed| allowed == text)
        .then_some(origin)
}

/// Adds `Access-Control-Allow-Origin` (and `Vary`, exposed headers) for a trusted origin.
pub(crate) fn add_cors(state: &State, request: &HeaderMap, response: &mut Answer) {
    let headers = response.headers_mut();
    headers.append(header::VARY, HeaderValue::from_static("Origin"));
    if let Some(origin) = trusted_origin(state, request) {
        headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin.clone());
        headers.insert(
            header::ACCESS_CONTROL_EXPOSE_HEADERS,
            HeaderValue::from_static("WWW-Authenticate"),
        );
    }
}

/// Answers a CORS preflight (`OPTIONS` with `Access-Control-Request-Method`).
pub(crate) fn preflight(state: &State, request: &HeaderMap) -> Answer {
    let Some(origin) = trusted_origin(state, request) else {
        return okta_error(
            StatusCode::FORBIDDEN,
            "E0000006",
            "The origin is not a trusted origin of this org",
        );
    };
    let method_ok = request
        .get(header::ACCESS_CONTROL_REQUEST_METHOD)
        .and_then(|m| m.to_str().ok())
        .is_some_and(|m| matches!(m, "GET" | "POST"));
    let requested_headers: Vec<String> = request
        .get_all(header::ACCESS_CONTROL_REQUEST_HEADERS)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|h| h.trim().to_ascii_lowercase())
        .filter(|h| !h.is_empty())
        .collect();
    let headers_ok = requested_headers
        .iter()
        .all(|h| CORS_ALLOWED_HEADERS.contains(&h.as_str()));
    let mut response = Response::new(Full::new(Bytes::new()));
    *response.status_mut() = StatusCode::NO_CONTENT;
    let headers = response.headers_mut();
    headers.insert(header::VARY, HeaderValue::from_static("Origin"));
    if method_ok && headers_ok {
        headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin.clone());
        headers.insert(
            header::ACCESS_CONTROL_ALLOW_METHODS,
            HeaderValue::from_static("GET, POST, OPTIONS"),
        );
        if !requested_headers.is_empty() {
            if let Ok(value) = HeaderValue::from_str(&requested_headers.join(", ")) {
                headers.insert(header::ACCESS_CONTROL_ALLOW_HEADERS, value);
            }
        }
        headers.insert(
            header::ACCESS_CONTROL_MAX_AGE,
            HeaderValue::from_static("600"),
        );
    }
    response
}

/// The OAuth endpoints; `None` when `path` is none of them.
pub(crate) fn handle(
    state: &State,
    method: &Method,
    path: &str,
    query: Option<&str>,
    headers: &HeaderMap,
    body: &[u8],
) -> Option<Answer> {
    let query = query.unwrap_or("");
    let answer = match (path, method) {
        ("/v1/authorize", &Method::GET) => authorize(state, query),
        ("/v1/token", &Method::POST) => token(state, headers, body),
        ("/v1/userinfo", &Method::GET | &Method::POST) => userinfo(state, headers),
        ("/v1/revoke", &Method::POST) => revoke(state, headers, body),
        ("/v1/logout", &Method::GET) => logout(state, query),
        ("/v1/authorize" | "/v1/token" | "/v1/userinfo" | "/v1/revoke" | "/v1/logout", _) => {
            okta_error(
                StatusCode::METHOD_NOT_ALLOWED,
                "E0000022",
                "The endpoint does not support the provided HTTP method",
            )
        }
        _ => return None,
    };
    Some(answer)
}

/// Parameters of a query or form body; a parameter given twice is an error (RFC 6749 3.1, 3.2).
fn params(input: &[u8]) -> Result<HashMap<String, String>, String> {
    let mut params = HashMap::new();
    for (name, value) in form_urlencoded::parse(input) {
        match params.entry(name.into_owned()) {
            Entry::Occupied(entry) => {
                return Err(format!(
                    "The '{}' parameter was included more than once.",
                    entry.key()
                ))
            }
            Entry::Vacant(entry) => {
                entry.insert(value.into_owned());
            }
        }
    }
    Ok(params)
}

/// A non-empty parameter.
pub(crate) fn param<'p>(params: &'p HashMap<String, String>, name: &str) -> Option<&'p str> {
    params
        .get(name)
        .map(String::as_str)
        .filter(|v| !v.is_empty())
}

/// An HTML error page (no redirect): for requests whose client or redirect URI is not valid.
/// The message is fixed text, never a request value.
fn error_page(status: StatusCode, message: &str) -> Answer {
    let body = format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>{status}</title>\
         </head>\n<body><h1>{status}</h1>\n<p>{message}</p></body></html>\n"
    );
    let mut response = Response::new(Full::new(Bytes::from(body)));
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Query,
    Fragment,
}

/// A 302 to `redirect_uri` with `params` in its query or fragment.
fn redirect(redirect_uri: &str, mode: Mode, params: &[(&str, &str)]) -> Answer {
    let Ok(mut url) = url::Url::parse(redirect_uri) else {
        return error_page(
            StatusCode::BAD_REQUEST,
            "The redirect URI registered for this client is not a valid URL.",
        );
    };
    match mode {
        Mode::Query => {
            let mut pairs = url.query_pairs_mut();
            for (name, value) in params {
                pairs.append_pair(name, value);
            }
        }
        Mode::Fragment => {
            let mut serializer = form_urlencoded::Serializer::new(String::new());
            for (name, value) in params {
                serializer.append_pair(name, value);
            }
            url.set_fragment(Some(&serializer.finish()));
        }
    }
    let mut response = Response::new(Full::new(Bytes::new()));
    *response.status_mut() = StatusCode::FOUND;
    if let Ok(location) = HeaderValue::from_str(url.as_str()) {
        response.headers_mut().insert(header::LOCATION, location);
    }
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// An OAuth error sent back to the (valid) redirect URI (RFC 6749 4.1.2.1, 4.2.2.1).
fn redirect_error(
    redirect_uri: &str,
    mode: Mode,
    error: &str,
    description: &str,
    state: Option<&str>,
) -> Answer {
    let mut params = vec![("error", error), ("error_description", description)];
    if let Some(state) = state {
        params.push(("state", state));
    }
    redirect(redirect_uri, mode, &params)
}

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
    let parsed = match names.as_slice() {
        ["code"] => ResponseType {
            code: true,
            token: false,
            id_token: false,
        },
        ["token"] => ResponseType {
            code: false,
            token: true,
            id_token: false,
        },
        ["id_token"] => ResponseType {
            code: false,
            token: false,
            id_token: true,
        },
        ["id_token", "token"] => ResponseType {
            code: false,
            token: true,
            id_token: true,
        },
        _ => return None,
    };
    Some(parsed)
}

/// RFC 7636 4.1: 43 to 128 characters of `[A-Za-z0-9-._~]` (the same for an S256 challenge,
/// which is always 43).
fn is_pkce_string(value: &str) -> bool {
    (43..=128).contains(&value.len())
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'))
}

fn s256(verifier: &str) -> String {
    STRICT_B64.encode(digest(&SHA256, verifier.as_bytes()))
}

/// The scopes of a request, checked against the authorization server's scopes.
fn parse_scopes(state: &State, value: &str) -> Option<Vec<String>> {
    let mut scopes: Vec<String> = Vec::new();
    for scope in value.split(' ').filter(|s| !s.is_empty()) {
        let known = OIDC_SCOPES.contains(&scope)
            || state.oauth.config.custom_scopes.iter().any(|s| s == scope);
        if !known {
            return None;
        }
        if !scopes.iter().any(|s| s == scope) {
            scopes.push(scope.to_owned());
        }
    }
    (!scopes.is_empty()).then_some(scopes)
}

fn has_scope(scopes: &[String], scope: &str) -> bool {
    scopes.iter().any(|s| s == scope)
}

/// `GET /v1/authorize`: checks the request, signs the test user in without asking, and redirects
/// back with a code (PKCE) or tokens (implicit).
fn authorize(state: &State, query: &str) -> Answer {
    let params = match params(query.as_bytes()) {
        Ok(params) => params,
        Err(_) => {
            return error_page(
                StatusCode::BAD_REQUEST,
                "A parameter was included more than once.",
            )
        }
    };
    // Without a known client and one of its redirect URIs nothing may be redirected anywhere.
    if param(&params, "client_id") != Some(state.client_id.as_str()) {
        return error_page(
            StatusCode::BAD_REQUEST,
            "The 'client_id' parameter is missing or does not name a client of this \
             authorization server.",
        );
    }
    let Some(redirect_uri) = param(&params, "redirect_uri").filter(|uri| {
        state
            .oauth
            .config
            .redirect_uris
            .iter()
            .any(|registered| registered == uri)
    }) else {
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
    let auth_time = now();

    if response_type.code {
        let Some(code_challenge) = param(&params, "code_challenge") else {
            return fail(
                "invalid_request",
                "PKCE code challenge is required when the token endpoint authentication method \
                 is 'NONE'.",
            );
        };
        if param(&params, "code_challenge_method") != Some("S256") {
            return fail(
                "invalid_request",
                "The 'code_challenge_method' parameter must be 'S256'.",
            );
        }
        if code_challenge.len() != 43 || !is_pkce_string(code_challenge) {
            return fail(
                "invalid_request",
                "The 'code_challenge' parameter is not a valid S256 code challenge.",
            );
        }
        let code = random_id(43);
        lock(&state.oauth.grants).codes.insert(
            code.clone(),
            CodeGrant {
                redirect_uri: redirect_uri.to_owned(),
                scopes: scopes.clone(),
                nonce: nonce.map(str::to_owned),
                code_challenge: code_challenge.to_owned(),
                expires: Instant::now() + CODE_LIFETIME,
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
    let access_token = response_type
        .token
        .then(|| mint_access_token(state, &scopes, auth_time));
    let id_token = response_type
        .id_token
        .then(|| mint_id_token(state, &scopes, nonce, auth_time, access_token.as_deref()));
    let expires_in = state
        .oauth
        .config
        .access_token_lifetime
        .as_secs()
        .to_string();
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

/// An access token for the test user, as `/v1/authorize` and `/v1/token` issue it.
fn mint_access_token(state: &State, scopes: &[String], auth_time: i64) -> String {
    let key = lock(&state.keys).signing.clone();
    let iat = now();
    let lifetime =
        i64::try_from(state.oauth.config.access_token_lifetime.as_secs()).unwrap_or(i64::MAX / 2);
    TokenBuilder::access(state, key)
        .claim("iat", iat)
        .claim("exp", iat.saturating_add(lifetime))
        .claim("scp", scopes.to_vec())
        .claim("auth_time", auth_time)
        .build()
}

/// An ID token for the test user: `nonce` when `/v1/authorize` had one, `at_hash` when issued
/// with an access token (OIDC Core 3.1.3.6: the left half of SHA-256 of the token's ASCII, in
/// base64url), profile and email claims by scope.
fn mint_id_token(
    state: &State,
    scopes: &[String],
    nonce: Option<&str>,
    auth_time: i64,
    access_token: Option<&str>,
) -> String {
    let key = lock(&state.keys).signing.clone();
    let mut builder = TokenBuilder::id(state, key).claim("auth_time", auth_time);
    if let Some(nonce) = nonce {
        builder = builder.claim("nonce", nonce);
    }
    if let Some(access_token) = access_token {
        builder = builder.claim("at_hash", at_hash(access_token));
    }
    if !has_scope(scopes, "profile") {
        builder = builder
            .without_claim("name")
            .without_claim("preferred_username");
    }
    if !has_scope(scopes, "email") {
        builder = builder.without_claim("email");
    }
    builder.build()
}

/// `at_hash`: base64url of the left half of SHA-256 of the access token.
pub(crate) fn at_hash(access_token: &str) -> String {
    let hash = digest(&SHA256, access_token.as_bytes());
    STRICT_B64.encode(&hash.as_ref()[..16])
}

/// A token-endpoint error: JSON `{error, error_description}`.
pub(crate) fn oauth_error(status: StatusCode, error: &str, description: &str) -> Answer {
    let mut response = json(
        status,
        &json!({ "error": error, "error_description": description }),
    );
    no_store(&mut response);
    response
}

fn no_store(response: &mut Answer) {
    let headers = response.headers_mut();
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
}

fn invalid_client(basic: bool) -> Box<Answer> {
    let mut response = oauth_error(
        StatusCode::UNAUTHORIZED,
        "invalid_client",
        "Client authentication failed. Either the client or the client credentials are invalid.",
    );
    if basic {
        response.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Basic realm=\"Okta\""),
        );
    }
    Box::new(response)
}

/// The client of a token or revocation request: a public client names itself (`client_id` in
/// the body, or `Authorization: Basic base64(client_id)` as okta-auth-js sends to revoke) and
/// sends no secret. `Err` is the answer.
fn public_client(
    state: &State,
    headers: &HeaderMap,
    params: &HashMap<String, String>,
) -> Result<(), Box<Answer>> {
    let mut basic_id = None;
    if let Some(value) = headers.get(header::AUTHORIZATION) {
        let text = value.to_str().map_err(|_| invalid_client(true))?;
        let (scheme, credentials) = text.split_once(' ').ok_or_else(|| invalid_client(true))?;
        if !scheme.eq_ignore_ascii_case("basic") {
            return Err(invalid_client(true));
        }
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(credentials.trim())
            .ok()
            .and_then(|d| String::from_utf8(d).ok())
            .ok_or_else(|| invalid_client(true))?;
        let (id, secret) = decoded.split_once(':').unwrap_or((&decoded, ""));
        if !secret.is_empty() {
            // A secret from a public client: Okta refuses it like a wrong secret.
            return Err(invalid_client(true));
        }
        basic_id = Some(id.to_owned());
    }
    if params.contains_key("client_secret")
        || params.contains_key("client_assertion")
        || params.contains_key("client_assertion_type")
    {
        return Err(invalid_client(false));
    }
    let body_id = param(params, "client_id");
    let client_id = match (body_id, basic_id.as_deref()) {
        (Some(body), Some(basic)) if body != basic => return Err(invalid_client(true)),
        (Some(id), _) | (None, Some(id)) => id,
        (None, None) => return Err(invalid_client(false)),
    };
    if client_id != state.client_id {
        return Err(invalid_client(basic_id.is_some()));
    }
    Ok(())
}

/// The form of a `POST` (`application/x-www-form-urlencoded`), or the answer.
pub(crate) fn form(
    headers: &HeaderMap,
    body: &[u8],
) -> Result<HashMap<String, String>, Box<Answer>> {
    let form_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|v| {
            v.trim()
                .eq_ignore_ascii_case("application/x-www-form-urlencoded")
        });
    if !form_type {
        return Err(Box::new(oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "The request must be sent as application/x-www-form-urlencoded.",
        )));
    }
    params(body).map_err(|message| {
        Box::new(oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            &message,
        ))
    })
}

/// `POST /v1/token`: `authorization_code` (with PKCE) and `refresh_token` (with rotation).
fn token(state: &State, headers: &HeaderMap, body: &[u8]) -> Answer {
    let params = match form(headers, body) {
        Ok(params) => params,
        Err(answer) => return *answer,
    };
    // Service apps authenticate with a client assertion, not as the public SPA client.
    if param(&params, "grant_type") == Some("client_credentials") {
        return super::service_app::client_credentials_grant(state, &params);
    }
    if let Err(answer) = public_client(state, headers, &params) {
        return *answer;
    }
    match param(&params, "grant_type") {
        None => oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "The token request is missing a required parameter: 'grant_type'.",
        ),
        Some("authorization_code") => code_grant(state, &params),
        Some("refresh_token") => refresh_grant(state, &params),
        Some(_) => oauth_error(
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
            "The authorization grant type is not supported by the authorization server.",
        ),
    }
}

fn invalid_grant(description: &str) -> Answer {
    oauth_error(StatusCode::BAD_REQUEST, "invalid_grant", description)
}

fn code_grant(state: &State, params: &HashMap<String, String>) -> Answer {
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
    let mut grants = lock(&state.oauth.grants);
    // Single use: whatever happens next, this code is spent.
    let Some(grant) = grants.codes.remove(code) else {
        if let Some(Some(family)) = grants.spent_codes.get(code).copied() {
            // A replayed code: revoke what its first exchange issued (RFC 6749 4.1.2).
            grants.revoke_family(family);
        }
        return invalid_grant("The authorization code is invalid or has expired.");
    };
    grants.spent_codes.insert(code.to_owned(), None);
    if grant.expires <= Instant::now() {
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
    let refresh = has_scope(&grant.scopes, "offline_access").then(|| {
        let family = grants.next_family;
        grants.next_family += 1;
        grants.spent_codes.insert(code.to_owned(), Some(family));
        let token = random_id(43);
        grants.refresh.insert(
            token.clone(),
            RefreshGrant {
                family,
                scopes: grant.scopes.clone(),
                auth_time: grant.auth_time,
            },
        );
        token
    });
    drop(grants);
    token_response(
        state,
        &grant.scopes,
        grant.nonce.as_deref(),
        grant.auth_time,
        refresh,
    )
}

fn refresh_grant(state: &State, params: &HashMap<String, String>) -> Answer {
    let Some(refresh_token) = param(params, "refresh_token") else {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "The token request is missing a required parameter: 'refresh_token'.",
        );
    };
    let mut grants = lock(&state.oauth.grants);
    let Some(grant) = grants.refresh.get(refresh_token).cloned() else {
        if let Some(family) = grants.spent_refresh.get(refresh_token).copied() {
            // Reuse of a rotated refresh token: revoke the one that replaced it too.
            grants.revoke_family(family);
        }
        return invalid_grant("The refresh token is invalid or expired.");
    };
    // Fewer scopes may be asked for, never more (RFC 6749 6).
    let scopes = match param(params, "scope") {
        None => grant.scopes.clone(),
        Some(text) => {
            let asked: Vec<String> = text
                .split(' ')
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .collect();
            if asked.is_empty() || !asked.iter().all(|s| has_scope(&grant.scopes, s)) {
                return oauth_error(
                    StatusCode::BAD_REQUEST,
                    "invalid_scope",
                    "The requested scope is invalid, unknown, or exceeds the scope granted.",
                );
            }
            asked
        }
    };
    // Rotation: the used token is spent, a new one of the same family replaces it.
    grants.refresh.remove(refresh_token);
    grants
        .spent_refresh
        .insert(refresh_token.to_owned(), grant.family);
    let next = random_id(43);
    grants.refresh.insert(next.clone(), grant.clone());
    drop(grants);
    token_response(state, &scopes, None, grant.auth_time, Some(next))
}

/// The token endpoint's success answer.
fn token_response(
    state: &State,
    scopes: &[String],
    nonce: Option<&str>,
    auth_time: i64,
    refresh_token: Option<String>,
) -> Answer {
    let access_token = mint_access_token(state, scopes, auth_time);
    let mut body = json!({
        "token_type": "Bearer",
        "expires_in": state.oauth.config.access_token_lifetime.as_secs(),
        "access_token": access_token,
        "scope": scopes.join(" "),
    });
    if has_scope(scopes, "openid") {
        body["id_token"] = Value::from(mint_id_token(
            state,
            scopes,
            nonce,
            auth_time,
            Some(&access_token),
        ));
    }
    if let Some(refresh_token) = refresh_token {
        body["refresh_token"] = Value::from(refresh_token);
    }
    let mut response = json(StatusCode::OK, &body);
    no_store(&mut response);
    response
}

/// Verifies a token the mock issued: RS256 signature by one of its keys, `iss`. Expiry and
/// profile are the caller's business.
pub(crate) fn verify_own(state: &State, token: &str) -> Option<Map<String, Value>> {
    let mut parts = token.split('.');
    let (header, claims, signature) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() {
        return None;
    }
    let header: Value = serde_json::from_slice(&STRICT_B64.decode(header).ok()?).ok()?;
    if header.get("alg")?.as_str()? != "RS256" {
        return None;
    }
    let kid = header.get("kid")?.as_str()?;
    let key = {
        let keys = lock(&state.keys);
        keys.published
            .iter()
            .chain(std::iter::once(&keys.signing))
            .find(|k| k.kid() == kid)?
            .clone()
    };
    let signature = STRICT_B64.decode(signature).ok()?;
    let signing_input = &token[..token.rfind('.')?];
    UnparsedPublicKey::new(&RSA_PKCS1_2048_8192_SHA256, key.public_key_der())
        .verify(signing_input.as_bytes(), &signature)
        .ok()?;
    let claims: Map<String, Value> =
        serde_json::from_slice(&STRICT_B64.decode(claims).ok()?).ok()?;
    (claims.get("iss")?.as_str()? == state.issuer).then_some(claims)
}

/// A valid, unrevoked access token of the mock's client, from `Authorization: Bearer`.
fn bearer_access_token(state: &State, headers: &HeaderMap) -> Option<Map<String, Value>> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("bearer") {
        return None;
    }
    let claims = verify_own(state, token.trim())?;
    let fresh = claims.get("exp")?.as_i64()? > now();
    let ours = claims.get("cid")?.as_str()? == state.client_id;
    let jti = claims.get("jti")?.as_str()?;
    let revoked = lock(&state.oauth.grants).revoked_access.contains(jti);
    (fresh && ours && !revoked).then_some(claims)
}

/// `GET /v1/userinfo` with a bearer access token: the user's claims by granted scope.
fn userinfo(state: &State, headers: &HeaderMap) -> Answer {
    let challenge = |error: &str, description: &str, status: StatusCode| {
        let mut response = json(
            status,
            &json!({ "error": error, "error_description": description }),
        );
        let value = format!(
            "Bearer authorization_uri=\"{issuer}/v1/authorize\", realm=\"{issuer}\", \
             scope=\"openid\", error=\"{error}\", error_description=\"{description}\", \
             resource=\"/v1/userinfo\"",
            issuer = state.issuer
        );
        if let Ok(value) = HeaderValue::from_str(&value) {
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, value);
        }
        response
    };
    let Some(claims) = bearer_access_token(state, headers) else {
        return challenge(
            "invalid_token",
            "The access token is invalid.",
            StatusCode::UNAUTHORIZED,
        );
    };
    let scopes: Vec<String> = claims
        .get("scp")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default();
    if !has_scope(&scopes, "openid") {
        return challenge(
            "insufficient_scope",
            "The access token must provide access to at least one of these scopes - openid.",
            StatusCode::FORBIDDEN,
        );
    }
    let user = &state.user;
    let mut body = json!({ "sub": user.id });
    if has_scope(&scopes, "profile") {
        let (given, family) = user.name.split_once(' ').unwrap_or((&user.name, ""));
        body["name"] = Value::from(user.name.as_str());
        body["given_name"] = Value::from(given);
        body["family_name"] = Value::from(family);
        body["preferred_username"] = Value::from(user.login.as_str());
        body["locale"] = Value::from("en_US");
        body["zoneinfo"] = Value::from("America/Los_Angeles");
        body["updated_at"] = claims.get("auth_time").cloned().unwrap_or(Value::Null);
    }
    if has_scope(&scopes, "email") {
        body["email"] = Value::from(user.email.as_str());
        body["email_verified"] = Value::from(true);
    }
    json(StatusCode::OK, &body)
}

/// `POST /v1/revoke` (RFC 7009): a refresh token, or an access token (then refused by
/// userinfo). Unknown tokens are not an error.
fn revoke(state: &State, headers: &HeaderMap, body: &[u8]) -> Answer {
    let params = match form(headers, body) {
        Ok(params) => params,
        Err(answer) => return *answer,
    };
    if let Err(answer) = public_client(state, headers, &params) {
        return *answer;
    }
    let Some(token) = param(&params, "token") else {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "The revocation request is missing a required parameter: 'token'.",
        );
    };
    let access_jti = verify_own(state, token)
        .and_then(|claims| claims.get("jti").and_then(Value::as_str).map(str::to_owned));
    let mut grants = lock(&state.oauth.grants);
    if let Some(grant) = grants.refresh.remove(token) {
        grants.revoke_family(grant.family);
    }
    if let Some(jti) = access_jti {
        grants.revoked_access.insert(jti);
    }
    drop(grants);
    let mut response = Response::new(Full::new(Bytes::new()));
    no_store(&mut response);
    response
}

/// True if the access token with this `jti` was revoked.
pub(crate) fn is_revoked(state: &State, jti: &str) -> bool {
    lock(&state.oauth.grants).revoked_access.contains(jti)
}

/// Revokes an access token the mock issued (by its `jti`); false if it is not one.
pub(crate) fn revoke_access_token(state: &State, token: &str) -> bool {
    let Some(jti) = verify_own(state, token)
        .and_then(|claims| claims.get("jti").and_then(Value::as_str).map(str::to_owned))
    else {
        return false;
    };
    lock(&state.oauth.grants).revoked_access.insert(jti);
    true
}

/// `GET /v1/logout`: ends the (notional) Okta session and redirects to a registered sign-out
/// redirect URI.
fn logout(state: &State, query: &str) -> Answer {
    let Ok(params) = params(query.as_bytes()) else {
        return error_page(
            StatusCode::BAD_REQUEST,
            "A parameter was included more than once.",
        );
    };
    // The hint may have expired; it must be ours and for this client.
    let hint_ok = param(&params, "id_token_hint")
        .and_then(|hint| verify_own(state, hint))
        .is_some_and(|claims| {
            claims.get("aud").and_then(Value::as_str) == Some(state.client_id.as_str())
                && claims.get("sub").and_then(Value::as_str) == Some(state.user.id.as_str())
        });
    if !hint_ok {
        return error_page(
            StatusCode::BAD_REQUEST,
            "The 'id_token_hint' parameter is missing or is not an ID token issued to this \
             client.",
        );
    }
    match param(&params, "post_logout_redirect_uri") {
        None => error_page(StatusCode::OK, "You are signed out."),
        Some(uri)
            if state
                .oauth
                .config
                .post_logout_redirect_uris
                .iter()
                .any(|registered| registered == uri) =>
        {
            let mut answer = Vec::new();
            if let Some(oauth_state) = param(&params, "state") {
                answer.push(("state", oauth_state));
            }
            redirect(uri, Mode::Query, &answer)
        }
        Some(_) => error_page(
            StatusCode::BAD_REQUEST,
            "The 'post_logout_redirect_uri' parameter must be a Logout redirect URI in the client \
             app settings.",
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn s256_matches_rfc_7636_appendix_b() {
        assert_eq!(
            s256("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        );
    }

    #[test]
    fn response_types_are_sets() {
        assert_eq!(
            parse_response_type("token id_token"),
            parse_response_type("id_token token")
        );
        assert!(parse_response_type("code id_token").is_none());
        assert!(parse_response_type("code code").unwrap().code);
    }

    #[test]
    fn duplicate_parameters_are_refused() {
        assert!(params(b"a=1&b=2").is_ok());
        assert!(params(b"a=1&a=2").is_err());
    }
}
