//! An account's team: roles change, members leave, invitations are managed, and
//! an account never loses its last owner.

use portico::auth::permissions::StaffRole;
use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::spawn_app;

async fn body(response: reqwest::Response) -> Value {
    response.json().await.unwrap()
}

#[tokio::test]
async fn roles_change_members_leave_and_the_last_owner_stays() {
    let app = spawn_app().await;
    let staff = app.staff(StaffRole::Admin).await;
    let account = app.create_account(&staff, "Team").await;
    let owner = app.member(&staff, account, "owner").await;
    let admin = app.member(&owner, account, "admin").await;
    let viewer = app.member(&owner, account, "viewer").await;
    let member_path = |user: &crate::helpers::Session| format!("/api/v1/accounts/{account}/members/{}", user.user_id);
    let set_role = |actor, user, role: &'static str| {
        app.request(Method::PATCH, &member_path(user), Some(actor)).json(&json!({ "role": role })).send()
    };

    // An admin manages ordinary roles but cannot make owners.
    assert_eq!(set_role(&admin, &viewer, "member").await.unwrap().status(), 204);
    assert_eq!(set_role(&admin, &viewer, "owner").await.unwrap().status(), 403);
    // The sole owner cannot step down or be removed.
    let demote = set_role(&owner, &owner, "admin").await.unwrap();
    assert_eq!(demote.status(), 409);
    assert_eq!(body(demote).await["code"], "conflict");
    let remove_owner = app.request(Method::DELETE, &member_path(&owner), Some(&owner)).send().await.unwrap();
    assert_eq!(remove_owner.status(), 409);
    // With a second owner, the first may step down.
    assert_eq!(set_role(&owner, &admin, "owner").await.unwrap().status(), 204);
    assert_eq!(set_role(&owner, &owner, "admin").await.unwrap().status(), 204);

    // A removed member loses the account entirely: 404, as if it never existed.
    let removed = app.request(Method::DELETE, &member_path(&viewer), Some(&admin)).send().await.unwrap();
    assert_eq!(removed.status(), 204);
    let after = app.request(Method::GET, &format!("/api/v1/accounts/{account}"), Some(&viewer)).send().await.unwrap();
    assert_eq!(after.status(), 404);

    let members = body(
        app.request(Method::GET, &format!("/api/v1/accounts/{account}/members"), Some(&admin)).send().await.unwrap(),
    )
    .await;
    let roles: Vec<(&str, &str)> = members
        .as_array()
        .unwrap()
        .iter()
        .map(|m| (m["email"].as_str().unwrap(), m["role"].as_str().unwrap()))
        .collect();
    assert!(roles.contains(&(owner.email.as_str(), "admin")));
    assert!(roles.contains(&(admin.email.as_str(), "owner")));
    assert_eq!(roles.len(), 2);
}

#[tokio::test]
async fn invitations_are_listed_revoked_and_resent() {
    let app = spawn_app().await;
    let staff = app.staff(StaffRole::Admin).await;
    let account = app.create_account(&staff, "Invites").await;
    let owner = app.member(&staff, account, "owner").await;
    let invite = |email: &'static str| {
        app.request(Method::POST, &format!("/api/v1/accounts/{account}/invitations"), Some(&owner))
            .json(&json!({ "email": email, "role": "member" }))
            .send()
    };
    let first = body(invite("first@example.com").await.unwrap()).await;
    let second = body(invite("second@example.com").await.unwrap()).await;

    let pending = body(
        app.request(Method::GET, &format!("/api/v1/accounts/{account}/invitations"), Some(&owner))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(pending.as_array().unwrap().len(), 2);
    assert!(!pending.to_string().contains(first["token"].as_str().unwrap()), "links are never listed");

    let revoke_path = format!("/api/v1/accounts/{account}/invitations/{}", first["invitation_id"].as_str().unwrap());
    assert_eq!(app.request(Method::DELETE, &revoke_path, Some(&owner)).send().await.unwrap().status(), 204);
    assert_eq!(app.request(Method::DELETE, &revoke_path, Some(&owner)).send().await.unwrap().status(), 404);

    let resend_path =
        format!("/api/v1/accounts/{account}/invitations/{}/resend", second["invitation_id"].as_str().unwrap());
    let resent = app.request(Method::POST, &resend_path, Some(&owner)).send().await.unwrap();
    assert_eq!(resent.status(), 200);
    let resent = body(resent).await;
    assert_ne!(resent["token"], second["token"]);

    let accept = |token: &Value| {
        app.request(Method::POST, "/api/v1/invitations/accept", None)
            .json(&json!({ "token": token, "password": "an entirely fresh passphrase", "display_name": "Invitee" }))
            .send()
    };
    assert_eq!(accept(&first["token"]).await.unwrap().status(), 404, "revoked");
    assert_eq!(accept(&second["token"]).await.unwrap().status(), 404, "replaced by the resent link");
    assert_eq!(accept(&resent["token"]).await.unwrap().status(), 201);
    let pending = body(
        app.request(Method::GET, &format!("/api/v1/accounts/{account}/invitations"), Some(&owner))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(pending.as_array().unwrap().len(), 0);
}

#[tokio::test]
async fn a_staff_admin_invites_staff_with_a_role() {
    let app = spawn_app().await;
    let admin = app.staff(StaffRole::Admin).await;
    let invited = app
        .request(Method::POST, "/api/v1/staff/invitations", Some(&admin))
        .json(&json!({ "email": "New.Auditor@Example.com", "role": "auditor" }))
        .send()
        .await
        .unwrap();
    assert_eq!(invited.status(), 201);
    let invited = body(invited).await;
    let accepted = app
        .request(Method::POST, "/api/v1/invitations/accept", None)
        .json(
            &json!({ "token": invited["token"], "password": "auditing all the things", "display_name": "Ava Auditor" }),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(accepted.status(), 201);
    let auditor = app.sign_in("new.auditor@example.com", "auditing all the things").await;
    let me = body(app.request(Method::GET, "/api/v1/me", Some(&auditor)).send().await.unwrap()).await;
    assert_eq!(me["staff_role"], "auditor");
    assert_eq!(me["staff_permissions"], json!(["audit.view_all"]));
    assert_eq!(app.request(Method::GET, "/api/v1/audit-events", Some(&auditor)).send().await.unwrap().status(), 200);
    assert_eq!(app.request(Method::GET, "/api/v1/accounts", Some(&auditor)).send().await.unwrap().status(), 403);
}

/// The first (only) account in the user's `/me`.
async fn my_account(app: &crate::helpers::TestApp, session: &crate::helpers::Session) -> Value {
    let me = body(app.request(Method::GET, "/api/v1/me", Some(session)).send().await.unwrap()).await;
    me["accounts"][0].clone()
}

#[tokio::test]
async fn custom_roles_and_partners_grant_exactly_what_they_name() {
    let app = spawn_app().await;
    let staff = app.staff(StaffRole::Admin).await;
    let account = app.create_account(&staff, "Roles").await;
    let owner = app.member(&staff, account, "owner").await;
    let admin = app.member(&owner, account, "admin").await;
    let accountant = app.member(&owner, account, "viewer").await;
    let partner = app.member(&owner, account, "viewer").await;
    let roles_path = format!("/api/v1/accounts/{account}/roles");
    let define = |actor, name: &'static str, permissions: Value| {
        app.request(Method::POST, &roles_path, Some(actor))
            .json(&json!({ "name": name, "permissions": permissions }))
            .send()
    };

    // An admin cannot smuggle an owner-only permission into a role.
    let escalation = define(&admin, "Settings", json!(["account.edit_settings"])).await.unwrap();
    assert_eq!(escalation.status(), 403);
    assert_eq!(define(&admin, "Empty", json!([])).await.unwrap().status(), 422);
    assert_eq!(define(&admin, "Bogus", json!(["invoices.steal"])).await.unwrap().status(), 422);
    let created =
        define(&admin, "Accounts payable", json!(["invoices.view", "invoices.pay", "payments.view"])).await.unwrap();
    assert_eq!(created.status(), 201);
    let role_id = body(created).await["role_id"].as_str().unwrap().to_owned();
    assert_eq!(define(&owner, "Accounts payable", json!(["invoices.view"])).await.unwrap().status(), 409);

    let assign = |user: &crate::helpers::Session, change: Value| {
        app.request(Method::PATCH, &format!("/api/v1/accounts/{account}/members/{}", user.user_id), Some(&admin))
            .json(&change)
            .send()
    };
    assert_eq!(
        assign(&accountant, json!({ "role": "custom", "custom_role_id": role_id })).await.unwrap().status(),
        204
    );
    assert_eq!(
        assign(&partner, json!({ "role": "partner", "record_types": ["documents", "tickets"] }))
            .await
            .unwrap()
            .status(),
        204
    );
    assert_eq!(assign(&partner, json!({ "role": "partner" })).await.unwrap().status(), 422);
    let foreign_role = json!({ "role": "custom", "custom_role_id": uuid::Uuid::new_v4() });
    assert_eq!(assign(&partner, foreign_role).await.unwrap().status(), 422);

    let accountant_view = my_account(&app, &accountant).await;
    assert_eq!(accountant_view["role"], "custom");
    assert_eq!(accountant_view["custom_role"], "Accounts payable");
    assert_eq!(accountant_view["permissions"], json!(["invoices.view", "invoices.pay", "payments.view"]));
    let partner_view = my_account(&app, &partner).await;
    assert_eq!(partner_view["role"], "partner");
    assert_eq!(partner_view["record_types"], json!(["documents", "tickets"]));
    let partner_permissions = partner_view["permissions"].as_array().unwrap();
    assert!(partner_permissions.contains(&json!("documents.upload")));
    assert!(!partner_permissions.iter().any(|p| p.as_str().unwrap().starts_with("team.")));
    // What the grants deny, the API denies.
    let members = format!("/api/v1/accounts/{account}/members");
    assert_eq!(app.request(Method::GET, &members, Some(&partner)).send().await.unwrap().status(), 403);
    assert_eq!(app.request(Method::GET, &members, Some(&accountant)).send().await.unwrap().status(), 403);

    // A role in use cannot be deleted; once nobody holds it, it can.
    let role_path = format!("{roles_path}/{role_id}");
    assert_eq!(app.request(Method::DELETE, &role_path, Some(&admin)).send().await.unwrap().status(), 409);
    assert_eq!(assign(&accountant, json!({ "role": "billing" })).await.unwrap().status(), 204);
    assert_eq!(app.request(Method::DELETE, &role_path, Some(&admin)).send().await.unwrap().status(), 204);
}

#[tokio::test]
async fn one_person_can_belong_to_two_customer_accounts() {
    let app = spawn_app().await;
    let staff = app.staff(StaffRole::Admin).await;
    let alpha = app.create_account(&staff, "Alpha").await;
    let beta = app.create_account(&staff, "Beta").await;
    let consultant = app.member(&staff, alpha, "member").await;
    let invitation = body(
        app.request(Method::POST, &format!("/api/v1/accounts/{beta}/invitations"), Some(&staff))
            .json(&json!({ "email": consultant.email, "role": "viewer" }))
            .send()
            .await
            .unwrap(),
    )
    .await;

    // Setting a second password for the same address is refused, with the way forward.
    let as_new = app
        .request(Method::POST, "/api/v1/invitations/accept", None)
        .json(&json!({ "token": invitation["token"], "password": "yet another passphrase", "display_name": "C" }))
        .send()
        .await
        .unwrap();
    assert_eq!(as_new.status(), 409);
    assert!(body(as_new).await["detail"].as_str().unwrap().contains("accept-as-me"));

    // Someone else signed in cannot take the invitation.
    let stranger = app.member(&staff, alpha, "viewer").await;
    let stolen = app
        .request(Method::POST, "/api/v1/invitations/accept-as-me", Some(&stranger))
        .json(&json!({ "token": invitation["token"] }))
        .send()
        .await
        .unwrap();
    assert_eq!(stolen.status(), 404);

    let accepted = app
        .request(Method::POST, "/api/v1/invitations/accept-as-me", Some(&consultant))
        .json(&json!({ "token": invitation["token"] }))
        .send()
        .await
        .unwrap();
    assert_eq!(accepted.status(), 200);
    let me = body(app.request(Method::GET, "/api/v1/me", Some(&consultant)).send().await.unwrap()).await;
    let roles: Vec<(&str, &str)> = me["accounts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| (a["name"].as_str().unwrap(), a["role"].as_str().unwrap()))
        .collect();
    assert_eq!(roles, [("Alpha", "member"), ("Beta", "viewer")]);
}

#[tokio::test]
async fn a_refused_resend_of_an_owners_invitation_leaves_its_link_working() {
    let app = spawn_app().await;
    let staff = app.staff(StaffRole::Admin).await;
    let account = app.create_account(&staff, "Invites").await;
    let owner = app.member(&staff, account, "owner").await;
    let admin = app.member(&owner, account, "admin").await;
    let invited = app
        .request(Method::POST, &format!("/api/v1/accounts/{account}/invitations"), Some(&owner))
        .json(&json!({ "email": "next-owner@example.com", "role": "owner" }))
        .send()
        .await
        .unwrap();
    assert_eq!(invited.status(), 201);
    let invitation = body(invited).await;

    // An admin may invite, but not owners: the resend is refused and rotates nothing.
    let resend_path =
        format!("/api/v1/accounts/{account}/invitations/{}/resend", invitation["invitation_id"].as_str().unwrap());
    assert_eq!(app.request(Method::POST, &resend_path, Some(&admin)).send().await.unwrap().status(), 403);
    let accepted = app
        .request(Method::POST, "/api/v1/invitations/accept", None)
        .json(&json!({ "token": invitation["token"], "password": "an entirely fresh passphrase", "display_name": "Next" }))
        .send()
        .await
        .unwrap();
    assert_eq!(accepted.status(), 201, "the owner's link still works");
}
