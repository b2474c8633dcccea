//! One contender's server: an axum app serving `GET /api/me` (the verified token's `sub` as JSON),
//! each written the way its crate documents it. Every contender deserializes the token's claims
//! into the same type, `tower_okta::AccessClaims`, and checks the signature (RS256, the key found
//! by `kid` in the JWKS fetched once from the mock), `exp`, `aud` and `iss` (axum-jwks has no
//! issuer check). On the runtime `#[tokio::main]` gives: multi-thread, one worker per CPU the
//! process may use (one, when pinned).
//!
//! Binds `127.0.0.1:0` and prints `listening on <addr>` on stdout once it serves.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use tower_okta::AccessClaims;

use crate::{Args, Result};

/// What the handler returns: `{"sub": "..."}`.
#[derive(Serialize)]
struct Me {
    sub: String,
}

/// Where the tokens come from, from the command line.
struct Okta {
    issuer: String,
    client_id: String,
    audience: String,
    jwks_uri: String,
}

pub(crate) fn main(args: &Args) -> Result<()> {
    let contender = args.positional(1, "contender")?.to_owned();
    let okta = Okta {
        issuer: args.value("issuer")?.to_owned(),
        client_id: args.value("client-id")?.to_owned(),
        audience: args.value("audience")?.to_owned(),
        jwks_uri: args.value("jwks-uri")?.to_owned(),
    };
    let bind: SocketAddr = args.value_or("bind", "127.0.0.1:0").parse()?;
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?
        .block_on(serve(&contender, &okta, bind))
}

async fn serve(contender: &str, okta: &Okta, bind: SocketAddr) -> Result<()> {
    let listener = tokio::net::TcpListener::bind(bind).await?;
    let addr = listener.local_addr()?;
    match contender {
        "bare" => {
            let app = axum::Router::new().route("/api/me", axum::routing::get(bare_me));
            ready(addr);
            axum::serve(listener, app).await?;
        }
        "tower-okta" | "tower-okta-nocache" => {
            let app = tower_okta_app(okta, contender == "tower-okta").await?;
            ready(addr);
            axum::serve(listener, app).await?;
        }
        "jsonwebtoken" => {
            let app = jsonwebtoken_app(okta).await?;
            ready(addr);
            axum::serve(listener, app).await?;
        }
        "jwt-authorizer" => {
            let app = jwt_authorizer_app(okta).await?;
            ready(addr);
            // axum 0.7, which jwt-authorizer 0.15 is built on.
            axum07::serve(listener, app).await?;
        }
        "axum-jwks" => {
            let app = axum_jwks_app(okta).await?;
            ready(addr);
            axum::serve(listener, app).await?;
        }
        other => return Err(format!("unknown contender {other:?}").into()),
    }
    Ok(())
}

fn ready(addr: SocketAddr) {
    use std::io::Write as _;
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "listening on {addr}");
    let _ = out.flush();
}

// The bare router: the same route and response, no authentication.

async fn bare_me() -> axum::Json<Me> {
    axum::Json(Me {
        sub: "anonymous".to_owned(),
    })
}

// tower-okta, as in examples/axum.rs: the layer on the route, the `Claims` extractor; the
// verifier with its default settings (only the issuer and client ID set).

async fn tower_okta_app(okta: &Okta, default_cache: bool) -> Result<axum::Router> {
    let mut builder = tower_okta::Verifier::builder()
        .issuer(&okta.issuer)
        .client_id(&okta.client_id);
    if !default_cache {
        builder = builder.without_token_cache();
    }
    if okta.audience != okta.client_id {
        builder = builder.audience(&okta.audience);
    }
    let verifier = builder.build()?;
    verifier.refresh_keys().await?;
    Ok(axum::Router::new()
        .route("/api/me", axum::routing::get(tower_okta_me))
        .route_layer(verifier.layer()))
}

async fn tower_okta_me(claims: tower_okta::Claims<AccessClaims>) -> axum::Json<Me> {
    axum::Json(Me {
        sub: claims.sub.clone(),
    })
}

// jsonwebtoken: what a user writes with it alone (as axum's JWT example does): the JWKS fetched
// once at startup into a map by `kid`, and an extractor that takes the bearer token, finds its
// key and calls `jsonwebtoken::decode` with an RS256 `Validation` naming the issuer and audience.

#[derive(Clone)]
struct JwtState {
    keys: Arc<HashMap<String, jsonwebtoken::DecodingKey>>,
    validation: Arc<jsonwebtoken::Validation>,
}

async fn jsonwebtoken_app(okta: &Okta) -> Result<axum::Router> {
    let body = reqwest::get(&okta.jwks_uri)
        .await?
        .error_for_status()?
        .bytes()
        .await?;
    let jwks: jsonwebtoken::jwk::JwkSet = serde_json::from_slice(&body)?;
    let mut keys = HashMap::new();
    for jwk in &jwks.keys {
        if let Some(kid) = &jwk.common.key_id {
            keys.insert(kid.clone(), jsonwebtoken::DecodingKey::from_jwk(jwk)?);
        }
    }
    let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::RS256);
    validation.set_issuer(&[&okta.issuer]);
    validation.set_audience(&[&okta.audience]);
    let state = JwtState {
        keys: Arc::new(keys),
        validation: Arc::new(validation),
    };
    Ok(axum::Router::new()
        .route("/api/me", axum::routing::get(jsonwebtoken_me))
        .with_state(state))
}

/// The verified claims.
struct JwtUser(AccessClaims);

impl axum::extract::FromRequestParts<JwtState> for JwtUser {
    type Rejection = axum::http::StatusCode;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        state: &JwtState,
    ) -> std::result::Result<Self, Self::Rejection> {
        let unauthorized = axum::http::StatusCode::UNAUTHORIZED;
        let token = parts
            .headers
            .get(axum::http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .ok_or(unauthorized)?;
        let header = jsonwebtoken::decode_header(token).map_err(|_| unauthorized)?;
        let key = header
            .kid
            .as_deref()
            .and_then(|kid| state.keys.get(kid))
            .ok_or(unauthorized)?;
        let data = jsonwebtoken::decode::<AccessClaims>(token, key, &state.validation)
            .map_err(|_| unauthorized)?;
        Ok(JwtUser(data.claims))
    }
}

async fn jsonwebtoken_me(JwtUser(claims): JwtUser) -> axum::Json<Me> {
    axum::Json(Me { sub: claims.sub })
}

// jwt-authorizer, as its README shows: an `Authorizer` from the JWKS URL with a `Validation`
// naming the issuer and audience, `into_layer()` on the router, `JwtClaims` in the handler.

async fn jwt_authorizer_app(okta: &Okta) -> Result<axum07::Router> {
    use jwt_authorizer::IntoLayer as _;
    let auth: jwt_authorizer::Authorizer<AccessClaims> =
        jwt_authorizer::JwtAuthorizer::from_jwks_url(&okta.jwks_uri)
            .validation(
                jwt_authorizer::Validation::new()
                    .iss(&[&okta.issuer])
                    .aud(&[&okta.audience]),
            )
            .build()
            .await?;
    Ok(axum07::Router::new()
        .route("/api/me", axum07::routing::get(jwt_authorizer_me))
        .layer(auth.into_layer()))
}

async fn jwt_authorizer_me(
    jwt_authorizer::JwtClaims(claims): jwt_authorizer::JwtClaims<AccessClaims>,
) -> axum07::Json<Me> {
    axum07::Json(Me { sub: claims.sub })
}

// axum-jwks, as its crate documentation shows: `Jwks` from the JWKS URL with the audience (it has
// no issuer check), in the app state through `FromRef`, and its `Claims` extractor over a claims
// type implementing `ParseTokenClaims` (a transparent wrapper: the trait and `AccessClaims` are
// both foreign here).

#[derive(Clone)]
struct JwksState {
    jwks: axum_jwks::Jwks,
}

impl axum::extract::FromRef<JwksState> for axum_jwks::Jwks {
    fn from_ref(state: &JwksState) -> Self {
        state.jwks.clone()
    }
}

#[derive(Deserialize)]
#[serde(transparent)]
struct OktaClaims(AccessClaims);

impl axum_jwks::ParseTokenClaims for OktaClaims {
    type Rejection = JwksRejection;
}

struct JwksRejection;

impl From<axum_jwks::TokenError> for JwksRejection {
    fn from(_: axum_jwks::TokenError) -> Self {
        JwksRejection
    }
}

impl axum::response::IntoResponse for JwksRejection {
    fn into_response(self) -> axum::response::Response {
        axum::http::StatusCode::UNAUTHORIZED.into_response()
    }
}

async fn axum_jwks_app(okta: &Okta) -> Result<axum::Router> {
    let jwks = axum_jwks::Jwks::from_jwks_url(&okta.jwks_uri, Some(&okta.audience), None).await?;
    Ok(axum::Router::new()
        .route("/api/me", axum::routing::get(axum_jwks_me))
        .with_state(JwksState { jwks }))
}

async fn axum_jwks_me(
    axum_jwks::Claims(OktaClaims(claims)): axum_jwks::Claims<OktaClaims>,
) -> axum::Json<Me> {
    axum::Json(Me { sub: claims.sub })
}
