//! The staff console in the real Chromium, as staff use it: a connector added
//! through the form generated from its kind's schema (a mistake in the manifest
//! shown at its line), its connection tested, a full sync followed to its end,
//! a parked key mapped to an account, a held run's deletions confirmed; every
//! console page checked with axe at a phone's and a desktop's size for each
//! staff role; the form of every shipped kind saved and opened again.

use std::time::Duration;

use fantoccini::Locator;
use portico::auth::permissions::StaffRole;
use portico_testkit::FakeRest;
use portico_testkit::rest::API_KEY;
use serde_json::{Value, json};

use crate::browser::{Browser, Viewport};
use crate::helpers::{Session, TestApp, eventually, spawn_app};
use crate::pages::{assert_accessible, sign_in};

/// The projects stream of the shipped example manifest, against `base_url`.
fn manifest(base_url: &str) -> String {
    format!(
        "name: Projects
base_url: {base_url}/v1
auth:
  type: api_key
  header: X-Api-Key
streams:
  - name: projects
    path: /projects
    record_selector: /items
    pagination:
      type: page_number
      page_param: page
      size_param: page_size
      size: 50
    record_type: order
    fields:
      external_id: /id
      account_ref: /client_id
      title: /name
      status: /phase
"
    )
}

async fn projects_source(count: u32) -> FakeRest {
    let source = FakeRest::start().await;
    for n in 1..=count {
        // Ten projects for client c-2, the rest for c-1.
        let client = if n % 12 == 0 { "c-2" } else { "c-1" };
        source.add_project(json!({"id": n, "client_id": client, "name": format!("Project {n}"), "phase": "planning", "updated": 1_700_000_000 + n}));
    }
    source
}

async fn orders_of(app: &TestApp, member: &Session, account: uuid::Uuid) -> usize {
    let orders: Value = app.get_json(&format!("/api/v1/accounts/{account}/orders?limit=200"), Some(member)).await;
    orders["items"].as_array().map(Vec::len).unwrap_or_default()
}

#[tokio::test]
async fn an_admin_adds_a_rest_connector_syncs_it_maps_its_records_and_confirms_held_deletions() {
    let source = projects_source(120).await;
    let app = spawn_app().await;
    let admin = app.staff(StaffRole::Admin).await;
    let acme = app.create_account(&admin, "Acme").await;
    let acme_owner = app.member(&admin, acme, "owner").await;

    let browser = Browser::start(Viewport::Desktop).await;
    sign_in(&browser, &app.address, &admin.email, &admin.password).await;
    browser.wait_for_path("/console/connectors").await;
    assert_accessible(&browser, "console connectors, none yet").await;
    browser.click_link("Add a connector").await;
    browser.wait_for_path("/console/connectors/new").await;
    assert_accessible(&browser, "console connector kinds").await;
    browser.click_link("rest").await;
    browser.wait_for_path("/console/connectors/new/rest").await;
    assert_accessible(&browser, "console new rest connector").await;

    // A mistake in the manifest: refused, named at its line, what was typed kept.
    browser.fill("#name", "Projects").await;
    let mistaken = manifest(&source.base_url()).replace("type: page_number", "type: pages");
    browser.fill("#settings-manifest", &mistaken).await;
    browser.fill("#credentials-api-key", API_KEY).await;
    browser.click("#allow_private_network").await;
    browser.click_and_wait("form.form button[type=submit]").await;
    browser.wait_for_path("/console/connectors").await;
    let error = browser.text("#settings-manifest-error").await;
    assert!(error.starts_with("line 11: unknown variant `pages`"), "{error}");
    let marked = browser.text(".code-excerpt li.marked").await;
    assert!(marked.trim_start().starts_with("type: pages") && marked.contains("the mistake is on this line"), "{marked}");
    assert_eq!(browser.value("#settings-manifest").await.replace("\r\n", "\n"), mistaken);
    assert_eq!(browser.value("#name").await, "Projects");
    assert_eq!(browser.value("#credentials-api-key").await, "", "a secret is never sent back");
    assert_accessible(&browser, "console refused connector form").await;

    browser.fill("#settings-manifest", &manifest(&source.base_url())).await;
    browser.fill("#credentials-api-key", API_KEY).await;
    browser.click_and_wait("form.form button[type=submit]").await;
    let connector_path = eventually("the new connector's page", Duration::from_secs(10), || async {
        let path = browser.path().await;
        (path.starts_with("/console/connectors/") && !path.ends_with("/new/rest")).then_some(path)
    })
    .await;
    let connector_id = connector_path.trim_start_matches("/console/connectors/").to_owned();
    let stored: Value = app.get_json(&format!("/api/v1/admin/connectors/{connector_id}"), Some(&admin)).await;
    assert_eq!(stored["settings"]["manifest"], manifest(&source.base_url()));
    assert_eq!(stored["has_credentials"], true);
    assert_accessible(&browser, "console connector page").await;

    // The connection test answers in words.
    browser.click_and_wait("form[action$='/test'] button").await;
    assert!(browser.text("#test-result").await.starts_with("Connected"), "the test passed");

    // A full sync, followed on the page to its end.
    browser.click("input[name=mode][value=full]").await;
    browser.click_and_wait("#start-sync").await;
    browser.wait_for_text("#runs", "Succeeded", 60).await;
    let runs = browser.text("#runs").await;
    assert!(runs.contains("120 added"), "{runs}");
    browser.click_link("projects").await;
    browser.wait_for_text("#run-status", "Succeeded", 10).await;
    assert!(browser.text("#run-figures").await.contains("120"), "the run's figures");
    assert_accessible(&browser, "console run page").await;

    // The records wait for an account: the admin finds Acme and maps c-1 to it.
    assert_eq!(orders_of(&app, &acme_owner, acme).await, 0);
    browser.goto(&format!("{}{connector_path}/mapping", app.address)).await;
    assert!(browser.text("main").await.contains("110 records"), "c-1's group");
    assert_accessible(&browser, "console mapping page").await;
    browser.fill("#q", "acm").await;
    browser.click_and_wait("form[role=search] button").await;
    let group = browser.client.find(Locator::Css("li:has(input[value='c-1']) select")).await.unwrap();
    group.select_by_value(&acme.to_string()).await.unwrap();
    browser.click_and_wait("li:has(input[value='c-1']) button").await;
    assert!(browser.text("main .notice").await.contains("c-1 now belongs to the account: 110 records"));
    assert_eq!(orders_of(&app, &acme_owner, acme).await, 110, "the owner sees the mapped records");

    // Most projects vanish upstream: the next full sync holds its deletions for the admin.
    source.keep_projects(20);
    browser.goto(&format!("{}{connector_path}", app.address)).await;
    browser.click("input[name=mode][value=full]").await;
    browser.click_and_wait("#start-sync").await;
    browser.wait_for_text("#runs", "Held", 60).await;
    browser.click_link("projects").await;
    browser.wait_for_text("#run-status", "Held", 10).await;
    let held = browser.text("#held-title + p").await;
    assert!(held.contains("100 records"), "{held}");
    assert!(browser.text("section.card table").await.contains("Project"), "a sample of what would go");
    assert_accessible(&browser, "console held run").await;
    browser.click_and_wait("form[action$='/confirm-deletions'] button").await;
    browser.wait_for_text("#run-status", "Succeeded", 10).await;
    assert_eq!(orders_of(&app, &acme_owner, acme).await, 19, "c-1's deleted projects are gone for the owner");
    browser.close().await;
}
