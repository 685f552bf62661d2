//! Data rights: staff erase a person; the business's records stay.

use portico::auth::permissions::StaffRole;
use portico_testkit::FakeStripe;
use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::spawn_app;
use crate::live_events::EventStream;
use crate::sync::{create_connector, map_account, sync_to_end};

#[tokio::test]
async fn an_erased_person_is_anonymised_and_locked_out_while_the_accounts_records_stay() {
    let stripe = FakeStripe::start("sk_test_erasure").await;
    let customer = stripe.add_customer("Acme", "billing@acme.test");
    stripe.add_invoice(&customer, &[4200]);
    let app = spawn_app().await;
    let admin = app.staff(StaffRole::Admin).await;
    let account = app.create_account(&admin, "Acme").await;
    let connector = create_connector(
        &app,
        &admin,
        "stripe",
        json!({"base_url": stripe.base_url()}),
        json!({"api_key": "sk_test_erasure"}),
        json!({}),
    )
    .await;
    map_account(&app, &admin, &connector, &customer, account).await;
    sync_to_end(&app, &admin, &connector, &["invoices"], "full").await;
    let owner = app.member(&admin, account, "owner").await;
    let leaving = app.member(&owner, account, "billing").await;
    let mut stream = EventStream::open(&app.address, &leaving, None).await;

    // Only an admin (signed in recently) erases, and not themselves.
    let support = app.staff(StaffRole::Support).await;
    let path = format!("/api/v1/users/{}/erasure", leaving.user_id);
    assert_eq!(app.request(Method::POST, &path, Some(&support)).send().await.unwrap().status(), 403);
    assert_eq!(app.request(Method::POST, &path, Some(&owner)).send().await.unwrap().status(), 403);
    let myself = format!("/api/v1/users/{}/erasure", admin.user_id);
    assert_eq!(app.request(Method::POST, &myself, Some(&admin)).send().await.unwrap().status(), 409);

    let response = app.request(Method::POST, &path, Some(&admin)).send().await.unwrap();
    assert_eq!(response.status(), 200);
    let erased: Value = response.json().await.unwrap();
    assert_eq!(erased["memberships_removed"], 1);
    assert!(erased["sessions_ended"].as_u64().unwrap() >= 1, "{erased}");

    // Locked out at once: the session no longer works, the open stream ends.
    assert_eq!(app.request(Method::GET, "/api/v1/me", Some(&leaving)).send().await.unwrap().status(), 401);
    // The sync's record events may still be on their way (the feed is polled):
    // what ends the stream is `revoked`.
    let revoked = loop {
        let event = stream.next(std::time::Duration::from_secs(10)).await.expect("an event");
        if event.event != "record" {
            break event;
        }
    };
    assert_eq!(revoked.event, "revoked");
    assert_eq!(app.login(&leaving.email, &leaving.password).await.status(), 401);
    // Anonymised: nothing of the address or name is left.
    let profile = app.store.user_profile(leaving.user_id).await.unwrap().unwrap();
    assert!(profile.email.starts_with("erased-") && profile.email.ends_with("@erased.invalid"), "{}", profile.email);
    assert_eq!(profile.display_name, "");
    let members: Value = app.get_json(&format!("/api/v1/accounts/{account}/members"), Some(&owner)).await;
    assert!(!members.to_string().contains(&leaving.email), "{members}");

    // The account's invoices stay for the business and its other people.
    let invoices: Value = app.get_json(&format!("/api/v1/accounts/{account}/invoices"), Some(&owner)).await;
    assert_eq!(invoices["items"].as_array().unwrap().len(), 1);

    // The erasure is audited, and a second one finds nobody.
    let events: Value = app.get_json("/api/v1/audit-events", Some(&admin)).await;
    let event = events.as_array().unwrap().iter().find(|event| event["action"] == "user.erased").expect("audited");
    assert_eq!(event["target_id"], leaving.user_id.to_string());
    assert_eq!(app.request(Method::POST, &path, Some(&admin)).send().await.unwrap().status(), 404);
}

/// The files in a gzipped tar archive, by name.
fn unpack(bytes: &[u8]) -> std::collections::BTreeMap<String, Vec<u8>> {
    use std::io::Read;
    let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(bytes));
    let mut files = std::collections::BTreeMap::new();
    for entry in archive.entries().unwrap() {
        let mut entry = entry.unwrap();
        let name = entry.path().unwrap().to_string_lossy().into_owned();
        let mut content = Vec::new();
        entry.read_to_end(&mut content).unwrap();
        files.insert(name, content);
    }
    files
}

async fn ready_export(app: &crate::helpers::TestApp, session: &crate::helpers::Session, started: &Value) -> Value {
    let path = format!("/api/v1/exports/{}", started["id"].as_str().unwrap());
    crate::helpers::eventually("the export to be built", std::time::Duration::from_secs(30), || async {
        let export: Value = app.get_json(&path, Some(session)).await;
        assert_ne!(export["status"], "failed", "{export}");
        (export["status"] == "ready").then_some(export)
    })
    .await
}

#[tokio::test]
async fn an_owner_exports_the_account_and_a_person_their_own_data_for_them_alone() {
    let folder = tempfile::tempdir().unwrap();
    for (path, body) in [("acme/contract.txt", "acme's contract"), ("globex/secret.txt", "globex only")] {
        let file = folder.path().join(path);
        std::fs::create_dir_all(file.parent().unwrap()).unwrap();
        std::fs::write(file, body).unwrap();
    }
    let root = folder.path().to_owned();
    let app = crate::helpers::spawn_app_with(|settings| settings.sync.local_file_roots = vec![root]).await;
    let admin = app.staff(StaffRole::Admin).await;
    let acme = app.create_account(&admin, "Acme").await;
    let globex = app.create_account(&admin, "Globex").await;
    let settings = json!({"store": {"type": "local", "root": folder.path()}});
    let connector = create_connector(&app, &admin, "files", settings, json!({}), json!({})).await;
    map_account(&app, &admin, &connector, "acme", acme).await;
    map_account(&app, &admin, &connector, "globex", globex).await;
    sync_to_end(&app, &admin, &connector, &["documents"], "full").await;
    let owner = app.member(&admin, acme, "owner").await;
    let billing = app.member(&owner, acme, "billing").await;

    let request = format!("/api/v1/accounts/{acme}/exports");
    assert_eq!(app.request(Method::POST, &request, Some(&billing)).send().await.unwrap().status(), 403);
    let response = app.request(Method::POST, &request, Some(&owner)).send().await.unwrap();
    assert_eq!(response.status(), 202);
    let started: Value = response.json().await.unwrap();
    let export = ready_export(&app, &owner, &started).await;
    let download = export["download_url"].as_str().unwrap().to_owned();

    // Only whoever asked sees or fetches it.
    let status = format!("/api/v1/exports/{}", export["id"].as_str().unwrap());
    assert_eq!(app.request(Method::GET, &status, Some(&billing)).send().await.unwrap().status(), 404);
    assert_eq!(app.request(Method::GET, &download, Some(&billing)).send().await.unwrap().status(), 404);

    let response = app.request(Method::GET, &download, Some(&owner)).send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "application/gzip");
    let files = unpack(&response.bytes().await.unwrap());
    let documents: Value = serde_json::from_slice(&files["records/documents.json"]).unwrap();
    assert_eq!(documents.as_array().unwrap().len(), 1, "{documents}");
    let stored = files.iter().find(|(name, _)| name.starts_with("documents/") && name.ends_with("contract.txt"));
    assert_eq!(stored.expect("the document's bytes").1, b"acme's contract");
    assert!(files.values().all(|content| !String::from_utf8_lossy(content).contains("globex only")), "Globex leaked");
    let manifest: Value = serde_json::from_slice(&files["manifest.json"]).unwrap();
    assert_eq!(manifest["account"]["id"], acme.to_string());
    assert!(files.contains_key("records/invoices.json"));
    // Documents were spooled to disk on the way into the archive, and cleaned up.
    let leftovers: Vec<_> = std::fs::read_dir(app.settings.data_dir.join("exports"))
        .unwrap()
        .flatten()
        .filter(|entry| entry.file_name().to_string_lossy().ends_with(".spool"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");

    // A person's own data, for them.
    let response = app.request(Method::POST, "/api/v1/me/exports", Some(&billing)).send().await.unwrap();
    assert_eq!(response.status(), 202);
    let started: Value = response.json().await.unwrap();
    let export = ready_export(&app, &billing, &started).await;
    let response =
        app.request(Method::GET, export["download_url"].as_str().unwrap(), Some(&billing)).send().await.unwrap();
    let files = unpack(&response.bytes().await.unwrap());
    let profile: Value = serde_json::from_slice(&files["profile.json"]).unwrap();
    assert_eq!(profile["email"], billing.email.as_str());
    let memberships: Value = serde_json::from_slice(&files["memberships.json"]).unwrap();
    assert_eq!(memberships[0]["account_id"], acme.to_string());

    // Asking and fetching are in the account's audit log.
    let events: Value = app.get_json(&format!("/api/v1/accounts/{acme}/audit-events"), Some(&owner)).await;
    for action in ["export.requested", "export.downloaded"] {
        assert!(events.as_array().unwrap().iter().any(|event| event["action"] == action), "{action}: {events}");
    }
}

#[tokio::test]
async fn an_account_has_one_export_in_the_making_at_a_time() {
    let app = spawn_app().await;
    let admin = app.staff(StaffRole::Admin).await;
    let account = app.create_account(&admin, "Acme").await;
    let owner = app.member(&admin, account, "owner").await;
    // One already queued (asked for, not yet built).
    let now = chrono::Utc::now();
    app.store.create_export(Some(account), None, owner.user_id, now, now + chrono::Duration::hours(1)).await.unwrap();
    let path = format!("/api/v1/accounts/{account}/exports");
    let again = app.request(Method::POST, &path, Some(&owner)).send().await.unwrap();
    assert_eq!(again.status(), 409);
    // One's own data is not held up by it.
    assert_eq!(app.request(Method::POST, "/api/v1/me/exports", Some(&owner)).send().await.unwrap().status(), 202);
}
