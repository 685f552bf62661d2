//! The webhook gateway: deliveries from external systems, verified, stored
//! durably, de-duplicated, and turned into record updates.
//!
//! - [`endpoint`]: an endpoint's scheme, signing secrets (sealed, rotated with a
//!   grace period), limits and source allow-list; a short-lived cache of them.
//! - [`ingress`]: `POST /webhooks/{endpoint_id}`: limits, verification, and the
//!   answer only once the delivery is committed.
//! - [`inbox`]: the group commit all accepted deliveries go through.
//! - [`processor`]: workers applying deliveries through the sync write path.
//! - [`redact`]: what admins may read of a stored delivery.
//!
//! The signature schemes themselves live with the connectors
//! (`portico_connectors::webhook::schemes`), as does each connector's mapping of
//! its events to records.

pub mod endpoint;
pub mod inbox;
pub mod ingress;
pub mod processor;
pub mod redact;

pub use ingress::WebhookGateway;
pub use processor::Processor;
