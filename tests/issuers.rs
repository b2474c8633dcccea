//! Several accepted issuers, and the diagnostics for a subtly wrong Okta setup.

mod common;
use common::MockExt;

use std::io::Write;
use std::sync::{Arc, Mutex};

use tower_okta::{AuthError, TokenError};
use tower_okta_mock::MockOkta;

#[tokio::test]
async fn additional_issuers_each_use_their_own_keys() {
    let okta_domain = MockOkta::start().await.unwrap();
    let custom_domain = MockOkta::start().await.unwrap();
    let verifier = okta_domain
        .verifier_builder()
        .additional_issuer(custom_domain.issuer())
        .build()
        .unwrap();
    assert_eq!(
        verifier.issuers(),
        [okta_domain.issuer(), custom_domain.issuer()]
    );
    assert!(verifier
        .verify_access_token(&okta_domain.access_token())
        .await
        .is_ok());
    assert!(verifier
        .verify_access_token(&custom_domain.access_token())
        .await
        .is_ok());
    assert_eq!(okta_domain.key_fetch_count(), 1);
    assert_eq!(custom_domain.key_fetch_count(), 1);
    assert_eq!(
        verifier
            .jwks_stats_for(custom_domain.issuer())
            .unwrap()
            .fetches,
        1
    );

    // A token naming one issuer but signed with the other's key is refused.
    let crossed = okta_domain
        .access_token_builder()
        .signed_with(&custom_domain.signing_key())
        .build();
    assert!(verifier.verify_access_token(&crossed).await.is_err());

    // A token naming an unlisted issuer never causes a fetch.
    let stranger = MockOkta::start().await.unwrap();
    let foreign = stranger
        .access_token_builder()
        .claim("aud", okta_domain.client_id())
        .build();
    assert_eq!(
        verifier.verify_access_token(&foreign).await.unwrap_err(),
        AuthError::InvalidToken(TokenError::WrongIssuer)
    );
    assert_eq!(stranger.key_fetch_count(), 0);
    assert_eq!(stranger.discovery_fetch_count(), 0);
}

#[test]
fn additional_issuers_are_validated() {
    let base = || {
        tower_okta::Verifier::builder()
            .issuer("https://dev-1.okta.com/oauth2/default")
            .client_id("0oa1")
    };
    assert!(matches!(
        base().additional_issuer("https://dev-1.okta.com").build(),
        Err(tower_okta::ConfigError::OrgAuthorizationServer(_))
    ));
    assert!(matches!(
        base()
            .additional_issuer("http://login.example.com/oauth2/default")
            .build(),
        Err(tower_okta::ConfigError::InsecureIssuer(_))
    ));
    assert!(base()
        .additional_issuer("https://login.example.com/oauth2/default")
        .build()
        .is_ok());
}

/// Collects what tracing writes.
#[derive(Clone, Default)]
struct Logs(Arc<Mutex<Vec<u8>>>);

impl Write for Logs {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Logs {
    fn text(&self) -> String {
        String::from_utf8(self.0.lock().unwrap().clone()).unwrap()
    }

    fn subscriber(&self, level: tracing::Level) -> impl tracing::Subscriber {
        let logs = self.clone();
        tracing_subscriber::fmt()
            .with_max_level(level)
            .with_ansi(false)
            .with_writer(move || logs.clone())
            .finish()
    }
}

#[tokio::test]
async fn wrong_setup_is_explained_once_in_the_logs() {
    let okta = MockOkta::start().await.unwrap();
    let verifier = okta.verifier_builder().build().unwrap();
    let logs = Logs::default();
    let _guard = tracing::subscriber::set_default(logs.subscriber(tracing::Level::WARN));

    // Dynamic issuer: same authorization server path, another host.
    let other_host = okta.issuer().replace("127.0.0.1", "localhost");
    let dynamic = okta
        .access_token_builder()
        .claim("iss", other_host.as_str())
        .build();
    for _ in 0..3 {
        let answer = verifier.verify_access_token(&dynamic).await.unwrap_err();
        assert_eq!(answer, AuthError::InvalidToken(TokenError::WrongIssuer));
    }
    // Trailing slash.
    let slash = okta
        .access_token_builder()
        .claim("iss", format!("{}/", okta.issuer()))
        .build();
    assert!(verifier.verify_access_token(&slash).await.is_err());
    // Org authorization server.
    let org = okta.issuer().trim_end_matches("/oauth2/default").to_owned();
    let org_token = okta
        .access_token_builder()
        .claim("iss", org.as_str())
        .build();
    assert!(verifier.verify_access_token(&org_token).await.is_err());
    // Okta's default audience.
    let default_aud = okta
        .access_token_builder()
        .claim("aud", "api://default")
        .build();
    assert!(verifier.verify_access_token(&default_aud).await.is_err());

    let text = logs.text();
    assert_eq!(text.matches("'Dynamic'").count(), 1, "once: {text}");
    assert!(text.contains("trailing slash"), "{text}");
    assert!(text.contains("org authorization server"), "{text}");
    assert!(text.contains("Okta's default Audience"), "{text}");
    // Never the token.
    for token in [&dynamic, &slash, &org_token, &default_aud] {
        let signature = token.rsplit('.').next().unwrap();
        assert!(!text.contains(signature));
        let payload = token.split('.').nth(1).unwrap();
        assert!(!text.contains(payload));
    }
}

#[tokio::test]
async fn the_verification_span_records_identity_only_when_asked() {
    use axum::routing::get;
    use axum::Router;
    for (opt_in, expect_sub) in [(false, false), (true, true)] {
        let okta = MockOkta::start().await.unwrap();
        let verifier = okta
            .verifier_builder()
            .trace_identity(opt_in)
            .build()
            .unwrap();
        let app = Router::new()
            .route(
                "/x",
                get(|| async {
                    tracing::info!("inside handler");
                    "x"
                }),
            )
            .layer(verifier.layer());
        let logs = Logs::default();
        let _guard = tracing::subscriber::set_default(logs.subscriber(tracing::Level::DEBUG));
        let token = okta.access_token();
        // Warm the key cache so the fast path (inside the span) is taken.
        verifier.refresh_keys().await.unwrap();
        let answer = common::get_with_token(&app, "/x", &token).await;
        assert_eq!(answer.status, http::StatusCode::OK);
        let text = logs.text();
        assert!(text.contains("tower_okta.verify"), "{text}");
        assert_eq!(text.contains("jane.doe@example.com"), expect_sub, "{text}");
        assert_eq!(text.contains(okta.client_id()), expect_sub, "{text}");
        assert!(
            !text.contains(token.split('.').nth(2).unwrap()),
            "never the token"
        );
    }
}

#[tokio::test]
async fn near_miss_tokens_get_a_one_time_hint_and_the_fixed_answer() {
    // Okta's shipped `default` server: access tokens say `aud: api://default`.
    let okta = MockOkta::builder()
        .default_audience()
        .start()
        .await
        .unwrap();
    let verifier = tower_okta::Verifier::builder()
        .issuer(okta.issuer())
        .client_id(okta.client_id())
        .build()
        .unwrap();
    let logs = Logs::default();
    let _guard = tracing::subscriber::set_default(logs.subscriber(tracing::Level::WARN));
    let token = okta.access_token();
    for _ in 0..3 {
        assert_eq!(
            verifier.verify_access_token(&token).await.unwrap_err(),
            AuthError::InvalidToken(TokenError::WrongAudience)
        );
    }
    // An RFC 9068-shaped token (client_id and scope, no cid/scp): not an Okta custom server's.
    let rfc9068 = okta
        .access_token_builder()
        .claim("aud", okta.client_id())
        .without_claim("cid")
        .without_claim("scp")
        .claim("client_id", okta.client_id())
        .claim("scope", "openid profile")
        .build();
    for _ in 0..3 {
        assert_eq!(
            verifier.verify_access_token(&rfc9068).await.unwrap_err(),
            AuthError::InvalidToken(TokenError::NotAnAccessToken)
        );
    }
    let text = logs.text();
    assert_eq!(
        text.matches("Okta's default Audience").count(),
        1,
        "once: {text}"
    );
    assert!(text.contains("OKTA_AUDIENCE"), "{text}");
    assert_eq!(text.matches("RFC 9068").count(), 1, "once: {text}");
    assert!(text.contains("`cid` and `scp`"), "{text}");
    for t in [&token, &rfc9068] {
        assert!(!text.contains(t.rsplit('.').next().unwrap()));
    }
    // The fix the hint names: accept the server's audience (OKTA_AUDIENCE does the same).
    let fixed = tower_okta::Verifier::builder()
        .issuer(okta.issuer())
        .client_id(okta.client_id())
        .audience("api://default")
        .build()
        .unwrap();
    assert!(fixed.verify_access_token(&token).await.is_ok());
    // ID tokens keep the client ID as their audience.
    assert!(fixed
        .verify_id_token(&okta.id_token(None), None)
        .await
        .is_ok());
}
