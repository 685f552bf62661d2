//! From stored membership rows to what they grant. A row that does not parse
//! (an unknown role or permission name) grants nothing: failing closed.

use std::collections::BTreeSet;

use serde::de::DeserializeOwned;

use super::permissions::{AccountRole, Grant};
use crate::store::MembershipRow;

/// Parses names like `"invoices.view"` or `"documents"` through their serde form,
/// so the spelling lives in one place (the enums' attributes).
pub fn parse_names<T: DeserializeOwned + Ord>(names: &[String]) -> Option<BTreeSet<T>> {
    names.iter().map(|name| serde_json::from_value(serde_json::Value::String(name.clone())).ok()).collect()
}

pub fn grant_of(row: &MembershipRow) -> Option<Grant> {
    match row.role.as_str() {
        "custom" => Some(Grant::Custom {
            role_id: row.custom_role_id?,
            name: row.custom_role_name.clone()?,
            permissions: parse_names(&row.custom_permissions.as_ref()?.0)?,
        }),
        "partner" => Some(Grant::Partner { record_types: parse_names(&row.record_types.as_ref()?.0)? }),
        builtin => AccountRole::parse(builtin).map(Grant::Role),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::permissions::{Permission, RecordType};

    fn row(role: &str, custom: Option<Vec<&str>>, record_types: Option<Vec<&str>>) -> MembershipRow {
        let names = |list: Vec<&str>| sqlx::types::Json(list.into_iter().map(String::from).collect());
        MembershipRow {
            account_id: uuid::Uuid::nil(),
            account_name: "A".into(),
            role: role.into(),
            custom_role_id: custom.as_ref().map(|_| uuid::Uuid::nil()),
            custom_role_name: custom.as_ref().map(|_| "Accounts payable".into()),
            custom_permissions: custom.map(names),
            record_types: record_types.map(names),
            account_requires_mfa: false,
        }
    }

    #[test]
    fn rows_become_grants_and_bad_rows_grant_nothing() {
        assert_eq!(grant_of(&row("billing", None, None)), Some(Grant::Role(AccountRole::Billing)));
        let custom = grant_of(&row("custom", Some(vec!["invoices.view", "payments.view"]), None)).unwrap();
        assert_eq!(custom.permissions(), [Permission::InvoicesView, Permission::PaymentsView].into_iter().collect());
        let partner = grant_of(&row("partner", None, Some(vec!["tickets"]))).unwrap();
        assert_eq!(partner, Grant::Partner { record_types: [RecordType::Tickets].into_iter().collect() });
        assert_eq!(grant_of(&row("custom", Some(vec!["invoices.view", "everything"]), None)), None);
        assert_eq!(grant_of(&row("partner", None, None)), None);
        assert_eq!(grant_of(&row("superuser", None, None)), None);
    }
}
