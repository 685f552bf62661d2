//! Security primitives shared by every part of the service.

pub mod crypto;
pub mod email;
pub mod forwarded;
pub mod outbound;
pub mod password;
pub mod text;
pub mod totp;
