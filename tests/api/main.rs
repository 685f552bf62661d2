//! The integration suite: the real service over HTTP and the real `portico` binary.
//! Runs on SQLite by default, on PostgreSQL when `TEST_DATABASE_URL` is set.

mod abuse;
mod authorization;
mod browser;
mod cli;
mod compliance;
mod compliance_runs;
mod config;
mod credentials;
mod data_rights;
mod demo;
mod email_codes;
mod errors;
mod files;
mod helpers;
mod hubspot;
mod identity;
mod jobs;
mod live_events;
mod mfa;
mod notifications;
mod operations;
mod outbound;
mod pages;
mod pages_matrix;
mod portal_lists;
mod recovery;
mod rest;
mod scope;
mod sso;
mod sync;
mod sync_recovery;
mod team;
mod webhook_crash;
mod webhook_gateway;
mod webhooks;
