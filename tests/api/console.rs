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
use portico_testkit::proxy::{Mode, Proxy};
use portico_testkit::rest::API_KEY;
use reqwest::Method;
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

/// A `rest` connector on the projects manifest with webhooks, against `source`.
async fn projects_connector(app: &TestApp, admin: &Session, source: &FakeRest) -> Value {
    let body = json!({
        "kind": "rest", "name": "Projects", "settings": {"manifest": manifest_with_webhooks(&source.base_url())},
        "credentials": {"api_key": API_KEY}, "allow_private_network": true,
    });
    let response = app.request(Method::POST, "/api/v1/admin/connectors", Some(admin)).json(&body).send().await.unwrap();
    response.json().await.unwrap()
}

const ENDPOINT_SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

/// A Standard Webhooks endpoint of `connector` signing with [`ENDPOINT_SECRET`]; its id.
async fn standard_endpoint(app: &TestApp, admin: &Session, connector: &Value) -> String {
    let path = format!("/api/v1/admin/connectors/{}/webhook-endpoints", connector["id"].as_str().unwrap());
    let body = json!({"name": "Projects events", "scheme": "standard-webhooks", "secret": ENDPOINT_SECRET});
    let endpoint: Value =
        app.request(Method::POST, &path, Some(admin)).json(&body).send().await.unwrap().json().await.unwrap();
    endpoint["id"].as_str().unwrap().to_owned()
}

/// Posts a signed `project.updated` event (project 1 named `name`, updated at
/// 1,800,000,000 + `n`) as `msg_{n}`; the status.
async fn post_project_event(app: &TestApp, endpoint: &str, n: i64, name: &str) -> u16 {
    let message_id = format!("msg_{n}");
    let event = json!({"event": "project.updated", "project": {"id": 1, "client_id": "c-1", "name": name, "phase": "build", "updated": 1_800_000_000 + n}}).to_string();
    let headers = portico_testkit::signing::standard_webhooks_headers(
        ENDPOINT_SECRET,
        &message_id,
        chrono::Utc::now().timestamp(),
        event.as_bytes(),
    );
    let mut delivery =
        app.client.post(app.url(&format!("/webhooks/{endpoint}"))).header("content-type", "application/json");
    for (name, value) in headers {
        delivery = delivery.header(name, value);
    }
    delivery.body(event).send().await.unwrap().status().as_u16()
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
    // Between Portico and the source: slowed down while a sync is watched.
    let proxy = Proxy::start(&source.base_url(), Mode::Pass).await;
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
    let mistaken = manifest(&proxy.base_url()).replace("type: page_number", "type: pages");
    browser.fill("#settings-manifest", &mistaken).await;
    browser.fill("#credentials-api-key", API_KEY).await;
    browser.click("#allow_private_network").await;
    browser.click_and_wait("form.form button[type=submit]").await;
    browser.wait_for_path("/console/connectors").await;
    let error = browser.text("#settings-manifest-error").await;
    assert!(error.starts_with("line 11: unknown variant `pages`"), "{error}");
    let marked = browser.text(".code-excerpt li.marked").await;
    assert!(
        marked.trim_start().starts_with("type: pages") && marked.contains("the mistake is on this line"),
        "{marked}"
    );
    assert_eq!(browser.value("#settings-manifest").await.replace("\r\n", "\n"), mistaken);
    assert_eq!(browser.value("#name").await, "Projects");
    assert_eq!(browser.value("#credentials-api-key").await, "", "a secret is never sent back");
    assert_accessible(&browser, "console refused connector form").await;

    browser.fill("#settings-manifest", &manifest(&proxy.base_url())).await;
    browser.fill("#credentials-api-key", API_KEY).await;
    browser.screenshot("console-connector-form").await;
    browser.click_and_wait("form.form button[type=submit]").await;
    let connector_path = eventually("the new connector's page", Duration::from_secs(10), || async {
        let path = browser.path().await;
        (path.starts_with("/console/connectors/") && !path.ends_with("/new/rest")).then_some(path)
    })
    .await;
    let connector_id = connector_path.trim_start_matches("/console/connectors/").to_owned();
    let stored: Value = app.get_json(&format!("/api/v1/admin/connectors/{connector_id}"), Some(&admin)).await;
    assert_eq!(stored["settings"]["manifest"], manifest(&proxy.base_url()));
    assert_eq!(stored["has_credentials"], true);
    assert_accessible(&browser, "console connector page").await;

    // The connection test answers in words.
    browser.click_and_wait("form[action$='/test'] button").await;
    assert!(browser.text("#test-result").await.starts_with("Connected"), "the test passed");

    // A full sync, followed on the page as its pages come in, to its end.
    proxy.set_mode(Mode::Delay(Duration::from_secs(2)));
    browser.click("input[name=mode][value=full]").await;
    browser.click_and_wait("#start-sync").await;
    // Pages committed while it runs show without a reload (the runs refresh themselves).
    eventually("the run's first pages on the open page", Duration::from_secs(30), || async {
        let runs = browser.text("#runs").await;
        (runs.contains("Running") && !runs.contains("Running 0 pages")).then_some(())
    })
    .await;
    browser.screenshot("console-sync-in-progress").await;
    browser.wait_for_text("#runs", "Succeeded", 60).await;
    proxy.set_mode(Mode::Pass);
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
    let phone = Browser::start(Viewport::Phone).await;
    sign_in(&phone, &app.address, &admin.email, &admin.password).await;
    phone.wait_for_path("/console/connectors").await;
    phone.goto(&format!("{}{}", app.address, browser.path().await)).await;
    phone.wait_for_text("#run-status", "Held", 10).await;
    assert_accessible(&phone, "console held run (phone)").await;
    phone.close().await;
    browser.click_and_wait("form[action$='/confirm-deletions'] button").await;
    browser.wait_for_text("#run-status", "Succeeded", 10).await;
    assert_eq!(orders_of(&app, &acme_owner, acme).await, 19, "c-1's deleted projects are gone for the owner");
    browser.close().await;
}

/// What a person fills in on a new form of each shipped kind, by field id.
fn required_fields(kind: &str, base_url: &str) -> Vec<(&'static str, String)> {
    match kind {
        "stripe" => {
            vec![("#settings-base-url", format!("{base_url}/")), ("#credentials-api-key", "sk_test_console".into())]
        }
        "hubspot" => vec![("#credentials-access-token", "pat-console".into())],
        "files" => vec![
            ("#settings-store-s3--bucket", "documents".into()),
            ("#settings-prefix", "customers/".into()),
            ("#credentials-access-key-id", "AKIACONSOLE".into()),
            ("#credentials-secret-access-key", "console-secret".into()),
        ],
        "rest" => vec![("#settings-manifest", manifest(base_url)), ("#credentials-api-key", API_KEY.into())],
        other => panic!("no fields for the shipped kind {other}: add them here"),
    }
}

/// Every field of the page's form with what it holds (as a browser would send it).
async fn form_values(browser: &Browser) -> Vec<(String, String)> {
    let values: Value = browser
        .client
        .execute(
            "return Array.from(document.querySelectorAll('form.form [name]'))
               .filter(e => e.type !== 'hidden' && e.type !== 'submit')
               .map(e => [e.name, e.type === 'checkbox' ? String(e.checked) : e.value.replace(/\\r\\n/g, '\\n')]);",
            vec![],
        )
        .await
        .unwrap();
    serde_json::from_value(values).unwrap()
}

#[tokio::test]
async fn the_form_of_every_shipped_kind_saves_what_it_shows_and_opens_it_again_without_secrets() {
    let app = spawn_app().await;
    let admin = app.staff(StaffRole::Admin).await;
    let kinds: Vec<Value> = app.get_json("/api/v1/admin/connector-kinds", Some(&admin)).await;
    let browser = Browser::start(Viewport::Phone).await;
    sign_in(&browser, &app.address, &admin.email, &admin.password).await;
    browser.wait_for_path("/console/connectors").await;
    for kind in kinds.iter().map(|kind| kind["id"].as_str().unwrap()) {
        browser.goto(&format!("{}/console/connectors/new/{kind}", app.address)).await;
        assert_accessible(&browser, &format!("new {kind} connector (phone)")).await;
        browser.fill("#name", &format!("The {kind} one")).await;
        if kind == "files" {
            let store = browser.client.find(Locator::Css("#settings-store-type")).await.unwrap();
            store.select_by_value("s3").await.unwrap();
        }
        for (field, value) in required_fields(kind, "https://upstream.example.com") {
            browser.fill(field, &value).await;
        }
        let submitted: Vec<(String, String)> =
            form_values(&browser).await.into_iter().filter(|(name, _)| !name.starts_with("credentials.")).collect();
        browser.click_and_wait("form.form button[type=submit]").await;
        let path = browser.path().await;
        assert!(
            path.starts_with("/console/connectors/") && !path.contains("/new"),
            "{kind}: the server took the form (at {path}: {})",
            browser.text("main").await
        );
        let stored: Value =
            app.get_json(&format!("/api/v1/admin{}", path.trim_start_matches("/console")), Some(&admin)).await;
        assert_eq!(stored["kind"], kind);

        // Opened again: every value as it was submitted, secrets empty.
        browser.goto(&format!("{}{path}/edit", app.address)).await;
        let opened = form_values(&browser).await;
        for (name, value) in &submitted {
            let shown = opened.iter().find(|(field, _)| field == name).map(|(_, value)| value.as_str());
            // Unchosen variants are not sent; a checkbox of the new form may differ (enabled).
            if name.contains('[') && !name.contains("[s3]") || name == "enabled" {
                continue;
            }
            assert_eq!(shown, Some(value.as_str()), "{kind}: {name} opens as it was saved");
        }
        for (name, value) in opened.iter().filter(|(name, _)| name.starts_with("credentials.")) {
            assert_eq!(value, "", "{kind}: {name} is never shown");
        }
        if stored["has_credentials"] == true {
            assert!(browser.text("main").await.contains("Stored: leave empty to keep it."), "{kind}");
        }
        assert_accessible(&browser, &format!("edit {kind} connector (phone)")).await;
    }
    browser.close().await;
}

#[tokio::test]
async fn every_console_page_passes_axe_at_both_sizes_and_each_role_sees_its_sections_only() {
    let source = projects_source(30).await;
    let app = spawn_app().await;
    let admin = app.staff(StaffRole::Admin).await;
    let support = app.staff(StaffRole::Support).await;
    let auditor = app.staff(StaffRole::Auditor).await;
    let acme = app.create_account(&admin, "Acme").await;
    let connector = projects_connector(&app, &admin, &source).await;
    let runs = crate::sync::sync_to_end(&app, &admin, &connector, &["projects"], "full").await;
    let id = connector["id"].as_str().unwrap();
    let run = runs[0]["id"].as_str().unwrap();
    let records: Vec<Value> = app.get_json(&format!("/api/v1/admin/connectors/{id}/records"), Some(&admin)).await;
    let record = records[0]["id"].as_str().unwrap();
    // A webhook endpoint with one delivery, for its page and the delivery's.
    let endpoint = standard_endpoint(&app, &admin, &connector).await;
    assert_eq!(post_project_event(&app, &endpoint, 0, "Renamed").await, 200);
    let deliveries: Value =
        app.get_json(&format!("/api/v1/admin/webhook-endpoints/{endpoint}/deliveries"), Some(&admin)).await;
    let delivery = deliveries["deliveries"][0]["id"].as_str().unwrap().to_owned();
    let admin_pages = [
        "/console/connectors".to_owned(),
        "/console/connectors/new".to_owned(),
        "/console/connectors/new/files".to_owned(),
        "/console/connectors/new/rest".to_owned(),
        "/console/connectors/new/stripe".to_owned(),
        "/console/connectors/new/hubspot".to_owned(),
        format!("/console/webhooks/{endpoint}"),
        format!("/console/webhooks/{endpoint}/deliveries/{delivery}"),
        format!("/console/connectors/{id}"),
        format!("/console/connectors/{id}/edit"),
        format!("/console/connectors/{id}/runs/{run}"),
        format!("/console/connectors/{id}/mapping"),
        format!("/console/connectors/{id}/records"),
        format!("/console/connectors/{id}/records/{record}"),
        "/console/outbox".to_owned(),
        "/console/health".to_owned(),
        "/console/staff".to_owned(),
        "/console/reports?days=90".to_owned(),
        "/console/accounts".to_owned(),
        format!("/console/accounts/{acme}"),
        format!("/console/audit?account={acme}"),
        "/console/audit?verify=1".to_owned(),
    ];
    for viewport in [Viewport::Desktop, Viewport::Phone] {
        let browser = Browser::start(viewport).await;
        sign_in(&browser, &app.address, &admin.email, &admin.password).await;
        browser.wait_for_path("/console/connectors").await;
        for path in &admin_pages {
            browser.goto(&format!("{}{path}", app.address)).await;
            assert_accessible(&browser, &format!("{path} ({viewport:?})")).await;
        }
        assert!(browser.text("#chain-verdict").await.starts_with("The chain is intact"), "the audit chain verified");
        // Viewing the account as one of its roles: the portal with the banner.
        browser.goto(&format!("{}/console/accounts/{acme}", app.address)).await;
        let choice = browser.client.find(Locator::Css("form[action$='/view-as'] select")).await.unwrap();
        choice.select_by_value("admin").await.unwrap();
        browser.click_and_wait("form[action$='/view-as'] button").await;
        browser.wait_for_path(&format!("/accounts/{acme}")).await;
        assert_accessible(&browser, &format!("viewing as admin ({viewport:?})")).await;
        browser.click_and_wait("#view-as-banner button").await;
        browser.close().await;
    }

    // Support: accounts and the audit log; connectors are refused as by the API.
    let browser = Browser::start(Viewport::Phone).await;
    sign_in(&browser, &app.address, &support.email, &support.password).await;
    browser.wait_for_path("/console/accounts").await;
    let sections = browser.text("nav.sections").await;
    assert!(sections.contains("Accounts") && sections.contains("Audit log") && !sections.contains("Connectors"));
    assert_accessible(&browser, "support's accounts (phone)").await;
    let (status, _, _) = browser.fetch(&format!("/console/connectors/{id}")).await;
    assert_eq!(status, 403);
    browser.close().await;

    // An auditor: the audit log and nothing else.
    let browser = Browser::start(Viewport::Desktop).await;
    sign_in(&browser, &app.address, &auditor.email, &auditor.password).await;
    browser.wait_for_path("/console/audit").await;
    assert_eq!(browser.text("nav.sections").await.trim(), "Audit log");
    assert_accessible(&browser, "auditor's audit log").await;
    for path in ["/console/accounts", "/console/connectors"] {
        let (status, _, _) = browser.fetch(path).await;
        assert_eq!(status, 403, "{path}");
    }
    browser.close().await;
}

#[tokio::test]
async fn an_admin_makes_a_webhook_endpoint_sees_a_signed_delivery_processed_replays_it_and_rotates_the_secret() {
    let stripe = portico_testkit::FakeStripe::start("sk_test_console").await;
    let customer = stripe.add_customer("Acme", "billing@acme.test");
    let invoice = stripe.add_invoice(&customer, &[1500]);
    let app = spawn_app().await;
    let admin = app.staff(StaffRole::Admin).await;
    let account = app.create_account(&admin, "Acme").await;
    let settings = json!({"base_url": stripe.base_url()});
    let credentials = json!({"api_key": "sk_test_console"});
    let connector = crate::sync::create_connector(&app, &admin, "stripe", settings, credentials, json!({})).await;
    crate::sync::map_account(&app, &admin, &connector, &customer, account).await;
    crate::sync::sync_to_end(&app, &admin, &connector, &["customers", "invoices"], "full").await;

    let browser = Browser::start(Viewport::Desktop).await;
    sign_in(&browser, &app.address, &admin.email, &admin.password).await;
    browser.wait_for_path("/console/connectors").await;
    browser.click_link(connector["name"].as_str().unwrap()).await;
    browser.fill("#endpoint-name", "Stripe events").await;
    assert_eq!(browser.value("#endpoint-scheme").await, "stripe", "the kind's own scheme is offered first");
    browser.click_and_wait("form[action$='/webhooks'] button").await;
    // The generated secret is shown on this answer, once.
    let secret = browser.value("#generated-secret").await;
    assert_eq!(secret.len(), 64, "{secret}");
    let url = browser.text("#endpoint-url").await;
    assert!(url.contains("/webhooks/"), "{url}");
    assert!(browser.text("main").await.contains("Developers → Webhooks"), "Stripe's own steps");
    assert_accessible(&browser, "console new webhook endpoint").await;
    let endpoint_id = url.rsplit('/').next().unwrap().to_owned();
    let endpoint_page = format!("/console/webhooks/{endpoint_id}");
    browser.goto(&format!("{}{endpoint_page}", app.address)).await;
    assert!(browser.client.find(Locator::Css("#generated-secret")).await.is_err(), "never shown again");

    // Stripe posts a signed event: stored, processed, shown with its status.
    let event = stripe.set_invoice_status(&invoice, "paid");
    let body = serde_json::to_vec(&event).unwrap();
    let post = |secret: String, body: Vec<u8>| {
        let app = &app;
        let endpoint_id = endpoint_id.clone();
        async move {
            let signature = portico_testkit::signing::stripe_signature(&secret, chrono::Utc::now().timestamp(), &body);
            let response = app
                .client
                .post(app.url(&format!("/webhooks/{endpoint_id}")))
                .header("content-type", "application/json")
                .header("stripe-signature", signature)
                .body(body)
                .send()
                .await
                .unwrap();
            response.status().as_u16()
        }
    };
    assert_eq!(post(secret.clone(), body.clone()).await, 200);
    eventually("the delivery to be processed", Duration::from_secs(15), || async {
        browser.goto(&format!("{}{endpoint_page}", app.address)).await;
        browser.text("#delivery-list").await.contains("Processed").then_some(())
    })
    .await;
    assert_accessible(&browser, "console webhook endpoint with a delivery").await;
    let invoices: Value = app
        .get_json(
            &format!("/api/v1/admin/connectors/{}/records?record_type=invoice", connector["id"].as_str().unwrap()),
            Some(&admin),
        )
        .await;
    assert_eq!(invoices[0]["status"], "paid", "the delivery reached the cache");

    // One delivery, masked; replayed through processing.
    browser.click("#delivery-list tbody a").await;
    browser.wait_for_text("#delivery-status", "Processed", 10).await;
    let headers = browser.text("pre.payload").await;
    let signature_line = headers.lines().find(|line| line.contains("stripe-signature")).unwrap_or_default().to_owned();
    assert!(!signature_line.is_empty() && !signature_line.contains("v1="), "the signature is masked: {headers}");
    assert_accessible(&browser, "console webhook delivery").await;
    browser.click_and_wait("main form[action$='/replay'] button").await;
    assert!(browser.text("main .notice").await.contains("put back through processing"));
    eventually("the replayed delivery to be processed again", Duration::from_secs(15), || async {
        let path = browser.path().await;
        browser.goto(&format!("{}{path}", app.address)).await;
        browser.text("#delivery-status").await.contains("Processed").then_some(())
    })
    .await;
    let audit: Vec<Value> = app.get_json("/api/v1/audit-events?action=webhook_endpoint.replayed", Some(&admin)).await;
    assert_eq!(audit.len(), 1, "the replay is audited");

    // A new secret: shown once; the old one keeps working through the overlap.
    browser.goto(&format!("{}{endpoint_page}", app.address)).await;
    browser.click_and_wait("form[action$='/secrets'] button").await;
    let rotated = browser.value("#generated-secret").await;
    assert_ne!(rotated, secret);
    let secrets = browser.text("main table.records").await;
    assert!(secrets.contains("valid until"), "the old secret's overlap is shown: {secrets}");
    let again = stripe.set_invoice_status(&invoice, "open");
    assert_eq!(post(secret, serde_json::to_vec(&again).unwrap()).await, 200, "the old secret in its overlap");
    let later = stripe.set_invoice_status(&invoice, "paid");
    assert_eq!(post(rotated, serde_json::to_vec(&later).unwrap()).await, 200, "the new secret");
    assert_eq!(post("not-the-secret".into(), body).await, 401);

    // The health page counts them from the same figures as /metrics (this test
    // process's counters: other tests' deliveries add to them).
    browser.goto(&format!("{}/console/health", app.address)).await;
    let figures = browser.text("#webhook-figures").await;
    let accepted: u64 = figures.lines().skip_while(|line| *line != "Accepted").nth(1).unwrap().parse().unwrap();
    assert!(accepted >= 3, "{figures}");
    assert!(browser.text("main").await.contains("bad_signature"), "the refusal's reason");
    assert!(browser.text("#queues").await.contains("sync"), "the queues");
    assert_accessible(&browser, "console health").await;
    browser.close().await;
}

#[tokio::test]
async fn support_views_an_account_as_its_billing_role_read_only_and_the_owner_finds_it_in_the_activity_log() {
    let stripe = portico_testkit::FakeStripe::start("sk_test_view_as").await;
    let customer = stripe.add_customer("Acme", "billing@acme.test");
    stripe.add_invoice(&customer, &[4200]);
    let app = spawn_app().await;
    let admin = app.staff(StaffRole::Admin).await;
    let support = app.staff(StaffRole::Support).await;
    let acme = app.create_account(&admin, "Acme").await;
    let owner = app.member(&admin, acme, "owner").await;
    let settings = json!({"base_url": stripe.base_url()});
    let credentials = json!({"api_key": "sk_test_view_as"});
    let connector = crate::sync::create_connector(&app, &admin, "stripe", settings, credentials, json!({})).await;
    crate::sync::map_account(&app, &admin, &connector, &customer, acme).await;
    crate::sync::sync_to_end(&app, &admin, &connector, &["customers", "invoices"], "full").await;

    let browser = Browser::start(Viewport::Phone).await;
    sign_in(&browser, &app.address, &support.email, &support.password).await;
    browser.wait_for_path("/console/accounts").await;
    let choice = browser.client.find(Locator::Css("form[action$='/view-as'] select")).await.unwrap();
    choice.select_by_value("billing").await.unwrap();
    browser.click_and_wait("form[action$='/view-as'] button").await;
    browser.wait_for_path(&format!("/accounts/{acme}")).await;
    let banner = browser.text("#view-as-banner").await;
    assert!(banner.contains("Acme") && banner.contains("Billing") && banner.contains("Read-only"), "{banner}");
    assert_accessible(&browser, "viewing as billing (phone)").await;
    // What billing sees: invoices, not requests (tickets are not billing's).
    let sections = browser.text("nav.sections").await;
    assert!(sections.contains("Invoices") && !sections.contains("Requests"), "{sections}");
    browser.click_link("Invoices").await;
    browser.wait_for_path(&format!("/accounts/{acme}/invoices")).await;
    assert!(browser.text("main").await.contains("42.00"), "the invoice as billing sees it");
    // Nothing can be changed while viewing, not even what billing itself may do.
    let (status, _, _) = browser.fetch(&format!("/accounts/{acme}/tickets/new")).await;
    assert_eq!(status, 403, "a section the role lacks");
    let refused: Value = browser
        .client
        .execute_async(
            "const done = arguments[arguments.length - 1];
             fetch(arguments[0], {method: 'POST', headers: {'content-type': 'application/x-www-form-urlencoded'}, body: 'email_codes=off'})
               .then(response => done(response.status));",
            vec![json!(format!("/accounts/{acme}/settings"))],
        )
        .await
        .unwrap();
    assert_eq!(refused, 403, "read-only");
    let (status, _, _) = browser.fetch(&format!("/console/accounts/{acme}")).await;
    assert_eq!(status, 200, "in the console, support is themselves again");

    // Back as oneself: no banner, and the view is on the account's record.
    browser.click_and_wait("#view-as-banner button").await;
    browser.wait_for_path("/console/accounts").await;
    assert!(browser.client.find(Locator::Css("#view-as-banner")).await.is_err());
    browser.close().await;

    let browser = Browser::start(Viewport::Desktop).await;
    sign_in(&browser, &app.address, &owner.email, &owner.password).await;
    browser.wait_for_path(&format!("/accounts/{acme}")).await;
    browser.goto(&format!("{}/accounts/{acme}/audit", app.address)).await;
    let log = browser.text("main").await;
    assert!(log.contains("Staff viewed a page as one of your roles"), "{log}");
    assert!(log.contains("Staff began viewing the portal as one of your roles"), "{log}");
    let events: Vec<Value> = app
        .get_json(&format!("/api/v1/accounts/{acme}/audit-events?action=staff.viewed_as_customer"), Some(&owner))
        .await;
    let pages: Vec<&str> = events.iter().filter_map(|event| event["details"]["page"].as_str()).collect();
    assert!(pages.contains(&format!("/accounts/{acme}/invoices").as_str()), "{pages:?}");
    assert!(
        events
            .iter()
            .all(|event| event["details"]["role"] == "billing" && event["actor_user_id"] == json!(support.user_id))
    );
    browser.close().await;

    // The owner looks at the invoice and goes to pay it: the business sees that use
    // in its report, and none of the support member's looking.
    let invoices: Value = app.get_json(&format!("/api/v1/accounts/{acme}/invoices"), Some(&owner)).await;
    let invoice = invoices["items"][0]["id"].as_str().unwrap().to_owned();
    let page =
        app.request(Method::GET, &format!("/accounts/{acme}/invoices/{invoice}"), Some(&owner)).send().await.unwrap();
    assert_eq!(page.status(), 200);
    let no_redirects = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let pay = no_redirects
        .get(app.url(&format!("/accounts/{acme}/invoices/{invoice}/pay")))
        .header("cookie", &owner.cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(pay.status(), 303);
    assert!(pay.headers()["location"].to_str().unwrap().starts_with("https://"), "on to the source's payment page");
    let csv = app.request(Method::GET, "/console/reports/export?days=30", Some(&admin)).send().await.unwrap();
    assert_eq!(csv.headers()["content-type"], "text/csv; charset=utf-8");
    let csv = csv.text().await.unwrap();
    let acme_line = csv.lines().find(|line| line.contains("\"Acme\"")).unwrap_or_else(|| panic!("{csv}"));
    // members, invited (the owner was), signed in ever, active, sign-ins (two: the test's and the
    // browser's), documents, invoices viewed (the owner's only), payments begun, requests
    assert!(acme_line.ends_with(",1,1,1,1,2,0,1,1,0"), "{acme_line}");
    let report = app.request(Method::GET, "/console/reports", Some(&admin)).send().await.unwrap().text().await.unwrap();
    assert!(report.contains("Acme"), "the report page lists the account");
    // This month's line counts the same activity over every account (Acme is the only one).
    let months = report.split("id=\"report-months\"").nth(1).unwrap();
    let this_month = chrono::Utc::now().format("%Y-%m").to_string();
    let line = months.split("<tr>").find(|row| row.contains(&this_month)).unwrap_or_else(|| panic!("{months}"));
    let figures: Vec<&str> =
        line.split("class=\"amount\">").skip(1).map(|cell| cell.split('<').next().unwrap()).collect();
    assert_eq!(figures, ["1", "2", "0", "1", "1", "0"], "invited, sign-ins, documents, invoices, payments, requests");
}

#[tokio::test]
async fn an_admin_invites_staff_changes_a_role_removes_one_and_never_the_last_admin() {
    let app = spawn_app().await;
    let admin = app.staff(StaffRole::Admin).await;
    let auditor = app.staff(StaffRole::Auditor).await;
    let leaving = app.staff(StaffRole::Support).await;

    let browser = Browser::start(Viewport::Desktop).await;
    sign_in(&browser, &app.address, &admin.email, &admin.password).await;
    browser.wait_for_path("/console/connectors").await;
    browser.click_link("Staff").await;
    browser.wait_for_path("/console/staff").await;
    assert_accessible(&browser, "console staff").await;

    // An invitation: its link shown once.
    browser.fill("#email", "new.support@example.com").await;
    browser.client.find(Locator::Css("#role")).await.unwrap().select_by_value("support").await.unwrap();
    browser.click_and_wait("form[action='/console/staff/invitations'] button").await;
    let link = browser.value("#invitation-link").await;
    assert!(link.contains("/invitations/accept#token="), "{link}");

    // The auditor becomes support: from their very next request.
    let row = format!("tr:has(form[action='/console/staff/{}/role'])", auditor.user_id);
    browser
        .client
        .find(Locator::Css(&format!("{row} select")))
        .await
        .unwrap()
        .select_by_value("support")
        .await
        .unwrap();
    browser.click_and_wait(&format!("{row} form[action$='/role'] button")).await;
    assert!(browser.text("main .notice").await.contains("The role was changed"));
    let response = app.request(reqwest::Method::GET, "/api/v1/accounts", Some(&auditor)).send().await.unwrap();
    assert_eq!(response.status(), 200, "support sees accounts");

    // The last admin stays an admin.
    let row = format!("tr:has(form[action='/console/staff/{}/role'])", admin.user_id);
    browser.click_and_wait(&format!("{row} form[action$='/remove'] button")).await;
    assert!(browser.text("#error-summary").await.contains("at least one staff admin"));
    assert_accessible(&browser, "console staff refused").await;

    // Someone removed loses the staff's rights with their next request.
    let row = format!("tr:has(form[action='/console/staff/{}/role'])", leaving.user_id);
    browser.click_and_wait(&format!("{row} form[action$='/remove'] button")).await;
    assert!(browser.text("main .notice").await.contains("no longer staff"));
    let response = app.request(reqwest::Method::GET, "/api/v1/accounts", Some(&leaving)).send().await.unwrap();
    assert_eq!(response.status(), 403);
    let staff: Vec<Value> = app.get_json("/api/v1/staff", Some(&admin)).await;
    assert_eq!(staff.len(), 2, "{staff:?}");
    let audit: Vec<Value> = app.get_json("/api/v1/audit-events?action=staff.", Some(&admin)).await;
    let actions: Vec<&str> = audit.iter().filter_map(|event| event["action"].as_str()).collect();
    assert!(actions.contains(&"staff.removed") && actions.contains(&"staff.role_changed"), "{actions:?}");
    browser.close().await;
}

#[tokio::test]
async fn an_admin_connects_the_staffs_single_sign_on_and_staff_at_its_domain_are_offered_it() {
    let app = crate::helpers::spawn_app_with(|settings| settings.outbound.allow_private_addresses = true).await;
    let admin = app.staff(StaffRole::Admin).await;
    let (_provider, issuer) = crate::sso::start_provider("arrives@staff.example");
    let save = "form[action='/console/staff/sso'] button[type=submit]";

    let browser = Browser::start(Viewport::Phone).await;
    sign_in(&browser, &app.address, &admin.email, &admin.password).await;
    browser.wait_for_path("/console/connectors").await;
    browser.goto(&format!("{}/console/staff", app.address)).await;
    assert!(browser.text("main").await.contains("The staff have no identity provider yet"));
    assert_eq!(app.request(Method::GET, "/api/v1/staff/sso", Some(&admin)).send().await.unwrap().status(), 404);

    // A role nobody offered, or no secret for a new provider: refused at the field, what was typed kept.
    browser.fill("#issuer", &issuer).await;
    browser.fill("#client_id", "portico-staff").await;
    browser.fill("#email_domains", "staff.example").await;
    browser.click_and_wait(save).await;
    assert!(browser.text("#client_secret-error").await.contains("required"));
    assert_eq!(browser.value("#issuer").await, issuer);
    assert_accessible(&browser, "staff single sign-on refused (phone)").await;

    browser.fill("#client_secret", "portico-test-secret").await;
    browser.client.find(Locator::Css("#default_role")).await.unwrap().select_by_value("support").await.unwrap();
    browser.click_and_wait(save).await;
    browser.wait_for_path("/console/staff").await;
    assert!(browser.text("main").await.contains("Single sign-on is saved"));
    assert_eq!(browser.value("#email_domains").await, "staff.example");
    assert_eq!(browser.value("#client_secret").await, "", "the secret is never shown again");
    assert_accessible(&browser, "staff single sign-on connected (phone)").await;
    let connection: Value = app.get_json("/api/v1/staff/sso", Some(&admin)).await;
    assert_eq!(
        (connection["default_role"].as_str(), connection["client_id"].as_str()),
        (Some("support"), Some("portico-staff"))
    );
    assert_eq!(connection["email_domains"], json!(["staff.example"]));
    let offer: Value = app.get("/api/v1/auth/sso/discover?domain=staff.example").await.json().await.unwrap();
    assert_eq!(offer["connection_id"], connection["connection_id"]);
    assert!(offer["account_name"].is_null(), "the staff's own provider: {offer}");
    let audit: Vec<Value> = app.get_json("/api/v1/audit-events?action=sso.", Some(&admin)).await;
    assert!(audit.iter().any(|event| event["action"] == "sso.configured"), "{audit:?}");

    // Removed: the domain signs in with passwords again, and the removal is audited.
    browser.click_and_wait("form[action='/console/staff/sso/remove'] button[type=submit]").await;
    assert!(browser.text("main").await.contains("Single sign-on is removed"));
    assert_eq!(app.get("/api/v1/auth/sso/discover?domain=staff.example").await.status(), 404);
    let audit: Vec<Value> = app.get_json("/api/v1/audit-events?action=sso.removed", Some(&admin)).await;
    assert_eq!(audit.len(), 1, "{audit:?}");
    browser.close().await;
}

/// The projects manifest with webhooks: a `project.updated` event carries the project.
fn manifest_with_webhooks(base_url: &str) -> String {
    manifest(base_url)
        + "webhooks:
  events:
    - when: {pointer: /event, equals: project.updated}
      stream: projects
      record: /project
"
}

#[tokio::test]
async fn an_admin_describes_a_providers_own_hmac_signature_and_limits_where_deliveries_come_from() {
    let source = projects_source(2).await;
    let app = spawn_app().await;
    let admin = app.staff(StaffRole::Admin).await;
    let connector = projects_connector(&app, &admin, &source).await;
    let connector_page = format!("/console/connectors/{}", connector["id"].as_str().unwrap());

    let browser = Browser::start(Viewport::Phone).await;
    sign_in(&browser, &app.address, &admin.email, &admin.password).await;
    browser.wait_for_path("/console/connectors").await;
    browser.goto(&format!("{}{connector_page}", app.address)).await;
    // The signature's settings show only once the hmac scheme is chosen.
    assert!(!browser.client.find(Locator::Css("#hmac-header")).await.unwrap().is_displayed().await.unwrap());
    browser.fill("#endpoint-name", "Projects events").await;
    browser.client.find(Locator::Css("#endpoint-scheme")).await.unwrap().select_by_value("hmac").await.unwrap();
    assert!(browser.client.find(Locator::Css("#hmac-header")).await.unwrap().is_displayed().await.unwrap());
    browser.fill("#hmac-header", "X-Projects-Signature").await;
    browser.fill("#hmac-prefix", "sha256=").await;
    browser.fill("#hmac-template", "{timestamp}.{body}").await;
    browser.fill("#endpoint-secret", "projects-signing-secret").await;
    // A template naming the time without saying where the time comes from: refused at the fieldset.
    browser.click_and_wait("form[action$='/webhooks'] button").await;
    assert!(browser.text("#endpoint-hmac-error").await.contains("timestamp_header"));
    assert_eq!(browser.value("#hmac-header").await, "X-Projects-Signature", "what was typed stays");
    assert_eq!(browser.value("#endpoint-secret").await, "", "the secret is never written back");
    assert_accessible(&browser, "console hmac endpoint refused (phone)").await;
    browser.fill("#hmac-timestamp-header", "X-Projects-Time").await;
    browser.fill("#endpoint-secret", "projects-signing-secret").await;
    browser.click_and_wait("form[action$='/webhooks'] button").await;
    let url = browser.text("#endpoint-url").await;
    let endpoint_id = url.rsplit('/').next().unwrap().to_owned();
    assert_accessible(&browser, "console hmac endpoint (phone)").await;

    // The provider signs as described: accepted and processed into the project.
    let post = |signature: String, sent_at: i64| {
        let (app, endpoint_id) = (&app, endpoint_id.clone());
        async move {
            let body = json!({"event": "project.updated", "project": {"id": 1, "client_id": "c-1", "name": "Renamed by webhook", "phase": "build", "updated": 1_800_000_000}}).to_string();
            let signature = if signature.is_empty() {
                let signed = portico_testkit::signing::hmac_sha256_hex(
                    b"projects-signing-secret",
                    &[sent_at.to_string().as_bytes(), b".", body.as_bytes()],
                );
                format!("sha256={signed}")
            } else {
                signature
            };
            let response = app
                .client
                .post(app.url(&format!("/webhooks/{endpoint_id}")))
                .header("content-type", "application/json")
                .header("x-projects-signature", signature)
                .header("x-projects-time", sent_at.to_string())
                .body(body)
                .send()
                .await
                .unwrap();
            response.status().as_u16()
        }
    };
    let now = chrono::Utc::now().timestamp();
    assert_eq!(post(String::new(), now).await, 200);
    assert_eq!(post("sha256=00".into(), now).await, 401, "a wrong signature");
    assert_eq!(post(String::new(), now - 3600).await, 401, "outside the tolerance");
    let endpoint_page = format!("/console/webhooks/{endpoint_id}");
    eventually("the delivery to be processed", Duration::from_secs(15), || async {
        browser.goto(&format!("{}{endpoint_page}", app.address)).await;
        browser.text("#delivery-list").await.contains("Processed").then_some(())
    })
    .await;

    // The endpoint's settings: a mistake is refused at its field; then only the
    // provider's published range may deliver, and the change is audited.
    assert_eq!(browser.value("#hmac-timestamp-header").await, "X-Projects-Time", "the stored settings are shown");
    browser.fill("#endpoint-tolerance_secs", "five minutes").await;
    browser.fill("#endpoint-allowed_sources", "203.0.113.0/24").await;
    let save = "#endpoint-settings button";
    browser.click_and_wait(save).await;
    assert!(browser.text("#endpoint-tolerance_secs-error").await.contains("whole number"));
    assert_eq!(browser.value("#endpoint-allowed_sources").await, "203.0.113.0/24", "what was typed stays");
    assert_accessible(&browser, "console endpoint settings refused (phone)").await;
    browser.fill("#endpoint-tolerance_secs", "600").await;
    browser.click_and_wait(save).await;
    assert!(browser.text("main .notice").await.contains("settings are saved"));
    let stored: Value = app.get_json(&format!("/api/v1/admin/webhook-endpoints/{endpoint_id}"), Some(&admin)).await;
    assert_eq!(
        (stored["tolerance_secs"].as_i64(), &stored["allowed_sources"]),
        (Some(600), &json!(["203.0.113.0/24"]))
    );
    assert_eq!(stored["hmac"]["timestamp_header"], "X-Projects-Time", "the signature's settings kept");
    eventually("deliveries from elsewhere to be refused", Duration::from_secs(10), || async {
        (post(String::new(), chrono::Utc::now().timestamp()).await == 403).then_some(())
    })
    .await;
    let audit: Vec<Value> = app.get_json("/api/v1/audit-events?action=webhook_endpoint.updated", Some(&admin)).await;
    assert_eq!(audit.len(), 1, "{audit:?}");
    browser.close().await;
}

#[tokio::test]
async fn support_views_an_account_as_one_of_its_own_roles_and_as_a_partner() {
    let app = spawn_app().await;
    let admin = app.staff(StaffRole::Admin).await;
    let support = app.staff(StaffRole::Support).await;
    let acme = app.create_account(&admin, "Acme").await;
    let owner = app.member(&admin, acme, "owner").await;
    let created: Value = app
        .request(Method::POST, &format!("/api/v1/accounts/{acme}/roles"), Some(&owner))
        .json(&json!({"name": "Accounts payable", "permissions": ["invoices.view", "invoices.download"]}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let role_id = created["role_id"].as_str().unwrap().to_owned();

    let browser = Browser::start(Viewport::Desktop).await;
    sign_in(&browser, &app.address, &support.email, &support.password).await;
    browser.wait_for_path("/console/accounts").await;
    let view_as = |choice: String| {
        let (browser, app) = (&browser, &app);
        async move {
            browser.goto(&format!("{}/console/accounts/{acme}", app.address)).await;
            let select = browser.client.find(Locator::Css("#view-as-role")).await.unwrap();
            select.select_by_value(&choice).await.unwrap();
            browser.click_and_wait("form[action$='/view-as'] button").await;
            browser.wait_for_path(&format!("/accounts/{acme}")).await;
        }
    };

    // The account's own role: its name on the banner, exactly its sections.
    view_as(format!("custom:{role_id}")).await;
    assert!(browser.text("#view-as-banner").await.contains("Accounts payable"));
    let sections = browser.text("nav.sections").await;
    assert!(
        sections.contains("Invoices") && !sections.contains("Documents") && !sections.contains("Team"),
        "{sections}"
    );
    assert_accessible(&browser, "viewing as a custom role").await;
    let (status, _, _) = browser.fetch(&format!("/accounts/{acme}/invoices")).await;
    assert_eq!(status, 200);
    // The owner deletes the role: the very next page holds nothing (read afresh, not from the cookie).
    let deleted = app
        .request(Method::DELETE, &format!("/api/v1/accounts/{acme}/roles/{role_id}"), Some(&owner))
        .send()
        .await
        .unwrap();
    assert_eq!(deleted.status(), 204);
    let (status, _, _) = browser.fetch(&format!("/accounts/{acme}/invoices")).await;
    assert_eq!(status, 403, "a role that is gone opens nothing");

    // A partner limited to requests.
    view_as("partner:tickets".into()).await;
    assert!(browser.text("#view-as-banner").await.contains("Partner (requests only)"));
    let sections = browser.text("nav.sections").await;
    assert!(sections.contains("Requests") && !sections.contains("Invoices"), "{sections}");
    assert_accessible(&browser, "viewing as a partner").await;
    // Nothing else is a role: refused as input.
    let refused: Value = browser
        .client
        .execute_async(
            "const done = arguments[arguments.length - 1];
             fetch(arguments[0], {method: 'POST', headers: {'content-type': 'application/x-www-form-urlencoded'}, body: 'role=custom%3A00000000-0000-0000-0000-000000000000'})
               .then(response => done(response.status));",
            vec![json!(format!("/console/accounts/{acme}/view-as"))],
        )
        .await
        .unwrap();
    assert_eq!(refused, 422, "a custom role the account does not have");
    browser.click_and_wait("#view-as-banner button").await;
    browser.close().await;

    let events: Vec<Value> =
        app.get_json(&format!("/api/v1/accounts/{acme}/audit-events?action=staff.view"), Some(&owner)).await;
    let roles: Vec<&str> = events.iter().filter_map(|event| event["details"]["role"].as_str()).collect();
    assert!(roles.contains(&"custom:Accounts payable") && roles.contains(&"partner:tickets"), "{roles:?}");
}

#[tokio::test]
async fn an_admin_whose_password_proof_is_old_proves_it_again_before_a_secret_changes_and_replays_a_day() {
    let source = projects_source(1).await;
    let app = spawn_app().await;
    let admin = app.staff(StaffRole::Admin).await;
    let connector = projects_connector(&app, &admin, &source).await;
    let endpoint_id = standard_endpoint(&app, &admin, &connector).await;
    for n in 0..3 {
        assert_eq!(post_project_event(&app, &endpoint_id, n, &format!("Name {n}")).await, 200);
    }

    let browser = Browser::start(Viewport::Desktop).await;
    sign_in(&browser, &app.address, &admin.email, &admin.password).await;
    browser.wait_for_path("/console/connectors").await;
    let endpoint_page = format!("/console/webhooks/{endpoint_id}");
    eventually("the deliveries to be processed", Duration::from_secs(15), || async {
        browser.goto(&format!("{}{endpoint_page}", app.address)).await;
        (browser.text("#delivery-list").await.matches("Processed").count() == 3).then_some(())
    })
    .await;

    // Eleven minutes later: no secret changes until the password is proven again.
    let eleven_minutes_ago = chrono::Utc::now() - chrono::Duration::minutes(11);
    crate::helpers::raw_sql(&app.db, "UPDATE sessions SET proved_at = $1 WHERE user_id = $2", |query| {
        query.bind(eleven_minutes_ago).bind(admin.user_id)
    })
    .await;
    browser.goto(&format!("{}{endpoint_page}", app.address)).await;
    assert!(browser.client.find(Locator::Css("form[action$='/secrets']")).await.is_err(), "no rotation offered");
    assert!(browser.client.find(Locator::Css("form[action$='/revoke']")).await.is_err(), "no revocation offered");
    assert_accessible(&browser, "console endpoint asking for the password").await;
    browser.fill("#confirm-password", "not-the-password").await;
    browser.click_and_wait("form[action='/console/confirm'] button").await;
    assert!(browser.text("main .notice").await.contains("That password was not right"));
    assert!(browser.client.find(Locator::Css("form[action$='/secrets']")).await.is_err(), "still asking");
    browser.fill("#confirm-password", &admin.password).await;
    browser.click_and_wait("form[action='/console/confirm'] button").await;
    browser.wait_for_path(&endpoint_page).await;
    browser.click_and_wait("form[action$='/secrets'] button").await;
    assert!(browser.value("#generated-secret").await.starts_with("whsec_"), "rotated once proven");

    // The deliveries replayed as a range, from the page's form (a day either
    // side: the form reads the reader's time zone).
    let today = chrono::Utc::now();
    let day = |at: chrono::DateTime<chrono::Utc>| at.format("%Y-%m-%dT%H:%M").to_string();
    browser.goto(&format!("{}{endpoint_page}", app.address)).await;
    let set = |css: &'static str, value: String| {
        let browser = &browser;
        async move {
            browser
                .client
                .execute("document.querySelector(arguments[0]).value = arguments[1];", vec![json!(css), json!(value)])
                .await
                .unwrap();
        }
    };
    set("#from", day(today - chrono::Duration::days(1))).await;
    set("#until", day(today + chrono::Duration::days(1))).await;
    browser.click_and_wait("form[action$='/replay'].form button").await;
    assert!(browser.text("main .notice").await.contains('3'), "{}", browser.text("main .notice").await);
    let audit: Vec<Value> = app.get_json("/api/v1/audit-events?action=webhook_endpoint.replayed", Some(&admin)).await;
    assert_eq!(audit[0]["details"]["replayed"], 3, "{audit:?}");
    browser.close().await;
}
