//! Revocation before `exp` with opt-in token introspection.
//!
//! Local verification (signature, claims) cannot see that a token was revoked; with
//! `VerifierBuilder::introspection` the verifier also asks Okta's `/v1/introspect` whether each
//! token is still active, caching the answer for a short TTL. This example runs against the
//! embedded mock Okta and shows the timeline: a token is accepted, revoked, still accepted while
//! the cached answer lasts (2 s here), then refused with 401 `invalid_token`, while a verifier
//! without introspection keeps accepting it until it expires.
//!
//! ```sh
//! cargo run --example introspection
//! ```
//!
//! Against your org, give the verifier `Introspection::public_client(OKTA_CLIENT_ID)` (the SPA's
//! client ID, no secret) or `Introspection::private_key_jwt(...)` for a confidential client; Okta
//! rate-limits `/v1/introspect`, so keep the TTL of a few seconds to a minute.

mod common;
use common::MockExt;

use std::time::Duration;

use tower_okta::Introspection;
use tower_okta_mock::MockOkta;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let okta = MockOkta::start().await?;
    let introspecting = okta
        .verifier_builder()
        .introspection(
            Introspection::public_client(okta.client_id()).cache_ttl(Duration::from_secs(2)),
        )
        .build()?;
    let local_only = okta.verifier_builder().build()?;

    let token = okta.access_token();
    let show =
        |label: &str, result: Result<tower_okta::AccessClaims, tower_okta::AuthError>| match result
        {
            Ok(claims) => println!("{label:<48} accepted ({})", claims.sub),
            Err(error) => println!("{label:<48} refused: {error}"),
        };
    show(
        "before revocation",
        introspecting.verify_access_token(&token).await,
    );
    okta.revoke(&token);
    println!("-- token revoked at Okta");
    show(
        "right after (cached answer)",
        introspecting.verify_access_token(&token).await,
    );
    tokio::time::sleep(Duration::from_millis(2100)).await;
    show(
        "after the 2 s cache TTL",
        introspecting.verify_access_token(&token).await,
    );
    show(
        "local verification only",
        local_only.verify_access_token(&token).await,
    );
    println!(
        "introspection requests made: {}",
        okta.introspection_count()
    );
    Ok(())
}
