//! Who is calling and what they may do: the permission matrix, sessions, CSRF
//! protection, sign-in throttling, and the extractors that resolve a request's
//! caller and account.

pub mod access;
pub mod audience;
pub mod caller;
pub mod csrf;
pub mod domain_proof;
pub mod grants;
pub mod oidc;
pub mod permissions;
pub mod rate;
pub mod session;
pub mod throttle;
pub mod tokens;
pub mod usage;
pub mod view_as;

pub use caller::{AccountAccess, AccountScope, Caller, ClientInfo, Credential, StaffCaller, StaffScope};
