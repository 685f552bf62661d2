//! Files: documents from a real S3-compatible server (moto) and from a local
//! folder, mapped to accounts by their first path segment, downloaded through Portico.

use portico::auth::permissions::StaffRole;
use portico_testkit::MotoS3;
use portico_testkit::s3::{ACCESS_KEY, REGION, SECRET_KEY};
use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{Session, TestApp, spawn_app, spawn_app_with};
use crate::sync::{cached_records, create_connector, map_account, sync_to_end};

async fn create_files_connector(app: &TestApp, admin: &Session, settings: Value, credentials: Value) -> Value {
    create_connector(app, admin, "files", settings, credentials, json!({})).await
}

#[tokio::test]
async fn s3_documents_sync_into_their_accounts_and_download_through_portico() {
    let s3 = tokio::task::spawn_blocking(|| {
        let s3 = MotoS3::start();
        s3.create_bucket("portal");
        s3.put("portal", "customers/acme/contracts/2026.pdf", "%PDF-1.7 acme contract");
        s3.put("portal", "customers/acme/report.csv", "a,b\n1,2\n");
        s3.put("portal", "customers/globex/welcome.txt", "hello globex");
        s3.put("portal", "customers/readme.txt", "belongs to nobody");
        s3.put("portal", "elsewhere/ignored.txt", "outside the prefix");
        s3
    })
    .await
    .unwrap();

    let app = spawn_app().await;
    let admin = app.staff(StaffRole::Admin).await;
    let acme = app.create_account(&admin, "Acme").await;
    let globex = app.create_account(&admin, "Globex").await;
    let connector = create_files_connector(
        &app,
        &admin,
        json!({"store": {"type": "s3", "bucket": "portal", "region": REGION, "endpoint": s3.endpoint()}, "prefix": "customers"}),
        json!({"access_key_id": ACCESS_KEY, "secret_access_key": SECRET_KEY}),
    )
    .await;
    let test_path = format!("/api/v1/admin/connectors/{}/test", connector["id"].as_str().unwrap());
    let test: Value = app.request(Method::POST, &test_path, Some(&admin)).send().await.unwrap().json().await.unwrap();
    assert_eq!(test["ok"], true, "{test}");
    map_account(&app, &admin, &connector, "acme", acme).await;
    map_account(&app, &admin, &connector, "globex", globex).await;

    sync_to_end(&app, &admin, &connector, &["documents"], "full").await;
    let documents = cached_records(&app, &admin, &connector, "document").await;
    assert_eq!(
        documents.keys().collect::<Vec<_>>(),
        ["customers/acme/contracts/2026.pdf", "customers/acme/report.csv", "customers/globex/welcome.txt"]
    );
    let contract = &documents["customers/acme/contracts/2026.pdf"];
    assert_eq!(contract["account_id"], json!(acme));
    assert_eq!(contract["title"], "2026.pdf");
    assert_eq!(contract["data"]["folder"], "contracts");
    assert_eq!(contract["data"]["content_type"], "application/pdf");
    assert_eq!(contract["data"]["size_bytes"], 22);

    // A member of Acme downloads through Portico; the bytes are the object's.
    let member = app.member(&admin, acme, "viewer").await;
    let download = format!("/api/v1/accounts/{acme}/documents/{}/download", contract["id"].as_str().unwrap());
    let response = app.request(Method::GET, &download, Some(&member)).send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "application/pdf");
    assert_eq!(response.headers()["content-disposition"], "attachment; filename=\"2026.pdf\"");
    assert_eq!(response.text().await.unwrap(), "%PDF-1.7 acme contract");
    let in_folder: Value =
        app.get_json(&format!("/api/v1/accounts/{acme}/documents?folder=contracts"), Some(&member)).await;
    let titles: Vec<&str> =
        in_folder["items"].as_array().unwrap().iter().map(|d| d["title"].as_str().unwrap()).collect();
    assert_eq!(titles, ["2026.pdf"], "only the contracts folder: {in_folder}");
    let detail = format!("/api/v1/accounts/{acme}/documents/{}", contract["id"].as_str().unwrap());
    assert_eq!(app.request(Method::GET, &detail, Some(&member)).send().await.unwrap().status(), 200);
    // The account's owner sees who viewed and downloaded which document.
    let owner = app.member(&admin, acme, "owner").await;
    let events: Value = app.get_json(&format!("/api/v1/accounts/{acme}/audit-events"), Some(&owner)).await;
    for action in ["document.downloaded", "document.viewed"] {
        let event = events.as_array().unwrap().iter().find(|event| event["action"] == action);
        let event = event.unwrap_or_else(|| panic!("{action} missing: {events}"));
        assert_eq!(event["actor_user_id"], member.user_id.to_string());
        assert_eq!(event["target_id"], contract["id"]);
    }
    // Globex's owner cannot reach Acme's document through their own account.
    let outsider = app.member(&admin, globex, "owner").await;
    let sideways = format!("/api/v1/accounts/{globex}/documents/{}/download", contract["id"].as_str().unwrap());
    assert_eq!(app.request(Method::GET, &sideways, Some(&outsider)).send().await.unwrap().status(), 404);

    // A file removed from the bucket is deleted by the next full sync (one of
    // three is over the default 20% guard, so the guard is raised first).
    let s3 = tokio::task::spawn_blocking(move || {
        s3.delete("portal", "customers/acme/report.csv");
        s3
    })
    .await
    .unwrap();
    let path = format!("/api/v1/admin/connectors/{}", connector["id"].as_str().unwrap());
    let response =
        app.request(Method::PATCH, &path, Some(&admin)).json(&json!({"delete_guard_share": 0.5})).send().await.unwrap();
    assert_eq!(response.status(), 200);
    let runs = sync_to_end(&app, &admin, &connector, &["documents"], "full").await;
    assert_eq!((runs[0]["deleted"].as_i64(), runs[0]["unchanged"].as_i64()), (Some(1), Some(2)), "{}", runs[0]);
    drop(s3);
}

#[tokio::test]
async fn a_local_folder_is_a_document_source_too() {
    let folder = tempfile::tempdir().unwrap();
    for (path, body) in [("acme/a.txt", "one"), ("acme/deep/b.json", "{}"), ("loose.txt", "nobody's")] {
        let file = folder.path().join(path);
        std::fs::create_dir_all(file.parent().unwrap()).unwrap();
        std::fs::write(file, body).unwrap();
    }
    let root = folder.path().to_owned();
    let app = spawn_app_with(|settings| settings.sync.local_file_roots = vec![root]).await;
    let admin = app.staff(StaffRole::Admin).await;
    let acme = app.create_account(&admin, "Acme").await;

    // Only folders inside sync.local_file_roots may be served.
    for outside in [std::env::temp_dir(), folder.path().join("acme/../..")] {
        let body =
            json!({"kind": "files", "name": "outside", "settings": {"store": {"type": "local", "root": outside}}});
        let response =
            app.request(Method::POST, "/api/v1/admin/connectors", Some(&admin)).json(&body).send().await.unwrap();
        assert_eq!(response.status(), 422, "{outside:?}");
        let problem: Value = response.json().await.unwrap();
        assert_eq!(problem["errors"][0]["field"], "settings.store.root");
    }
    let connector =
        create_files_connector(&app, &admin, json!({"store": {"type": "local", "root": folder.path()}}), json!({}))
            .await;
    map_account(&app, &admin, &connector, "acme", acme).await;
    sync_to_end(&app, &admin, &connector, &["documents"], "full").await;
    let documents = cached_records(&app, &admin, &connector, "document").await;
    assert_eq!(documents.keys().collect::<Vec<_>>(), ["acme/a.txt", "acme/deep/b.json"]);
    assert_eq!(documents["acme/deep/b.json"]["data"]["content_type"], "application/json");

    let owner = app.member(&admin, acme, "owner").await;
    let download =
        format!("/api/v1/accounts/{acme}/documents/{}/download", documents["acme/a.txt"]["id"].as_str().unwrap());
    let response = app.request(Method::GET, &download, Some(&owner)).send().await.unwrap();
    assert_eq!(response.text().await.unwrap(), "one");

    // An upload from the portal: recorded at once, written to the folder through the outbox.
    let upload = format!("/api/v1/accounts/{acme}/documents?name=signed%20contract.txt");
    let response = app
        .request(Method::POST, &upload, Some(&owner))
        .header("content-type", "text/plain")
        .body("signed by both parties")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 202, "{}", response.text().await.unwrap());
    let uploaded: Value = response.json().await.unwrap();
    let outbox_id: uuid::Uuid = uploaded["outbox_id"].as_str().unwrap().parse().unwrap();
    let key = crate::helpers::eventually("the upload in storage", std::time::Duration::from_secs(20), || async {
        let item = app.store.outbox_item(outbox_id).await.unwrap().unwrap();
        (item.status == "delivered").then(|| item.external_id.unwrap())
    })
    .await;
    assert!(key.starts_with("acme/uploads/") && key.ends_with("-signed contract.txt"), "{key}");
    assert_eq!(std::fs::read_to_string(folder.path().join(&key)).unwrap(), "signed by both parties");
    let path = format!("/api/v1/accounts/{acme}/documents/{}/download", uploaded["record_id"].as_str().unwrap());
    let response = app.request(Method::GET, &path, Some(&owner)).send().await.unwrap();
    assert_eq!(response.text().await.unwrap(), "signed by both parties");
    // The next sync finds the same file, not a second one.
    let runs = sync_to_end(&app, &admin, &connector, &["documents"], "full").await;
    assert_eq!((runs[0]["added"].as_i64(), runs[0]["unchanged"].as_i64()), (Some(0), Some(3)), "{}", runs[0]);
    let detail = format!("/api/v1/accounts/{acme}/documents/{}", uploaded["record_id"].as_str().unwrap());
    let synced: Value = app.get_json(&detail, Some(&owner)).await;
    assert_eq!(synced["data"]["name"], "signed contract.txt", "the name it was given, not its key's: {synced}");
    // A multipart form, as browsers send it: the name loses its path, the type
    // comes from the bytes (not the claim), and types not allowed are refused.
    let form = |file_name: &str, claimed: &str, bytes: &[u8]| {
        let mut body = format!(
            "--XyZ\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{file_name}\"\r\nContent-Type: {claimed}\r\n\r\n"
        )
        .into_bytes();
        body.extend_from_slice(bytes);
        body.extend_from_slice(b"\r\n--XyZ--\r\n");
        body
    };
    let multipart = format!("/api/v1/accounts/{acme}/documents");
    let response = app
        .request(Method::POST, &multipart, Some(&owner))
        .header("content-type", "multipart/form-data; boundary=XyZ")
        .body(form("..\\..\\invoice.pdf", "text/plain", b"%PDF-1.7 a real pdf"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 202, "{}", response.text().await.unwrap());
    let pdf: Value = response.json().await.unwrap();
    let detail = format!("/api/v1/accounts/{acme}/documents/{}", pdf["record_id"].as_str().unwrap());
    let stored: Value = app.get_json(&detail, Some(&owner)).await;
    assert_eq!(stored["data"]["name"], "invoice.pdf", "{stored}");
    assert_eq!(stored["data"]["content_type"], "application/pdf");
    let response = app
        .request(Method::POST, &multipart, Some(&owner))
        .header("content-type", "multipart/form-data; boundary=XyZ")
        .body(form("harmless.pdf", "application/pdf", b"MZ\x90\x00\x03\x00\x00\x00 an executable"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 415);
    let response = app
        .request(Method::POST, &multipart, Some(&owner))
        .header("content-type", "multipart/form-data; boundary=XyZ")
        .body("--XyZ\r\nContent-Disposition: form-data; name=\"other\"\r\n\r\nx\r\n--XyZ--\r\n")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 422, "a form without a file part");

    // A viewer may read but not upload.
    let viewer = app.member(&admin, acme, "viewer").await;
    let response = app.request(Method::POST, &upload, Some(&viewer)).body("x").send().await.unwrap();
    assert_eq!(response.status(), 403);

    // Invalid store settings name the field.
    let body = json!({"kind": "files", "name": "bad", "settings": {"store": {"type": "ftp"}}});
    let response =
        app.request(Method::POST, "/api/v1/admin/connectors", Some(&admin)).json(&body).send().await.unwrap();
    assert_eq!(response.status(), 422);
    let problem: Value = response.json().await.unwrap();
    assert!(problem["errors"][0]["field"].as_str().unwrap().starts_with("settings.store"), "{problem}");
}
