//! Staff work: accounts, staff, connectors and their runs, the outbox, webhook
//! endpoints, erasure.

pub mod accounts;
pub mod connectors;
pub mod erasure;
pub mod outbox;
pub mod staff;
pub mod webhook_endpoints;
