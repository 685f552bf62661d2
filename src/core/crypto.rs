//! Secrets at rest: XChaCha20-Poly1305 under the master key.
//!
//! Sealed values are `version || nonce || ciphertext+tag`. The nonce is random (192
//! bits, so random nonces never realistically repeat), and callers pass associated
//! data naming where the value lives (for example `connector_instance:<id>:credentials`)
//! so a ciphertext copied into another row fails to open.

use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};

use crate::config::MasterKey;

const FORMAT_VERSION: u8 = 1;
const NONCE_LEN: usize = 24;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum CryptoError {
    #[error("sealed value is malformed")]
    Malformed,
    #[error("sealed value does not open with this key and context")]
    Unauthentic,
}

/// Seals and opens secrets; cheap to clone and share.
#[derive(Clone)]
pub struct SecretCipher {
    cipher: XChaCha20Poly1305,
}

impl std::fmt::Debug for SecretCipher {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str("SecretCipher")
    }
}

impl SecretCipher {
    pub fn new(key: &MasterKey) -> Self {
        let cipher = XChaCha20Poly1305::new_from_slice(key.bytes()).expect("the master key is 32 bytes");
        Self { cipher }
    }

    pub fn seal(&self, plaintext: &[u8], context: &str) -> Vec<u8> {
        let mut nonce_bytes = [0u8; NONCE_LEN];
        getrandom::fill(&mut nonce_bytes).expect("the operating system's random source is available");
        let nonce = XNonce::from(nonce_bytes);
        let ciphertext = self
            .cipher
            .encrypt(&nonce, Payload { msg: plaintext, aad: context.as_bytes() })
            .expect("encryption cannot fail for in-memory buffers");
        let mut sealed = Vec::with_capacity(1 + NONCE_LEN + ciphertext.len());
        sealed.push(FORMAT_VERSION);
        sealed.extend_from_slice(&nonce_bytes);
        sealed.extend_from_slice(&ciphertext);
        sealed
    }

    pub fn open(&self, sealed: &[u8], context: &str) -> Result<Vec<u8>, CryptoError> {
        let (&version, rest) = sealed.split_first().ok_or(CryptoError::Malformed)?;
        if version != FORMAT_VERSION || rest.len() < NONCE_LEN {
            return Err(CryptoError::Malformed);
        }
        let (nonce_bytes, ciphertext) = rest.split_at(NONCE_LEN);
        let nonce_array: [u8; NONCE_LEN] = nonce_bytes.try_into().map_err(|_| CryptoError::Malformed)?;
        self.cipher
            .decrypt(&XNonce::from(nonce_array), Payload { msg: ciphertext, aad: context.as_bytes() })
            .map_err(|_| CryptoError::Unauthentic)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seal_then_open_round_trips() {
        let cipher = SecretCipher::new(&MasterKey::generate());
        let sealed = cipher.seal(b"sk_live_123", "connector:1:credentials");
        assert_ne!(&sealed[1 + NONCE_LEN..], b"sk_live_123");
        assert_eq!(cipher.open(&sealed, "connector:1:credentials").unwrap(), b"sk_live_123");
    }

    #[test]
    fn same_plaintext_seals_differently() {
        let cipher = SecretCipher::new(&MasterKey::generate());
        assert_ne!(cipher.seal(b"x", "c"), cipher.seal(b"x", "c"));
    }

    #[test]
    fn wrong_context_or_key_or_tampering_fails() {
        let cipher = SecretCipher::new(&MasterKey::generate());
        let sealed = cipher.seal(b"secret", "connector:1");
        assert_eq!(cipher.open(&sealed, "connector:2"), Err(CryptoError::Unauthentic));
        let other = SecretCipher::new(&MasterKey::generate());
        assert_eq!(other.open(&sealed, "connector:1"), Err(CryptoError::Unauthentic));
        let mut tampered = sealed.clone();
        *tampered.last_mut().unwrap() ^= 1;
        assert_eq!(cipher.open(&tampered, "connector:1"), Err(CryptoError::Unauthentic));
        assert_eq!(cipher.open(&[], "connector:1"), Err(CryptoError::Malformed));
        assert_eq!(cipher.open(&[9, 1, 2], "connector:1"), Err(CryptoError::Malformed));
    }
}
