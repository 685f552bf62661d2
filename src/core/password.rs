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
    #[error("password is too easy to guess: avoid common words, names and patterns, and your email")]
    TooWeak,
}

/// zxcvbn's scale: 3 means about 10^10 guesses needed, safely out of reach of
/// online guessing and costly offline against argon2id.
const MIN_STRENGTH_SCORE: u8 = 3;

/// NIST SP 800-63B rules: length bounds and a refusal of guessable passwords
/// (common, derived from the user's own details), no composition rules.
/// `user_inputs` are the user's own details (email, name) a guess would start from.
pub fn check_password_policy(password: &SecretString, user_inputs: &[&str]) -> Result<(), PasswordError> {
    let password = password.expose_secret();
    let chars = password.chars().count();
    if chars < MIN_PASSWORD_CHARS {
        return Err(PasswordError::TooShort);
    }
    if chars > MAX_PASSWORD_CHARS {
        return Err(PasswordError::TooLong);
    }
    if u8::from(zxcvbn::zxcvbn(password, user_inputs).score()) < MIN_STRENGTH_SCORE {
        return Err(PasswordError::TooWeak);
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
    fn policy_checks_length_and_guessability_not_composition() {
        let check = |password: &str| check_password_policy(&SecretString::from(password), &["ada@example.com"]);
        assert_eq!(check("short"), Err(PasswordError::TooShort));
        assert_eq!(check(&"a".repeat(129)), Err(PasswordError::TooLong));
        assert_eq!(check("password1234"), Err(PasswordError::TooWeak));
        assert_eq!(check("aaaaaaaaaaaaaaaa"), Err(PasswordError::TooWeak));
        assert_eq!(check("ada@example.com1"), Err(PasswordError::TooWeak));
        // Long lowercase passphrases pass: no digits or symbols demanded.
        assert_eq!(check("correct horse battery staple"), Ok(()));
    }
}
