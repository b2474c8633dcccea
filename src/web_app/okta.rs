//! The Web Application's calls to Okta: the authorize URL, the token endpoint (code exchange,
//! refresh) and revocation, each with the app's client authentication.

use base64::Engine;
use serde::Deserialize;
use url::Url;

use super::{ClientAuth, Inner, OktaErrorCode, WebAppError};
use crate::net::{read_capped, with_form};

/// The largest token response read.
const MAX_TOKEN_RESPONSE: usize = 64 * 1024;

/// Okta's endpoints of a custom authorization server.
#[derive(Debug, Clone)]
pub(crate) struct Endpoints {
    pub(crate) authorize: Url,
    pub(crate) token: Url,
    pub(crate) revoke: Url,
    pub(crate) logout: Url,
}

impl Endpoints {
    /// `{issuer}/v1/...`.
    pub(crate) fn of(issuer: &str) -> Option<Endpoints> {
        let at =
            |path: &str| Url::parse(&format!("{}/v1/{path}", issuer.trim_end_matches('/'))).ok();
        Some(Endpoints {
            authorize: at("authorize")?,
            token: at("token")?,
            revoke: at("revoke")?,
            logout: at("logout")?,
        })
    }
}

/// A token response (RFC 6749 section 5.1).
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct TokenResponse {
    pub(crate) access_token: String,
    #[serde(default)]
    pub(crate) id_token: Option<String>,
    #[serde(default)]
    pub(crate) refresh_token: Option<String>,
    #[serde(default)]
    pub(crate) expires_in: Option<i64>,
}

#[derive(Deserialize)]
struct ErrorResponse {
    error: Option<String>,
}

impl Inner {
    /// POSTs `form` with the client's authentication to `url`.
    async fn post(
        &self,
        url: &Url,
        form: &[(&str, &str)],
    ) -> Result<reqwest::Response, WebAppError> {
        let client_id = self.verifier.client_id();
        let mut pairs: Vec<(&str, String)> =
            form.iter().map(|(k, v)| (*k, (*v).to_owned())).collect();
        let mut request = self.http.post(url.clone());
        match &self.auth {
            ClientAuth::ClientSecretBasic(secret) => {
                // RFC 6749 section 2.3.1: both form-urlencoded before Basic.
                let encode = |s: &str| {
                    url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>()
                };
                let credentials = format!("{}:{}", encode(client_id), encode(secret));
                let basic = base64::engine::general_purpose::STANDARD.encode(credentials);
                request = request.header(http::header::AUTHORIZATION, format!("Basic {basic}"));
            }
            ClientAuth::ClientSecretPost(secret) => {
                pairs.push(("client_id", client_id.to_owned()));
                pairs.push(("client_secret", secret.clone()));
            }
            ClientAuth::PrivateKeyJwt(key) => {
                let now = self.clock.now_millis().div_euclid(1000);
                let assertion = key
                    .client_assertion(client_id, url.as_str(), now)
                    .map_err(|_| WebAppError::Unavailable)?;
                pairs.push(("client_id", client_id.to_owned()));
                pairs.push((
                    "client_assertion_type",
                    "urn:ietf:params:oauth:client-assertion-type:jwt-bearer".to_owned(),
                ));
                pairs.push(("client_assertion", assertion));
            }
        }
        let pairs: Vec<(&str, &str)> = pairs.iter().map(|(k, v)| (*k, v.as_str())).collect();
        with_form(request, &pairs)
            .send()
            .await
            .map_err(|_| WebAppError::Unavailable)
    }

    /// A grant at the token endpoint: the tokens, or why not.
    async fn grant(&self, form: &[(&str, &str)]) -> Result<TokenResponse, WebAppError> {
        let response = self.post(&self.endpoints.token, form).await?;
        let status = response.status();
        let body = read_capped(response, MAX_TOKEN_RESPONSE)
            .await
            .map_err(|_| WebAppError::BadTokenResponse)?;
        if status.is_server_error() || status == http::StatusCode::TOO_MANY_REQUESTS {
            return Err(WebAppError::Unavailable);
        }
        if !status.is_success() {
            let error = serde_json::from_slice::<ErrorResponse>(&body)
                .ok()
                .and_then(|e| e.error);
            return Err(WebAppError::TokenRefused(OktaErrorCode::of(
                error.as_deref(),
            )));
        }
        serde_json::from_slice(&body).map_err(|_| WebAppError::BadTokenResponse)
    }

    /// Exchanges an authorization code (with its PKCE verifier).
    pub(crate) async fn exchange_code(
        &self,
        code: &str,
        code_verifier: &str,
    ) -> Result<TokenResponse, WebAppError> {
        self.grant(&[
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", self.redirect_uri.as_str()),
            ("code_verifier", code_verifier),
        ])
        .await
    }

    /// Spends a refresh token for new tokens (Okta may rotate the refresh token).
    pub(crate) async fn refresh(&self, refresh_token: &str) -> Result<TokenResponse, WebAppError> {
        self.grant(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh_token),
            ("scope", &self.scopes),
        ])
        .await
    }

    /// Revokes a refresh token (best effort: the session ends whatever Okta answers).
    pub(crate) async fn revoke_refresh_token(&self, refresh_token: &str) -> bool {
        let revoked = self
            .post(
                &self.endpoints.revoke,
                &[
                    ("token", refresh_token),
                    ("token_type_hint", "refresh_token"),
                ],
            )
            .await;
        matches!(revoked, Ok(r) if r.status().is_success())
    }

    /// The authorize URL of a sign-in.
    pub(crate) fn authorize_url(&self, state: &str, nonce: &str, challenge: &str) -> Url {
        let mut url = self.endpoints.authorize.clone();
        url.query_pairs_mut()
            .append_pair("client_id", self.verifier.client_id())
            .append_pair("response_type", "code")
            .append_pair("scope", &self.scopes)
            .append_pair("redirect_uri", self.redirect_uri.as_str())
            .append_pair("state", state)
            .append_pair("nonce", nonce)
            .append_pair("code_challenge", challenge)
            .append_pair("code_challenge_method", "S256");
        url
    }

    /// Okta's logout URL ending the Okta session, back to the post-logout redirect URI.
    pub(crate) fn logout_url(&self, id_token: &str, back: &Url) -> Url {
        let mut url = self.endpoints.logout.clone();
        url.query_pairs_mut()
            .append_pair("id_token_hint", id_token)
            .append_pair("post_logout_redirect_uri", back.as_str());
        url
    }

    /// Seconds since the epoch, on the app's clock.
    pub(crate) fn now(&self) -> i64 {
        self.clock.now_millis().div_euclid(1000)
    }

    /// When tokens issued now with `expires_in` end (one hour if Okta did not say).
    pub(crate) fn expires_at(&self, expires_in: Option<i64>) -> i64 {
        let lifetime = expires_in.unwrap_or(3600).clamp(1, 86_400);
        self.now() + lifetime
    }
}
