//! Bearer secrets (session cookies, invitation links): 256 random bits shown to
//! their holder once; only their SHA-256 is stored, so a database leak yields no
//! usable token. A fast hash is right here, unlike for passwords: the input is
//! random, not guessable.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256};

const TOKEN_BYTES: usize = 32;

/// A new token and the hash to store for it.
pub fn generate_token() -> (String, Vec<u8>) {
    let mut bytes = [0u8; TOKEN_BYTES];
    getrandom::fill(&mut bytes).expect("the operating system's random source is available");
    let token = URL_SAFE_NO_PAD.encode(bytes);
    let hash = hash_token(&token);
    (token, hash)
}

pub fn hash_token(token: &str) -> Vec<u8> {
    Sha256::digest(token.as_bytes()).to_vec()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_unique_and_hash_consistently() {
        let (first, first_hash) = generate_token();
        let (second, _) = generate_token();
        assert_ne!(first, second);
        assert_eq!(first.len(), 43, "256 bits in unpadded base64url");
        assert_eq!(hash_token(&first), first_hash);
        assert_eq!(first_hash.len(), 32);
    }
}
