//! The crate's base64 engines, defined once.

use base64::alphabet;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig};
use base64::engine::DecodePaddingMode;

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
