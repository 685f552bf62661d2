//! Email addresses as Portico keeps them: trimmed and lower-cased, so one person
//! has one account whatever case they type.

pub fn normalize_email(email: &str) -> String {
    email.trim().to_lowercase()
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn email_check_is_loose_but_not_empty() {
        assert!(looks_like_email("ada@example.com"));
        assert!(!looks_like_email("ada"));
        assert!(!looks_like_email("@example.com"));
        assert!(!looks_like_email("ada@"));
        assert!(!looks_like_email("a da@example.com"));
    }

    #[test]
    fn case_and_spaces_do_not_make_a_new_address() {
        assert_eq!(normalize_email("  Ada@Example.COM "), "ada@example.com");
    }
}
