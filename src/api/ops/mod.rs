//! Operations: health, metrics, the OpenAPI document.

pub mod health;
pub mod metrics;
pub mod openapi;
