//! The user the mock signs in.

use crate::util::random_id;

/// The user the mock signs in: `/v1/authorize` approves every sign-in for this user.
///
/// ```
/// use tower_okta_mock::MockUser;
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

/// What `/v1/authorize` answers to a valid request ([`MockOkta::set_authorize_outcome`]):
/// the sign-in auto-approved for the [`MockUser`] (the default), or a refusal sent back to the
/// redirect URI with the request's `state`, as Okta sends it.
///
/// [`MockOkta::set_authorize_outcome`]: crate::MockOkta::set_authorize_outcome
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum AuthorizeOutcome {
    /// Sign the user in and answer with a code (or tokens, implicit).
    #[default]
    Approve,
    /// `error=access_denied` with Okta's description "User is not assigned to the client
    /// application." (what Okta answers when the user is not assigned to the app, or a sign-on
    /// policy denies access).
    AccessDenied,
}
