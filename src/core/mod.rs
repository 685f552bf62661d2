//! Security primitives shared by every part of the service.

pub mod crypto;
pub mod email;
pub mod forwarded;
pub mod outbound;
pub mod password;
pub mod text;
pub mod totp;

/// `error: cause: cause's cause`, for logs and for the failure reasons admins read.
pub fn error_chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut chain = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        chain.push_str(": ");
        chain.push_str(&cause.to_string());
        source = cause.source();
    }
    chain
}
