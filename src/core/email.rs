//! Email addresses as Portico keeps them: trimmed and lower-cased, so one person
//! has one account whatever case they type.

pub fn normalize_email(email: &str) -> String {
    email.trim().to_lowercase()
}

/// The longest address SMTP can carry (RFC 5321's path limit less its brackets).
pub const MAX_EMAIL_BYTES: usize = 254;

/// An email address as a request gives it: normalized, and refused at the edge
/// (422 naming the field) when longer than any address can be, so no handler
/// stores, audits or mails an unbounded string. Whether it is a plausible or
/// known address is each handler's business.
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize)]
#[serde(try_from = "String")]
pub struct EmailInput(String);

impl EmailInput {
    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_string(self) -> String {
        self.0
    }
}

impl TryFrom<String> for EmailInput {
    type Error = String;

    fn try_from(raw: String) -> Result<Self, Self::Error> {
        let email = normalize_email(&raw);
        if email.len() > MAX_EMAIL_BYTES {
            return Err(format!("an email address is at most {MAX_EMAIL_BYTES} bytes"));
        }
        Ok(EmailInput(email))
    }
}

/// A deliberately loose check: one `@` with something on each side, no spaces.
/// Deliverability is proven by the mailed links, not by a pattern.
pub fn looks_like_email(candidate: &str) -> bool {
    match candidate.split_once('@') {
        Some((local, domain)) => {
            !local.is_empty() && !domain.is_empty() && !domain.contains('@') && !candidate.contains(char::is_whitespace)
        }
        None => false,
    }
}

/// The domain part of a normalized address (`ada@example.com` → `example.com`).
pub fn domain_of(email: &str) -> Option<&str> {
    email.rsplit_once('@').map(|(_, domain)| domain).filter(|domain| !domain.is_empty())
}

/// The most domains one sign-in connection may hold.
pub const MAX_EMAIL_DOMAINS: usize = 20;

/// An email domain as a sign-in connection holds it: trimmed, lower-cased,
/// without a leading `@`, and shaped like a DNS name (RFC 1035's letters, digits
/// and hyphens, two labels at least). International domains are written in their
/// ASCII form (`xn--…`), as mail systems carry them.
pub fn parse_email_domain(raw: &str) -> Result<String, String> {
    let domain = raw.trim().trim_start_matches('@').to_ascii_lowercase();
    let label_ok = |label: &str| {
        (1..=63).contains(&label.len())
            && label.bytes().all(|byte| byte.is_ascii_lowercase() || byte.is_ascii_digit() || byte == b'-')
            && !label.starts_with('-')
            && !label.ends_with('-')
    };
    if domain.is_empty() || domain.len() > 253 || domain.split('.').count() < 2 || !domain.split('.').all(label_ok) {
        return Err(format!(
            "{:?} is not a domain like example.com (international domains in their xn-- form)",
            raw.chars().take(64).collect::<String>()
        ));
    }
    Ok(domain)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn email_domains_are_dns_shaped_and_lower_cased() {
        assert_eq!(parse_email_domain(" @Example.COM ").as_deref(), Ok("example.com"));
        assert_eq!(parse_email_domain("xn--bcher-kva.example").as_deref(), Ok("xn--bcher-kva.example"));
        for wrong in
            ["", "example", "-a.example", "a-.example", "a..example", "bücher.example", "a b.example", "a@b.example"]
        {
            assert!(parse_email_domain(wrong).is_err(), "{wrong:?}");
        }
        assert!(parse_email_domain(&format!("{}.example", "a".repeat(64))).is_err());
        assert_eq!(domain_of("ada@example.com"), Some("example.com"));
        assert_eq!(domain_of("ada@"), None);
        assert_eq!(domain_of("ada"), None);
    }

    #[test]
    fn email_check_is_loose_but_not_empty() {
        assert!(looks_like_email("ada@example.com"));
        assert!(!looks_like_email("ada"));
        assert!(!looks_like_email("@example.com"));
        assert!(!looks_like_email("ada@"));
        assert!(!looks_like_email("a da@example.com"));
    }

    #[test]
    fn an_input_address_is_normalized_and_bounded() {
        let email: EmailInput = serde_json::from_str("\" Ada@Example.COM\"").unwrap();
        assert_eq!(email.as_str(), "ada@example.com");
        let too_long = format!("\"{}@example.com\"", "a".repeat(250));
        let error = serde_json::from_str::<EmailInput>(&too_long).unwrap_err();
        assert!(error.to_string().contains("at most 254 bytes"), "{error}");
    }

    #[test]
    fn case_and_spaces_do_not_make_a_new_address() {
        assert_eq!(normalize_email("  Ada@Example.COM "), "ada@example.com");
    }
}
