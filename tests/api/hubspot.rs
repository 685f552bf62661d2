//! HubSpot: companies, contacts, deals and tickets sync into accounts through
//! company associations; incremental runs use the search API; tickets opened in
//! the portal reach HubSpot through the outbox, once, even when HubSpot fails.

use std::time::Duration;

use portico::auth::permissions::StaffRole;
use portico_testkit::hubspot::UNIQUE_PROPERTY;
use portico_testkit::{FakeHubSpot, Faults};
use reqwest::Method;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::helpers::{Session, TestApp, eventually, spawn_app, spawn_app_with};
use crate::sync::{cached_records, create_connector, map_account, sync_to_end};

const TOKEN: &str = "pat-na1-portico-test";

async fn create_hubspot_connector(app: &TestApp, admin: &Session, hubspot: &FakeHubSpot) -> Value {
    let settings = json!({"base_url": hubspot.base_url(), "deal_kind": "project"});
    create_connector(app, admin, "hubspot", settings, json!({"access_token": TOKEN}), json!({})).await
}

#[tokio::test]
async fn crm_objects_sync_to_the_company_account_and_changes_arrive_incrementally() {
    let hubspot = FakeHubSpot::start(TOKEN).await;
    let acme = hubspot.add_company("Acme");
    let initech = hubspot.add_company("Initech");
    hubspot.add_contact("Ada", "Lovelace", "ada@acme.test", &acme);
    let deal = hubspot.add_deal("Website redesign", "appointmentscheduled", "1500.50", &acme);
    let ticket = hubspot.add_ticket("Login fails", "1", &acme);
    hubspot.add_ticket("Printer on fire", "1", &initech);

    let app = spawn_app().await;
    let admin = app.staff(StaffRole::Admin).await;
    let account = app.create_account(&admin, "Acme").await;
    let connector = create_hubspot_connector(&app, &admin, &hubspot).await;
    map_account(&app, &admin, &connector, &acme, account).await;

    let runs = sync_to_end(&app, &admin, &connector, &["companies", "contacts", "deals", "tickets"], "full").await;
    assert!(runs.iter().all(|run| run["status"] == "succeeded"), "{runs:?}");

    let orders = cached_records(&app, &admin, &connector, "order").await;
    assert_eq!(orders[&deal]["status"], "Appointment scheduled", "stage ids become their labels");
    assert_eq!(orders[&deal]["amount_minor"], 150050);
    assert_eq!(orders[&deal]["data"]["kind"], "project");
    assert_eq!(orders[&deal]["account_id"], json!(account));
    let tickets = cached_records(&app, &admin, &connector, "ticket").await;
    assert_eq!(tickets[&ticket]["account_id"], json!(account));
    assert_eq!(tickets.values().filter(|t| t["account_id"].is_null()).count(), 1, "Initech's ticket is parked");
    let contacts = cached_records(&app, &admin, &connector, "contact").await;
    assert_eq!(contacts.len(), 3, "two companies and a person");

    // The deal moves on; an incremental run (search API) brings exactly that change.
    hubspot.update("deals", &deal, json!({"dealstage": "contractsent"}));
    let runs = sync_to_end(&app, &admin, &connector, &["deals", "tickets"], "incremental").await;
    let deals_run = runs.iter().find(|run| run["stream"] == "deals").unwrap();
    assert_eq!(deals_run["updated"], 1, "{deals_run}");
    let tickets_run = runs.iter().find(|run| run["stream"] == "tickets").unwrap();
    assert_eq!(tickets_run["updated"], 0, "{tickets_run}");
    let orders = cached_records(&app, &admin, &connector, "order").await;
    assert_eq!(orders[&deal]["status"], "Contract sent");

    // The status change is on the record's history for the account's members.
    let member = app.member(&admin, account, "member").await;
    let path = format!("/api/v1/accounts/{account}/orders/{}/history", orders[&deal]["id"].as_str().unwrap());
    let history: Value = app.get_json(&path, Some(&member)).await;
    assert_eq!(history["versions"][1]["data"]["status"], "Appointment scheduled", "{history}");
}

async fn open_ticket(app: &TestApp, session: &Session, account: Uuid, subject: &str) -> Value {
    let response = app
        .request(Method::POST, &format!("/api/v1/accounts/{account}/tickets"), Some(session))
        .json(&json!({"subject": subject, "description": "It says 'invalid password'", "priority": "high"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 202, "{}", response.text().await.unwrap());
    response.json().await.unwrap()
}

#[tokio::test]
async fn a_portal_ticket_reaches_hubspot_once_through_the_outbox() {
    let hubspot = FakeHubSpot::start(TOKEN).await;
    let acme = hubspot.add_company("Acme");
    let app = spawn_app().await;
    let admin = app.staff(StaffRole::Admin).await;
    let account = app.create_account(&admin, "Acme").await;
    let member = app.member(&admin, account, "member").await;

    // No CRM for the account yet: a clear refusal, nothing stored.
    let response = app
        .request(Method::POST, &format!("/api/v1/accounts/{account}/tickets"), Some(&member))
        .json(&json!({"subject": "Anyone there?"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 409);

    let connector = create_hubspot_connector(&app, &admin, &hubspot).await;
    map_account(&app, &admin, &connector, &acme, account).await;
    let created = open_ticket(&app, &member, account, "Login fails").await;
    assert_eq!(created["sync_status"], "pending");

    let external_id = eventually("the ticket in HubSpot", Duration::from_secs(20), || async {
        let outbox =
            app.store.outbox_item(created["outbox_id"].as_str().unwrap().parse().unwrap()).await.unwrap().unwrap();
        (outbox.status == "delivered").then(|| outbox.external_id.clone().unwrap_or_else(|| panic!("{outbox:?}")))
    })
    .await;
    let in_hubspot = hubspot.objects("tickets");
    assert_eq!(in_hubspot.len(), 1);
    assert_eq!(in_hubspot[0].0, external_id);
    assert_eq!(in_hubspot[0].1["subject"], "Login fails");
    assert_eq!(in_hubspot[0].1["hs_ticket_priority"], "HIGH");
    assert!(
        in_hubspot[0].1[UNIQUE_PROPERTY].as_str().unwrap().starts_with("portico-"),
        "the idempotency key went along"
    );

    // The local record now carries HubSpot's id, and a sync finds no duplicate.
    let runs = sync_to_end(&app, &admin, &connector, &["tickets"], "full").await;
    assert_eq!((runs[0]["added"].as_i64(), runs[0]["deleted"].as_i64()), (Some(0), Some(0)), "{}", runs[0]);
    let tickets = cached_records(&app, &admin, &connector, "ticket").await;
    assert_eq!(tickets.len(), 1);
    assert_eq!(tickets[&external_id]["id"], created["record_id"]);
    assert_eq!(tickets[&external_id]["account_id"], json!(account));
}

#[tokio::test]
async fn customers_comment_on_and_close_their_tickets_in_hubspot() {
    let hubspot = FakeHubSpot::start(TOKEN).await;
    let acme = hubspot.add_company("Acme");
    let globex = hubspot.add_company("Globex");
    let ticket = hubspot.add_ticket("Login fails", "1", &acme);
    let app = spawn_app().await;
    let admin = app.staff(StaffRole::Admin).await;
    let account = app.create_account(&admin, "Acme").await;
    let other = app.create_account(&admin, "Globex").await;
    let connector = create_hubspot_connector(&app, &admin, &hubspot).await;
    map_account(&app, &admin, &connector, &acme, account).await;
    map_account(&app, &admin, &connector, &globex, other).await;
    sync_to_end(&app, &admin, &connector, &["tickets"], "full").await;
    let member = app.member(&admin, account, "member").await;
    let tickets: Value = app.get_json(&format!("/api/v1/accounts/{account}/tickets"), Some(&member)).await;
    let ticket_id = tickets["items"][0]["id"].as_str().unwrap().to_owned();
    let base = format!("/api/v1/accounts/{account}/tickets/{ticket_id}");

    // A comment shows in the thread at once (pending), then reaches HubSpot as a note.
    let response = app
        .request(Method::POST, &format!("{base}/comments"), Some(&member))
        .json(&json!({"body": "Still failing this morning."}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 202, "{}", response.text().await.unwrap());
    let comment: Value = response.json().await.unwrap();
    let thread: Value = app.get_json(&base, Some(&member)).await;
    let messages = thread["messages"].as_array().unwrap();
    assert_eq!(messages.len(), 1, "{thread}");
    assert_eq!(messages[0]["pending"], true);
    assert_eq!(messages[0]["data"]["body"], "Still failing this morning.");
    let outbox_id: Uuid = comment["outbox_id"].as_str().unwrap().parse().unwrap();
    eventually("the note in HubSpot", Duration::from_secs(20), || async {
        let outbox = app.store.outbox_item(outbox_id).await.unwrap().unwrap();
        (outbox.status == "delivered").then_some(())
    })
    .await;
    let notes = hubspot.objects("notes");
    assert_eq!(notes.len(), 1);
    assert!(notes[0].1["hs_note_body"].as_str().unwrap().ends_with("Still failing this morning."), "{notes:?}");
    let thread: Value = app.get_json(&base, Some(&member)).await;
    assert_eq!(thread["messages"][0]["pending"], false, "confirmed: {thread}");

    // Closing moves the ticket to the closed stage in HubSpot; the portal shows it
    // closed once HubSpot answers.
    let response = app.request(Method::POST, &format!("{base}/close"), Some(&member)).send().await.unwrap();
    assert_eq!(response.status(), 202, "{}", response.text().await.unwrap());
    let closed = eventually("the ticket closed", Duration::from_secs(20), || async {
        let detail: Value = app.get_json(&base, Some(&member)).await;
        (detail["status"] != "New").then_some(detail)
    })
    .await;
    assert_eq!(closed["status"], "Closed", "{closed}");
    let in_hubspot = hubspot.objects("tickets");
    assert_eq!(in_hubspot.iter().find(|(id, _)| *id == ticket).unwrap().1["hs_pipeline_stage"], "4");

    // A viewer may not write; nobody reaches another account's ticket; bad input is refused.
    let viewer = app.member(&admin, account, "viewer").await;
    let response = app.request(Method::POST, &format!("{base}/close"), Some(&viewer)).send().await.unwrap();
    assert_eq!(response.status(), 403);
    let outsider = app.member(&admin, other, "owner").await;
    let response = app
        .request(Method::POST, &format!("/api/v1/accounts/{other}/tickets/{ticket_id}/comments"), Some(&outsider))
        .json(&json!({"body": "hello"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 404);
    let response = app
        .request(Method::POST, &format!("{base}/comments"), Some(&member))
        .json(&json!({"body": "  "}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 422);
}

#[tokio::test]
async fn a_write_back_that_keeps_failing_is_dead_lettered_and_an_admin_can_retry_it() {
    let hubspot = FakeHubSpot::start(TOKEN).await;
    let acme = hubspot.add_company("Acme");
    let app = spawn_app_with(|settings| {
        settings.sync.push_attempts = 2;
        settings.sync.page_retry_base_ms = 10;
        settings.sync.page_retry_max_ms = 20;
    })
    .await;
    let admin = app.staff(StaffRole::Admin).await;
    let account = app.create_account(&admin, "Acme").await;
    let connector = create_hubspot_connector(&app, &admin, &hubspot).await;
    map_account(&app, &admin, &connector, &acme, account).await;
    let owner = app.member(&admin, account, "owner").await;

    hubspot.set_faults(Faults { server_error_rate: 1.0, ..Faults::none() });
    let created = open_ticket(&app, &owner, account, "Broken").await;
    let outbox_id = created["outbox_id"].as_str().unwrap().to_owned();
    let dead: Vec<Value> = eventually("the write-back to be dead-lettered", Duration::from_secs(20), || async {
        let dead: Vec<Value> = app.get_json("/api/v1/admin/outbox?status=dead", Some(&admin)).await;
        (!dead.is_empty()).then_some(dead)
    })
    .await;
    assert_eq!(dead[0]["id"], outbox_id.as_str());
    assert_eq!(dead[0]["attempts"], 2);
    assert!(dead[0]["last_error"].as_str().unwrap().contains("500"), "{}", dead[0]);
    assert!(hubspot.objects("tickets").is_empty());

    hubspot.set_faults(Faults::none());
    let response = app
        .request(Method::POST, &format!("/api/v1/admin/outbox/{outbox_id}/retry"), Some(&admin))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 202);
    eventually("the retried ticket in HubSpot", Duration::from_secs(20), || async {
        (hubspot.objects("tickets").len() == 1).then_some(())
    })
    .await;
    let response = app
        .request(Method::POST, &format!("/api/v1/admin/outbox/{outbox_id}/retry"), Some(&admin))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 409, "only dead letters can be retried");
}

#[tokio::test]
async fn a_signed_hubspot_notification_fetches_the_changed_objects_into_their_account() {
    let hubspot = FakeHubSpot::start(TOKEN).await;
    let acme = hubspot.add_company("Acme");
    let contact = hubspot.add_contact("Ada", "Lovelace", "ada@acme.test", &acme);
    let deal = hubspot.add_deal("Website redesign", "appointmentscheduled", "1500.50", &acme);

    let app = spawn_app().await;
    let admin = app.staff(StaffRole::Admin).await;
    let account = app.create_account(&admin, "Acme").await;
    let connector = create_hubspot_connector(&app, &admin, &hubspot).await;
    map_account(&app, &admin, &connector, &acme, account).await;
    let endpoint = crate::webhook_gateway::create_endpoint(
        &app,
        &admin,
        &connector,
        json!({"name": "HubSpot app", "scheme": "hubspot-v3", "secret": "hubspot-client-secret"}),
    )
    .await;

    // No sync has run: the notification alone brings both objects, whole.
    hubspot.update("contacts", &contact, json!({"email": "ada.lovelace@acme.test"}));
    let body = json!([
        {"eventId": 1, "subscriptionId": 10, "portalId": 62515, "occurredAt": 1_700_000_000_000u64,
         "subscriptionType": "contact.propertyChange", "attemptNumber": 0, "objectId": contact.parse::<u64>().unwrap(),
         "propertyName": "email", "propertyValue": "ada.lovelace@acme.test", "changeSource": "CRM"},
        {"eventId": 2, "subscriptionId": 11, "portalId": 62515, "occurredAt": 1_700_000_000_001u64,
         "subscriptionType": "deal.creation", "attemptNumber": 0, "objectId": deal.parse::<u64>().unwrap()}
    ])
    .to_string();
    // HubSpot signs the URL it posted to: Portico's public address.
    let path = format!("/webhooks/{}", endpoint["id"].as_str().unwrap());
    let signed_url = format!("{}{path}", crate::helpers::PUBLIC_URL);
    let now_ms = chrono::Utc::now().timestamp_millis();
    let mut request = app.client.post(app.url(&path)).header("content-type", "application/json").body(body.clone());
    for (name, value) in
        portico_testkit::signing::hubspot_v3_headers("hubspot-client-secret", &signed_url, now_ms, body.as_bytes())
    {
        request = request.header(name, value);
    }
    let response = request.send().await.unwrap();
    assert_eq!(response.status(), 200, "{}", response.text().await.unwrap());

    let contacts = eventually("the contact fetched", Duration::from_secs(10), || async {
        let contacts = cached_records(&app, &admin, &connector, "contact").await;
        contacts.contains_key(&contact).then_some(contacts)
    })
    .await;
    assert_eq!(contacts[&contact]["data"]["email"], "ada.lovelace@acme.test");
    assert_eq!(contacts[&contact]["account_id"], json!(account), "its company association maps it");
    let orders = cached_records(&app, &admin, &connector, "order").await;
    assert_eq!(orders[&deal]["account_id"], json!(account));

    // The same batch signed with another secret is refused.
    let mut forged = app.client.post(app.url(&path)).body(body.clone());
    for (name, value) in
        portico_testkit::signing::hubspot_v3_headers("not-the-secret", &signed_url, now_ms, body.as_bytes())
    {
        forged = forged.header(name, value);
    }
    assert_eq!(forged.send().await.unwrap().status(), 401);
}

#[tokio::test]
async fn a_file_attached_to_a_ticket_is_stored_in_its_folder_listed_with_it_and_noted_in_hubspot() {
    let hubspot = FakeHubSpot::start(TOKEN).await;
    let acme = hubspot.add_company("Acme");
    let globex = hubspot.add_company("Globex");
    hubspot.add_ticket("Printer jams", "1", &acme);
    let storage = tempfile::tempdir().unwrap();
    let root = storage.path().to_owned();
    let app = spawn_app_with(|settings| settings.sync.local_file_roots = vec![root]).await;
    let admin = app.staff(StaffRole::Admin).await;
    let account = app.create_account(&admin, "Acme").await;
    let other = app.create_account(&admin, "Globex").await;
    let crm = create_hubspot_connector(&app, &admin, &hubspot).await;
    map_account(&app, &admin, &crm, &acme, account).await;
    map_account(&app, &admin, &crm, &globex, other).await;
    let files_settings = json!({"store": {"type": "local", "root": storage.path()}});
    let files = create_connector(&app, &admin, "files", files_settings, json!({}), json!({})).await;
    map_account(&app, &admin, &files, "acme", account).await;
    sync_to_end(&app, &admin, &crm, &["tickets"], "full").await;
    let tickets = cached_records(&app, &admin, &crm, "ticket").await;
    let ticket_id = tickets.values().next().unwrap()["id"].as_str().unwrap().to_owned();
    let base = format!("/api/v1/accounts/{account}/tickets/{ticket_id}");

    let member = app.member(&admin, account, "member").await;
    let attach = |session: &Session, path: String| {
        app.request(Method::POST, &format!("{path}/attachments?name=error%20log.txt"), Some(session))
            .header("content-type", "text/plain")
            .body("E42: paper path blocked")
    };
    let response = attach(&member, base.clone()).send().await.unwrap();
    assert_eq!(response.status(), 202, "{}", response.text().await.unwrap());
    let uploaded: Value = response.json().await.unwrap();
    assert_eq!(uploaded["name"], "error log.txt");

    // Stored in the ticket's folder of the account's storage, listed with the ticket,
    // and said in the thread, which HubSpot gets as a note.
    let outbox_id: Uuid = uploaded["outbox_id"].as_str().unwrap().parse().unwrap();
    let key = eventually("the attachment in storage", Duration::from_secs(20), || async {
        let item = app.store.outbox_item(outbox_id).await.unwrap().unwrap();
        (item.status == "delivered").then(|| item.external_id.unwrap())
    })
    .await;
    assert!(key.starts_with(&format!("acme/tickets/{ticket_id}/")), "{key}");
    assert_eq!(std::fs::read_to_string(storage.path().join(&key)).unwrap(), "E42: paper path blocked");
    let detail: Value = app.get_json(&base, Some(&member)).await;
    let attachments = detail["attachments"].as_array().unwrap();
    assert_eq!(attachments.len(), 1, "{detail}");
    assert_eq!(attachments[0]["id"], uploaded["record_id"]);
    assert_eq!(detail["messages"][0]["data"]["body"], "Attached error log.txt");
    eventually("the note in HubSpot", Duration::from_secs(20), || async {
        let notes = hubspot.objects("notes");
        notes
            .iter()
            .any(|(_, note)| note["hs_note_body"].as_str().is_some_and(|body| body.ends_with("Attached error log.txt")))
            .then_some(())
    })
    .await;
    // The next sync of the storage finds the same file in the ticket's folder.
    sync_to_end(&app, &admin, &files, &["documents"], "full").await;
    let detail: Value = app.get_json(&base, Some(&member)).await;
    assert_eq!(detail["attachments"].as_array().unwrap().len(), 1, "{detail}");

    // A viewer may not attach; nobody attaches to another account's ticket.
    let viewer = app.member(&admin, account, "viewer").await;
    assert_eq!(attach(&viewer, base.clone()).send().await.unwrap().status(), 403);
    let outsider = app.member(&admin, other, "owner").await;
    let sideways = format!("/api/v1/accounts/{other}/tickets/{ticket_id}");
    assert_eq!(attach(&outsider, sideways).send().await.unwrap().status(), 404);
    assert!(std::fs::read_dir(storage.path().join("acme/tickets").join(&ticket_id)).unwrap().count() == 1);
}

#[tokio::test]
async fn an_unreadable_search_cursor_fails_the_run_instead_of_ending_it_as_complete() {
    let hubspot = FakeHubSpot::start(TOKEN).await;
    let acme = hubspot.add_company("Acme");
    let deal = hubspot.add_deal("Website redesign", "appointmentscheduled", "1500.50", &acme);
    let app = spawn_app().await;
    let admin = app.staff(StaffRole::Admin).await;
    let connector = create_hubspot_connector(&app, &admin, &hubspot).await;
    sync_to_end(&app, &admin, &connector, &["deals"], "full").await;

    hubspot.update("deals", &deal, json!({"dealstage": "contractsent"}));
    hubspot.answer_search_cursor("MTAw");
    let started = crate::sync::start_sync(&app, &admin, &connector, &["deals"], "incremental").await;
    let run_id = started[0]["run_id"].as_str().unwrap();
    let run = crate::sync::finished_run(&app, &admin, &connector, run_id, std::time::Duration::from_secs(60)).await;
    assert_eq!(run["status"], "failed", "{run}");
    assert!(run["error"].as_str().unwrap().contains("unreadable search cursor \"MTAw\""), "{run}");

    // A constant, readable cursor is a repeated position: the engine stops that too.
    hubspot.answer_search_cursor("100");
    let started = crate::sync::start_sync(&app, &admin, &connector, &["deals"], "incremental").await;
    let run_id = started[0]["run_id"].as_str().unwrap();
    let run = crate::sync::finished_run(&app, &admin, &connector, run_id, std::time::Duration::from_secs(60)).await;
    assert_eq!(run["status"], "failed", "{run}");
    assert!(run["error"].as_str().unwrap().starts_with("upstream repeated cursor"), "{run}");
}
