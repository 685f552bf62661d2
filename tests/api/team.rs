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
