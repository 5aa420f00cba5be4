//! Integration secrets at rest (DESIGN.md section 11): OAuth tokens and
//! webhook signing secrets are sealed with XChaCha20-Poly1305 under the
//! server's key before they are written, and opened only where a delivery
//! needs them. A database file or dump alone gives none of them away.
//!
//! A sealed value reads `enc:v1:` and the base64 of a random 24-byte nonce
//! followed by the ciphertext and its tag. The column's name is bound in
//! as associated data, so a sealed value copied into another column does
//! not open.

use std::fmt;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use rand::RngCore;

const SEALED_PREFIX: &str = "enc:v1:";
const NONCE_BYTES: usize = 24;
pub const KEY_BYTES: usize = 32;

/// What a sealed integration secret is bound to.
pub const INTEGRATION_SECRET: &[u8] = b"integrations.secret";

/// The server's key. Its `Debug` shows nothing of it.
#[derive(Clone, PartialEq, Eq)]
pub struct SecretKey([u8; KEY_BYTES]);

impl fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretKey(redacted)")
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SecretError {
    #[error("the secret key must be {KEY_BYTES} bytes in base64 (44 characters)")]
    BadKey,
    #[error("a stored secret is not sealed")]
    NotSealed,
    #[error("a stored secret does not open with this server's key")]
    WrongKey,
    #[error("a secret could not be sealed")]
    SealFailed,
}

impl SecretKey {
    pub fn generate() -> Self {
        let mut bytes = [0u8; KEY_BYTES];
        rand::rng().fill_bytes(&mut bytes);
        Self(bytes)
    }

    /// A key as written in `CONTACTS_SECRET_KEY` or a key file: base64 of
    /// 32 bytes, blanks around it ignored.
    pub fn from_base64(text: &str) -> Result<Self, SecretError> {
        let bytes = STANDARD
            .decode(text.trim())
            .map_err(|_| SecretError::BadKey)?;
        let bytes: [u8; KEY_BYTES] = bytes.try_into().map_err(|_| SecretError::BadKey)?;
        Ok(Self(bytes))
    }

    pub fn to_base64(&self) -> String {
        STANDARD.encode(self.0)
    }

    fn cipher(&self) -> XChaCha20Poly1305 {
        XChaCha20Poly1305::new(&self.0.into())
    }

    /// `plain` sealed for the column `bound_to`.
    pub fn seal(&self, plain: &str, bound_to: &[u8]) -> Result<String, SecretError> {
        let mut nonce = [0u8; NONCE_BYTES];
        rand::rng().fill_bytes(&mut nonce);
        let payload = Payload {
            msg: plain.as_bytes(),
            aad: bound_to,
        };
        let sealed = self
            .cipher()
            .encrypt(&XNonce::from(nonce), payload)
            .map_err(|_| SecretError::SealFailed)?;
        let mut bytes = nonce.to_vec();
        bytes.extend_from_slice(&sealed);
        Ok(format!("{SEALED_PREFIX}{}", STANDARD.encode(bytes)))
    }

    /// The secret `stored` holds, if this key sealed it for `bound_to`.
    pub fn open(&self, stored: &str, bound_to: &[u8]) -> Result<String, SecretError> {
        let encoded = stored
            .strip_prefix(SEALED_PREFIX)
            .ok_or(SecretError::NotSealed)?;
        let bytes = STANDARD
            .decode(encoded)
            .map_err(|_| SecretError::WrongKey)?;
        if bytes.len() < NONCE_BYTES {
            return Err(SecretError::WrongKey);
        }
        let (nonce, sealed) = bytes.split_at(NONCE_BYTES);
        let nonce: [u8; NONCE_BYTES] = nonce.try_into().map_err(|_| SecretError::WrongKey)?;
        let payload = Payload {
            msg: sealed,
            aad: bound_to,
        };
        let plain = self
            .cipher()
            .decrypt(&XNonce::from(nonce), payload)
            .map_err(|_| SecretError::WrongKey)?;
        String::from_utf8(plain).map_err(|_| SecretError::WrongKey)
    }
}

/// Whether a stored value is sealed (rows written before secrets were
/// sealed are not, until the server's first start seals them).
pub fn is_sealed(stored: &str) -> bool {
    stored.starts_with(SEALED_PREFIX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sealed_secret_opens_with_its_key_and_column_only() {
        let key = SecretKey::generate();
        let sealed = key.seal("whsec_abc", INTEGRATION_SECRET).unwrap();
        assert!(is_sealed(&sealed));
        assert!(!sealed.contains("whsec_abc"));
        assert_ne!(
            sealed,
            key.seal("whsec_abc", INTEGRATION_SECRET).unwrap(),
            "fresh nonce"
        );
        assert_eq!(key.open(&sealed, INTEGRATION_SECRET).unwrap(), "whsec_abc");
        assert_eq!(
            SecretKey::generate().open(&sealed, INTEGRATION_SECRET),
            Err(SecretError::WrongKey)
        );
        assert_eq!(key.open(&sealed, b"other"), Err(SecretError::WrongKey));
        assert_eq!(
            key.open("whsec_abc", INTEGRATION_SECRET),
            Err(SecretError::NotSealed)
        );
    }

    #[test]
    fn a_tampered_secret_does_not_open() {
        let key = SecretKey::generate();
        let sealed = key.seal("token", INTEGRATION_SECRET).unwrap();
        let mut bytes = STANDARD
            .decode(sealed.strip_prefix(SEALED_PREFIX).unwrap())
            .unwrap();
        let last = bytes.len() - 1;
        bytes[last] ^= 1;
        let tampered = format!("{SEALED_PREFIX}{}", STANDARD.encode(bytes));
        assert_eq!(
            key.open(&tampered, INTEGRATION_SECRET),
            Err(SecretError::WrongKey)
        );
        assert_eq!(
            key.open("enc:v1:AAAA", INTEGRATION_SECRET),
            Err(SecretError::WrongKey)
        );
    }

    #[test]
    fn keys_read_back_and_never_show() {
        let key = SecretKey::generate();
        assert_eq!(SecretKey::from_base64(&key.to_base64()), Ok(key.clone()));
        assert_eq!(SecretKey::from_base64("c2hvcnQ="), Err(SecretError::BadKey));
        assert!(!format!("{key:?}").contains(&key.to_base64()));
    }
}
