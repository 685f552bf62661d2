//! What a caller may see across all their accounts at once, for answers that span
//! accounts (the live event stream), by the same rules as one account's answers
//! ([`access::permissions_in`]): a membership's grant plus the staff role's account
//! permissions, nothing outside the one account a scoped credential names, and
//! nothing of an account that demands multi-factor sign-in from a caller without it.

use std::collections::{BTreeSet, HashMap};

use uuid::Uuid;

use super::Caller;
use super::access;
use super::grants;
use super::permissions::{PORTAL_RECORD_TYPES, Permission};
use crate::config::Settings;
use crate::store::{Store, StoreError};

#[derive(Debug, Clone, Default)]
pub struct Audience {
    /// Per account the caller is a member of: what the membership grants there.
    accounts: HashMap<Uuid, BTreeSet<Permission>>,
    /// What the staff role grants in every account.
    everywhere: BTreeSet<Permission>,
}

impl Audience {
    pub async fn of(store: &Store, settings: &Settings, caller: &Caller) -> Result<Self, StoreError> {
        let accounts = store
            .memberships_of(caller.user_id)
            .await?
            .into_iter()
            .filter_map(|membership| {
                let grant = grants::grant_of(&membership)?;
                let (account_id, requires_mfa) = (membership.account_id, membership.account_requires_mfa);
                let permissions = access::permissions_in(caller, account_id, Some(&grant), requires_mfa, settings);
                Some((account_id, permissions.ok()?))
            })
            .collect();
        // What the staff role reaches in accounts the caller is no member of
        // (scoped credentials never carry a staff role: see `Caller`).
        let everywhere = match caller.staff_role {
            Some(_) => access::permissions_in(caller, Uuid::nil(), None, false, settings).unwrap_or_default(),
            None => BTreeSet::new(),
        };
        Ok(Audience { accounts, everywhere })
    }

    /// Whether the caller may see records of `record_type` in `account_id`.
    pub fn may_see(&self, account_id: Uuid, record_type: &str) -> bool {
        let Some(needed) = Permission::to_view(record_type) else { return false };
        self.everywhere.contains(&needed) || self.accounts.get(&account_id).is_some_and(|held| held.contains(&needed))
    }

    /// The accounts whose records the caller may see some of; `None` for every account.
    pub fn account_ids(&self) -> Option<Vec<Uuid>> {
        let sees_records =
            |held: &BTreeSet<Permission>| PORTAL_RECORD_TYPES.iter().any(|portal| held.contains(&portal.view));
        if sees_records(&self.everywhere) {
            return None;
        }
        Some(self.accounts.iter().filter(|(_, held)| sees_records(held)).map(|(account_id, _)| *account_id).collect())
    }

    /// Whether an access change in `account_id` (for everyone there when `user_id`
    /// is `None`) may concern this caller.
    pub fn concerns(&self, caller_id: Uuid, account_id: Option<Uuid>, user_id: Option<Uuid>) -> bool {
        match (user_id, account_id) {
            (Some(user_id), _) => user_id == caller_id,
            (None, Some(account_id)) => self.accounts.contains_key(&account_id),
            (None, None) => true,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn audience(accounts: &[(Uuid, &[Permission])], everywhere: &[Permission]) -> Audience {
        Audience {
            accounts: accounts.iter().map(|(id, held)| (*id, held.iter().copied().collect())).collect(),
            everywhere: everywhere.iter().copied().collect(),
        }
    }

    #[test]
    fn records_are_visible_only_with_their_view_permission_in_their_account() {
        let (mine, other) = (Uuid::now_v7(), Uuid::now_v7());
        let billing = audience(&[(mine, &[Permission::InvoicesView])], &[]);
        assert!(billing.may_see(mine, "invoice"));
        assert!(!billing.may_see(mine, "ticket"));
        assert!(!billing.may_see(other, "invoice"));
        assert!(!billing.may_see(mine, "contact"), "contacts are never shown");
        assert_eq!(billing.account_ids(), Some(vec![mine]));

        let support = audience(&[], &[Permission::TicketsView]);
        assert!(support.may_see(other, "ticket_message"));
        assert_eq!(support.account_ids(), None);

        let team_only = audience(&[(mine, &[Permission::TeamView])], &[]);
        assert_eq!(team_only.account_ids(), Some(vec![]));
    }

    #[test]
    fn access_changes_concern_the_user_or_their_accounts() {
        let (me, someone, mine, other) = (Uuid::now_v7(), Uuid::now_v7(), Uuid::now_v7(), Uuid::now_v7());
        let member = audience(&[(mine, &[Permission::TicketsView])], &[]);
        assert!(member.concerns(me, Some(other), Some(me)));
        assert!(!member.concerns(me, Some(mine), Some(someone)));
        assert!(member.concerns(me, Some(mine), None));
        assert!(!member.concerns(me, Some(other), None));
    }
}
