//! Who is calling: signing in and out, one's own profile and credentials, second
//! factors, recovery, single sign-on.

pub mod auth;
pub mod credentials;
pub mod email_codes;
pub mod me;
pub mod mfa;
pub mod profile;
pub mod recovery;
pub mod sso;
