//! Who is calling and what they may do: the permission matrix, sessions, API
//! tokens, CSRF protection, login throttling, and the extractors that resolve a
//! request's caller and account.

pub mod permissions;
