//! What the examples share: a verifier from the environment, or the embedded mock Okta when
//! `OKTA_ISSUER` is not set. This fallback belongs to the examples only: the library never falls
//! back to anything, and a production binary builds its verifier with `Verifier::from_env()` or
//! the builder, so that a missing `OKTA_ISSUER` is an error, not a local server that approves
//! every sign-in.
#![allow(dead_code, unreachable_pub)]

use tower_okta::{Verifier, VerifierBuilder};
use tower_okta_mock::MockOkta;

/// Said on stderr when the examples run against the mock.
pub const MOCK_BANNER: &str =
    "OKTA_ISSUER is not set: using the embedded mock Okta (tests and local development only)";

/// A verifier builder preset with a mock's issuer, client ID and audience.
pub trait MockExt {
    /// The builder for this mock.
    fn verifier_builder(&self) -> VerifierBuilder;
}

impl MockExt for MockOkta {
    fn verifier_builder(&self) -> VerifierBuilder {
        let builder = Verifier::builder()
            .issuer(self.issuer())
            .client_id(self.client_id());
        if self.audience() == self.client_id() {
            builder
        } else {
            builder.audience(self.audience())
        }
    }
}

/// With `OKTA_ISSUER` set: the verifier from the environment (`OKTA_ISSUER`, `OKTA_CLIENT_ID`,
/// optional `OKTA_AUDIENCE`) and no mock. Without it: a started mock Okta (keep it alive as long
/// as the verifier is used) and a verifier for it, after printing [`MOCK_BANNER`] on stderr.
///
/// # Errors
/// The environment's configuration error, or why the mock could not start.
pub async fn verifier_from_env_or_mock(
) -> Result<(Verifier, Option<MockOkta>), Box<dyn std::error::Error>> {
    let issuer_set = std::env::var("OKTA_ISSUER").is_ok_and(|v| !v.trim().is_empty());
    if issuer_set {
        return Ok((Verifier::from_env()?, None));
    }
    eprintln!("{MOCK_BANNER}");
    let okta = MockOkta::start().await?;
    let verifier = okta.verifier_builder().build()?;
    Ok((verifier, Some(okta)))
}
