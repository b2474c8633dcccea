//! Raw RSA test keys for the attack corpus: keys that aws-lc-rs refuses to sign with (too short,
//! odd exponents), so the corpus can sign with them by hand (textbook RSA over an EMSA-PKCS1-v1_5
//! encoded SHA-256 digest, exactly what RS256 is) and prove that the verifier refuses the *key*,
//! not merely a broken signature.
//!
//! The primes below are throwaway test material generated for this corpus; they protect nothing.

use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use base64::Engine;
use num_bigint::BigUint;
use serde_json::{json, Value};

/// A textbook RSA key: `n`, `e` and, when the key can sign, `d`.
pub(crate) struct RawRsa {
    pub(crate) kid: String,
    pub(crate) n: BigUint,
    pub(crate) e: BigUint,
    d: Option<BigUint>,
}

fn hex(s: &str) -> BigUint {
    BigUint::parse_bytes(s.as_bytes(), 16).expect("hex constant")
}

impl RawRsa {
    /// The key `(p*q, e)`, with `d = e^-1 mod lcm(p-1, q-1)` when `e` is invertible.
    pub(crate) fn from_primes(kid: &str, p: &str, q: &str, e: BigUint) -> RawRsa {
        let (p, q) = (hex(p), hex(q));
        let one = BigUint::from(1u8);
        let (p1, q1) = (&p - &one, &q - &one);
        let lambda = &p1 * &q1 / gcd(p1.clone(), q1.clone());
        let d = if e == one {
            Some(one.clone())
        } else {
            e.modinv(&lambda)
        };
        RawRsa {
            kid: kid.to_owned(),
            n: p * q,
            e,
            d,
        }
    }

    /// The key `(p*q, d)` of the e = 65537 key: its public exponent is as long as the modulus,
    /// and it signs with 65537.
    pub(crate) fn from_primes_swapped(kid: &str, p: &str, q: &str) -> RawRsa {
        let normal = RawRsa::from_primes(kid, p, q, BigUint::from(65_537u32));
        RawRsa {
            kid: kid.to_owned(),
            n: normal.n,
            e: normal.d.expect("65537 is invertible"),
            d: Some(BigUint::from(65_537u32)),
        }
    }

    /// Another key with the same modulus and private exponent but a different public exponent
    /// (only useful when that exponent is the inverse of `d` too, or for keys that never sign).
    pub(crate) fn with_public_exponent(&self, kid: &str, e: BigUint) -> RawRsa {
        RawRsa {
            kid: kid.to_owned(),
            n: self.n.clone(),
            e,
            d: self.d.clone(),
        }
    }

    /// The modulus size in bits.
    pub(crate) fn bits(&self) -> u64 {
        self.n.bits()
    }

    /// The public JWK (no `alg`, `use: sig`), with `n` as given bytes.
    pub(crate) fn jwk_with_n(&self, n: &[u8]) -> Value {
        json!({
            "kty": "RSA",
            "kid": self.kid,
            "use": "sig",
            "n": B64.encode(n),
            "e": B64.encode(self.e.to_bytes_be()),
        })
    }

    /// The public JWK.
    pub(crate) fn jwk(&self) -> Value {
        self.jwk_with_n(&self.n.to_bytes_be())
    }

    /// An RS256 signature: `EMSA-PKCS1-v1_5(SHA-256(message))^d mod n`, as `k` bytes.
    pub(crate) fn sign_rs256(&self, message: &[u8]) -> Vec<u8> {
        let d = self.d.as_ref().expect("this test key can sign");
        let k = self.n.bits().div_ceil(8) as usize;
        let em = BigUint::from_bytes_be(&emsa_pkcs1_sha256(message, k));
        left_pad(&em.modpow(d, &self.n).to_bytes_be(), k)
    }
}

impl RawRsa {
    /// Textbook verification, `signature^e mod n == EMSA-PKCS1-v1_5(SHA-256(message))`: shows
    /// that a hand-made signature is valid for this key, whatever a library thinks of the key.
    pub(crate) fn verifies(&self, message: &[u8], signature: &[u8]) -> bool {
        let k = self.n.bits().div_ceil(8) as usize;
        let em = BigUint::from_bytes_be(&emsa_pkcs1_sha256(message, k));
        signature.len() == k && BigUint::from_bytes_be(signature).modpow(&self.e, &self.n) == em
    }
}

fn gcd(mut a: BigUint, mut b: BigUint) -> BigUint {
    while b != BigUint::from(0u8) {
        let r = &a % &b;
        a = b;
        b = r;
    }
    a
}

/// `bytes` left-padded with zeros to `len`.
pub(crate) fn left_pad(bytes: &[u8], len: usize) -> Vec<u8> {
    let mut out = vec![0u8; len.saturating_sub(bytes.len())];
    out.extend_from_slice(bytes);
    out
}

/// `0x00 0x01 FF..FF 0x00 DigestInfo(SHA-256, H(message))`, `k` bytes long (RFC 8017, 9.2).
pub(crate) fn emsa_pkcs1_sha256(message: &[u8], k: usize) -> Vec<u8> {
    const DIGEST_INFO: [u8; 19] = [
        0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01,
        0x05, 0x00, 0x04, 0x20,
    ];
    let hash = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, message);
    let t_len = DIGEST_INFO.len() + hash.as_ref().len();
    assert!(k >= t_len + 11, "modulus too short for EMSA-PKCS1-v1_5");
    let mut em = vec![0x00, 0x01];
    em.resize(k - t_len - 1, 0xff);
    em.push(0x00);
    em.extend_from_slice(&DIGEST_INFO);
    em.extend_from_slice(hash.as_ref());
    em
}

/// Prime `p` of a 1024-bit test key.
pub(crate) const P1024_P: &str = concat!(
    "ee5965cd6f4f30425f09cbe32c62a575ae0ac00912f504ff3ee3d015adfc2064",
    "6d38d43eae3dfbc0f1568139d943cd1bb42c430d3760b08d4ed3ed18ea53813d",
);
/// Prime `q` of a 1024-bit test key.
pub(crate) const P1024_Q: &str = concat!(
    "d6850181fa275402d3efbd6b1d6a508ceba84618c7b32ef48c60a853817b3789",
    "58db2a6b9be3cd81f1e4e39947b3c27823ed1de245e1928aff03b7cb67fe1ce7",
);

/// Prime `p` of a 2047-bit test key.
pub(crate) const P2047_P: &str = concat!(
    "e9bfe99ba829c06e239debc3f9a75fdc4feed1e590c400064a80908b7f62821a",
    "040cac8e0f6445dfd3fa0a579eb9715e1451f3af00b68d2021172522ccb9499e",
    "7f0700c61064554f6c02718a9fda0f652476926d26846529bd66fe38c379b4ca",
    "3af1698332ed7b2f0d93bca5dfcbb1cdeb667c44ca4a6efec48752e6a6e17119",
);
/// Prime `q` of a 2047-bit test key.
pub(crate) const P2047_Q: &str = concat!(
    "62ea4ab2419e1a752266c72bc55abc7824ace6dc8c5fd1cd5c9c20447adab3f1",
    "d75df04b395f3d745e3e375026befdb0744f2429e9ef2fc62b96f23a6f651b02",
    "337e3f0db289aa0f143a08630a4b73525f8f9d7b9dcf4dd10822bf876f73bd97",
    "4e27da18f7c2dcabab6a936be698f363ce730f0dfdacf2fd7b564c0716b129e9",
);

/// Prime `p` of a 2048-bit test key.
pub(crate) const P2048_P: &str = concat!(
    "d9e2e39eee6cd257cfe6285464e167f50fd0c0236e3c2948f51b2af2a4403bfd",
    "7d44d607394e8940a43adeb43efc95b6f02c7d08d685fdf8ff3d4b7ca356322a",
    "1bc5d175d1db9784b37b28156f5c1b95fbf4c3fab0b3ce2d00325bc2d4e21624",
    "2ab4cb30b10386c3eb6b0b787e3818d8d37111687daedea19317f38607a0ff0f",
);
/// Prime `q` of a 2048-bit test key.
pub(crate) const P2048_Q: &str = concat!(
    "d22896e90e90ea7b003905833ec8847d6d9f44526c6b019853e77e757514d62c",
    "f9b3c2a97d006922660dfb8a09fed719c60e7ec01d8097c70f50283d675843eb",
    "532e45257d2825018ed086d4fd0b70edb4ce3d6ded59a8e8f5d455b5ff5831e9",
    "a555731dd083e49fcdce64036ddee921090efad0d7e6e7d0130e06f862e31b5d",
);
