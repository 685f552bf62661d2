//! Upstream systems for Portico's tests and benchmarks: real HTTP servers on
//! loopback that behave like the APIs they stand for (object shapes, pagination,
//! error objects, 429 with Retry-After), plus injectable faults: 500s, stalls past
//! the client's timeout, and connections cut mid-response.
//!
//! A DNS server answers the TXT records that prove an email domain.
//!
//! Each server also keeps a log the tests assert on, above all whether any request
//! arrived before a Retry-After it had sent had passed.

pub mod dns;
pub mod faults;
pub mod hubspot;
pub mod proxy;
pub mod rest;
pub mod s3;
pub mod signing;
pub mod smtp;
pub mod status;
pub mod stripe;

pub use dns::FakeDns;
pub use faults::{FaultReport, Faults};
pub use hubspot::FakeHubSpot;
pub use proxy::Proxy;
pub use rest::FakeRest;
pub use s3::MotoS3;
pub use smtp::SmtpServer;
pub use stripe::FakeStripe;
