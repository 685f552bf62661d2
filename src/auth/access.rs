//! The rules of access inside one customer account, written once and used by every
//! answer that needs them: the account extractor ([`AccountAccess`]), the live
//! stream's audience ([`Audience`]) and `GET /api/v1/me`.
//!
//! [`AccountAccess`]: super::AccountAccess
//! [`Audience`]: super::audience::Audience

use std::collections::BTreeSet;

use uuid::Uuid;

use super::Caller;
use super::grants;
use super::permissions::{Grant, Permission};
use crate::config::Settings;
use crate::store::{MembershipRow, Store, StoreError};

/// Why a caller gets nothing in an account.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// No membership and no staff role that reaches it (or a credential scoped
    /// to another account): answered as if the account did not exist.
    NoAccess,
    /// The account (or the caller's staff role) demands multi-factor sign-in,
    /// which the caller has not set up.
    MfaRequired,
}

/// What `caller` holds in `account_id`: their membership's grant there (if any)
/// plus their staff role's account permissions; nothing outside the one account a
/// scoped credential names; and nothing while a demanded second factor is missing.
pub fn permissions_in(
    caller: &Caller,
    account_id: Uuid,
    grant: Option<&Grant>,
    account_requires_mfa: bool,
    settings: &Settings,
) -> Result<BTreeSet<Permission>, Refusal> {
    if caller.scoped_account_id().is_some_and(|scoped_to| scoped_to != account_id) {
        return Err(Refusal::NoAccess);
    }
    let permissions = held(caller, grant);
    if permissions.is_empty() {
        return Err(Refusal::NoAccess);
    }
    // Asked only once access is established, so it reveals nothing to outsiders.
    let mfa_demanded =
        (grant.is_some() && account_requires_mfa) || (caller.staff_role.is_some() && settings.auth.require_staff_mfa);
    if mfa_demanded && !caller.second_factor_proven() {
        return Err(Refusal::MfaRequired);
    }
    Ok(permissions)
}

/// What a membership lets its member see when no credential is involved — work
/// done for them in the background, such as notifications: the grant's
/// permissions, or nothing while the account demands a second factor the member
/// has not set up (the same demand [`permissions_in`] makes of a credential).
pub fn permissions_of_member(
    grant: Option<&Grant>,
    account_requires_mfa: bool,
    mfa_enabled: bool,
) -> BTreeSet<Permission> {
    match grant {
        Some(_) if account_requires_mfa && !mfa_enabled => BTreeSet::new(),
        Some(grant) => grant.permissions(),
        None => BTreeSet::new(),
    }
}

/// One of the caller's memberships, with what the rules of access make of it for
/// this credential.
#[derive(Debug, Clone)]
pub struct MemberAccount {
    pub membership: MembershipRow,
    pub grant: Grant,
    /// The permissions in force, or why there are none.
    pub permissions: Result<BTreeSet<Permission>, Refusal>,
}

impl MemberAccount {
    pub fn account_id(&self) -> Uuid {
        self.membership.account_id
    }

    /// Whether this credential may act in the account now.
    pub fn is_open(&self) -> bool {
        self.permissions.is_ok()
    }
}

/// The accounts the caller belongs to that this credential may see at all: a
/// credential scoped to one account sees that one only, and a membership row
/// that does not parse grants nothing. Caller-only routes (`/me`, notifications,
/// exports) start here, so they obey the same rules as the account routes.
pub async fn member_accounts(
    store: &Store,
    caller: &Caller,
    settings: &Settings,
) -> Result<Vec<MemberAccount>, StoreError> {
    let scoped_to = caller.scoped_account_id();
    let memberships = store.memberships_of(caller.user_id).await?;
    Ok(memberships
        .into_iter()
        .filter(|membership| scoped_to.is_none_or(|account_id| account_id == membership.account_id))
        .filter_map(|membership| {
            let grant = grants::grant_of(&membership)?;
            let permissions =
                permissions_in(caller, membership.account_id, Some(&grant), membership.account_requires_mfa, settings);
            Some(MemberAccount { membership, grant, permissions })
        })
        .collect())
}

/// The ids of the accounts this credential may act in now (every rule applied).
pub async fn open_account_ids(store: &Store, caller: &Caller, settings: &Settings) -> Result<Vec<Uuid>, StoreError> {
    let accounts = member_accounts(store, caller, settings).await?;
    Ok(accounts.iter().filter(|account| account.is_open()).map(MemberAccount::account_id).collect())
}

/// Whether `user_id` still holds `permission` in `account_id` through what they
/// are now (their membership and staff role), for work done later in their name
/// (an export built by a job): no credential is involved, so scope and second
/// factor were judged when they asked.
pub async fn still_holds(
    store: &Store,
    user_id: Uuid,
    account_id: Uuid,
    permission: Permission,
) -> Result<bool, StoreError> {
    let grant = store
        .account_access(account_id, user_id)
        .await?
        .and_then(|row| row.membership())
        .and_then(|row| grants::grant_of(&row));
    let staff_role = store.staff_role_of(user_id).await?.as_deref().and_then(super::permissions::StaffRole::parse);
    let mut permissions = grant.as_ref().map(Grant::permissions).unwrap_or_default();
    if let Some(staff_role) = staff_role {
        permissions.extend(staff_role.account_permissions());
    }
    Ok(permissions.contains(&permission))
}

/// The permissions a membership's grant and the caller's staff role add up to,
/// before any second-factor demand (what `GET /api/v1/me` shows).
pub fn held(caller: &Caller, grant: Option<&Grant>) -> BTreeSet<Permission> {
    let mut permissions = grant.map(Grant::permissions).unwrap_or_default();
    if let Some(staff_role) = caller.staff_role {
        permissions.extend(staff_role.account_permissions());
    }
    permissions
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::Credential;
    use crate::auth::permissions::{AccountRole, StaffRole};

    fn caller(staff_role: Option<StaffRole>, mfa_enabled: bool, scoped_to: Option<Uuid>) -> Caller {
        Caller {
            user_id: Uuid::now_v7(),
            email: "someone@example.test".into(),
            display_name: String::new(),
            staff_role,
            credential: Credential::ApiToken { token_id: Uuid::now_v7(), account_id: scoped_to },
            ip_address: None,
            user_agent: None,
            mfa_enabled,
            viewing_as: None,
        }
    }

    #[test]
    fn a_member_holds_their_grant_and_a_scoped_credential_reaches_one_account() {
        let settings = Settings::defaults();
        let (mine, other) = (Uuid::now_v7(), Uuid::now_v7());
        let billing = Grant::Role(AccountRole::Billing);
        let member = caller(None, false, None);
        let held = permissions_in(&member, mine, Some(&billing), false, &settings).unwrap();
        assert_eq!(held, AccountRole::Billing.permissions());
        assert_eq!(permissions_in(&member, other, None, false, &settings), Err(Refusal::NoAccess));
        let scoped = caller(None, false, Some(other));
        assert_eq!(permissions_in(&scoped, mine, Some(&billing), false, &settings), Err(Refusal::NoAccess));
    }

    #[test]
    fn background_work_for_a_member_obeys_the_accounts_second_factor_demand() {
        let viewer = Grant::Role(AccountRole::Viewer);
        assert_eq!(permissions_of_member(Some(&viewer), false, false), AccountRole::Viewer.permissions());
        assert!(permissions_of_member(Some(&viewer), true, false).is_empty());
        assert_eq!(permissions_of_member(Some(&viewer), true, true), AccountRole::Viewer.permissions());
        assert!(permissions_of_member(None, false, true).is_empty());
    }

    #[test]
    fn a_demanded_second_factor_withholds_everything_until_it_is_set_up() {
        let mut settings = Settings::defaults();
        let account = Uuid::now_v7();
        let viewer = Grant::Role(AccountRole::Viewer);
        let without = caller(None, false, None);
        assert_eq!(permissions_in(&without, account, Some(&viewer), true, &settings), Err(Refusal::MfaRequired));
        assert!(permissions_in(&caller(None, true, None), account, Some(&viewer), true, &settings).is_ok());

        settings.auth.require_staff_mfa = true;
        let staff = caller(Some(StaffRole::Support), false, None);
        assert_eq!(permissions_in(&staff, account, None, false, &settings), Err(Refusal::MfaRequired));
        // Even in an account where they are also a member.
        assert_eq!(permissions_in(&staff, account, Some(&viewer), false, &settings), Err(Refusal::MfaRequired));
        let enrolled = caller(Some(StaffRole::Support), true, None);
        let held = permissions_in(&enrolled, account, None, false, &settings).unwrap();
        assert_eq!(held, StaffRole::Support.account_permissions());
    }
}
