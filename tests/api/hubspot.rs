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
    assert_eq!(contacts.len(), 1, "a person");
    let organisations = cached_records(&app, &admin, &connector, "organisation").await;
    assert_eq!(organisations.len(), 2, "two companies, never contacts");
    assert_eq!(organisations[&acme]["account_id"], json!(account));

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

    // The outbox lists every write-back by default, delivered ones included.
    let outbox: Vec<Value> = app.get_json("/api/v1/admin/outbox", Some(&admin)).await;
    assert!(
        outbox.iter().any(|item| item["id"] == created["outbox_id"] && item["status"] == "delivered"),
        "{outbox:?}"
    );
    // One job after another, one push: the pipelines were read once (deals and tickets).
    assert_eq!(hubspot.pipeline_reads(), 2, "pipelines are kept per instance");
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
    // HubSpot holds the note's creation until the pending state has been seen.
    hubspot.hold_creations();
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
    hubspot.release_creations();
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
    // The console lists it with the upstream's answer, and retries it from there.
    let console = app.request(Method::GET, "/console/outbox?status=dead", Some(&admin)).send().await.unwrap();
    assert_eq!(console.status(), 200);
    let listed = console.text().await.unwrap();
    assert!(listed.contains("Dead-lettered") && listed.contains("500"), "{listed}");
    assert!(listed.contains(&format!("/console/outbox/{outbox_id}/retry")), "a retry button");

    hubspot.set_faults(Faults::none());
    let response =
        app.request(Method::POST, &format!("/console/outbox/{outbox_id}/retry"), Some(&admin)).send().await.unwrap();
    assert_eq!(response.status(), 200, "followed to the outbox page");
    assert!(response.url().as_str().ends_with("/console/outbox?done=retried"));
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

    // The two events may be applied in either order: wait for both.
    let (contacts, orders) = eventually("the contact and the deal fetched", Duration::from_secs(10), || async {
        let contacts = cached_records(&app, &admin, &connector, "contact").await;
        let orders = cached_records(&app, &admin, &connector, "order").await;
        (contacts.contains_key(&contact) && orders.contains_key(&deal)).then_some((contacts, orders))
    })
    .await;
    assert_eq!(contacts[&contact]["data"]["email"], "ada.lovelace@acme.test");
    assert_eq!(contacts[&contact]["account_id"], json!(account), "its company association maps it");
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
    // The documents page names that folder as the request's files and links to it.
    let page = app.request(Method::GET, &format!("/accounts/{account}/documents"), Some(&member)).send().await.unwrap();
    let page = page.text().await.unwrap();
    let link = format!("<a href=\"/accounts/{account}/tickets/{ticket_id}\">A request");
    assert!(page.contains(&link), "{page}");
    assert!(!page.contains(&format!(">tickets/{ticket_id}<")), "not as an id");

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

#[tokio::test]
async fn a_company_and_a_contact_with_the_same_id_are_two_records_that_stay_apart() {
    let hubspot = FakeHubSpot::start(TOKEN).await;
    // HubSpot numbers each object type on its own: both of these are 101.
    let acme = hubspot.add_company("Acme");
    let globex = hubspot.add_company("Globex");
    let ada = hubspot.add_contact("Ada", "Lovelace", "ada@globex.test", &globex);
    assert_eq!(acme, ada, "the fake shares ids between object types, as HubSpot may");
    let app = spawn_app().await;
    let admin = app.staff(StaffRole::Admin).await;
    let acme_account = app.create_account(&admin, "Acme").await;
    let globex_account = app.create_account(&admin, "Globex").await;
    let connector = create_hubspot_connector(&app, &admin, &hubspot).await;
    map_account(&app, &admin, &connector, &acme, acme_account).await;
    map_account(&app, &admin, &connector, &globex, globex_account).await;

    for round in 0..2 {
        let runs = sync_to_end(&app, &admin, &connector, &["companies", "contacts"], "full").await;
        for run in &runs {
            assert_eq!(run["status"], "succeeded", "{run}");
            assert_eq!(run["updated"], 0, "round {round}: nothing overwrites anything: {run}");
            assert_eq!(run["failed"], 0, "{run}");
        }
    }
    let organisations = cached_records(&app, &admin, &connector, "organisation").await;
    let contacts = cached_records(&app, &admin, &connector, "contact").await;
    assert_eq!(organisations[&acme]["title"], "Acme");
    assert_eq!(organisations[&acme]["account_id"], json!(acme_account));
    assert_eq!(contacts[&ada]["title"], "Ada Lovelace");
    assert_eq!(contacts[&ada]["account_id"], json!(globex_account), "Globex's person never lands in Acme");
    let versions = portico_raw_versions(&app, organisations[&acme]["id"].as_str().unwrap()).await;
    assert_eq!(versions, 0, "no version history from a tug of war");
}

/// How many earlier versions a cached record has.
async fn portico_raw_versions(app: &TestApp, record_id: &str) -> usize {
    app.store.record_history(record_id.parse().unwrap(), 1_000).await.unwrap().len()
}

#[tokio::test]
async fn a_record_never_leaves_its_account_because_an_association_read_left_it_out() {
    let hubspot = FakeHubSpot::start(TOKEN).await;
    let acme = hubspot.add_company("Acme");
    let ticket = hubspot.add_ticket("Login fails", "1", &acme);
    let app = spawn_app().await;
    let admin = app.staff(StaffRole::Admin).await;
    let account = app.create_account(&admin, "Acme").await;
    let connector = create_hubspot_connector(&app, &admin, &hubspot).await;
    map_account(&app, &admin, &connector, &acme, account).await;
    sync_to_end(&app, &admin, &connector, &["tickets"], "full").await;
    let member = app.member(&admin, account, "member").await;
    // A ticket opened in the portal, delivered to HubSpot.
    let created = open_ticket(&app, &member, account, "Printer on fire").await;
    let outbox_id: Uuid = created["outbox_id"].as_str().unwrap().parse().unwrap();
    eventually("the portal ticket in HubSpot", Duration::from_secs(20), || async {
        let outbox = app.store.outbox_item(outbox_id).await.unwrap().unwrap();
        (outbox.status == "delivered").then_some(())
    })
    .await;

    // Both change; the search finds them, the association read answers without them.
    hubspot.leave_out_associations();
    hubspot.update("tickets", &ticket, json!({"subject": "Login fails on mobile"}));
    let portal_ticket = hubspot.objects("tickets").into_iter().find(|(id, _)| *id != ticket).unwrap().0;
    hubspot.update("tickets", &portal_ticket, json!({"hs_ticket_priority": "LOW"}));
    let runs = sync_to_end(&app, &admin, &connector, &["tickets"], "incremental").await;
    assert_eq!(runs[0]["status"], "succeeded", "{}", runs[0]);
    assert_eq!(runs[0]["updated"], 2, "{}", runs[0]);
    assert_eq!(runs[0]["accounts_kept"], 2, "counted: {}", runs[0]);

    let tickets = cached_records(&app, &admin, &connector, "ticket").await;
    assert_eq!(tickets[&ticket]["title"], "Login fails on mobile");
    for (external_id, record) in &tickets {
        assert_eq!(record["account_id"], json!(account), "{external_id} stays in its account");
    }
    let listed: Value = app.get_json(&format!("/api/v1/accounts/{account}/tickets"), Some(&member)).await;
    let subjects: Vec<&str> =
        listed["items"].as_array().unwrap().iter().map(|t| t["title"].as_str().unwrap()).collect();
    assert!(subjects.contains(&"Printer on fire"), "the customer still sees their ticket: {listed}");

    // A full run reads each object with its associations: that answer is authoritative.
    let runs = sync_to_end(&app, &admin, &connector, &["tickets"], "full").await;
    assert_eq!(runs[0]["accounts_kept"], 0, "{}", runs[0]);
    let tickets = cached_records(&app, &admin, &connector, "ticket").await;
    assert_eq!(tickets[&ticket]["account_id"], json!(account));
}

#[tokio::test]
async fn a_retried_write_back_finds_what_the_first_attempt_created_with_what_the_customer_wrote() {
    let hubspot = FakeHubSpot::start(TOKEN).await;
    let acme = hubspot.add_company("Acme");
    let app = spawn_app_with(|settings| {
        settings.sync.page_retry_base_ms = 10;
        settings.sync.page_retry_max_ms = 20;
    })
    .await;
    let admin = app.staff(StaffRole::Admin).await;
    let account = app.create_account(&admin, "Acme").await;
    let connector = create_hubspot_connector(&app, &admin, &hubspot).await;
    map_account(&app, &admin, &connector, &acme, account).await;
    let member = app.member(&admin, account, "member").await;

    // HubSpot creates the ticket, but its answer is lost: the retry must find it
    // (a search with every field the spec requires) and cache it as written.
    hubspot.lose_next_creation_answer();
    let created = open_ticket(&app, &member, account, "Printer on fire").await;
    let outbox_id: Uuid = created["outbox_id"].as_str().unwrap().parse().unwrap();
    let outbox = eventually("the write-back delivered", Duration::from_secs(30), || async {
        let outbox = app.store.outbox_item(outbox_id).await.unwrap().unwrap();
        matches!(outbox.status.as_str(), "delivered" | "dead").then_some(outbox)
    })
    .await;
    assert_eq!(outbox.status, "delivered", "{outbox:?}");
    assert!(outbox.attempts >= 2, "the first answer was lost: {outbox:?}");
    assert_eq!(hubspot.objects("tickets").len(), 1, "created once");

    let path = format!("/api/v1/accounts/{account}/tickets/{}", created["record_id"].as_str().unwrap());
    let ticket: Value = app.get_json(&path, Some(&member)).await;
    assert_eq!(ticket["title"], "Printer on fire", "{ticket}");
    assert_eq!(ticket["data"]["subject"], "Printer on fire", "{ticket}");
    assert_eq!(ticket["data"]["description"], "It says 'invalid password'", "{ticket}");
    assert_eq!(ticket["status"], "New", "{ticket}");
}

#[tokio::test]
async fn a_list_cursor_that_repeats_or_cannot_be_read_fails_the_run() {
    let hubspot = FakeHubSpot::start(TOKEN).await;
    for n in 0..3 {
        hubspot.add_company(&format!("Company{n}"));
    }
    let app = spawn_app().await;
    let admin = app.staff(StaffRole::Admin).await;
    let connector = create_hubspot_connector(&app, &admin, &hubspot).await;
    let run_of = |after: Value| {
        let (app, admin, connector, hubspot) = (&app, &admin, &connector, &hubspot);
        async move {
            hubspot.answer_list_cursor(after);
            let started = crate::sync::start_sync(app, admin, connector, &["companies"], "full").await;
            let run_id = started[0]["run_id"].as_str().unwrap().to_owned();
            crate::sync::finished_run(app, admin, connector, &run_id, Duration::from_secs(60)).await
        }
    };
    // Prism serving HubSpot's spec: the same `after` on every page.
    let run = run_of(json!("MTAw")).await;
    assert_eq!(run["status"], "failed", "{run}");
    assert!(run["error"].as_str().unwrap().starts_with("upstream repeated cursor {\"after\":\"MTAw\""), "{run}");
    assert_eq!(run["pages"], 1, "stopped at the first repeat: {run}");
    let run = run_of(json!({"offset": 100})).await;
    assert_eq!(run["status"], "failed", "{run}");
    assert!(run["error"].as_str().unwrap().contains("unreadable list cursor"), "{run}");
}

/// The statement of the migration that moved HubSpot companies to organisations,
/// for the engine under test.
fn organisations_migration(db: &crate::helpers::TestDatabase) -> &'static str {
    let file = if db.url.starts_with("postgres") {
        include_str!("../../migrations/postgres/20261207000001_upstream_object_keys.sql")
    } else {
        include_str!("../../migrations/sqlite/20261207000001_upstream_object_keys.sql")
    };
    let start = file.find("UPDATE records").expect("the migration updates records");
    &file[start..=start + file[start..].find(';').unwrap()]
}

#[tokio::test]
async fn companies_cached_as_contacts_move_to_organisations_keeping_their_rows_and_history() {
    let hubspot = FakeHubSpot::start(TOKEN).await;
    let acme = hubspot.add_company("Acme");
    let app = spawn_app().await;
    let admin = app.staff(StaffRole::Admin).await;
    let account = app.create_account(&admin, "Acme").await;
    let connector = create_hubspot_connector(&app, &admin, &hubspot).await;
    map_account(&app, &admin, &connector, &acme, account).await;
    sync_to_end(&app, &admin, &connector, &["companies"], "full").await;
    hubspot.update("companies", &acme, json!({"name": "Acme Corporation"}));
    sync_to_end(&app, &admin, &connector, &["companies"], "full").await;
    let before = cached_records(&app, &admin, &connector, "organisation").await[&acme].clone();
    let history_before = portico_raw_versions(&app, before["id"].as_str().unwrap()).await;
    assert_eq!(history_before, 1, "one earlier version: the old name");

    // Back to how the rows were before the migration: a contact of kind company.
    let old_shape = if app.db.url.starts_with("postgres") {
        "UPDATE records SET record_type = 'contact', data = jsonb_build_object('type', 'contact', 'name', data->'name',
            'kind', 'company', 'email', NULL, 'phone', data->'phone', 'company', data->'domain')
         WHERE record_type = 'organisation'"
    } else {
        "UPDATE records SET record_type = 'contact', data = json_object('type', 'contact', 'name', json_extract(data, '$.name'),
            'kind', 'company', 'email', NULL, 'phone', json_extract(data, '$.phone'), 'company', json_extract(data, '$.domain'))
         WHERE record_type = 'organisation'"
    };
    assert_eq!(crate::helpers::raw_sql(&app.db, old_shape, |query| query).await, 1);
    assert!(cached_records(&app, &admin, &connector, "organisation").await.is_empty());

    let moved = crate::helpers::raw_sql(&app.db, organisations_migration(&app.db), |query| query).await;
    assert_eq!(moved, 1, "the migration moves the company");
    let after = cached_records(&app, &admin, &connector, "organisation").await[&acme].clone();
    assert_eq!(after["id"], before["id"], "the same row");
    assert_eq!(after["account_id"], json!(account));
    assert_eq!(after["data"], before["data"], "the common-model form the sync would write: {after}");

    // The next sync finds it where it is: nothing added, history kept.
    let runs = sync_to_end(&app, &admin, &connector, &["companies"], "full").await;
    assert_eq!(runs[0]["added"], 0, "{}", runs[0]);
    assert!(cached_records(&app, &admin, &connector, "contact").await.is_empty(), "no contact left behind");
    let history_after = portico_raw_versions(&app, after["id"].as_str().unwrap()).await;
    assert!(history_after >= history_before, "history kept: {history_after}");
}
