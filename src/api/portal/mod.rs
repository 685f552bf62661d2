//! An account's data as its members see it, and its team.

pub mod audit;
pub mod dashboard;
pub mod documents;
pub mod events;
pub mod exports;
pub mod history;
pub mod invitations;
pub mod invoices;
pub mod members;
pub mod notifications;
pub mod record_writes;
pub mod records;
pub mod roles;
pub mod tasks;
pub mod tickets;
