//! Portico: an integration-sync gateway and customer portal in one service.
//!
//! Start reading at [`startup::Application`]. The folders map the architecture:
//! `config/` (layered settings, master key), `core/` (cryptography, passwords),
//! `store/` (the database, one module per engine), `jobs/` (the background queue and
//! its job types), `sync/` (the sync engine that runs connectors from the
//! `portico-connectors` crate), `server/` (what every HTTP handler shares: state,
//! problem+json errors, extractors), `api/` (the JSON API, grouped by whom it
//! serves), `routes.rs` (everything under one middleware stack).

pub mod api;
pub mod audit;
pub mod auth;
pub mod cli;
pub mod config;
pub mod core;
pub mod demo;
pub mod events;
pub mod exports;
pub mod jobs;
pub mod mail;
pub mod notifications;
pub mod routes;
pub mod server;
pub mod startup;
pub mod store;
pub mod supervisor;
pub mod sync;
pub mod telemetry;
pub mod web;
pub mod webhooks;
