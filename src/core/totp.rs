//! Time-based one-time passwords (RFC 6238) for multi-factor sign-in, and the
//! one-time recovery codes that stand in when the authenticator is lost.

use base64::Engine as _;
use totp_rs::{Algorithm, Builder, Totp};

/// 160 bits, the size RFC 4226 recommends for HMAC-SHA1 secrets.
const SECRET_BYTES: usize = 20;
const ISSUER: &str = "Portico";
pub const RECOVERY_CODE_COUNT: usize = 10;

pub fn generate_secret() -> Vec<u8> {
    let mut secret = vec![0u8; SECRET_BYTES];
    getrandom::fill(&mut secret).expect("the operating system's random source is available");
    secret
}

/// Six digits every 30 seconds with SHA-1: what every authenticator app speaks.
/// One step of clock skew either way is accepted.
fn totp(secret: &[u8], account_name: &str) -> Totp {
    Builder::new()
        .with_algorithm(Algorithm::SHA1)
        .with_digits(6)
        .with_skew(1)
        .with_step_duration(30)
        .with_secret(secret.to_vec())
        .with_issuer(Some(ISSUER))
        .with_account_name(account_name.replace(':', "_"))
        .build()
        .expect("fixed parameters and a 160-bit secret are valid")
}

/// The `otpauth://` URL authenticator apps import (usually from a QR code).
pub fn provisioning_url(secret: &[u8], account_name: &str) -> String {
    totp(secret, account_name).to_url().expect("issuer and account name are set")
}

pub fn secret_base32(secret: &[u8]) -> String {
    totp(secret, "x").secret().to_base32()
}

/// The time step a code is valid for at `unix_time`, if it is valid at all.
/// Callers must still refuse a step already used (RFC 6238 §5.2).
pub fn verify(secret: &[u8], code: &str, unix_time: u64) -> Option<u64> {
    let code: String = code.chars().filter(|c| !c.is_whitespace()).collect();
    totp(secret, "x").check(&code, unix_time)
}

/// Ten random codes like `k7qm2-x9fha`, shown once; store only their hashes.
pub fn generate_recovery_codes() -> Vec<String> {
    (0..RECOVERY_CODE_COUNT)
        .map(|_| {
            let mut bytes = [0u8; 8];
            getrandom::fill(&mut bytes).expect("the operating system's random source is available");
            let text =
                base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes).to_lowercase().replace(['-', '_'], "x");
            format!("{}-{}", &text[..5], &text[5..10])
        })
        .collect()
}

/// Recovery codes are compared case- and separator-insensitively.
pub fn normalize_recovery_code(code: &str) -> String {
    code.chars().filter(|c| c.is_ascii_alphanumeric()).collect::<String>().to_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 6238, Appendix B: the published test vectors, 8 digits.
    #[test]
    fn rfc_6238_test_vectors() {
        let seeds: [(Algorithm, &[u8]); 3] = [
            (Algorithm::SHA1, b"12345678901234567890"),
            (Algorithm::SHA256, b"12345678901234567890123456789012"),
            (Algorithm::SHA512, b"1234567890123456789012345678901234567890123456789012345678901234"),
        ];
        let vectors: [(u64, [&str; 3]); 6] = [
            (59, ["94287082", "46119246", "90693936"]),
            (1111111109, ["07081804", "68084774", "25091201"]),
            (1111111111, ["14050471", "67062674", "99943326"]),
            (1234567890, ["89005924", "91819424", "93441116"]),
            (2000000000, ["69279037", "90698825", "38618901"]),
            (20000000000, ["65353130", "77737706", "47863826"]),
        ];
        for (index, (algorithm, seed)) in seeds.into_iter().enumerate() {
            let totp = Builder::new()
                .with_algorithm(algorithm)
                .with_digits(8)
                .with_secret(seed.to_vec())
                .with_step_duration(30)
                .build_noncompliant();
            for (time, expected) in vectors {
                assert_eq!(totp.generate(time).to_string(), expected[index], "{algorithm:?} at {time}");
            }
        }
    }

    #[test]
    fn a_code_verifies_within_one_step_of_skew_only() {
        let secret = generate_secret();
        let now = 1_800_000_000;
        let code = totp(&secret, "a@b.c").generate(now).to_string();
        assert_eq!(verify(&secret, &code, now), Some(now / 30));
        assert!(verify(&secret, &code, now + 30).is_some(), "one step late is accepted");
        assert!(verify(&secret, &code, now + 90).is_none(), "three steps late is not");
        let neighbours = [now - 30, now + 30].map(|time| totp(&secret, "a@b.c").generate(time).to_string());
        let wrong = format!("{:06}", (code.parse::<u32>().unwrap() + 1) % 1_000_000);
        if !neighbours.contains(&wrong) {
            assert!(verify(&secret, &wrong, now).is_none());
        }
    }

    #[test]
    fn provisioning_url_names_the_issuer_and_account() {
        let url = provisioning_url(&generate_secret(), "ada@example.com");
        assert!(url.starts_with("otpauth://totp/Portico:ada%40example.com?"), "{url}");
        assert!(url.contains("issuer=Portico"));
    }

    #[test]
    fn recovery_codes_are_distinct_and_normalize() {
        let codes = generate_recovery_codes();
        assert_eq!(codes.len(), RECOVERY_CODE_COUNT);
        let unique: std::collections::HashSet<_> = codes.iter().collect();
        assert_eq!(unique.len(), codes.len());
        assert_eq!(normalize_recovery_code(" K7QM2-X9FHA "), "k7qm2x9fha");
    }
}
