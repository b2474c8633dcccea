//! The mock's server side without any OAuth flow: discovery, the JWKS, minted tokens checked
//! with jsonwebtoken, raw signing, rotation, faults, routing errors, shutdown.

use std::time::{Duration, Instant};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use jsonwebtoken::{decode, decode_header, Algorithm, DecodingKey, Validation};
use reqwest::{header, Client, StatusCode};
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tower_okta_mock::{
    KeysFault, MockError, MockKey, MockOkta, DEFAULT_CLIENT_ID, OKTA_KEYS_CACHE_CONTROL,
};

fn client() -> Client {
    Client::builder().no_proxy().build().unwrap()
}

async fn get_json(url: &str) -> (StatusCode, header::HeaderMap, Value) {
    let response = client().get(url).send().await.unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    let text = response.text().await.unwrap();
    (
        status,
        headers,
        serde_json::from_str(&text).unwrap_or(Value::Null),
    )
}

/// Verifies `token` with jsonwebtoken against the JWKS the mock serves.
async fn verify(okta: &MockOkta, token: &str) -> jsonwebtoken::errors::Result<Value> {
    let (_, _, jwks) = get_json(&okta.jwks_uri()).await;
    let kid = decode_header(token)?.kid.expect("a kid");
    let jwk = jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["kid"] == kid.as_str())
        .expect("the kid is published");
    let key =
        DecodingKey::from_rsa_components(jwk["n"].as_str().unwrap(), jwk["e"].as_str().unwrap())?;
    let mut validation = Validation::new(Algorithm::RS256);
    validation.set_issuer(&[okta.issuer()]);
    validation.set_audience(&[okta.audience(), okta.client_id()]);
    decode::<Value>(token, &key, &validation).map(|data| data.claims)
}

#[tokio::test]
async fn discovery_names_the_endpoints() {
    let okta = MockOkta::start().await.unwrap();
    assert_eq!(okta.client_id(), DEFAULT_CLIENT_ID);
    assert_eq!(okta.audience(), DEFAULT_CLIENT_ID);
    assert_eq!(
        okta.issuer(),
        format!("http://{}/oauth2/default", okta.addr())
    );
    let url = format!("{}/.well-known/openid-configuration", okta.issuer());
    let (status, _, doc) = get_json(&url).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(doc["issuer"], okta.issuer());
    assert_eq!(doc["jwks_uri"], okta.jwks_uri());
    assert_eq!(doc["token_endpoint"], okta.token_endpoint());
    assert_eq!(doc["authorization_endpoint"], okta.authorize_endpoint());
    assert_eq!(doc["introspection_endpoint"], okta.introspection_endpoint());
    assert_eq!(doc["code_challenge_methods_supported"], json!(["S256"]));
    assert_eq!(
        doc["id_token_signing_alg_values_supported"],
        json!(["RS256"])
    );
    let oauth = format!("{}/.well-known/oauth-authorization-server", okta.issuer());
    assert_eq!(get_json(&oauth).await.2, doc);
    assert_eq!(okta.discovery_fetch_count(), 2);

    let custom = MockOkta::builder()
        .auth_server_id("aus1orders")
        .audience("api://orders")
        .custom_scopes(["orders:read"])
        .start()
        .await
        .unwrap();
    assert!(custom.issuer().ends_with("/oauth2/aus1orders"));
    assert_eq!(custom.audience(), "api://orders");
    let url = format!("{}/.well-known/openid-configuration", custom.issuer());
    let scopes = get_json(&url).await.2["scopes_supported"].clone();
    assert!(scopes.as_array().unwrap().contains(&json!("orders:read")));
}

#[tokio::test]
async fn jwks_has_okta_shape_and_cache_control() {
    let okta = MockOkta::start().await.unwrap();
    let (status, headers, jwks) = get_json(&okta.jwks_uri()).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers[header::CACHE_CONTROL], OKTA_KEYS_CACHE_CONTROL);
    assert_eq!(headers[header::CONTENT_TYPE], "application/json");
    // Two keys, as Okta publishes them: the signing key, then the next one.
    let keys = jwks["keys"].as_array().unwrap();
    assert_eq!(keys.len(), 2);
    let key = okta.signing_key();
    assert_eq!(keys[0], key.jwk());
    assert_eq!(keys[1], okta.next_key().unwrap().jwk());
    assert_eq!(keys[0]["kty"], "RSA");
    assert_eq!(keys[0]["alg"], "RS256");
    assert_eq!(keys[0]["use"], "sig");
    assert_eq!(keys[0]["e"], "AQAB");
    let n = URL_SAFE_NO_PAD
        .decode(keys[0]["n"].as_str().unwrap())
        .unwrap();
    assert_eq!(n.len(), 256);
    assert_eq!(n, key.modulus());
    assert_eq!(jwks, okta.jwks());
    assert_eq!(okta.key_fetch_count(), 1);

    okta.set_keys_cache_control("no-cache");
    okta.set_extra_jwks(vec![json!({ "kty": "oct", "kid": "odd" })]);
    let (_, headers, jwks) = get_json(&okta.jwks_uri()).await;
    assert_eq!(headers[header::CACHE_CONTROL], "no-cache");
    assert_eq!(jwks["keys"][2]["kid"], "odd");
}

#[tokio::test]
async fn minted_tokens_verify_against_the_served_jwks() {
    let okta = MockOkta::start().await.unwrap();
    let access = verify(&okta, &okta.access_token()).await.unwrap();
    assert_eq!(access["sub"], "jane.doe@example.com");
    assert_eq!(access["uid"], okta.user().id.as_str());
    assert_eq!(access["cid"], okta.client_id());
    assert_eq!(access["scp"], json!(["openid", "profile", "email"]));
    assert_eq!(
        access["exp"].as_i64().unwrap() - access["iat"].as_i64().unwrap(),
        3600
    );
    let header = decode_header(okta.access_token()).unwrap();
    assert_eq!(header.typ, None);
    assert_eq!(header.kid.as_deref(), Some(okta.signing_key().kid()));

    let id = verify(&okta, &okta.id_token(Some("n0nce"))).await.unwrap();
    assert_eq!(id["sub"], okta.user().id.as_str());
    assert_eq!(id["aud"], okta.client_id());
    assert_eq!(id["nonce"], "n0nce");
    assert!(id["idp"].as_str().unwrap().starts_with("00o"));

    // Builders change claims and headers.
    let custom = okta
        .access_token_builder()
        .claim("scp", ["orders:read"])
        .without_claim("uid")
        .build();
    let claims = verify(&okta, &custom).await.unwrap();
    assert_eq!(claims["scp"], json!(["orders:read"]));
    assert!(claims.get("uid").is_none());
    let typed = okta.access_token_builder().header("typ", "at+jwt").build();
    assert_eq!(
        decode_header(&typed).unwrap().typ.as_deref(),
        Some("at+jwt")
    );
    assert!(verify(&okta, &typed).await.is_ok());
    let expired = okta
        .access_token_builder()
        .claim("exp", 1_000_000_000)
        .build();
    assert!(verify(&okta, &expired).await.is_err());
}

#[tokio::test]
async fn sign_raw_signs_the_exact_text() {
    let okta = MockOkta::start().await.unwrap();
    let header = format!(
        r#"{{"alg":"RS256", "kid":"{}","kid":"{}"}}"#,
        "x",
        okta.signing_key().kid()
    );
    let claims = r#"{"sub":"a","sub":"b" , "n":1.0}"#;
    let token = okta.sign_raw(&header, claims);
    let parts: Vec<&str> = token.split('.').collect();
    assert_eq!(parts.len(), 3);
    assert_eq!(URL_SAFE_NO_PAD.decode(parts[0]).unwrap(), header.as_bytes());
    assert_eq!(URL_SAFE_NO_PAD.decode(parts[1]).unwrap(), claims.as_bytes());
    let signature = URL_SAFE_NO_PAD.decode(parts[2]).unwrap();
    let input = format!("{}.{}", parts[0], parts[1]);
    assert_eq!(signature, okta.signing_key().sign(input.as_bytes()));
    let key = okta.signing_key();
    let public = aws_lc_rs::signature::UnparsedPublicKey::new(
        &aws_lc_rs::signature::RSA_PKCS1_2048_8192_SHA256,
        key.public_key_der(),
    );
    public.verify(input.as_bytes(), &signature).unwrap();
}

#[tokio::test]
async fn rotation_publishes_the_new_key_and_signs_with_it() {
    let okta = MockOkta::start().await.unwrap();
    let old = okta.signing_key();
    let old_token = okta.access_token();
    let announced = okta.next_key().unwrap();
    let new = okta.rotate_key().unwrap();
    assert_ne!(new.kid(), old.kid());
    assert_eq!(new.kid(), announced.kid(), "the next key signs now");
    assert_eq!(okta.signing_key().kid(), new.kid());
    let next = okta.next_key().unwrap();
    let (_, _, jwks) = get_json(&okta.jwks_uri()).await;
    let kids: Vec<&str> = jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["kid"].as_str().unwrap())
        .collect();
    assert_eq!(kids, [old.kid(), new.kid(), next.kid()]);
    let new_token = okta.access_token();
    assert_eq!(
        decode_header(&new_token).unwrap().kid.as_deref(),
        Some(new.kid())
    );
    assert!(verify(&okta, &new_token).await.is_ok());
    assert!(verify(&okta, &old_token).await.is_ok());

    okta.unpublish_key(old.kid());
    assert_eq!(okta.jwks()["keys"].as_array().unwrap().len(), 2);
    let spare = MockKey::generate().unwrap().with_kid("spare");
    okta.publish_key(spare.clone());
    okta.set_signing_key(spare.clone());
    let token = okta.access_token();
    assert_eq!(decode_header(&token).unwrap().kid.as_deref(), Some("spare"));
    assert!(verify(&okta, &token).await.is_ok());
    let other = okta.access_token_builder().signed_with(&new).build();
    assert_eq!(
        decode_header(&other).unwrap().kid.as_deref(),
        Some(new.kid())
    );
}

#[tokio::test]
async fn keys_faults() {
    let okta = MockOkta::start().await.unwrap();
    okta.set_keys_fault(KeysFault::Status(503));
    let (status, _, body) = get_json(&okta.jwks_uri()).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(body["errorCode"], "E0000009");
    okta.set_keys_fault(KeysFault::Status(429));
    let (status, _, body) = get_json(&okta.jwks_uri()).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(body["errorCode"], "E0000047");
    okta.set_keys_fault(KeysFault::Body("<html>oops</html>".into()));
    let response = client().get(okta.jwks_uri()).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.text().await.unwrap(), "<html>oops</html>");
    okta.set_keys_fault(KeysFault::Delay(Duration::from_millis(300)));
    let started = Instant::now();
    assert_eq!(get_json(&okta.jwks_uri()).await.0, StatusCode::OK);
    assert!(started.elapsed() >= Duration::from_millis(300));
    okta.set_keys_fault(KeysFault::CloseConnection);
    assert!(client().get(okta.jwks_uri()).send().await.is_err());
    okta.set_keys_fault(KeysFault::None);
    assert_eq!(get_json(&okta.jwks_uri()).await.0, StatusCode::OK);
    assert_eq!(okta.key_fetch_count(), 6);
}

#[tokio::test]
async fn a_closed_connection_sends_no_bytes() {
    let okta = MockOkta::start().await.unwrap();
    okta.set_keys_fault(KeysFault::CloseConnection);
    let mut stream = tokio::net::TcpStream::connect(okta.addr()).await.unwrap();
    let request = format!(
        "GET /oauth2/default/v1/keys HTTP/1.1\r\nHost: {}\r\n\r\n",
        okta.addr()
    );
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut received = Vec::new();
    let _ = stream.read_to_end(&mut received).await;
    assert!(
        received.is_empty(),
        "{}",
        String::from_utf8_lossy(&received)
    );
}

#[tokio::test]
async fn unknown_paths_and_methods_get_okta_errors() {
    let okta = MockOkta::start().await.unwrap();
    for url in [
        format!("http://{}/oauth2/other/v1/keys", okta.addr()),
        format!("{}/v1/nothing", okta.issuer()),
        format!("http://{}/", okta.addr()),
    ] {
        let (status, _, body) = get_json(&url).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{url}");
        assert_eq!(body["errorCode"], "E0000022", "{url}");
    }
    let response = client().post(okta.jwks_uri()).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::METHOD_NOT_ALLOWED);
    let body: Value = serde_json::from_str(&response.text().await.unwrap()).unwrap();
    assert_eq!(body["errorCode"], "E0000022");
    assert_eq!(
        client()
            .get(okta.token_endpoint())
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::METHOD_NOT_ALLOWED
    );
    assert_eq!(okta.key_fetch_count(), 0);
    // An oversized form is refused before it is parsed.
    let response = client()
        .post(okta.token_endpoint())
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body("a=".to_owned() + &"b".repeat(100 * 1024))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
}

#[tokio::test]
async fn start_errors_are_typed() {
    let okta = MockOkta::start().await.unwrap();
    let taken = MockOkta::builder()
        .bind(okta.addr())
        .start()
        .await
        .unwrap_err();
    assert!(
        matches!(taken, MockError::Bind { addr, .. } if addr == okta.addr()),
        "{taken}"
    );
    let bad = MockOkta::builder()
        .auth_server_id("a/b")
        .start()
        .await
        .unwrap_err();
    assert!(matches!(bad, MockError::InvalidAuthServerId(_)), "{bad}");
    let jwk = json!({ "kty": "EC", "kid": "k" });
    assert!(matches!(
        okta.register_service_app("0oa", &jwk, &[]),
        Err(MockError::JwkNotRsa)
    ));
    let mut jwk = MockKey::generate().unwrap().jwk();
    jwk.as_object_mut().unwrap().remove("kid");
    assert!(matches!(
        okta.register_service_app("0oa", &jwk, &[]),
        Err(MockError::JwkWithoutKid)
    ));
    jwk["kid"] = json!("k");
    jwk["n"] = json!("not base64!");
    assert!(matches!(
        okta.register_service_app("0oa", &jwk, &[]),
        Err(MockError::JwkComponents)
    ));
}

#[tokio::test]
async fn dropping_the_handle_stops_the_server() {
    let okta = MockOkta::start().await.unwrap();
    let url = okta.jwks_uri();
    let client = client();
    assert!(client.get(&url).send().await.is_ok());
    drop(okta);
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(client.get(&url).send().await.is_err());
}
