//! Live updates: every record and access change lands in the database's change
//! feed (written by triggers, in the change's own transaction), each server process
//! reads the feed in order ([`ChangeFeed`]) and fans it out to its open event
//! streams, which pass on only what their caller may see
//! (`http/events.rs`, filtered by `auth::audience`).

pub mod feed;

pub use feed::{ChangeFeed, FeedEntry};
