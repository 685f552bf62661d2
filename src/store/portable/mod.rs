//! SQL that is the same on both engines, written once and compiled for each.
//!
//! With ids bound as `Uuid` (PostgreSQL `uuid`, SQLite 16-byte blob), times as
//! `DateTime<Utc>` and `$n` placeholders, most statements read the same on SQLite and
//! PostgreSQL. [`portable_queries!`] stamps each such method onto `SqliteStore` and
//! `PostgresStore` and forwards it from [`Store`](super::Store). Statements whose
//! dialects differ (upserts, locking, `RETURNING` quirks) live in `sqlite/` and
//! `postgres/` instead.

/// SQLite caution for everything here: a transaction that reads before it writes can
/// fail at once with "database is locked" (its snapshot went stale when another
/// connection wrote; the busy timeout does not help). Write first (an `UPDATE ...`
/// that claims the row, `DELETE ... RETURNING`), or take the engine's write lock up
/// front (`begin_account_write`, `begin_audit_append`).
///
/// Defines store methods once for both engines, plus the `Store` method that
/// dispatches to them. Each method takes `&self` and plain named arguments, and
/// has the visibility written on it: methods that take a bare account id are
/// `pub(in crate::store)`, reached from outside only through
/// [`AccountData`](crate::store::AccountData), which a permission check hands out.
macro_rules! portable_queries {
    ($(
        $(#[$meta:meta])*
        $vis:vis async fn $name:ident(&$self:ident $(, $arg:ident : $arg_type:ty)* $(,)?) -> $output:ty $body:block
    )*) => {
        impl crate::store::SqliteStore {
            $( $(#[$meta])* $vis async fn $name(&$self $(, $arg: $arg_type)*) -> $output $body )*
        }
        impl crate::store::PostgresStore {
            $( $(#[$meta])* $vis async fn $name(&$self $(, $arg: $arg_type)*) -> $output $body )*
        }
        impl crate::store::Store {
            $(
                $(#[$meta])*
                $vis async fn $name(&$self $(, $arg: $arg_type)*) -> $output {
                    match $self {
                        crate::store::Store::Sqlite(store) => store.$name($($arg),*).await,
                        crate::store::Store::Postgres(store) => store.$name($($arg),*).await,
                    }
                }
            )*
        }
    };
}

mod accounts;
mod api_tokens;
mod audit;
mod change_feed;
mod connectors;
mod dashboard;
mod erasure;
mod exports;
mod housekeeping;
mod invitations;
mod mfa;
mod notifications;
mod outbox;
mod probes;
mod profiles;
mod records;
mod reports;
mod roles;
mod seed;
mod sessions;
pub mod sign_in_codes;
mod sso;
mod user_tokens;
mod users;
mod webhooks;

pub use accounts::MemberChange;
pub use change_feed::ChangeFeedRow;
pub use dashboard::CurrencyTotals;
pub use erasure::Erasure;
pub use exports::ExportRow;
pub use notifications::{FailedMail, NewNotification, NotificationMail, NotificationRow, Recipient};
pub use profiles::{ProfileRow, UserLabel};
pub use records::ACCOUNT_RECORD_SELECT;
pub use records::RECORD_COLUMNS;
pub use reports::{ActivityTotals, AdoptionRow};
pub use seed::{SeedAccount, SeedBatch, SeedRecord};
pub use sessions::{LoginFailureCounts, PasswordChanged};
pub use user_tokens::EmailChanged;
pub use users::{StaffMember, StaffRoleChange};
