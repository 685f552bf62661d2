//! The permission matrix: every (resource, action) pair Portico checks, and which
//! roles hold it. Defined once, here; the README's table, `GET /api/v1/me` and
//! every authorization check read from these functions.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// A stored record type customers see, the collection it is listed under, and the
/// permission that shows it. The one table every per-type rule reads (views, the
/// dashboard, exports, live events, notifications' recipients).
pub struct PortalRecordType {
    pub record_type: &'static str,
    pub collection: &'static str,
    pub view: Permission,
    /// Listed on its own; a ticket's messages are seen inside their ticket.
    pub top_level: bool,
}

pub const PORTAL_RECORD_TYPES: &[PortalRecordType] = &[
    PortalRecordType {
        record_type: "invoice",
        collection: "invoices",
        view: Permission::InvoicesView,
        top_level: true,
    },
    PortalRecordType {
        record_type: "payment",
        collection: "payments",
        view: Permission::PaymentsView,
        top_level: true,
    },
    // What the invoices bill for: whoever sees the invoices sees the subscriptions.
    PortalRecordType {
        record_type: "subscription",
        collection: "subscriptions",
        view: Permission::InvoicesView,
        top_level: true,
    },
    PortalRecordType {
        record_type: "document",
        collection: "documents",
        view: Permission::DocumentsView,
        top_level: true,
    },
    PortalRecordType { record_type: "ticket", collection: "tickets", view: Permission::TicketsView, top_level: true },
    PortalRecordType {
        record_type: "ticket_message",
        collection: "ticket_messages",
        view: Permission::TicketsView,
        top_level: false,
    },
    PortalRecordType { record_type: "order", collection: "orders", view: Permission::OrdersView, top_level: true },
    PortalRecordType { record_type: "task", collection: "tasks", view: Permission::TasksView, top_level: true },
];

/// One action on one kind of resource inside a customer account.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, ToSchema)]
pub enum Permission {
    #[serde(rename = "invoices.view")]
    InvoicesView,
    #[serde(rename = "invoices.download")]
    InvoicesDownload,
    #[serde(rename = "invoices.pay")]
    InvoicesPay,
    #[serde(rename = "payments.view")]
    PaymentsView,
    #[serde(rename = "documents.view")]
    DocumentsView,
    #[serde(rename = "documents.download")]
    DocumentsDownload,
    #[serde(rename = "documents.upload")]
    DocumentsUpload,
    #[serde(rename = "documents.delete_own")]
    DocumentsDeleteOwn,
    #[serde(rename = "tickets.view")]
    TicketsView,
    #[serde(rename = "tickets.create")]
    TicketsCreate,
    #[serde(rename = "tickets.comment")]
    TicketsComment,
    #[serde(rename = "tickets.close")]
    TicketsClose,
    #[serde(rename = "orders.view")]
    OrdersView,
    #[serde(rename = "tasks.view")]
    TasksView,
    #[serde(rename = "tasks.complete")]
    TasksComplete,
    #[serde(rename = "team.view")]
    TeamView,
    #[serde(rename = "team.invite")]
    TeamInvite,
    #[serde(rename = "team.change_role")]
    TeamChangeRole,
    #[serde(rename = "team.remove")]
    TeamRemove,
    #[serde(rename = "account.edit_settings")]
    AccountEditSettings,
    #[serde(rename = "audit.view")]
    AuditView,
}

impl Permission {
    pub const ALL: &'static [Permission] = &[
        Permission::InvoicesView,
        Permission::InvoicesDownload,
        Permission::InvoicesPay,
        Permission::PaymentsView,
        Permission::DocumentsView,
        Permission::DocumentsDownload,
        Permission::DocumentsUpload,
        Permission::DocumentsDeleteOwn,
        Permission::TicketsView,
        Permission::TicketsCreate,
        Permission::TicketsComment,
        Permission::TicketsClose,
        Permission::OrdersView,
        Permission::TasksView,
        Permission::TasksComplete,
        Permission::TeamView,
        Permission::TeamInvite,
        Permission::TeamChangeRole,
        Permission::TeamRemove,
        Permission::AccountEditSettings,
        Permission::AuditView,
    ];

    /// Whether the permission only reads.
    pub fn is_read_only(self) -> bool {
        matches!(
            self,
            Permission::InvoicesView
                | Permission::InvoicesDownload
                | Permission::PaymentsView
                | Permission::DocumentsView
                | Permission::DocumentsDownload
                | Permission::TicketsView
                | Permission::OrdersView
                | Permission::TasksView
                | Permission::TeamView
                | Permission::AuditView
        )
    }

    /// The permission to see records of a stored type (`invoice`, `ticket_message`,
    /// ...); `None` for types no portal user sees (contacts).
    pub fn to_view(record_type: &str) -> Option<Permission> {
        PORTAL_RECORD_TYPES.iter().find(|portal| portal.record_type == record_type).map(|portal| portal.view)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Permission::InvoicesView => "invoices.view",
            Permission::InvoicesDownload => "invoices.download",
            Permission::InvoicesPay => "invoices.pay",
            Permission::PaymentsView => "payments.view",
            Permission::DocumentsView => "documents.view",
            Permission::DocumentsDownload => "documents.download",
            Permission::DocumentsUpload => "documents.upload",
            Permission::DocumentsDeleteOwn => "documents.delete_own",
            Permission::TicketsView => "tickets.view",
            Permission::TicketsCreate => "tickets.create",
            Permission::TicketsComment => "tickets.comment",
            Permission::TicketsClose => "tickets.close",
            Permission::OrdersView => "orders.view",
            Permission::TasksView => "tasks.view",
            Permission::TasksComplete => "tasks.complete",
            Permission::TeamView => "team.view",
            Permission::TeamInvite => "team.invite",
            Permission::TeamChangeRole => "team.change_role",
            Permission::TeamRemove => "team.remove",
            Permission::AccountEditSettings => "account.edit_settings",
            Permission::AuditView => "audit.view",
        }
    }
}

/// A customer user's role inside one account.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum AccountRole {
    Owner,
    Admin,
    Billing,
    Member,
    Viewer,
}

impl AccountRole {
    pub const ALL: &'static [AccountRole] =
        &[AccountRole::Owner, AccountRole::Admin, AccountRole::Billing, AccountRole::Member, AccountRole::Viewer];

    pub fn as_str(self) -> &'static str {
        match self {
            AccountRole::Owner => "owner",
            AccountRole::Admin => "admin",
            AccountRole::Billing => "billing",
            AccountRole::Member => "member",
            AccountRole::Viewer => "viewer",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        AccountRole::ALL.iter().copied().find(|role| role.as_str() == text)
    }

    /// The matrix, by role.
    pub fn permissions(self) -> BTreeSet<Permission> {
        use Permission::*;
        let granted: &[Permission] = match self {
            AccountRole::Owner => Permission::ALL,
            // Everything but the account's own settings, which stay with owners.
            AccountRole::Admin => &[
                InvoicesView,
                InvoicesDownload,
                InvoicesPay,
                PaymentsView,
                DocumentsView,
                DocumentsDownload,
                DocumentsUpload,
                DocumentsDeleteOwn,
                TicketsView,
                TicketsCreate,
                TicketsComment,
                TicketsClose,
                OrdersView,
                TasksView,
                TasksComplete,
                TeamView,
                TeamInvite,
                TeamChangeRole,
                TeamRemove,
                AuditView,
            ],
            AccountRole::Billing => &[
                InvoicesView,
                InvoicesDownload,
                InvoicesPay,
                PaymentsView,
                OrdersView,
                DocumentsView,
                DocumentsDownload,
            ],
            AccountRole::Member => &[
                OrdersView,
                DocumentsView,
                DocumentsDownload,
                DocumentsUpload,
                DocumentsDeleteOwn,
                TicketsView,
                TicketsCreate,
                TicketsComment,
                TicketsClose,
                TasksView,
                TasksComplete,
            ],
            AccountRole::Viewer => &[OrdersView, DocumentsView, DocumentsDownload, TicketsView, TasksView],
        };
        granted.iter().copied().collect()
    }
}

/// Kinds of records a partner membership can be limited to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum RecordType {
    Invoices,
    Payments,
    Documents,
    Tickets,
    Orders,
    Tasks,
}

impl RecordType {
    pub const ALL: &'static [RecordType] = &[
        RecordType::Invoices,
        RecordType::Payments,
        RecordType::Documents,
        RecordType::Tickets,
        RecordType::Orders,
        RecordType::Tasks,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            RecordType::Invoices => "invoices",
            RecordType::Payments => "payments",
            RecordType::Documents => "documents",
            RecordType::Tickets => "tickets",
            RecordType::Orders => "orders",
            RecordType::Tasks => "tasks",
        }
    }

    /// What a partner may do with records of this type: what a member may.
    pub fn permissions(self) -> &'static [Permission] {
        use Permission::*;
        match self {
            RecordType::Invoices => &[InvoicesView, InvoicesDownload],
            RecordType::Payments => &[PaymentsView],
            RecordType::Documents => &[DocumentsView, DocumentsDownload, DocumentsUpload, DocumentsDeleteOwn],
            RecordType::Tickets => &[TicketsView, TicketsCreate, TicketsComment, TicketsClose],
            RecordType::Orders => &[OrdersView],
            RecordType::Tasks => &[TasksView, TasksComplete],
        }
    }
}

/// What one membership grants inside its account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Grant {
    /// One of the built-in roles.
    Role(AccountRole),
    /// A role the account defined as a set of permissions.
    Custom { role_id: uuid::Uuid, name: String, permissions: BTreeSet<Permission> },
    /// An outside party limited to some kinds of records; never team, audit or settings.
    Partner { record_types: BTreeSet<RecordType> },
}

impl Grant {
    pub fn permissions(&self) -> BTreeSet<Permission> {
        match self {
            Grant::Role(role) => role.permissions(),
            Grant::Custom { permissions, .. } => permissions.clone(),
            Grant::Partner { record_types } => {
                record_types.iter().flat_map(|record_type| record_type.permissions().iter().copied()).collect()
            }
        }
    }

    /// The role name stored on the membership: a built-in name, `custom` or `partner`.
    pub fn role_name(&self) -> &'static str {
        match self {
            Grant::Role(role) => role.as_str(),
            Grant::Custom { .. } => "custom",
            Grant::Partner { .. } => "partner",
        }
    }

    pub fn is_owner(&self) -> bool {
        *self == Grant::Role(AccountRole::Owner)
    }
}

/// A role of the business's own staff, across all accounts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum StaffRole {
    Admin,
    Support,
    Auditor,
}

impl StaffRole {
    pub fn as_str(self) -> &'static str {
        match self {
            StaffRole::Admin => "admin",
            StaffRole::Support => "support",
            StaffRole::Auditor => "auditor",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        [StaffRole::Admin, StaffRole::Support, StaffRole::Auditor].into_iter().find(|role| role.as_str() == text)
    }

    /// What this staff role may do inside any customer account.
    pub fn account_permissions(self) -> BTreeSet<Permission> {
        match self {
            StaffRole::Admin => Permission::ALL.iter().copied().collect(),
            // Reads every account's portal data and works its tickets; changes nothing else.
            StaffRole::Support => Permission::ALL
                .iter()
                .copied()
                .filter(|permission| permission.is_read_only() || permission.as_str().starts_with("tickets."))
                .collect(),
            StaffRole::Auditor => [Permission::AuditView].into_iter().collect(),
        }
    }

    pub fn staff_permissions(self) -> BTreeSet<StaffPermission> {
        use StaffPermission::*;
        let granted: &[StaffPermission] = match self {
            StaffRole::Admin => StaffPermission::ALL,
            StaffRole::Support => &[AccountsView, AuditViewAll],
            StaffRole::Auditor => &[AuditViewAll],
        };
        granted.iter().copied().collect()
    }
}

/// Actions outside any one account.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, ToSchema)]
pub enum StaffPermission {
    #[serde(rename = "accounts.view")]
    AccountsView,
    #[serde(rename = "accounts.manage")]
    AccountsManage,
    #[serde(rename = "staff.manage")]
    StaffManage,
    #[serde(rename = "connectors.manage")]
    ConnectorsManage,
    #[serde(rename = "audit.view_all")]
    AuditViewAll,
}

impl StaffPermission {
    pub const ALL: &'static [StaffPermission] = &[
        StaffPermission::AccountsView,
        StaffPermission::AccountsManage,
        StaffPermission::StaffManage,
        StaffPermission::ConnectorsManage,
        StaffPermission::AuditViewAll,
    ];
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serialized_names_match_as_str() {
        for permission in Permission::ALL {
            assert_eq!(serde_json::to_value(permission).unwrap(), permission.as_str());
        }
    }

    #[test]
    fn owner_holds_everything_and_every_role_is_a_subset() {
        let all: BTreeSet<_> = Permission::ALL.iter().copied().collect();
        assert_eq!(AccountRole::Owner.permissions(), all);
        for role in AccountRole::ALL {
            assert!(role.permissions().is_subset(&all));
        }
    }

    #[test]
    fn partners_get_only_their_record_types_and_never_team_audit_or_settings() {
        let partner =
            Grant::Partner { record_types: [RecordType::Documents, RecordType::Tickets].into_iter().collect() };
        let permissions = partner.permissions();
        assert!(permissions.contains(&Permission::DocumentsUpload));
        assert!(permissions.contains(&Permission::TicketsComment));
        assert!(!permissions.contains(&Permission::InvoicesView));
        assert!(permissions.iter().all(|p| !p.as_str().starts_with("team.") && !p.as_str().starts_with("audit.")));
        assert!(!permissions.contains(&Permission::AccountEditSettings));
    }

    #[test]
    fn viewer_only_reads() {
        assert!(AccountRole::Viewer.permissions().iter().all(|permission| permission.is_read_only()));
    }

    #[test]
    fn only_owners_edit_account_settings() {
        for role in AccountRole::ALL {
            let holds = role.permissions().contains(&Permission::AccountEditSettings);
            assert_eq!(holds, *role == AccountRole::Owner, "{role:?}");
        }
    }

    #[test]
    fn billing_is_the_only_non_admin_role_with_invoices() {
        for role in [AccountRole::Member, AccountRole::Viewer] {
            assert!(!role.permissions().contains(&Permission::InvoicesView), "{role:?}");
        }
        assert!(AccountRole::Billing.permissions().contains(&Permission::InvoicesPay));
    }

    #[test]
    fn support_reads_and_works_tickets_but_manages_nothing_else() {
        let support = StaffRole::Support.account_permissions();
        assert!(support.contains(&Permission::InvoicesView));
        assert!(support.contains(&Permission::TicketsClose));
        assert!(!support.contains(&Permission::TeamInvite));
        assert!(!support.contains(&Permission::InvoicesPay));
        assert!(!StaffRole::Support.staff_permissions().contains(&StaffPermission::AccountsManage));
    }
}

#[cfg(test)]
mod readme_tests {
    //! The README's tables are documentation people rely on; they must say what the code does.

    use super::*;

    fn table_between<'a>(readme: &'a str, start: &str, end: &str) -> Vec<Vec<&'a str>> {
        let section = readme.split(start).nth(1).and_then(|rest| rest.split(end).next()).expect("marked table");
        section
            .lines()
            .filter(|line| line.starts_with("| `"))
            .map(|line| line.trim_matches('|').split('|').map(str::trim).collect())
            .collect()
    }

    fn name(cell: &str) -> &str {
        cell.trim_matches('`')
    }

    #[test]
    fn readme_permission_matrix_matches_the_code() {
        let readme = include_str!("../../README.md");
        let rows = table_between(readme, "<!-- permission-matrix:start -->", "<!-- permission-matrix:end -->");
        assert_eq!(rows.len(), Permission::ALL.len(), "one row per permission");
        let holders: Vec<BTreeSet<Permission>> = AccountRole::ALL
            .iter()
            .map(|role| role.permissions())
            .chain([StaffRole::Admin, StaffRole::Support, StaffRole::Auditor].map(StaffRole::account_permissions))
            .collect();
        for (row, permission) in rows.iter().zip(Permission::ALL) {
            assert_eq!(name(row[0]), permission.as_str(), "rows in Permission::ALL order");
            for (cell, granted) in row[1..].iter().zip(&holders) {
                assert_eq!(*cell == "✓", granted.contains(permission), "README cell for {}", permission.as_str());
            }
        }
    }

    #[test]
    fn readme_staff_permissions_match_the_code() {
        let readme = include_str!("../../README.md");
        let rows = table_between(readme, "<!-- staff-permissions:start -->", "<!-- staff-permissions:end -->");
        assert_eq!(rows.len(), StaffPermission::ALL.len());
        for (row, permission) in rows.iter().zip(StaffPermission::ALL) {
            assert_eq!(serde_json::to_value(permission).unwrap(), name(row[0]));
            for (cell, role) in row[1..].iter().zip([StaffRole::Admin, StaffRole::Support, StaffRole::Auditor]) {
                assert_eq!(*cell == "✓", role.staff_permissions().contains(permission), "{}", name(row[0]));
            }
        }
    }
}
