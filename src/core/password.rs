//! Password hashing: argon2id with the crate's defaults (19 MiB, t=2, p=1), off the
//! async runtime because one hash takes tens of milliseconds of CPU.

use argon2::{Argon2, PasswordHasher, PasswordVerifier};
use secrecy::{ExposeSecret, SecretString};

pub const MIN_PASSWORD_CHARS: usize = 12;
pub const MAX_PASSWORD_CHARS: usize = 128;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum PasswordError {
    #[error("password must be at least {MIN_PASSWORD_CHARS} characters")]
    TooShort,
    #[error("password must be at most {MAX_PASSWORD_CHARS} characters")]
    TooLong,
}

/// Length rules only; composition rules are deliberately absent (NIST SP 800-63B).
pub fn check_password_policy(password: &SecretString) -> Result<(), PasswordError> {
    let chars = password.expose_secret().chars().count();
    if chars < MIN_PASSWORD_CHARS {
        return Err(PasswordError::TooShort);
    }
    if chars > MAX_PASSWORD_CHARS {
        return Err(PasswordError::TooLong);
    }
    Ok(())
}

/// Returns the PHC string (`$argon2id$v=19$m=19456,t=2,p=1$…`).
pub async fn hash_password(password: SecretString) -> String {
    tokio::task::spawn_blocking(move || {
        Argon2::default()
            .hash_password(password.expose_secret().as_bytes())
            .expect("argon2 with default parameters accepts any password and salt")
            .to_string()
    })
    .await
    .expect("password hashing task does not panic")
}

pub async fn verify_password(password: SecretString, phc_hash: String) -> bool {
    tokio::task::spawn_blocking(move || {
        Argon2::default().verify_password(password.expose_secret().as_bytes(), phc_hash.as_str()).is_ok()
    })
    .await
    .expect("password verification task does not panic")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn hashes_with_argon2id_and_verifies() {
        let hash = hash_password(SecretString::from("correct horse battery")).await;
        assert!(hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{hash}");
        assert!(verify_password(SecretString::from("correct horse battery"), hash.clone()).await);
        assert!(!verify_password(SecretString::from("wrong horse battery"), hash).await);
    }

    #[test]
    fn policy_checks_length_only() {
        assert_eq!(check_password_policy(&SecretString::from("short")), Err(PasswordError::TooShort));
        assert_eq!(check_password_policy(&SecretString::from("a".repeat(129))), Err(PasswordError::TooLong));
        assert_eq!(check_password_policy(&SecretString::from("all lowercase words")), Ok(()));
    }
}
