//! Generates an RSA-2048 key pair for an Okta service app that authenticates with
//! `private_key_jwt`, and prints the public JWK to paste into the Okta admin console
//! (Applications > your service app > General > Client Credentials > Public keys > Add key)
//! and the private key as PEM for the client (keep it secret).
//!
//! ```sh
//! cargo run --example okta_keygen > service-app.pem   # the JWK goes to stderr, the PEM to stdout
//! ```

use tower_okta::client::SigningKey;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let key = SigningKey::generate()?;
    eprintln!(
        "Public JWK (kid {}), paste it into the Okta admin console:",
        key.kid()
    );
    eprintln!("{}", serde_json::to_string_pretty(&key.public_jwk())?);
    eprintln!();
    eprintln!("Private key (PKCS#8 PEM) on stdout; use it with");
    eprintln!(
        "  ClientCredentials::builder().private_key_pem_file(\"service-app.pem\", \"{}\")",
        key.kid()
    );
    print!("{}", key.private_key_pem()?);
    Ok(())
}
