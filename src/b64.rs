//! The crate's base64 engines, defined once, and the strict decoders of token parts.

use base64::alphabet;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig};
use base64::engine::DecodePaddingMode;

use crate::error::TokenError;

/// base64url with no padding and no non-zero trailing bits: exactly one encoding per byte string.
/// Tokens are decoded with it (RFC 7515 section 2), and everything the crate encodes uses it.
pub(crate) const STRICT_B64: GeneralPurpose = GeneralPurpose::new(
    &alphabet::URL_SAFE,
    GeneralPurposeConfig::new()
        .with_encode_padding(false)
        .with_decode_padding_mode(DecodePaddingMode::RequireNone)
        .with_decode_allow_trailing_bits(false),
);

/// base64url that tolerates padding, for JWK members (`n`, `e`, `d`...): keys in the wild
/// sometimes carry it, and the key material itself is what gets checked.
pub(crate) const JWK_B64: GeneralPurpose = GeneralPurpose::new(
    &alphabet::URL_SAFE,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// Strict base64url decode of one part of a compact JWS, with base64-simd (SIMD, runtime CPU
/// detection): its URL-safe no-padding engine is exactly as strict as [`STRICT_B64`] (no
/// padding, no character outside the alphabet, zero trailing bits), which the property tests
/// check against the `base64` crate's engine.
pub(crate) fn decode(part: &str) -> Result<Vec<u8>, TokenError> {
    base64_simd::URL_SAFE_NO_PAD
        .decode_to_vec(part)
        .map_err(|_| TokenError::Malformed)
}

/// Decoded bytes: in an inline array when they fit (no allocation), on the heap otherwise.
pub(crate) enum Inline<const N: usize> {
    Stack([u8; N], usize),
    Heap(Vec<u8>),
}

/// The length only: the bytes are a token's or a proof's.
impl<const N: usize> std::fmt::Debug for Inline<N> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Inline")
            .field("len", &self.bytes().len())
            .finish()
    }
}

impl<const N: usize> Inline<N> {
    /// Strict base64url decode of one part into this buffer (onto the heap if it does not fit).
    pub(crate) fn decode(&mut self, part: &str) -> Result<(), TokenError> {
        let engine = base64_simd::URL_SAFE_NO_PAD;
        let decoded_len = engine
            .decoded_length(part.as_bytes())
            .map_err(|_| TokenError::Malformed)?;
        match self {
            Inline::Stack(buf, len) if decoded_len <= N => {
                let out = buf.get_mut(..decoded_len).ok_or(TokenError::Malformed)?;
                *len = engine
                    .decode(part.as_bytes(), base64_simd::Out::from_slice(out))
                    .map_err(|_| TokenError::Malformed)?
                    .len();
            }
            _ => *self = Inline::Heap(decode(part)?),
        }
        Ok(())
    }

    pub(crate) fn bytes(&self) -> &[u8] {
        match self {
            Inline::Stack(buf, len) => buf.get(..*len).unwrap_or_default(),
            Inline::Heap(vec) => vec,
        }
    }

    /// The bytes as (JSON) text; not UTF-8 is malformed.
    pub(crate) fn text(&self) -> Result<&str, TokenError> {
        std::str::from_utf8(self.bytes()).map_err(|_| TokenError::Malformed)
    }
}
