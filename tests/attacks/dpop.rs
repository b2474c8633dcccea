//! The DPoP rows of the attack corpus (RFC 9449 section 4.3 and 7.1): proofs made by the mock's
//! `DpopKey` (or by hand, for what no honest client sends), tokens bound by the mock Okta. Every
//! request is `GET` with `Host: api.test`, so a proof for it names `http://api.test{path}`.
//!
//! Rows run in order: the replay row sends the proof of the control row before it again.

use super::*;

/// Every reason a proof can be refused for: the corpus has a row for each.
pub(super) const EVERY_PROOF_ERROR: [DpopError; 16] = [
    DpopError::TooLarge,
    DpopError::Malformed,
    DpopError::DuplicateKey,
    DpopError::WrongType,
    DpopError::UnsupportedAlgorithm,
    DpopError::CriticalHeader,
    DpopError::InvalidKey,
    DpopError::PrivateKey,
    DpopError::BadSignature,
    DpopError::MissingClaim,
    DpopError::MethodMismatch,
    DpopError::UrlMismatch,
    DpopError::TooOld,
    DpopError::IssuedInFuture,
    DpopError::Replayed,
    DpopError::AccessTokenHashMismatch,
];

const URL: &str = "http://api.test/api/me";

pub(super) fn rows(lab: &Lab, c: &mut Corpus) {
    use DpopError as D;
    use Target::{Access, DpopDisabled, DpopNonce, DpopRequired};
    let okta = &lab.okta;
    let key = &lab.dpop_key;
    let thief = &lab.dpop_thief;
    let token = okta.dpop_access_token(key);
    let dpop = ("DPoP", token.as_str());
    let proof = || key.proof("GET", URL).access_token(&token);
    // A proof's header and claims as JSON, for the rows that sign odd JSON by hand.
    let header = json!({"typ": "dpop+jwt", "alg": "ES256", "jwk": key.public_jwk()});
    let claims = |jti: &str| {
        json!({"jti": jti, "htm": "GET", "htu": URL, "iat": now(),
               "ath": tower_okta_mock::dpop::ath(&token)})
    };
    let signed =
        |header: &Value, claims: &Value| key.sign_raw(&header.to_string(), &claims.to_string());
    let edited = |edit: &dyn Fn(&mut Map<String, Value>)| {
        let Value::Object(mut h) = header.clone() else {
            unreachable!()
        };
        edit(&mut h);
        Value::Object(h)
    };

    c.group("DPoP: controls");
    let replayed = proof().jti("control-jti").build();
    c.dpop(
        Access,
        "control: a DPoP-bound token with its ES256 proof",
        dpop,
        vec![replayed.clone()],
        Pass,
    );
    let rsa = DpopKey::rs256().expect("DPoP key");
    let rsa_token = okta.dpop_access_token(&rsa);
    c.dpop(
        Access,
        "control: a DPoP-bound token with its RS256 proof",
        ("DPoP", &rsa_token),
        vec![rsa.proof("GET", URL).access_token(&rsa_token).build()],
        Pass,
    );
    for (name, htu) in [
        (
            "control: htu with an upper-case host, the default port and an encoded unreserved character",
            "HTTP://API.test:80/api/%6De",
        ),
        (
            "control: htu with a query and a fragment (ignored)",
            "http://api.test/api/me?page=2#top",
        ),
    ] {
        c.dpop(
            Access,
            name,
            dpop,
            vec![key.proof("GET", htu).access_token(&token).build()],
            Pass,
        );
    }

    c.group("DPoP: the proof");
    c.dpop(
        Access,
        "replayed proof (same jti)",
        dpop,
        vec![replayed],
        DpopRefused(D::Replayed),
    );
    let header_text = header.to_string();
    c.dpop(
        Access,
        "proof with the client's jwk, signed by another key",
        dpop,
        vec![thief.sign_raw(&header_text, &claims("another-signer").to_string())],
        DpopRefused(D::BadSignature),
    );
    c.dpop(
        Access,
        "jwk with private parameters (d)",
        dpop,
        vec![signed(
            &edited(&|h| {
                h.insert("jwk".into(), key.private_jwk_members());
            }),
            &claims("private-jwk"),
        )],
        DpopRefused(D::PrivateKey),
    );
    let hmac_header = json!({"typ": "dpop+jwt", "alg": "HS256",
                             "jwk": {"kty": "oct", "k": B64.encode(&lab.hmac_secret)}});
    c.dpop(
        Access,
        "HMAC proof (HS256, key in the header)",
        dpop,
        vec![compact(&hmac_header, &claims("hmac"), |m| {
            hmac::sign(&hmac::Key::new(hmac::HMAC_SHA256, &lab.hmac_secret), m)
                .as_ref()
                .to_vec()
        })],
        DpopRefused(D::UnsupportedAlgorithm),
    );
    c.dpop(
        Access,
        "alg none proof",
        dpop,
        vec![compact(
            &edited(&|h| {
                h.insert("alg".into(), "none".into());
            }),
            &claims("none"),
            |_| b"x".to_vec(),
        )],
        DpopRefused(D::UnsupportedAlgorithm),
    );
    let es384 = DpopKey::generate(tower_okta_mock::DpopAlg::ES384).expect("DPoP key");
    c.dpop(
        Access,
        "ES384 proof where only ES256 and RS256 are allowed",
        dpop,
        vec![es384.proof("GET", URL).access_token(&token).build()],
        DpopRefused(D::UnsupportedAlgorithm),
    );
    for (name, typ) in [
        ("typ JWT", Some("JWT")),
        ("typ at+jwt", Some("at+jwt")),
        ("no typ", None),
    ] {
        c.dpop(
            Access,
            format!("wrong proof typ: {name}"),
            dpop,
            vec![signed(
                &edited(&|h| match typ {
                    Some(t) => {
                        h.insert("typ".into(), t.into());
                    }
                    None => {
                        h.remove("typ");
                    }
                }),
                &claims(name),
            )],
            DpopRefused(D::WrongType),
        );
    }
    c.dpop(
        Access,
        "proof with crit",
        dpop,
        vec![signed(
            &edited(&|h| {
                h.insert("crit".into(), json!(["exp"]));
            }),
            &claims("crit"),
        )],
        DpopRefused(D::CriticalHeader),
    );
    let jwk_text = key.public_jwk().to_string();
    c.dpop(
        Access,
        "duplicate alg in the proof header",
        dpop,
        vec![key.sign_raw(
            &format!(r#"{{"typ":"dpop+jwt","alg":"ES256","alg":"ES256","jwk":{jwk_text}}}"#),
            &claims("dup-header").to_string(),
        )],
        DpopRefused(D::DuplicateKey),
    );
    let claims_text = claims("dup-claims").to_string();
    c.dpop(
        Access,
        "duplicate htu in the proof claims (the second one escaped)",
        dpop,
        vec![key.sign_raw(
            &header_text,
            &claims_text.replacen('{', r#"{"ht\u0075":"http://api.test/api/other","#, 1),
        )],
        DpopRefused(D::DuplicateKey),
    );
    c.dpop(
        Access,
        "1 MB proof",
        dpop,
        vec![proof().claim("pad", "x".repeat(1 << 20)).build()],
        DpopRefused(D::TooLarge),
    );
    c.dpop(
        Access,
        "proof that is not a compact JWS",
        dpop,
        vec!["eyJ0eXAiOiJkcG9wK2p3dCJ9.e30".to_owned()],
        DpopRefused(D::Malformed),
    );
    c.dpop(
        Access,
        "proof without jti",
        dpop,
        vec![proof().claim("jti", Value::Null).build()],
        DpopRefused(D::MissingClaim),
    );
    c.dpop(
        Access,
        "proof without jwk",
        dpop,
        vec![proof().header("jwk", Value::Null).build()],
        DpopRefused(D::InvalidKey),
    );
    c.dpop(
        Access,
        "RS256 proof carrying an EC jwk",
        dpop,
        vec![rsa.sign_raw(
            &json!({"typ": "dpop+jwt", "alg": "RS256", "jwk": key.public_jwk()}).to_string(),
            &claims("rs-with-ec").to_string(),
        )],
        DpopRefused(D::InvalidKey),
    );
    for (name, method) in [("htm POST on a GET", "POST"), ("htm get (case)", "get")] {
        c.dpop(
            Access,
            name,
            dpop,
            vec![key.proof(method, URL).access_token(&token).build()],
            DpopRefused(D::MethodMismatch),
        );
    }
    for (name, htu) in [
        ("htu of another path", "http://api.test/api/other"),
        (
            "htu query-string trick (the real path hidden in the query)",
            "http://api.test/api/other?/api/me",
        ),
        ("htu with the path in upper case", "http://api.test/API/me"),
        ("htu with an encoded slash", "http://api.test/api%2Fme"),
        (
            "htu with https for an http request",
            "https://api.test/api/me",
        ),
        ("htu of another host", "http://evil.test/api/me"),
        ("htu with another port", "http://api.test:8080/api/me"),
        ("htu that is a relative reference", "/api/me"),
        ("htu with user information", "http://user@api.test/api/me"),
    ] {
        c.dpop(
            Access,
            name,
            dpop,
            vec![key.proof("GET", htu).access_token(&token).build()],
            DpopRefused(D::UrlMismatch),
        );
    }
    c.dpop(
        Access,
        "proof iat two minutes old",
        dpop,
        vec![proof().iat(now() - 120).build()],
        DpopRefused(D::TooOld),
    );
    c.dpop(
        Access,
        "proof iat two minutes ahead",
        dpop,
        vec![proof().iat(now() + 120).build()],
        DpopRefused(D::IssuedInFuture),
    );
    c.dpop(
        Access,
        "proof without ath",
        dpop,
        vec![proof().claim("ath", Value::Null).build()],
        DpopRefused(D::AccessTokenHashMismatch),
    );
    c.dpop(
        Access,
        "proof whose ath is another token's",
        dpop,
        vec![proof().access_token(&okta.dpop_access_token(key)).build()],
        DpopRefused(D::AccessTokenHashMismatch),
    );

    c.group("DPoP: the DPoP header");
    c.dpop(
        Access,
        "two DPoP headers",
        dpop,
        vec![proof().build(), proof().build()],
        BadRequest(RequestError::MultipleDpopHeaders),
    );
    c.dpop(
        Access,
        "DPoP scheme without a DPoP header",
        dpop,
        vec![],
        BadRequest(RequestError::MissingDpopProof),
    );
    c.dpop(
        Access,
        "DPoP header with a space",
        dpop,
        vec![format!("{} x", proof().build())],
        BadRequest(RequestError::MalformedDpopHeader),
    );
    c.dpop(
        Access,
        "DPoP header with base64 padding",
        dpop,
        vec![format!("{}=", proof().build())],
        BadRequest(RequestError::MalformedDpopHeader),
    );

    c.group("DPoP: the token's binding");
    let thief_token = okta.dpop_access_token(thief);
    c.dpop(
        Access,
        "cnf.jkt of another key (the token bound to another client)",
        ("DPoP", &thief_token),
        vec![key.proof("GET", URL).access_token(&thief_token).build()],
        Refused(TokenError::KeyBindingMismatch),
    );
    c.dpop(
        Access,
        "a stolen bound token with the thief's own valid proof",
        dpop,
        vec![thief.proof("GET", URL).access_token(&token).build()],
        Refused(TokenError::KeyBindingMismatch),
    );
    c.dpop(
        Access,
        "a DPoP-bound token as Bearer",
        ("Bearer", &token),
        vec![],
        Refused(TokenError::BoundTokenAsBearer),
    );
    c.dpop(
        Access,
        "a DPoP-bound token as Bearer, its valid proof alongside",
        ("Bearer", &token),
        vec![proof().build()],
        Refused(TokenError::BoundTokenAsBearer),
    );
    let unbound = okta.access_token();
    c.dpop(
        Access,
        "an unbound token as DPoP, with a valid proof",
        ("DPoP", &unbound),
        vec![key.proof("GET", URL).access_token(&unbound).build()],
        Refused(TokenError::NotSenderConstrained),
    );
    let mtls = okta
        .access_token_builder()
        .claim(
            "cnf",
            json!({"x5t#S256": "bwcK0esc3ACC3DB2Y5_lESsXE8o9ltc05O89jdN-dg2"}),
        )
        .build();
    c.dpop(
        Access,
        "a certificate-bound (mTLS cnf) token as Bearer",
        ("Bearer", &mtls),
        vec![],
        Refused(TokenError::UnsupportedBinding),
    );

    c.group("DPoP: policies and nonces");
    c.dpop(
        DpopRequired,
        "Dpop::Required: a bearer token",
        ("Bearer", &unbound),
        vec![],
        Refused(TokenError::DpopRequired),
    );
    let required_url = "http://api.test/dpop/required";
    c.dpop(
        DpopRequired,
        "control: Dpop::Required with a valid proof",
        dpop,
        vec![key.proof("GET", required_url).access_token(&token).build()],
        Pass,
    );
    c.raw("Dpop::Required: no credentials", &[], None, NoCredentials);
    c.rows.last_mut().expect("a row").target = DpopRequired;
    let disabled_url = "http://api.test/dpop/disabled";
    c.dpop(
        DpopDisabled,
        "Dpop::Disabled: a DPoP credential is no credential",
        dpop,
        vec![key.proof("GET", disabled_url).access_token(&token).build()],
        NoCredentials,
    );
    c.dpop(
        DpopDisabled,
        "Dpop::Disabled: a bound token as Bearer",
        ("Bearer", &token),
        vec![],
        Refused(TokenError::BoundTokenAsBearer),
    );
    c.dpop(
        DpopNonce,
        "nonces required: a proof without a nonce",
        dpop,
        vec![proof().build()],
        NonceRequired,
    );
    c.dpop(
        DpopNonce,
        "nonces required: a made-up nonce",
        dpop,
        vec![proof().nonce("bm90LWEtbm9uY2U").build()],
        NonceRequired,
    );
    c.dpop(
        DpopNonce,
        "control: nonces required, the nonce handed out",
        dpop,
        vec![proof().nonce(&lab.current_nonce).build()],
        Pass,
    );
}
