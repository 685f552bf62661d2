//! The customer portal's pages, as people use them: the real server (`serve
//! --demo`, or a test app fed by a fake Stripe), the real Chromium through
//! WebDriver, at a phone's size and a desktop's, with axe-core on every page.

use std::time::Duration;

use fantoccini::Locator;
use fantoccini::key::Key;
use portico::auth::permissions::StaffRole;
use portico_testkit::FakeStripe;
use reqwest::Method;
use serde_json::{Value, json};

use crate::browser::{Browser, Viewport};
use crate::helpers::{PorticoProcess, TestDatabase, eventually, portico_command, spawn_app};
use crate::sync::{create_stripe_connector, map_account, sync_to_end};

/// The demo, started as a newcomer starts it, with the owner's printed sign-in.
struct Demo {
    _process: PorticoProcess,
    _db: TestDatabase,
    address: String,
    password: String,
    /// Every printed sign-in: (email, password).
    logins: Vec<(String, String)>,
}

async fn demo() -> Demo {
    let db = TestDatabase::new().await;
    let mut process = PorticoProcess::start(portico_command(&db, &["serve", "--demo", "--listen", "127.0.0.1:0"]));
    let address = process.wait_for_listen_address();
    let mut logins = Vec::new();
    for who in ["owner@acme.demo.test", "member@acme.demo.test", "viewer@acme.demo.test", "owner@globex.demo.test"] {
        let line = process.wait_for_line(who, Duration::from_secs(10));
        logins.push((who.to_owned(), line.split_whitespace().last().unwrap().to_owned()));
    }
    let password = logins[0].1.clone();
    Demo { _process: process, _db: db, address, password, logins }
}

/// Fails with every serious or critical axe finding on the page.
pub(crate) async fn assert_accessible(browser: &Browser, what: &str) {
    let violations = browser.accessibility_violations().await;
    let sideways = browser.scrolls_sideways().await;
    if !violations.is_empty() || sideways {
        browser.screenshot(&format!("failed-{}", what.replace(|c: char| !c.is_ascii_alphanumeric(), "-"))).await;
    }
    assert!(violations.is_empty(), "{what}: axe found\n{}", violations.join("\n"));
    assert!(!sideways, "{what}: the page scrolls sideways (target/screenshots/failed-*.png)");
    // Counted for the record (`--nocapture`): which pages axe passed.
    eprintln!("axe passed: {what}");
}

/// What the bell says to a screen reader (its count is a badge for the eyes).
async fn bell_says(browser: &Browser) -> String {
    let label: Value =
        browser.client.execute("return document.querySelector('#bell .bell-label').textContent", vec![]).await.unwrap();
    label.as_str().unwrap_or_default().trim().to_owned()
}

pub(crate) async fn sign_in(browser: &Browser, address: &str, email: &str, password: &str) {
    browser.goto(&format!("{address}/")).await;
    browser.wait_for_path("/sign-in").await;
    assert_accessible(browser, "sign-in").await;
    browser.fill("#email", email).await;
    browser.fill("#password", password).await;
    browser.click("form.form button[type=submit]").await;
}

#[tokio::test]
async fn a_customer_signs_in_and_reads_an_invoice_on_a_phone_and_on_a_desktop() {
    let demo = demo().await;
    for viewport in [Viewport::Phone, Viewport::Desktop] {
        let browser = Browser::start(viewport).await;
        let size = format!("{viewport:?}").to_lowercase();

        // A wrong password: an error that says what to do, the address kept.
        browser.goto(&format!("{}/sign-in", demo.address)).await;
        let expected = match viewport {
            Viewport::Phone => 360,
            Viewport::Desktop => 1280,
        };
        assert_eq!(browser.layout_width().await, expected, "{size}: laid out at the device's width");
        browser.fill("#email", "owner@acme.demo.test").await;
        browser.fill("#password", "not the password").await;
        browser.click_and_wait("form.form button[type=submit]").await;
        browser.wait_for_path("/sign-in").await;
        assert!(browser.text(".error-summary").await.contains("Check both and try again"), "{size}");
        let kept: Value =
            browser.client.execute("return document.getElementById('email').value", vec![]).await.unwrap();
        assert_eq!(kept, "owner@acme.demo.test", "{size}: what was typed stays");
        assert_accessible(&browser, "sign-in with an error").await;

        sign_in(&browser, &demo.address, "owner@acme.demo.test", &demo.password).await;
        // One account: straight to its dashboard.
        let started = std::time::Instant::now();
        while !browser.path().await.starts_with("/accounts/") {
            assert!(started.elapsed() < Duration::from_secs(10), "{size}: signed in, at {}", browser.path().await);
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let dashboard = browser.path().await;
        assert!(browser.text("h1").await.contains("Acme Corp"), "{size}");
        // The first sync fills the dashboard within a few seconds.
        let started = std::time::Instant::now();
        loop {
            browser.goto(&format!("{}{dashboard}", demo.address)).await;
            if browser.client.find(Locator::Css("#open-invoices")).await.is_ok()
                && browser.text(".summary-grid").await.contains('€')
            {
                break;
            }
            assert!(started.elapsed() < Duration::from_secs(30), "{size}: the demo's invoices never arrived");
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
        assert_accessible(&browser, &format!("dashboard ({size})")).await;
        browser.screenshot(&format!("dashboard-{size}")).await;

        browser.click_link("View invoices").await;
        browser.wait_for_path(&format!("{dashboard}/invoices")).await;
        let rows = browser.client.find_all(Locator::Css("table.records tbody tr")).await.unwrap();
        assert!(rows.len() >= 4, "{size}: the account's invoices are listed");
        assert!(browser.text("table.records").await.contains("INV-"), "{size}");
        assert!(
            browser.text(".freshness").await.contains("from Demo business system"),
            "{size}: where from, how fresh"
        );
        assert_accessible(&browser, &format!("invoice list ({size})")).await;

        // Only the open invoices, then one of them.
        browser.goto(&format!("{}{dashboard}/invoices?status=open", demo.address)).await;
        let statuses = browser.text("table.records tbody").await;
        assert!(!statuses.contains("Paid"), "{size}: the filter holds: {statuses}");
        browser.client.find(Locator::Css("table.records tbody tr a")).await.unwrap().click().await.unwrap();
        let started = std::time::Instant::now();
        while browser.client.find(Locator::Css(".summary-list")).await.is_err() {
            assert!(started.elapsed() < Duration::from_secs(10), "{size}: the invoice page opens");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        assert!(browser.text("h1").await.starts_with("Invoice INV-"), "{size}");
        assert!(browser.text("table.records").await.contains("Support hours"), "{size}: its lines");
        assert_accessible(&browser, &format!("invoice ({size})")).await;
        browser.screenshot(&format!("invoice-{size}")).await;
        let pdf = browser.link_href("Download PDF").await;
        let (status, content_type, start) = browser.fetch(&pdf).await;
        assert_eq!((status, content_type.as_str()), (200, "application/pdf"), "{size}");
        assert!(start.starts_with("%PDF"), "{size}: {start}");

        // What the account pays for, and when it renews.
        browser.click_link("Subscriptions").await;
        browser.wait_for_path(&format!("{dashboard}/subscriptions")).await;
        let plans = browser.text("#live").await;
        assert!(plans.contains("Pro plan") && plans.contains("€49.00 a month"), "{size}: {plans}");
        assert!(plans.contains("Renews on"), "{size}: {plans}");

        // The activity log: the PDF just downloaded is in it, a kind of action
        // narrows it, and the download of it takes the same filter.
        browser.click_link("Activity log").await;
        browser.wait_for_path(&format!("{dashboard}/audit")).await;
        assert!(browser.text("table.audit-log").await.contains("Downloaded an invoice"), "{size}");
        assert_accessible(&browser, &format!("activity log ({size})")).await;
        browser.client.execute("document.getElementById('kind').value = 'invoice.'", vec![]).await.unwrap();
        browser.click_and_wait("form.filters button[type=submit]").await;
        let whats = browser.client.find_all(Locator::Css("table.audit-log tbody th")).await.unwrap();
        let mut seen = Vec::new();
        for what in whats {
            seen.push(what.text().await.unwrap());
        }
        assert!(seen.iter().any(|what| what == "Downloaded an invoice"), "{size}: {seen:?}");
        // Looking at an invoice is recorded too (the business's report counts it).
        let invoice_actions = ["Downloaded an invoice", "Looked at an invoice", "Went to pay an invoice"];
        assert!(
            seen.iter().all(|what| invoice_actions.contains(&what.as_str())),
            "{size}: only invoice actions: {seen:?}"
        );
        let export = browser.link_href("Download as CSV").await;
        assert!(export.contains("action=invoice.&") && export.contains("format=csv"), "{export}");
        let (status, content_type, start) = browser.fetch(&export).await;
        assert_eq!((status, content_type.as_str()), (200, "text/csv; charset=utf-8"), "{size}");
        assert!(start.starts_with("id,occur"), "{size}: {start}");

        // Signing out ends the session: the dashboard asks to sign in again.
        browser.click_and_wait("form[action='/sign-out'] button").await;
        browser.wait_for_path("/sign-in").await;
        browser.goto(&format!("{}{dashboard}", demo.address)).await;
        browser.wait_for_path("/sign-in").await;
        browser.close().await;
    }
}

#[tokio::test]
async fn a_keyboard_alone_signs_in_and_reaches_an_invoice_pdf() {
    let demo = demo().await;
    let browser = Browser::start(Viewport::Desktop).await;
    browser.goto(&format!("{}/sign-in", demo.address)).await;
    let active_id = || async {
        let id: Value = browser.client.execute("return document.activeElement.id", vec![]).await.unwrap();
        id.as_str().unwrap_or_default().to_owned()
    };
    let active_text = || async {
        let text: Value =
            browser.client.execute("return document.activeElement.textContent.trim()", vec![]).await.unwrap();
        text.as_str().unwrap_or_default().to_owned()
    };
    // Tab until `wanted` has focus; the focus ring is visible on each stop.
    let tab_to = |wanted: &'static str, by_text: bool| {
        let browser = &browser;
        async move {
            for _ in 0..40 {
                let at = if by_text { active_text().await } else { active_id().await };
                if at == wanted {
                    let outline: Value = browser
                        .client
                        .execute("return getComputedStyle(document.activeElement).outlineStyle", vec![])
                        .await
                        .unwrap();
                    assert_ne!(outline, "none", "{wanted}: a visible focus ring");
                    return;
                }
                browser.client.active_element().await.unwrap().send_keys(&Key::Tab.to_string()).await.unwrap();
            }
            panic!("Tab never reached {wanted}");
        }
    };
    tab_to("email", false).await;
    browser.client.active_element().await.unwrap().send_keys("owner@acme.demo.test").await.unwrap();
    tab_to("password", false).await;
    let password = format!("{}{}", demo.password, Key::Enter);
    browser.client.active_element().await.unwrap().send_keys(&password).await.unwrap();
    let started = std::time::Instant::now();
    while !browser.path().await.starts_with("/accounts/") {
        assert!(started.elapsed() < Duration::from_secs(10), "signed in by keyboard");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let dashboard = browser.path().await;
    // Through the sections to the invoices, then to an invoice, by keyboard.
    tab_to("Invoices", true).await;
    browser.client.active_element().await.unwrap().send_keys(&Key::Enter.to_string()).await.unwrap();
    browser.wait_for_path(&format!("{dashboard}/invoices")).await;
    let first_invoice: Value = browser
        .client
        .execute("return document.querySelector('table.records tbody a').textContent.trim()", vec![])
        .await
        .unwrap();
    let first_invoice: &'static str = Box::leak(first_invoice.as_str().unwrap().to_owned().into_boxed_str());
    tab_to(first_invoice, true).await;
    browser.client.active_element().await.unwrap().send_keys(&Key::Enter.to_string()).await.unwrap();
    let started = std::time::Instant::now();
    while browser.client.find(Locator::Css(".summary-list")).await.is_err() {
        assert!(started.elapsed() < Duration::from_secs(10), "the invoice opens by keyboard");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    tab_to("Download PDF", true).await;
    let href: Value =
        browser.client.execute("return document.activeElement.getAttribute('href')", vec![]).await.unwrap();
    let (status, content_type, _) = browser.fetch(href.as_str().unwrap()).await;
    assert_eq!((status, content_type.as_str()), (200, "application/pdf"));
    browser.close().await;
}

#[tokio::test]
async fn a_change_upstream_appears_on_the_open_page_without_a_reload() {
    let stripe = FakeStripe::start("sk_test_portico").await;
    let acme = stripe.add_customer("Acme", "billing@acme.test");
    let invoice = stripe.add_invoice(&acme, &[12_500]);
    let app = spawn_app().await;
    let admin = app.staff(StaffRole::Admin).await;
    let account = app.create_account(&admin, "Acme").await;
    let connector = create_stripe_connector(&app, &admin, &stripe, json!({})).await;
    map_account(&app, &admin, &connector, &acme, account).await;
    let owner = app.member(&admin, account, "owner").await;
    sync_to_end(&app, &admin, &connector, &["invoices"], "full").await;
    // The owner heard of the invoice when it came in, and has read it.
    eventually("the issued invoice told", Duration::from_secs(15), || async {
        let told: Value = app.get_json("/api/v1/me/notifications", Some(&owner)).await;
        (told["unread_count"] == 1).then_some(())
    })
    .await;
    let response = app.request(Method::POST, "/api/v1/me/notifications/read", Some(&owner)).send().await.unwrap();
    assert_eq!(response.status(), 204);

    let browser = Browser::start(Viewport::Desktop).await;
    sign_in(&browser, &app.address, &owner.email, &owner.password).await;
    browser.wait_for_path(&format!("/accounts/{account}")).await;
    browser.goto(&format!("{}/accounts/{account}/invoices", app.address)).await;
    assert!(browser.text("table.records tbody").await.contains("Open"));
    // A mark only this page load carries: a reload would lose it.
    browser.client.execute("window.loadedOnce = true", vec![]).await.unwrap();
    // Give the page's event stream a moment to connect before the change.
    tokio::time::sleep(Duration::from_millis(500)).await;

    stripe.pay_invoice(&invoice);
    sync_to_end(&app, &admin, &connector, &["invoices"], "incremental").await;
    eventually("the paid status on the open page", Duration::from_secs(10), || async {
        browser.text("table.records tbody").await.contains("Paid").then_some(())
    })
    .await;
    let same_page: Value = browser.client.execute("return window.loadedOnce === true", vec![]).await.unwrap();
    assert_eq!(same_page, true, "the change came in without a reload");
    let announced: Value =
        browser.client.execute("return document.getElementById('live-announcer').textContent", vec![]).await.unwrap();
    assert_eq!(announced, "This page was updated.", "screen readers hear of it");

    // The bell counts the payment's notification, still without a reload.
    eventually("the bell's count", Duration::from_secs(10), || async {
        bell_says(&browser).await.contains("1 unread notification").then_some(())
    })
    .await;
    assert_eq!(browser.text("#bell .bell-count").await, "1", "the badge counts it");
    let same_page: Value = browser.client.execute("return window.loadedOnce === true", vec![]).await.unwrap();
    assert_eq!(same_page, true, "the bell came in without a reload");
    browser.click_and_wait("#bell").await;
    browser.wait_for_path("/notifications").await;
    assert_accessible(&browser, "notifications").await;
    let list = browser.text(".notification-list").await;
    assert!(list.contains("is paid"), "{list}");
    browser.click_and_wait(".notification-list form button").await;
    browser.wait_for_path("/notifications").await;
    assert_eq!(bell_says(&browser).await, "Notifications");
    assert!(browser.client.find(Locator::Css("#bell .bell-count")).await.is_err(), "no badge when all is read");
    assert!(browser.client.find(Locator::Css(".notification-list li.unread")).await.is_err());
    assert_eq!(
        browser.client.find_all(Locator::Css(".notification-list li")).await.unwrap().len(),
        2,
        "read ones stay listed"
    );
    // The newest one's link leads to the invoice.
    browser.click(".notification-list a").await;
    browser
        .wait_for_path(&format!("/accounts/{account}/invoices/{}", invoice_record(&app, &owner, account).await))
        .await;
    // Its history: first seen open, then paid.
    let history = browser.text(".timeline").await;
    let (open, paid) = (history.find("Open"), history.find("Paid"));
    assert!(open.is_some() && paid.is_some() && open < paid, "open, then paid: {history}");
    assert!(history.contains("First seen here"), "{history}");
    assert_accessible(&browser, "an invoice with its history").await;
    browser.close().await;
}

/// The id of the account's only invoice, as the portal knows it.
async fn invoice_record(
    app: &crate::helpers::TestApp,
    session: &crate::helpers::Session,
    account: uuid::Uuid,
) -> String {
    let invoices: Value = app.get_json(&format!("/api/v1/accounts/{account}/invoices"), Some(session)).await;
    invoices["items"][0]["id"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn pages_answer_another_accounts_ids_and_missing_permissions_as_the_api_does() {
    let stripe = FakeStripe::start("sk_test_portico").await;
    let (acme, globex) = (stripe.add_customer("Acme", "a@acme.test"), stripe.add_customer("Globex", "g@globex.test"));
    stripe.add_invoice(&acme, &[1_000]);
    stripe.add_invoice(&globex, &[2_000]);
    let app = spawn_app().await;
    let admin = app.staff(StaffRole::Admin).await;
    let (a, b) = (app.create_account(&admin, "Acme").await, app.create_account(&admin, "Globex").await);
    let connector = create_stripe_connector(&app, &admin, &stripe, json!({})).await;
    map_account(&app, &admin, &connector, &acme, a).await;
    map_account(&app, &admin, &connector, &globex, b).await;
    sync_to_end(&app, &admin, &connector, &["invoices"], "full").await;
    let owner = app.member(&admin, a, "owner").await;
    let b_owner = app.member(&admin, b, "owner").await;
    let b_invoices: Value = app.get_json(&format!("/api/v1/accounts/{b}/invoices"), Some(&b_owner)).await;
    let b_invoice = b_invoices["items"][0]["id"].as_str().unwrap().to_owned();
    let a_invoices: Value = app.get_json(&format!("/api/v1/accounts/{a}/invoices"), Some(&owner)).await;
    let a_invoice = a_invoices["items"][0]["id"].as_str().unwrap().to_owned();

    let page = |path: String, session: Option<&crate::helpers::Session>| {
        let request = app.request(Method::GET, &path, session);
        async move {
            let response = request.send().await.unwrap();
            let status = response.status().as_u16();
            let content_type = response.headers()["content-type"].to_str().unwrap().to_owned();
            (status, content_type, response.text().await.unwrap())
        }
    };
    for path in [
        format!("/accounts/{b}"),
        format!("/accounts/{b}/invoices"),
        format!("/accounts/{b}/invoices/{b_invoice}"),
        format!("/accounts/{a}/invoices/{b_invoice}"),
        format!("/accounts/{}/invoices", uuid::Uuid::now_v7()),
    ] {
        let (status, content_type, body) = page(path.clone(), Some(&owner)).await;
        assert_eq!(status, 404, "{path}");
        assert!(content_type.starts_with("text/html"), "{path}: a page, not JSON");
        assert!(!body.contains("Globex"), "{path}: nothing of B's");
    }
    let (status, _, body) = page(format!("/accounts/{a}/invoices/{a_invoice}"), Some(&owner)).await;
    assert_eq!(status, 200);
    assert!(body.contains("Invoice "));
    // A role without invoices: the same 403 the API answers, as a page, and no link to them.
    let viewer = app.member(&admin, a, "member").await;
    let api = app.request(Method::GET, &format!("/api/v1/accounts/{a}/invoices"), Some(&viewer)).send().await.unwrap();
    let (status, content_type, _) = page(format!("/accounts/{a}/invoices"), Some(&viewer)).await;
    assert_eq!(status, api.status().as_u16(), "the page and the API agree");
    assert_eq!(status, 403);
    assert!(content_type.starts_with("text/html"));
    // An address longer than any can be, or a NUL in a form: a page, never a 500.
    let long = format!("{}@example.com", "a".repeat(100_000));
    let form = [("email", long.as_str()), ("password", "x"), ("next", "/")];
    let response =
        app.client.post(app.url("/sign-in")).header("sec-fetch-site", "same-origin").form(&form).send().await.unwrap();
    assert_eq!(response.status(), 401);
    let form = [("email", "a\u{0}b@example.com"), ("password", "x")];
    let response =
        app.client.post(app.url("/sign-in")).header("sec-fetch-site", "same-origin").form(&form).send().await.unwrap();
    assert_eq!(response.status(), 422);
    assert!(response.headers()["content-type"].to_str().unwrap().starts_with("text/html"));
    // The same for a signed-in person's forms (refused before the task is looked for).
    for (path, form) in [
        (
            format!("/accounts/{a}/tasks/{}/decision", uuid::Uuid::now_v7()),
            vec![("decision", "approve"), ("comment", "fine\u{0}")],
        ),
        (format!("/accounts/{a}/settings/sso"), vec![("issuer", "https://id.example.com"), ("client_id", "c\u{0}")]),
    ] {
        let response = app.request(Method::POST, &path, Some(&owner)).form(&form).send().await.unwrap();
        assert_eq!(response.status(), 422, "{path}");
        assert!(response.headers()["content-type"].to_str().unwrap().starts_with("text/html"), "{path}");
    }
    let (_, _, dashboard) = page(format!("/accounts/{a}"), Some(&viewer)).await;
    assert!(!dashboard.contains("/invoices\""), "no link a member may not follow");
    // Not signed in: to the sign-in page, to come back after.
    let no_redirects =
        reqwest::Client::builder().no_proxy().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let response = no_redirects.get(format!("{}/accounts/{a}/invoices", app.address)).send().await.unwrap();
    assert_eq!(response.status(), 303);
    let next =
        percent_encoding::utf8_percent_encode(&format!("/accounts/{a}/invoices"), percent_encoding::NON_ALPHANUMERIC)
            .to_string();
    assert_eq!(response.headers()["location"], format!("/sign-in?next={next}"));
    // Every page carries the security headers.
    let response = app.request(Method::GET, "/sign-in", None).send().await.unwrap();
    let csp = response.headers()["content-security-policy"].to_str().unwrap();
    assert!(
        csp.contains("script-src 'self'") && csp.contains("frame-ancestors 'none'") && !csp.contains("unsafe-inline")
    );
    for header in ["x-content-type-options", "referrer-policy", "permissions-policy"] {
        assert!(response.headers().contains_key(header), "{header}");
    }
}

/// Signs in and waits for the account's dashboard; its path.
async fn signed_in_dashboard(browser: &Browser, demo: &Demo, email: &str) -> String {
    let password = &demo.logins.iter().find(|(who, _)| who == email).expect("a printed sign-in").1;
    sign_in(browser, &demo.address, email, password).await;
    let started = std::time::Instant::now();
    while !browser.path().await.starts_with("/accounts/") {
        assert!(started.elapsed() < Duration::from_secs(10), "{email} signed in");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    browser.path().await
}

/// Opens `path` and waits until `ready` (a CSS selector) is on it.
async fn open(browser: &Browser, demo: &Demo, path: &str, ready: &str) {
    let started = std::time::Instant::now();
    loop {
        browser.goto(&format!("{}{path}", demo.address)).await;
        if browser.client.find(Locator::Css(ready)).await.is_ok() {
            return;
        }
        assert!(started.elapsed() < Duration::from_secs(30), "{path} never showed {ready}");
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

#[tokio::test]
async fn every_page_type_passes_axe_at_both_sizes_for_each_role() {
    let demo = demo().await;
    for viewport in [Viewport::Phone, Viewport::Desktop] {
        // The pages before signing in: an invitation, and a page that is not there.
        let browser = Browser::start(viewport).await;
        for path in [
            "/invitations/accept",
            "/sign-in/code",
            "/forgot-password",
            "/reset-password",
            "/verify-email",
            "/confirm-email-change",
        ] {
            browser.goto(&format!("{}{path}", demo.address)).await;
            assert_accessible(&browser, &format!("{path} ({viewport:?})")).await;
        }
        browser.goto(&format!("{}/no-such-page", demo.address)).await;
        assert!(browser.text("h1").await.contains("Page not found"));
        assert_accessible(&browser, &format!("not found ({viewport:?})")).await;
        browser.close().await;
        for email in ["owner@acme.demo.test", "member@acme.demo.test", "viewer@acme.demo.test"] {
            let browser = Browser::start(viewport).await;
            let who = format!("{email} ({viewport:?})");
            let dashboard = signed_in_dashboard(&browser, &demo, email).await;
            assert_accessible(&browser, &format!("dashboard as {who}")).await;
            let sections: Vec<String> = {
                let links = browser.client.find_all(Locator::Css("nav.sections a")).await.unwrap();
                let mut hrefs = Vec::new();
                for link in links {
                    hrefs.push(link.attr("href").await.unwrap().unwrap());
                }
                hrefs
            };
            let is_owner = email.starts_with("owner");
            assert_eq!(
                sections.iter().any(|href| href.ends_with("/invoices")),
                is_owner,
                "{who}: invoices only for who may see them"
            );
            for section in &sections {
                open(&browser, &demo, section, "main h1").await;
                assert_accessible(&browser, &format!("{section} as {who}")).await;
            }
            if is_owner {
                // Reached from the settings, not the navigation.
                open(&browser, &demo, &format!("{dashboard}/exports"), "main h1").await;
                assert_accessible(&browser, &format!("data export as {who}")).await;
            }
            // The first record of each list that has pages of its own.
            for (list, link) in [
                ("/invoices", "table.records tbody a"),
                ("/tickets", "table.records tbody a"),
                ("/orders", "table.records tbody a"),
            ] {
                if !sections.iter().any(|href| href.ends_with(list)) {
                    continue;
                }
                open(&browser, &demo, &format!("{dashboard}{list}"), link).await;
                browser.click(link).await;
                let started = std::time::Instant::now();
                while browser.client.find(Locator::Css(".freshness")).await.is_err() {
                    assert!(started.elapsed() < Duration::from_secs(10), "{who}: {list} detail opens");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
                assert_accessible(&browser, &format!("{list} detail as {who}")).await;
            }
            // Their own profile, reached from the name at the top.
            browser.click_and_wait("a.person").await;
            browser.wait_for_path("/profile").await;
            assert_accessible(&browser, &format!("profile as {who}")).await;
            browser.click_and_wait("#bell").await;
            browser.wait_for_path("/notifications").await;
            assert_accessible(&browser, &format!("notifications as {who}")).await;
            if !email.starts_with("viewer") {
                open(&browser, &demo, &format!("{dashboard}/tickets/new"), "#subject").await;
                assert_accessible(&browser, &format!("new request as {who}")).await;
                // A refused form: errors next to their fields, summarised at the top.
                browser.click_and_wait("form.form button[type=submit]").await;
                browser.wait_for_path(&format!("{dashboard}/tickets")).await;
                assert!(browser.client.find(Locator::Css(".error-summary")).await.is_ok(), "{who}");
                assert_accessible(&browser, &format!("refused request form as {who}")).await;
            }
            browser.close().await;
        }
    }
}

#[tokio::test]
async fn a_customer_uploads_a_document_decides_and_completes_tasks_in_the_browser() {
    let demo = demo().await;
    let browser = Browser::start(Viewport::Desktop).await;
    let dashboard = signed_in_dashboard(&browser, &demo, "member@acme.demo.test").await;

    // Upload: the limits are stated before anything is sent.
    open(&browser, &demo, &format!("{dashboard}/documents"), "#file").await;
    assert!(browser.text("#file-hint").await.contains("application/pdf"), "the accepted types are named");
    let folder = tempfile::tempdir().unwrap();
    let file = folder.path().join("Signed contract.pdf");
    std::fs::write(&file, b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n").unwrap();
    let input = browser.client.find(Locator::Css("#file")).await.unwrap();
    input.send_keys(file.to_str().unwrap()).await.unwrap();
    browser.click_and_wait(".upload-form button[type=submit]").await;
    browser.wait_for_path(&format!("{dashboard}/documents")).await;
    eventually("the uploaded document listed", Duration::from_secs(20), || async {
        browser.goto(&format!("{}{dashboard}/documents", demo.address)).await;
        browser.text("#live").await.contains("Signed contract.pdf").then_some(())
    })
    .await;

    // Tags filter the list; a document's page shows its file in the page, as a
    // sandboxed inline preview that runs nothing of its own.
    open(&browser, &demo, &format!("{dashboard}/documents"), "a.tag").await;
    browser.click_and_wait("a.tag[href='?tag=contract']").await;
    let tagged = browser.text("#live").await;
    assert!(tagged.contains("Master services agreement.pdf"), "{tagged}");
    assert!(!tagged.contains("Quarterly report"), "the tag filters: {tagged}");
    assert!(!tagged.contains("Signed contract.pdf"), "the upload has no tags: {tagged}");
    // The choices stay every folder and tag of the account's documents, not only
    // of those the filter leaves on the page.
    assert!(browser.text("#folder").await.contains("reports"), "other folders stay offered");
    assert!(browser.text("#tag").await.contains("quarterly"), "other tags stay offered");
    browser.click_and_wait("#live table.records tbody th a[href*='/documents/']").await;
    let started = std::time::Instant::now();
    while browser.client.find(Locator::Css("iframe.preview")).await.is_err() {
        assert!(started.elapsed() < Duration::from_secs(10), "the document's page shows its preview");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(browser.text("h1").await.contains("Master services agreement.pdf"));
    assert!(browser.text(".summary-list").await.contains("signed"), "its tags");
    // Read in one step: a live update may swap the preview between a find and a read.
    let preview: Value = browser
        .client
        .execute("return document.querySelector('iframe.preview').getAttribute('src')", vec![])
        .await
        .unwrap();
    let preview = preview.as_str().unwrap().to_owned();
    let script = r#"
        const done = arguments[arguments.length - 1];
        fetch(arguments[0]).then(async response => {
          const bytes = new Uint8Array(await response.arrayBuffer());
          done([response.status, response.headers.get("content-type"), response.headers.get("content-security-policy"),
                response.headers.get("content-disposition"), String.fromCharCode(...bytes.slice(0, 5))]);
        }).catch(error => done([0, String(error)]));
    "#;
    let answer: Value = browser.client.execute_async(script, vec![json!(preview)]).await.unwrap();
    assert_eq!((answer[0].as_u64(), answer[1].as_str()), (Some(200), Some("application/pdf")), "{answer}");
    let policy = answer[2].as_str().unwrap();
    assert!(policy.starts_with("sandbox;") && policy.contains("default-src 'none'"), "{policy}");
    assert!(answer[3].as_str().unwrap().starts_with("inline;"), "{answer}");
    assert_eq!(answer[4], "%PDF-");
    assert_accessible(&browser, "a document with its preview").await;

    // Dropping a file on the form: one over the limit is refused before a byte is
    // sent; another is uploaded with a progress bar.
    open(&browser, &demo, &format!("{dashboard}/documents"), "#file").await;
    let drop = r#"
        const [name, size] = arguments;
        const transfer = new DataTransfer();
        transfer.items.add(new File([new Uint8Array(size).fill(37)], name, { type: "application/pdf" }));
        document.querySelector(".drop-zone").dispatchEvent(new DragEvent("drop", { dataTransfer: transfer, bubbles: true, cancelable: true }));
        return document.getElementById("file").files[0].name;
    "#;
    let limit: Value = browser
        .client
        .execute("return parseInt(document.querySelector('form.upload-form').dataset.maxBytes, 10)", vec![])
        .await
        .unwrap();
    let too_large = limit.as_u64().unwrap() + 1;
    let chosen: Value = browser.client.execute(drop, vec![json!("Huge scan.pdf"), json!(too_large)]).await.unwrap();
    assert_eq!(chosen, "Huge scan.pdf", "the dropped file is the one chosen");
    assert!(browser.text(".upload-status").await.contains("larger than"), "refused at once");
    browser.click(".upload-form button[type=submit]").await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let hidden: Value =
        browser.client.execute("return document.querySelector('.upload-progress').hidden", vec![]).await.unwrap();
    assert_eq!(hidden, true, "nothing was sent");
    let pdf_size = 40_000;
    let header = r#"
        const [name, size] = arguments;
        const bytes = new Uint8Array(size).fill(32);
        bytes.set(new TextEncoder().encode("%PDF-1.4 "));
        const transfer = new DataTransfer();
        transfer.items.add(new File([bytes], name, { type: "application/pdf" }));
        document.querySelector(".drop-zone").dispatchEvent(new DragEvent("drop", { dataTransfer: transfer, bubbles: true, cancelable: true }));
        return document.querySelector(".upload-status").textContent;
    "#;
    let status: Value = browser.client.execute(header, vec![json!("Dropped plan.pdf"), json!(pdf_size)]).await.unwrap();
    assert_eq!(status, "", "a file within the limit is taken");
    browser.click_and_wait(".upload-form button[type=submit]").await;
    eventually("the dropped document listed", Duration::from_secs(20), || async {
        browser.goto(&format!("{}{dashboard}/documents", demo.address)).await;
        browser.text("#live").await.contains("Dropped plan.pdf").then_some(())
    })
    .await;

    // A file of a type not taken: refused with the reason, nothing stored.
    let script = folder.path().join("run.sh");
    std::fs::write(&script, b"#!/bin/sh\necho hi\n").unwrap();
    let input = browser.client.find(Locator::Css("#file")).await.unwrap();
    input.send_keys(script.to_str().unwrap()).await.unwrap();
    browser.click(".upload-form button[type=submit]").await;
    let started = std::time::Instant::now();
    while browser.client.find(Locator::Css(".error-summary")).await.is_err() {
        assert!(started.elapsed() < Duration::from_secs(10), "the refusal is shown");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(browser.text(".error-summary").await.contains("not accepted"));

    // A file attached to a request, from the request's page: listed with it
    // (pending until stored). After the pages above, this also checks that pages
    // left behind let go of their live streams: they used to hold the browser's
    // six connections to the site, and this upload never left.
    open(&browser, &demo, &format!("{dashboard}/tickets"), "table.records tbody a").await;
    browser.click_and_wait("table.records tbody a").await;
    let request = browser.path().await;
    let photo = folder.path().join("Tray 2 photo.png");
    std::fs::write(&photo, b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x06\0\0\0\x1f\x15\xc4\x89").unwrap();
    assert!(browser.text("#upload-heading").await.contains("Attach a file"));
    assert_accessible(&browser, "a request with its files and the attach form").await;
    let input = browser.client.find(Locator::Css("#file")).await.unwrap();
    input.send_keys(photo.to_str().unwrap()).await.unwrap();
    browser.click_and_wait(".upload-form button[type=submit]").await;
    browser.wait_for_path(&request).await;
    eventually("the attached file listed with the request", Duration::from_secs(20), || async {
        browser.goto(&format!("{}{request}", demo.address)).await;
        let files = browser.text("#live").await;
        files.contains("Tray 2 photo.png").then_some(())
    })
    .await;

    // Orders: each with its stage; one order's page tells its story.
    open(&browser, &demo, &format!("{dashboard}/orders"), "table.records tbody a").await;
    assert!(browser.text("table.records").await.contains("Order of"), "the account's orders are listed");
    browser.click_and_wait("table.records tbody a").await;
    let started = std::time::Instant::now();
    while browser.client.find(Locator::Css("ol.timeline")).await.is_err() {
        assert!(started.elapsed() < Duration::from_secs(10), "the order's page shows its history");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(browser.text("h1").await.starts_with("Order of"));
    assert!(browser.text("ol.timeline").await.contains("First seen here"), "its story starts when it arrived");
    assert!(browser.text(".freshness").await.contains("from Demo business system"));

    // A decision: the price list approved with a comment, pending, then
    // approved by the business system, which keeps the comment.
    open(&browser, &demo, &format!("{dashboard}/tasks"), ".decision-list form.decision").await;
    assert!(browser.text(".decision-list").await.contains("list prices rise by 4 %"), "what is to be decided");
    assert_accessible(&browser, "tasks with a decision to make").await;
    browser.fill(".decision-list textarea", "Agreed, thank you.").await;
    browser.click_and_wait(".decision-list button[value=approve]").await;
    eventually("the price list approved upstream", Duration::from_secs(30), || async {
        browser.goto(&format!("{}{dashboard}/tasks?show=all", demo.address)).await;
        let list = browser.text(".decision-list").await;
        (list.contains("Approved") && list.contains("Agreed, thank you.")).then_some(())
    })
    .await;

    // A task: marked done, pending, then completed by the business system.
    open(&browser, &demo, &format!("{dashboard}/tasks"), ".task-list form button").await;
    let title = browser.text(".task-list .task-title").await;
    browser.click_and_wait(".task-list form button").await;
    browser.wait_for_path(&format!("{dashboard}/tasks")).await;
    eventually("the task completed upstream", Duration::from_secs(30), || async {
        browser.goto(&format!("{}{dashboard}/tasks?show=all", demo.address)).await;
        let list = browser.text("#live").await;
        list.lines().any(|line| line.contains(&title)).then_some(()).filter(|_| list.contains("Completed"))
    })
    .await;
    browser.close().await;
}

#[tokio::test]
async fn a_customer_opens_a_request_and_adds_a_message_in_the_browser() {
    use portico_testkit::FakeHubSpot;
    let hubspot = FakeHubSpot::start("pat-pages").await;
    let company = hubspot.add_company("Acme");
    let app = spawn_app().await;
    let admin = app.staff(StaffRole::Admin).await;
    let account = app.create_account(&admin, "Acme").await;
    let settings = json!({"base_url": hubspot.base_url()});
    let connector = crate::sync::create_connector(
        &app,
        &admin,
        "hubspot",
        settings,
        json!({"access_token": "pat-pages"}),
        json!({}),
    )
    .await;
    map_account(&app, &admin, &connector, &company, account).await;
    let member = app.member(&admin, account, "member").await;

    let browser = Browser::start(Viewport::Phone).await;
    sign_in(&browser, &app.address, &member.email, &member.password).await;
    browser.wait_for_path(&format!("/accounts/{account}")).await;
    browser.goto(&format!("{}/accounts/{account}/tickets/new", app.address)).await;
    browser.fill("#subject", "Printer on fire").await;
    browser.fill("#description", "Smoke from tray 2.").await;
    browser.click("form.form button[type=submit]").await;
    let started = std::time::Instant::now();
    while !browser.path().await.starts_with(&format!("/accounts/{account}/tickets/0")) {
        assert!(started.elapsed() < Duration::from_secs(10), "the new request opens (at {})", browser.path().await);
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(browser.text("h1").await.contains("Printer on fire"));
    eventually("the request in HubSpot", Duration::from_secs(20), || async {
        (hubspot.objects("tickets").len() == 1).then_some(())
    })
    .await;
    // Once HubSpot has it, messages may be added.
    let ticket_page = browser.path().await;
    eventually("the request confirmed", Duration::from_secs(20), || async {
        browser.goto(&format!("{}{ticket_page}", app.address)).await;
        browser.client.find(Locator::Css("#body")).await.is_ok().then_some(())
    })
    .await;
    browser.fill("#body", "Still smoking this morning.").await;
    browser.click_and_wait("form[action$='/comments'] button").await;
    eventually("the message in the thread", Duration::from_secs(10), || async {
        browser.text("#live").await.contains("Still smoking this morning.").then_some(())
    })
    .await;
    assert_accessible(&browser, "a request with its thread (phone)").await;
    eventually("the note in HubSpot", Duration::from_secs(20), || async {
        (hubspot.objects("notes").len() == 1).then_some(())
    })
    .await;
    browser.close().await;
}

#[tokio::test]
async fn a_person_with_an_authenticator_signs_in_with_the_password_then_the_code() {
    let app = spawn_app().await;
    let admin = app.staff(StaffRole::Admin).await;
    let account = app.create_account(&admin, "Acme").await;
    let owner = app.member(&admin, account, "owner").await;
    let (secret, recovery_codes, _) = crate::mfa::enroll(&app, &owner).await;

    let browser = Browser::start(Viewport::Phone).await;
    sign_in(&browser, &app.address, &owner.email, &owner.password).await;
    // The password was right: the page asks for the code, and only for what is missing.
    let started = std::time::Instant::now();
    while browser.client.find(Locator::Css("#code")).await.is_err() {
        assert!(started.elapsed() < Duration::from_secs(10), "the code is asked for");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(browser.text(".error-summary").await.contains("authenticator app"));
    assert_accessible(&browser, "sign-in, second step").await;

    // A wrong code: said so, still on the second step.
    browser.fill("#password", &owner.password).await;
    browser.fill("#code", "000000").await;
    browser.click_and_wait("form.form button[type=submit]").await;
    browser.wait_for_path("/sign-in").await;
    assert!(browser.text(".error-summary").await.contains("did not work"));
    assert!(browser.client.find(Locator::Css("#code")).await.is_ok());

    // The authenticator's next code (the enrolment used this one) signs in.
    browser.fill("#password", &owner.password).await;
    browser.fill("#code", &crate::mfa::code(&secret, 30)).await;
    browser.click_and_wait("form.form button[type=submit]").await;
    browser.wait_for_path(&format!("/accounts/{account}")).await;
    browser.close().await;

    // A recovery code works in the same field.
    let browser = Browser::start(Viewport::Desktop).await;
    sign_in(&browser, &app.address, &owner.email, &owner.password).await;
    let started = std::time::Instant::now();
    while browser.client.find(Locator::Css("#code")).await.is_err() {
        assert!(started.elapsed() < Duration::from_secs(10), "the code is asked for");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    browser.fill("#password", &owner.password).await;
    browser.fill("#code", &recovery_codes[0]).await;
    browser.click_and_wait("form.form button[type=submit]").await;
    browser.wait_for_path(&format!("/accounts/{account}")).await;
    browser.close().await;
}

#[tokio::test]
async fn an_invited_person_accepts_in_the_browser_and_lands_in_the_account() {
    let app = spawn_app().await;
    let admin = app.staff(StaffRole::Admin).await;
    let account = app.create_account(&admin, "Acme").await;
    let response = app
        .request(Method::POST, &format!("/api/v1/accounts/{account}/invitations"), Some(&admin))
        .json(&json!({"email": "new.customer@example.com", "role": "member"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201);
    let invitation: Value = response.json().await.unwrap();
    let link = invitation["accept_url"].as_str().unwrap();
    let fragment = &link[link.find('#').expect("the token rides in the fragment")..];

    let browser = Browser::start(Viewport::Phone).await;
    browser.goto(&format!("{}/invitations/accept{fragment}", app.address)).await;
    browser.wait_for_path("/invitations/accept").await;
    let hidden: Value = browser
        .client
        .execute("return document.querySelector('.js-token-field').hidden && !location.hash", vec![])
        .await
        .unwrap();
    assert_eq!(hidden, true, "the link's token is taken from the fragment, and the fragment from the address bar");
    assert_accessible(&browser, "invitation").await;

    browser.fill("#display_name", "Nova Customer").await;
    browser.fill("#password", "short").await;
    browser.click("form.form button[type=submit]").await;
    let started = std::time::Instant::now();
    while browser.client.find(Locator::Css("#password-error")).await.is_err() {
        assert!(started.elapsed() < Duration::from_secs(10), "the password's problem is shown at the field");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_accessible(&browser, "invitation with an error").await;
    let kept: Value =
        browser.client.execute("return document.getElementById('display_name').value", vec![]).await.unwrap();
    assert_eq!(kept, "Nova Customer");

    browser.fill("#password", "correct horse battery staple").await;
    browser.click_and_wait("form.form button[type=submit]").await;
    browser.wait_for_path(&format!("/accounts/{account}")).await;
    assert!(browser.text("h1").await.contains("Acme"));
    // The link works once (tried by someone not signed in).
    browser.close().await;
    let browser = Browser::start(Viewport::Phone).await;
    browser.goto(&format!("{}/invitations/accept{fragment}", app.address)).await;
    browser.fill("#display_name", "Someone Else").await;
    browser.fill("#password", "another long passphrase here").await;
    browser.click("form.form button[type=submit]").await;
    let started = std::time::Instant::now();
    while browser.client.find(Locator::Css(".error-summary")).await.is_err() {
        assert!(started.elapsed() < Duration::from_secs(10), "a used link is refused");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(browser.text(".error-summary").await.contains("already used"));
    browser.close().await;
}

#[tokio::test]
async fn a_person_in_two_accounts_chooses_one_and_switches_to_the_other() {
    let app = spawn_app().await;
    let admin = app.staff(StaffRole::Admin).await;
    let (acme, globex) = (app.create_account(&admin, "Acme").await, app.create_account(&admin, "Globex").await);
    let person = app.member(&admin, acme, "owner").await;
    let response = app
        .request(Method::POST, &format!("/api/v1/accounts/{globex}/invitations"), Some(&admin))
        .json(&json!({"email": person.email, "role": "viewer"}))
        .send()
        .await
        .unwrap();
    let token = response.json::<Value>().await.unwrap()["token"].as_str().unwrap().to_owned();
    let response = app
        .request(Method::POST, "/api/v1/invitations/accept-as-me", Some(&person))
        .json(&json!({"token": token}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);

    let browser = Browser::start(Viewport::Phone).await;
    sign_in(&browser, &app.address, &person.email, &person.password).await;
    browser.wait_for_path("/").await;
    assert!(browser.text("h1").await.contains("Choose an account"));
    assert_accessible(&browser, "account choice").await;
    browser.click_link("Globex").await;
    browser.wait_for_path(&format!("/accounts/{globex}")).await;
    assert_accessible(&browser, "dashboard with the account switcher").await;
    // The switcher moves on selection (with script; a button does it without).
    let select = browser.client.find(Locator::Css("#account-switch")).await.unwrap();
    select.select_by_value(&format!("/accounts/{acme}")).await.unwrap();
    browser.wait_for_path(&format!("/accounts/{acme}")).await;
    assert!(browser.text("h1").await.contains("Acme"));
    // What each account shows follows the role there: owner of Acme sees invoices, viewer of Globex not.
    assert!(browser.client.find(Locator::Css("nav.sections a[href$='/invoices']")).await.is_ok());
    browser.goto(&format!("{}/accounts/{globex}", app.address)).await;
    assert!(browser.client.find(Locator::Css("nav.sections a[href$='/invoices']")).await.is_err());
    browser.close().await;
}

#[tokio::test]
async fn a_person_sets_up_an_authenticator_makes_a_token_and_ends_a_session_from_their_profile() {
    let app = spawn_app().await;
    let admin = app.staff(StaffRole::Admin).await;
    let account = app.create_account(&admin, "Acme").await;
    let member = app.member(&admin, account, "member").await;
    // The same person is signed in elsewhere too (another device).
    let elsewhere = app.sign_in(&member.email, &member.password).await;

    let browser = Browser::start(Viewport::Phone).await;
    sign_in(&browser, &app.address, &member.email, &member.password).await;
    browser.wait_for_path(&format!("/accounts/{account}")).await;
    browser.click_and_wait("a.person").await;
    browser.wait_for_path("/profile").await;
    assert_accessible(&browser, "profile").await;
    // Signed in with the password moments ago: the security changes are open.
    assert!(browser.client.find(Locator::Css("#current_password")).await.is_ok());

    // The authenticator: a QR code drawn on the server, the key to type, a wrong
    // first code refused at its field, the right one turns it on and shows the
    // recovery codes once.
    browser.click_and_wait("form[action='/profile/mfa'] button").await;
    browser.wait_for_path("/profile/mfa").await;
    assert_accessible(&browser, "authenticator set-up").await;
    let qr = browser.client.find(Locator::Css(".qr-frame svg[role=img]")).await.expect("a QR code as SVG");
    assert!(qr.attr("aria-label").await.unwrap().unwrap().contains("authenticator"));
    let secret = browser.text("code.secret").await;
    browser.fill("#code", "000000").await;
    browser.click_and_wait("form.form button[type=submit]").await;
    browser.wait_for_path("/profile/mfa/confirm").await;
    assert!(browser.text("#code-error").await.contains("not the current code"));
    assert_eq!(browser.text("code.secret").await, secret, "the same key, tried again");
    browser.fill("#code", &crate::mfa::code(&secret, 0)).await;
    browser.click("form.form button[type=submit]").await;
    // The same address as the refused try: wait for the new page's content.
    let codes = eventually("the recovery codes", Duration::from_secs(10), || async {
        let codes = browser.client.find_all(Locator::Css(".codes code")).await.ok()?;
        (!codes.is_empty()).then_some(codes)
    })
    .await;
    assert_eq!(codes.len(), 10, "ten recovery codes, shown once");
    assert!(browser.text(".notice").await.contains("from now on"));
    assert_accessible(&browser, "recovery codes").await;

    // A token for the account: shown once, works, then revoked from the page.
    browser.goto(&format!("{}/profile", app.address)).await;
    browser.fill("#name", "Accounting export").await;
    browser.click_and_wait("form[action='/profile/tokens'] button").await;
    browser.wait_for_path("/profile/tokens").await;
    let token = browser.client.find(Locator::Css("#new-token")).await.unwrap().prop("value").await.unwrap().unwrap();
    assert!(token.starts_with("ptk_"), "{token}");
    let with_token = |token: &str| {
        app.client.get(app.url(&format!("/api/v1/accounts/{account}/dashboard"))).bearer_auth(token.to_owned()).send()
    };
    assert_eq!(with_token(&token).await.unwrap().status(), 200);
    browser.goto(&format!("{}/profile", app.address)).await;
    assert!(browser.text("#tokens-title + p + ul").await.contains("Accounting export"));
    browser.click_and_wait("form[action$='/revoke'][action^='/profile/tokens/'] button").await;
    browser.wait_for_path("/profile").await;
    assert_eq!(with_token(&token).await.unwrap().status(), 401);

    // The other device's session is listed and ended from here.
    let other_sessions =
        browser.client.find_all(Locator::Css("form[action^='/profile/sessions/'] button")).await.unwrap();
    assert!(other_sessions.len() >= 2, "this session and the other device's");
    let mut ended = false;
    for form in browser.client.find_all(Locator::Css("form[action^='/profile/sessions/']")).await.unwrap() {
        let item = form.find(Locator::XPath("./ancestor::li")).await.unwrap();
        if !item.text().await.unwrap().contains("This device") {
            form.find(Locator::Css("button")).await.unwrap().click().await.unwrap();
            ended = true;
            break;
        }
    }
    assert!(ended);
    // The page's address does not change, so wait for the form's answer itself:
    // the other session refused within a few seconds of the click.
    browser.wait_for_path("/profile").await;
    let started = std::time::Instant::now();
    let mut status = 0;
    while started.elapsed() < Duration::from_secs(10) {
        status = app.request(Method::GET, "/api/v1/me", Some(&elsewhere)).send().await.unwrap().status().as_u16();
        if status == 401 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(status, 401, "the other device is signed out");

    // Language and time zone: the page speaks German at once; a bad zone is refused at its field.
    browser.fill("#time_zone", "Mars/Olympus Mons").await;
    browser.click_and_wait("form[action='/profile'] button[type=submit]").await;
    browser.wait_for_path("/profile").await;
    assert!(browser.text("#time_zone-error").await.contains("time zone"));
    browser.fill("#time_zone", "Europe/Zurich").await;
    let language = browser.client.find(Locator::Css("#locale")).await.unwrap();
    language.select_by_value("de").await.unwrap();
    browser.click_and_wait("form[action='/profile'] button[type=submit]").await;
    browser.wait_for_path("/profile").await;
    let lang: Value = browser.client.execute("return document.documentElement.lang", vec![]).await.unwrap();
    assert_eq!(lang, "de");
    assert!(browser.text(".notice").await.contains("gespeichert"));
    assert_accessible(&browser, "profile in German").await;
    browser.close().await;
}

#[tokio::test]
async fn a_person_who_forgot_the_password_resets_it_and_confirms_an_address_from_mailed_links() {
    let app = spawn_app().await;
    let admin = app.staff(StaffRole::Admin).await;
    let account = app.create_account(&admin, "Acme").await;
    let member = app.member(&admin, account, "member").await;

    let browser = Browser::start(Viewport::Phone).await;
    browser.goto(&format!("{}/sign-in", app.address)).await;
    browser.click_link("Forgot your password?").await;
    browser.wait_for_path("/forgot-password").await;
    assert_accessible(&browser, "forgot password").await;
    // Not an address: said at the field, nothing sent.
    browser.fill("#email", "not an address").await;
    browser.click_and_wait("form.form button[type=submit]").await;
    browser.wait_for_path("/forgot-password").await;
    assert!(browser.text("#email-error").await.contains("email address"));
    browser.fill("#email", &member.email).await;
    browser.click_and_wait("form.form button[type=submit]").await;
    browser.wait_for_path("/forgot-password").await;
    assert!(browser.text(".notice").await.contains("a link is on its way"));
    assert_accessible(&browser, "reset link sent").await;
    let mail = eventually("the reset mail", Duration::from_secs(10), || async { app.mailbox().pop() }).await;
    let token = crate::recovery::token_in(&mail);

    // The link's token rides in the fragment: the page's script fills it in.
    browser.goto(&format!("{}/reset-password#token={token}", app.address)).await;
    assert_accessible(&browser, "choose a new password").await;
    let hidden: Value =
        browser.client.execute("return document.querySelector('.js-token-field').hidden", vec![]).await.unwrap();
    assert_eq!(hidden, true, "the code field is filled in and out of the way");
    browser.fill("#new_password", "short").await;
    browser.click_and_wait("form.form button[type=submit]").await;
    browser.wait_for_path("/reset-password").await;
    assert!(browser.client.find(Locator::Css("#new_password-error")).await.is_ok(), "too weak, said at the field");
    assert_accessible(&browser, "refused new password").await;
    browser.fill("#new_password", "a brand new passphrase for acme").await;
    browser.click_and_wait("form.form button[type=submit]").await;
    browser.wait_for_path("/sign-in").await;
    assert!(browser.text(".notice").await.contains("password is changed"));
    browser.fill("#email", &member.email).await;
    browser.fill("#password", "a brand new passphrase for acme").await;
    browser.click_and_wait("form.form button[type=submit]").await;
    browser.wait_for_path(&format!("/accounts/{account}")).await;

    // The used link says so, and offers a new one.
    browser.goto(&format!("{}/reset-password#token={token}", app.address)).await;
    browser.fill("#new_password", "yet another passphrase here").await;
    browser.click_and_wait("form.form button[type=submit]").await;
    browser.wait_for_path("/reset-password").await;
    assert!(browser.text(".error-summary").await.contains("unknown, used or expired"));

    // A new sign-in address takes effect when its link is opened.
    // (Signing up through an invitation or a reset proves an address already, so
    // the verification page is met here through its twin, the email change.)
    let renewed = app.sign_in(&member.email, "a brand new passphrase for acme").await;
    let response = app
        .request(Method::POST, "/api/v1/me/email", Some(&renewed))
        .json(&json!({"new_email": "moved@example.com"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 202);
    let mail = eventually("the email-change mail", Duration::from_secs(10), || async {
        app.mailbox().into_iter().find(|mail| mail.contains("/confirm-email-change#token="))
    })
    .await;
    browser.goto(&format!("{}/confirm-email-change#token={}", app.address, crate::recovery::token_in(&mail))).await;
    assert_accessible(&browser, "confirm a new address").await;
    browser.click_and_wait("form.form button[type=submit]").await;
    browser.wait_for_path("/confirm-email-change").await;
    assert!(browser.text(".notice").await.contains("address is changed"));
    let response = app.login("moved@example.com", "a brand new passphrase for acme").await;
    assert_eq!(response.status(), 200, "signs in with the new address");
    browser.close().await;
}

#[tokio::test]
async fn an_owner_invites_changes_a_role_and_removes_a_member_on_the_team_page() {
    let app = spawn_app().await;
    let admin = app.staff(StaffRole::Admin).await;
    let account = app.create_account(&admin, "Acme").await;
    let owner = app.member(&admin, account, "owner").await;
    let viewer = app.member(&admin, account, "viewer").await;
    let leaving = app.member(&admin, account, "member").await;
    let team = format!("/accounts/{account}/team");

    let browser = Browser::start(Viewport::Phone).await;
    sign_in(&browser, &app.address, &owner.email, &owner.password).await;
    browser.wait_for_path(&format!("/accounts/{account}")).await;
    browser.click_link("Team").await;
    browser.wait_for_path(&team).await;
    assert_accessible(&browser, "team").await;

    // An address that is not one: said at the field, the address kept.
    browser.fill("#email", "not-an-address").await;
    browser.click_and_wait("form[action$='/team/invitations'] button").await;
    browser.wait_for_path(&format!("{team}/invitations")).await;
    assert!(browser.client.find(Locator::Css("#email-error")).await.is_ok());
    assert_accessible(&browser, "refused invitation").await;

    // An invitation: its link shown once, then listed as waiting; a resend makes a new link.
    browser.fill("#email", "new.person@example.com").await;
    browser.client.find(Locator::Css("#role")).await.unwrap().select_by_value("billing").await.unwrap();
    browser.click_and_wait("form[action$='/team/invitations'] button").await;
    browser.wait_for_path(&format!("{team}/invitations")).await;
    let link =
        browser.client.find(Locator::Css("#invitation-link")).await.unwrap().prop("value").await.unwrap().unwrap();
    assert!(link.contains("/invitations/accept#token="), "{link}");
    let waiting = browser.text(".invitation-list").await;
    assert!(waiting.contains("new.person@example.com") && waiting.contains("Billing"), "{waiting}");
    browser.click("form[action$='/resend'] button").await;
    eventually("the resent link", Duration::from_secs(10), || async {
        browser.path().await.ends_with("/resend").then_some(())
    })
    .await;
    browser.wait_for_path(&browser.path().await).await;
    let resent =
        browser.client.find(Locator::Css("#invitation-link")).await.unwrap().prop("value").await.unwrap().unwrap();
    assert_ne!(resent, link, "a new link; the old one stops working");
    let pending: Value = app.get_json(&format!("/api/v1/accounts/{account}/invitations"), Some(&owner)).await;
    assert_eq!(pending.as_array().unwrap().len(), 1, "{pending}");
    browser.goto(&format!("{}{team}", app.address)).await;
    browser.click_and_wait("form[action$='/revoke'] button").await;
    browser.wait_for_path(&team).await;
    assert!(browser.text("#invitations-title + p").await.contains("No invitations"));

    // A role changed, a member removed: the API sees both.
    browser
        .client
        .find(Locator::Css(&format!("#role-{}", viewer.user_id)))
        .await
        .unwrap()
        .select_by_value("member")
        .await
        .unwrap();
    browser.click_and_wait(&format!("form[action$='/members/{}/role'] button", viewer.user_id)).await;
    browser.wait_for_path(&team).await;
    browser.click_and_wait(&format!("form[action$='/members/{}/remove'] button", leaving.user_id)).await;
    browser.wait_for_path(&team).await;
    let members: Value = app.get_json(&format!("/api/v1/accounts/{account}/members"), Some(&owner)).await;
    let roles: Vec<(String, String)> = members
        .as_array()
        .unwrap()
        .iter()
        .map(|member| (member["email"].as_str().unwrap().to_owned(), member["role"].as_str().unwrap().to_owned()))
        .collect();
    assert!(roles.contains(&(viewer.email.clone(), "member".to_owned())), "{roles:?}");
    assert!(!roles.iter().any(|(email, _)| *email == leaving.email), "{roles:?}");

    // The account's settings: members sign in with their password only from now on.
    browser.click_link("Settings").await;
    browser.wait_for_path(&format!("/accounts/{account}/settings")).await;
    assert_accessible(&browser, "account settings").await;
    browser.click("input[name=email_codes][value=off]").await;
    browser.click_and_wait("form.form button[type=submit]").await;
    browser.wait_for_path(&format!("/accounts/{account}/settings")).await;
    assert!(browser.text(".notice").await.contains("saved"));
    let settings: Value = app.get_json(&format!("/api/v1/accounts/{account}"), Some(&owner)).await;
    assert_eq!(settings["email_codes"], "off");
    assert_eq!(settings["require_mfa"], false);

    // The account's data: asked for from the settings, followed on the page
    // without reloading it (the page's marker survives only if no reload
    // happened), downloaded once ready.
    browser.click_link("Go to the account's data export").await;
    browser.wait_for_path(&format!("/accounts/{account}/exports")).await;
    assert!(browser.text("#exports").await.contains("not asked for an archive"));
    assert_accessible(&browser, "data export").await;
    browser.click_and_wait("#exports form button[type=submit]").await;
    browser.wait_for_path(&format!("/accounts/{account}/exports")).await;
    browser.client.execute("window.notReloaded = true", vec![]).await.unwrap();
    let list = browser.wait_for_text("#exports", "Download the archive", 30).await;
    assert!(list.contains("Ready"), "{list}");
    let same_page: Value = browser.client.execute("return window.notReloaded === true", vec![]).await.unwrap();
    assert_eq!(same_page, json!(true), "the list changed in place");
    assert_accessible(&browser, "data export, ready").await;
    let archive = browser.link_href("Download the archive").await;
    let (status, content_type, start) = browser.fetch(&archive).await;
    assert_eq!((status, content_type.as_str()), (200, "application/gzip"));
    assert!(start.starts_with("\u{1f}\u{8b}"), "a gzip archive: {start:?}");
    let log: Value =
        app.get_json(&format!("/api/v1/accounts/{account}/audit-events?action=export."), Some(&owner)).await;
    let actions: Vec<&str> = log.as_array().unwrap().iter().map(|event| event["action"].as_str().unwrap()).collect();
    assert!(actions.contains(&"export.requested") && actions.contains(&"export.downloaded"), "{actions:?}");
    browser.close().await;

    // A member's role does not include the team: no link, and the page is refused.
    let browser = Browser::start(Viewport::Desktop).await;
    sign_in(&browser, &app.address, &viewer.email, &viewer.password).await;
    browser.wait_for_path(&format!("/accounts/{account}")).await;
    assert!(browser.client.find(Locator::LinkText("Team")).await.is_err());
    let (status, _, _) = browser.fetch(&team).await;
    assert_eq!(status, 403);
    browser.close().await;
}

#[tokio::test]
async fn a_customer_signs_in_with_a_code_from_their_mail_on_a_phone() {
    let app = spawn_app().await;
    let admin = app.staff(StaffRole::Admin).await;
    let account = app.create_account(&admin, "Acme").await;
    let member = app.member(&admin, account, "member").await;

    let browser = Browser::start(Viewport::Phone).await;
    browser.goto(&format!("{}/accounts/{account}/tickets", app.address)).await;
    browser.wait_for_path("/sign-in").await;
    browser.click_link("Sign in with a code sent by email").await;
    browser.wait_for_path("/sign-in/code").await;
    assert_accessible(&browser, "code sign-in, the address").await;
    browser.fill("#email", &member.email).await;
    browser.click_and_wait("form.form button[type=submit]").await;
    browser.wait_for_path("/sign-in/code").await;
    assert!(browser.text(".notice").await.contains("is on its way"));
    assert_accessible(&browser, "code sign-in, the code").await;
    let code = eventually("the code's mail", Duration::from_secs(10), || async {
        let mail = app.mailbox().into_iter().find(|mail| mail.contains("sign-in code"))?;
        mail.lines().find(|line| line.starts_with("    ")).map(|line| line.trim().to_owned())
    })
    .await;

    // A mistyped code: said so, and the form is there to try again.
    browser.fill("#code", "0000 0000").await;
    browser.click_and_wait("form.form button[type=submit]").await;
    browser.wait_for_path("/sign-in/code/check").await;
    assert!(browser.text(".error-summary").await.contains("did not work"));
    assert_accessible(&browser, "code sign-in, refused").await;
    browser.fill("#code", &code).await;
    browser.click_and_wait("form.form button[type=submit]").await;
    browser.wait_for_path(&format!("/accounts/{account}/tickets")).await;

    // A first visit: the dashboard greets them with what their role lets them do,
    // until they dismiss it (then on every device).
    browser.goto(&format!("{}/accounts/{account}", app.address)).await;
    let greeting = browser.text(".greeting").await;
    assert!(greeting.contains("ask us for help"), "{greeting}");
    assert!(!greeting.contains("invoices"), "a member does not see invoices: {greeting}");
    assert_accessible(&browser, "the first visit's greeting").await;
    browser.click_and_wait(".greeting button").await;
    browser.wait_for_path(&format!("/accounts/{account}")).await;
    assert!(browser.client.find(Locator::Css(".greeting")).await.is_err());
    browser.close().await;
    let response = app.request(Method::GET, &format!("/accounts/{account}"), Some(&member)).send().await.unwrap();
    assert!(!response.text().await.unwrap().contains("class=\"card greeting\""), "remembered for the person");
}

#[tokio::test]
async fn someone_signed_in_accepts_an_invitation_to_another_account_as_themselves() {
    let app = spawn_app().await;
    let admin = app.staff(StaffRole::Admin).await;
    let first = app.create_account(&admin, "Acme").await;
    let second = app.create_account(&admin, "Globex").await;
    let consultant = app.member(&admin, first, "member").await;
    let invite = |email: String| {
        let app = &app;
        let admin = &admin;
        async move {
            let response = app
                .request(Method::POST, &format!("/api/v1/accounts/{second}/invitations"), Some(admin))
                .json(&json!({"email": email, "role": "viewer"}))
                .send()
                .await
                .unwrap();
            assert_eq!(response.status(), 201);
            let invitation: Value = response.json().await.unwrap();
            let link = invitation["accept_url"].as_str().unwrap().to_owned();
            link[link.find('#').unwrap()..].to_owned()
        }
    };

    let browser = Browser::start(Viewport::Phone).await;
    sign_in(&browser, &app.address, &consultant.email, &consultant.password).await;
    browser.wait_for_path(&format!("/accounts/{first}")).await;

    // An invitation for someone else's address: refused, nothing joined.
    let fragment = invite("someone.else@example.com".to_owned()).await;
    browser.goto(&format!("{}/invitations/accept{fragment}", app.address)).await;
    assert!(browser.text("main").await.contains(&consultant.email), "joins as the person signed in");
    browser.click_and_wait("form.form button[type=submit]").await;
    browser.wait_for_path("/invitations/join").await;
    assert!(browser.text(".error-summary").await.contains("another address"));

    // Their own: one click, and the second account is theirs too.
    let fragment = invite(consultant.email.clone()).await;
    browser.goto(&format!("{}/invitations/accept{fragment}", app.address)).await;
    assert_accessible(&browser, "joining as oneself").await;
    browser.click_and_wait("form.form button[type=submit]").await;
    browser.wait_for_path(&format!("/accounts/{second}")).await;
    let me: Value = app.get_json("/api/v1/me", Some(&consultant)).await;
    assert_eq!(me["accounts"].as_array().unwrap().len(), 2, "{me}");
    browser.close().await;
}

#[tokio::test]
async fn an_owner_connects_single_sign_on_and_people_at_its_domain_are_offered_it_when_signing_in() {
    let dns = portico_testkit::FakeDns::start().await;
    let app = crate::helpers::spawn_app_with(|settings| {
        settings.outbound.allow_private_addresses = true;
        settings.auth.domain_proof_nameservers = vec![dns.address];
    })
    .await;
    let staff = app.staff(StaffRole::Admin).await;
    let account = app.create_account(&staff, "Federated").await;
    let owner = app.member(&staff, account, "owner").await;
    let (_provider, issuer) = crate::sso::start_provider("arrives@example.com");
    let settings = format!("/accounts/{account}/settings");
    let save = "form[action$='/settings/sso'] button[type=submit]";

    // The owner connects the provider from the account's settings, with their
    // domain: refused at its field until the domain's DNS holds the record named.
    let owner_browser = Browser::start(Viewport::Desktop).await;
    sign_in(&owner_browser, &app.address, &owner.email, &owner.password).await;
    owner_browser.wait_for_path(&format!("/accounts/{account}")).await;
    owner_browser.goto(&format!("{}{settings}", app.address)).await;
    assert!(owner_browser.text("main").await.contains("no identity provider yet"));
    owner_browser.fill("#issuer", &issuer).await;
    owner_browser.fill("#client_id", "portico").await;
    owner_browser.fill("#client_secret", "portico-test-secret").await;
    owner_browser.fill("#email_domains", "example.com").await;
    owner_browser.click_and_wait(save).await;
    assert!(owner_browser.text("#error-summary").await.contains("example.com"));
    let refusal = owner_browser.text("#email_domains-error").await;
    assert!(refusal.contains("TXT record named _portico-verification.example.com"), "{refusal}");
    assert_accessible(&owner_browser, "single sign-on refused").await;
    let value = refusal.split("with the value ").nth(1).unwrap().split(' ').next().unwrap();
    dns.add_txt("_portico-verification.example.com", value);
    assert_eq!(owner_browser.value("#email_domains").await, "example.com", "what they typed stays");
    // The secret is never written back into the page: typed again.
    owner_browser.fill("#client_secret", "portico-test-secret").await;
    owner_browser.click_and_wait(save).await;
    owner_browser.wait_for_path(&settings).await;
    assert!(owner_browser.text("main").await.contains("Single sign-on is saved"));
    assert_eq!(owner_browser.value("#email_domains").await, "example.com");
    assert_accessible(&owner_browser, "account settings with single sign-on").await;
    let connection: Value = app.get_json(&format!("/api/v1/accounts/{account}/sso"), Some(&owner)).await;
    assert_eq!(connection["email_domains"], json!(["example.com"]));

    // Someone at the domain, on a phone, is offered the provider as they type
    // their address, and not once it is another domain's.
    let browser = Browser::start(Viewport::Phone).await;
    browser.goto(&format!("{}/sign-in", app.address)).await;
    browser.fill("#email", "someone@example.com").await;
    let offer = browser.wait_for_text("#sso-offer", "Federated", 10).await;
    assert!(offer.contains("Federated signs in with its own identity provider"), "{offer}");
    let start = format!("/api/v1/auth/sso/{}/start", connection["connection_id"].as_str().unwrap());
    assert_eq!(browser.link_href("Continue with single sign-on").await, start);
    assert_accessible(&browser, "sign-in with single sign-on offered").await;
    browser.fill("#email", "someone@elsewhere.test").await;
    let started = std::time::Instant::now();
    while !browser.text("#sso-offer").await.is_empty() {
        assert!(started.elapsed() < Duration::from_secs(10), "the offer stays for another domain");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    browser.close().await;

    // Removed from the settings: the domain signs in with passwords again.
    owner_browser.goto(&format!("{}{settings}", app.address)).await;
    owner_browser.click_and_wait("form[action$='/settings/sso/remove'] button[type=submit]").await;
    assert!(owner_browser.text("main").await.contains("Single sign-on is removed"));
    assert_eq!(app.get("/api/v1/auth/sso/discover?domain=example.com").await.status(), 404);
    owner_browser.close().await;
}
