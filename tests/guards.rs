//! Scope and group guards, optional authentication and in-handler checks.

mod common;

use axum::routing::get;
use axum::Router;
use common::{get_with_token, send_with, start};
use http::StatusCode;
use serde_json::json;
use tower_okta::{
    AccessClaims, AuthError, Claims, Grants, IdClaims, RequireGroupLayer, RequireScopeLayer,
};

#[tokio::test]
async fn scope_guards_answer_403_insufficient_scope() {
    let (okta, verifier) = start().await;
    let app = Router::new()
        .route("/any", get(|| async { "any" }))
        .route_layer(RequireScopeLayer::any(["orders:read", "orders:admin"]))
        .route_layer(verifier.layer())
        .merge(
            Router::new()
                .route("/all", get(|| async { "all" }))
                .route_layer(RequireScopeLayer::all(["orders:read", "orders:write"]))
                .route_layer(verifier.layer()),
        );
    let token = |scopes: &[&str]| {
        okta.access_token_builder()
            .claim("scp", json!(scopes))
            .build()
    };

    let reader = token(&["openid", "orders:read"]);
    assert_eq!(
        get_with_token(&app, "/any", &reader).await.status,
        StatusCode::OK
    );
    let denied = get_with_token(&app, "/all", &reader).await;
    assert_eq!(denied.status, StatusCode::FORBIDDEN);
    assert_eq!(
        denied.www_authenticate().unwrap(),
        "Bearer realm=\"api\", error=\"insufficient_scope\", error_description=\"the token does \
         not grant the scope this resource requires\", scope=\"orders:read orders:write\""
    );
    assert_eq!(denied.json()["error"], "insufficient_scope");

    let writer = token(&["orders:read", "orders:write"]);
    assert_eq!(
        get_with_token(&app, "/all", &writer).await.status,
        StatusCode::OK
    );
    let nobody = token(&["openid"]);
    let answer = get_with_token(&app, "/any", &nobody).await;
    assert_eq!(answer.status, StatusCode::FORBIDDEN);
    assert!(answer
        .www_authenticate()
        .unwrap()
        .ends_with("scope=\"orders:read orders:admin\""));
    // The auth layer still runs first: a bad token is a 401, not a 403.
    get_with_token(&app, "/any", "bad.token.here")
        .await
        .assert_invalid_token();
    let none = send_with(&app, |r| r.uri("/any")).await;
    assert_eq!(none.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn group_guards_read_a_configurable_claim() {
    let (okta, verifier) = start().await;
    let app = Router::new()
        .route("/admin", get(|| async { "admin" }))
        .route_layer(RequireGroupLayer::any(["Admins", "Owners"]))
        .route_layer(verifier.layer())
        .merge(
            Router::new()
                .route("/both", get(|| async { "both" }))
                .route_layer(RequireGroupLayer::all(["Admins", "Billing"]).claim("teams"))
                .route_layer(verifier.layer()),
        );
    let admin = okta
        .access_token_builder()
        .claim("groups", json!(["Everyone", "Admins"]))
        .build();
    assert_eq!(
        get_with_token(&app, "/admin", &admin).await.status,
        StatusCode::OK
    );
    let user = okta
        .access_token_builder()
        .claim("groups", json!(["Everyone"]))
        .build();
    let denied = get_with_token(&app, "/admin", &user).await;
    assert_eq!(denied.status, StatusCode::FORBIDDEN);
    let challenge = denied.www_authenticate().unwrap();
    assert!(
        challenge.contains("error=\"insufficient_scope\""),
        "{challenge}"
    );
    assert!(!challenge.contains("scope=\"\""), "{challenge}");
    let no_claim = okta.access_token();
    assert_eq!(
        get_with_token(&app, "/admin", &no_claim).await.status,
        StatusCode::FORBIDDEN
    );

    let both = okta
        .access_token_builder()
        .claim("teams", json!(["Billing", "Admins"]))
        .build();
    assert_eq!(
        get_with_token(&app, "/both", &both).await.status,
        StatusCode::OK
    );
    // The default claim is not consulted when another is configured.
    let wrong_claim = okta
        .access_token_builder()
        .claim("groups", json!(["Billing", "Admins"]))
        .build();
    assert_eq!(
        get_with_token(&app, "/both", &wrong_claim).await.status,
        StatusCode::FORBIDDEN
    );
}

#[tokio::test]
async fn optional_auth_lets_anonymous_requests_through_but_not_bad_tokens() {
    let (okta, verifier) = start().await;
    async fn hello(claims: Option<Claims<AccessClaims>>) -> String {
        match claims {
            Some(c) => format!("hello {}", c.sub),
            None => "hello stranger".to_owned(),
        }
    }
    let app = Router::new()
        .route("/hello", get(hello))
        .layer(verifier.layer().optional());
    let anonymous = send_with(&app, |r| r.uri("/hello")).await;
    assert_eq!(anonymous.status, StatusCode::OK);
    assert_eq!(anonymous.body, "hello stranger");
    let known = get_with_token(&app, "/hello", &okta.access_token()).await;
    assert_eq!(known.body, "hello jane.doe@example.com");
    get_with_token(&app, "/hello", "bad.token.here")
        .await
        .assert_invalid_token();
    let expired = okta.access_token_builder().claim("exp", 1_000_000).build();
    get_with_token(&app, "/hello", &expired)
        .await
        .assert_invalid_token();
    let malformed = send_with(&app, |r| {
        r.uri("/hello").header("authorization", "Bearer a b")
    })
    .await;
    assert_eq!(malformed.status, StatusCode::BAD_REQUEST);
    // A scope guard behind optional auth answers 401 to anonymous requests.
    let guarded = Router::new()
        .route("/x", get(|| async { "x" }))
        .route_layer(RequireScopeLayer::any(["openid"]))
        .route_layer(verifier.layer().optional());
    let answer = send_with(&guarded, |r| r.uri("/x")).await;
    assert_eq!(answer.status, StatusCode::UNAUTHORIZED);
    assert_eq!(answer.www_authenticate(), Some("Bearer realm=\"api\""));
}

#[tokio::test]
async fn handlers_can_check_scopes_with_question_mark() {
    let (okta, verifier) = start().await;
    async fn delete(claims: Claims<AccessClaims>) -> Result<&'static str, AuthError> {
        claims.require_all_scopes(["orders:delete"])?;
        Ok("deleted")
    }
    async fn admin(claims: Claims<AccessClaims>) -> Result<&'static str, AuthError> {
        claims.require_any_group("groups", ["Admins"])?;
        claims.require_any_scope(["openid", "other"])?;
        Ok("admin")
    }
    let app = Router::new()
        .route("/delete", get(delete))
        .route("/admin", get(admin))
        .layer(verifier.layer());
    let answer = get_with_token(&app, "/delete", &okta.access_token()).await;
    assert_eq!(answer.status, StatusCode::FORBIDDEN);
    assert!(answer
        .www_authenticate()
        .unwrap()
        .ends_with("scope=\"orders:delete\""));
    let allowed = okta
        .access_token_builder()
        .claim("scp", json!(["orders:delete"]))
        .build();
    assert_eq!(
        get_with_token(&app, "/delete", &allowed).await.body,
        "deleted"
    );
    let admin_token = okta
        .access_token_builder()
        .claim("groups", json!(["Admins"]))
        .build();
    assert_eq!(
        get_with_token(&app, "/admin", &admin_token).await.body,
        "admin"
    );
    assert_eq!(
        get_with_token(&app, "/admin", &okta.access_token())
            .await
            .status,
        StatusCode::FORBIDDEN
    );
}

#[tokio::test]
async fn a_guard_without_an_auth_layer_is_a_500_naming_the_layer() {
    let (okta, verifier) = start().await;
    // The guard is there, the auth layer was forgotten: a misconfiguration, not a 401.
    let app = Router::new()
        .route("/orders", get(|| async { "orders" }))
        .route_layer(RequireScopeLayer::any(["orders:read"]));
    for answer in [
        send_with(&app, |r| r.uri("/orders")).await,
        get_with_token(&app, "/orders", &okta.access_token()).await,
    ] {
        assert_eq!(answer.status, StatusCode::INTERNAL_SERVER_ERROR);
        assert!(answer.body.contains("OktaAuthLayer"), "{}", answer.body);
        assert!(answer.body.contains("AccessClaims"), "{}", answer.body);
        assert!(answer.www_authenticate().is_none());
        // The message names a type, never the request's token.
        assert!(!answer.body.contains("eyJ"), "{}", answer.body);
    }
    // A group guard for ID-token claims behind an access-token layer: the claims type differs,
    // so the guard finds none and says which type it looked for.
    let mismatched = Router::new()
        .route("/admin", get(|| async { "admin" }))
        .route_layer(RequireGroupLayer::any(["Admins"]).claims::<IdClaims>())
        .route_layer(verifier.layer());
    let answer = get_with_token(&mismatched, "/admin", &okta.access_token()).await;
    assert_eq!(answer.status, StatusCode::INTERNAL_SERVER_ERROR);
    assert!(answer.body.contains("IdClaims"), "{}", answer.body);
}

#[tokio::test]
async fn group_guards_work_with_id_token_claims() {
    let (okta, verifier) = start().await;
    let app = Router::new()
        .route("/admin", get(|| async { "admin" }))
        .route_layer(RequireGroupLayer::any(["Admins"]).claims::<IdClaims>())
        .route_layer(verifier.id_token_layer());
    let admin = okta
        .id_token_builder()
        .claim("groups", json!(["Everyone", "Admins"]))
        .build();
    assert_eq!(
        get_with_token(&app, "/admin", &admin).await.status,
        StatusCode::OK
    );
    let other = okta
        .id_token_builder()
        .claim("groups", json!(["Everyone"]))
        .build();
    let answer = get_with_token(&app, "/admin", &other).await;
    assert_eq!(answer.status, StatusCode::FORBIDDEN);
    assert_eq!(answer.json()["error"], "insufficient_scope");
    // A scope guard on ID-token claims: ID tokens grant no scopes.
    let scoped = Router::new()
        .route("/scoped", get(|| async { "scoped" }))
        .route_layer(RequireScopeLayer::any(["openid"]).claims::<IdClaims>())
        .route_layer(verifier.id_token_layer());
    let answer = get_with_token(&scoped, "/scoped", &admin).await;
    assert_eq!(answer.status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn guards_read_a_users_own_claims_type_through_grants() {
    #[derive(serde::Deserialize)]
    struct MyClaims {
        scp: Vec<String>,
        #[serde(default)]
        roles: Vec<String>,
    }
    impl Grants for MyClaims {
        fn has_scope(&self, scope: &str) -> bool {
            self.scp.iter().any(|s| s == scope)
        }
        fn in_group(&self, claim: &str, group: &str) -> bool {
            claim == "roles" && self.roles.iter().any(|r| r == group)
        }
    }
    let (okta, verifier) = start().await;
    let app = Router::new()
        .route("/read", get(|| async { "read" }))
        .route_layer(RequireScopeLayer::all(["orders:read"]).claims::<MyClaims>())
        .route_layer(verifier.layer().claims::<MyClaims>())
        .merge(
            Router::new()
                .route("/ops", get(|| async { "ops" }))
                .route_layer(
                    RequireGroupLayer::any(["ops"])
                        .claim("roles")
                        .claims::<MyClaims>(),
                )
                .route_layer(verifier.layer().claims::<MyClaims>()),
        );
    let token = okta
        .access_token_builder()
        .claim("scp", json!(["orders:read"]))
        .claim("roles", json!(["ops"]))
        .build();
    assert_eq!(
        get_with_token(&app, "/read", &token).await.status,
        StatusCode::OK
    );
    assert_eq!(
        get_with_token(&app, "/ops", &token).await.status,
        StatusCode::OK
    );
    let plain = okta
        .access_token_builder()
        .claim("scp", json!(["openid"]))
        .build();
    assert_eq!(
        get_with_token(&app, "/read", &plain).await.status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        get_with_token(&app, "/ops", &plain).await.status,
        StatusCode::FORBIDDEN
    );
}

#[tokio::test]
async fn a_token_with_a_hundred_long_group_names_verifies_and_the_guard_sees_every_group() {
    // Okta puts at most 100 groups in a token; 100 names of 60 characters make a token of
    // more than 8 KiB, under the 16 KiB default cap.
    let (okta, verifier) = start().await;
    let groups: Vec<String> = (0..100)
        .map(|i| format!("{i:03}-{}", "g".repeat(56)))
        .collect();
    assert!(groups.iter().all(|g| g.len() == 60));
    let token = okta
        .access_token_builder()
        .claim("groups", json!(groups))
        .build();
    assert!(
        token.len() > 8 * 1024 && token.len() < 16 * 1024,
        "{}",
        token.len()
    );
    let claims = verifier.verify_access_token(&token).await.unwrap();
    assert_eq!(claims.string_list("groups").count(), 100);
    for group in [&groups[0], &groups[57], &groups[99]] {
        let app = Router::new()
            .route("/g", get(|| async { "in" }))
            .route_layer(RequireGroupLayer::all([group.as_str()]))
            .route_layer(verifier.layer());
        assert_eq!(
            get_with_token(&app, "/g", &token).await.status,
            StatusCode::OK
        );
    }
    let all = Router::new()
        .route("/g", get(|| async { "in" }))
        .route_layer(RequireGroupLayer::all(groups.clone()))
        .route_layer(verifier.layer());
    assert_eq!(
        get_with_token(&all, "/g", &token).await.status,
        StatusCode::OK
    );
    let missing = Router::new()
        .route("/g", get(|| async { "in" }))
        .route_layer(RequireGroupLayer::any(["101-not-a-member"]))
        .route_layer(verifier.layer());
    assert_eq!(
        get_with_token(&missing, "/g", &token).await.status,
        StatusCode::FORBIDDEN
    );
}
