//! Account record lists: filtered and paged in the query, each record with its source
//! and freshness, an ETag for cheap polling, and nothing of another account.

use portico::auth::permissions::StaffRole;
use portico_testkit::FakeStripe;
use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{Session, TestApp, spawn_app};
use crate::sync::{create_connector, map_account, sync_to_end};

/// A server with a Stripe connector whose customers (Stripe id, account name) each
/// map to an account of their own, synced through `streams`.
struct Portal {
    app: TestApp,
    admin: Session,
    connector: Value,
    accounts: Vec<uuid::Uuid>,
}

async fn stripe_portal(stripe: &FakeStripe, api_key: &str, customers: &[(&str, &str)], streams: &[&str]) -> Portal {
    let app = spawn_app().await;
    let admin = app.staff(StaffRole::Admin).await;
    let settings = json!({"base_url": stripe.base_url()});
    let connector = create_connector(&app, &admin, "stripe", settings, json!({"api_key": api_key}), json!({})).await;
    let mut accounts = Vec::new();
    for (customer, name) in customers {
        let account = app.create_account(&admin, name).await;
        map_account(&app, &admin, &connector, customer, account).await;
        accounts.push(account);
    }
    sync_to_end(&app, &admin, &connector, streams, "full").await;
    Portal { app, admin, connector, accounts }
}

async fn page(app: &TestApp, session: &Session, path: &str) -> Value {
    let response = app.request(Method::GET, path, Some(session)).send().await.unwrap();
    assert_eq!(response.status(), 200, "{path}: {}", response.text().await.unwrap());
    response.json().await.unwrap()
}

#[tokio::test]
async fn invoices_list_by_page_and_filter_with_their_source_and_an_etag() {
    let stripe = FakeStripe::start("sk_test_lists").await;
    let acme = stripe.add_customer("Acme", "billing@acme.test");
    let globex = stripe.add_customer("Globex", "ap@globex.test");
    let mut acme_invoices = Vec::new();
    for amount in [1000, 2000, 3000, 4000, 5000] {
        acme_invoices.push(stripe.add_invoice(&acme, &[amount]));
    }
    let globex_invoice = stripe.add_invoice(&globex, &[9900]);
    stripe.pay_invoice(&acme_invoices[1]);

    let Portal { app, admin, connector, accounts } =
        stripe_portal(&stripe, "sk_test_lists", &[(&acme, "Acme"), (&globex, "Globex")], &["invoices"]).await;
    let (account, other) = (accounts[0], accounts[1]);
    let billing = app.member(&admin, account, "billing").await;

    // Pages of two, in a stable order, until the cursor runs out: each invoice once.
    let base = format!("/api/v1/accounts/{account}/invoices");
    let mut seen = Vec::new();
    let mut path = format!("{base}?limit=2");
    loop {
        let body = page(&app, &billing, &path).await;
        for item in body["items"].as_array().unwrap() {
            seen.push(item["data"]["number"].as_str().unwrap().to_owned());
            assert_eq!(item["type"], "invoice");
            assert_eq!(item["source"]["kind"], "stripe");
            assert_eq!(item["source"]["connector_id"], connector["id"]);
            assert!(item["synced_at"].is_string(), "{item}");
            assert_eq!(item["pending"], false);
        }
        match body["next_cursor"].as_str() {
            Some(cursor) => path = format!("{base}?limit=2&cursor={cursor}"),
            None => break,
        }
    }
    assert_eq!(seen.len(), 5, "{seen:?}");
    seen.sort();
    seen.dedup();
    assert_eq!(seen.len(), 5, "no invoice twice");

    // Filters: status, and text in the number.
    let paid = page(&app, &billing, &format!("{base}?status=paid")).await;
    assert_eq!(paid["items"].as_array().unwrap().len(), 1);
    let number = paid["items"][0]["data"]["number"].as_str().unwrap().to_owned();
    let found = page(&app, &billing, &format!("{base}?q={}", number.to_lowercase())).await;
    assert_eq!(found["items"].as_array().unwrap().len(), 1, "{found}");
    assert_eq!(found["items"][0]["data"]["number"], number.as_str());
    // Dates: every invoice was issued just now.
    let hour_ago = (chrono::Utc::now() - chrono::Duration::hours(1)).to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let in_an_hour =
        (chrono::Utc::now() + chrono::Duration::hours(1)).to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let recent = page(&app, &billing, &format!("{base}?from={hour_ago}&until={in_an_hour}")).await;
    assert_eq!(recent["items"].as_array().unwrap().len(), 5);
    let later = page(&app, &billing, &format!("{base}?from={in_an_hour}")).await;
    assert!(later["items"].as_array().unwrap().is_empty());
    let response = app
        .request(Method::GET, &format!("{base}?from={in_an_hour}&until={hour_ago}"), Some(&billing))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 422);
    let none = page(&app, &billing, &format!("{base}?q=%25")).await;
    assert!(none["items"].as_array().unwrap().is_empty(), "a % is a character, not a wildcard");

    // ETag: the same page again is 304; after a change it is new.
    let response = app.request(Method::GET, &base, Some(&billing)).send().await.unwrap();
    let etag = response.headers()["etag"].to_str().unwrap().to_owned();
    let again = app.request(Method::GET, &base, Some(&billing)).header("if-none-match", &etag).send().await.unwrap();
    assert_eq!(again.status(), 304);
    stripe.pay_invoice(&acme_invoices[3]);
    sync_to_end(&app, &admin, &connector, &["invoices"], "incremental").await;
    let changed = app.request(Method::GET, &base, Some(&billing)).header("if-none-match", &etag).send().await.unwrap();
    assert_eq!(changed.status(), 200);

    // Another account's invoices never appear, and its list is not reachable.
    let all = page(&app, &billing, &format!("{base}?limit=200")).await;
    assert!(!all.to_string().contains(&globex_invoice), "another account's invoice leaked");
    let response =
        app.request(Method::GET, &format!("/api/v1/accounts/{other}/invoices"), Some(&billing)).send().await.unwrap();
    assert_eq!(response.status(), 404);
    // A viewer lacks invoices.view; a bad cursor is refused, not ignored.
    let viewer = app.member(&admin, account, "viewer").await;
    let response = app.request(Method::GET, &base, Some(&viewer)).send().await.unwrap();
    assert_eq!(response.status(), 403);
    let response = app.request(Method::GET, &format!("{base}?cursor=forged"), Some(&billing)).send().await.unwrap();
    assert_eq!(response.status(), 422);
    let response = app.request(Method::GET, &format!("{base}?limit=500"), Some(&billing)).send().await.unwrap();
    assert_eq!(response.status(), 422);
}

#[tokio::test]
async fn text_search_finds_any_part_of_a_number_and_follows_renames_and_deletions() {
    let stripe = FakeStripe::start("sk_test_search").await;
    let acme = stripe.add_customer("Acme", "billing@acme.test");
    let globex = stripe.add_customer("Globex", "ap@globex.test");
    let kitchen = stripe.add_invoice(&acme, &[1000]);
    stripe.set_invoice_field(&kitchen, "number", json!("KITCHEN-2026-0042"));
    let roof = stripe.add_invoice(&acme, &[2000]);
    stripe.set_invoice_field(&roof, "number", json!("ROOF-2026-0007"));
    // Another account's invoice matches the same words: it must never be found.
    let theirs = stripe.add_invoice(&globex, &[3000]);
    stripe.set_invoice_field(&theirs, "number", json!("KITCHEN-2026-0099"));

    let Portal { app, admin, connector, accounts } =
        stripe_portal(&stripe, "sk_test_search", &[(&acme, "Acme"), (&globex, "Globex")], &["invoices"]).await;
    let account = accounts[0];
    let billing = app.member(&admin, account, "billing").await;
    let numbers = |body: Value| -> Vec<String> {
        let items = body["items"].as_array().unwrap();
        let mut numbers: Vec<String> = items.iter().map(|item| item["title"].as_str().unwrap().to_owned()).collect();
        numbers.sort();
        numbers
    };
    let search = |term: &str| format!("/api/v1/accounts/{account}/invoices?q={}", urlencoding(term));

    // Any part of the number, in any case; the index's matches stay in the account.
    assert_eq!(numbers(page(&app, &billing, &search("kitchen")).await), ["KITCHEN-2026-0042"]);
    assert_eq!(numbers(page(&app, &billing, &search("2026-00")).await), ["KITCHEN-2026-0042", "ROOF-2026-0007"]);
    assert_eq!(numbers(page(&app, &billing, &search("0099")).await), Vec::<String>::new());
    // Shorter than a trigram: still found (by walking the account's invoices).
    assert_eq!(numbers(page(&app, &billing, &search("07")).await), ["ROOF-2026-0007"]);
    // FTS5 syntax is text, not operators.
    assert_eq!(numbers(page(&app, &billing, &search("KITCHEN OR ROOF")).await), Vec::<String>::new());
    assert_eq!(numbers(page(&app, &billing, &search("\"ROOF")).await), Vec::<String>::new());

    // A renamed invoice is found by its new number only; a deleted one not at all.
    stripe.set_invoice_field(&roof, "number", json!("GARAGE-2026-0007"));
    stripe.delete("invoices", &kitchen);
    sync_to_end(&app, &admin, &connector, &["invoices"], "incremental").await;
    assert_eq!(numbers(page(&app, &billing, &search("roof")).await), Vec::<String>::new());
    assert_eq!(numbers(page(&app, &billing, &search("garage")).await), ["GARAGE-2026-0007"]);
    assert_eq!(numbers(page(&app, &billing, &search("kitchen")).await), Vec::<String>::new());
}

fn urlencoding(term: &str) -> String {
    url::form_urlencoded::byte_serialize(term.as_bytes()).collect()
}

#[tokio::test]
async fn subscriptions_are_read_with_their_renewal_by_those_who_see_the_invoices() {
    let stripe = FakeStripe::start("sk_test_subscriptions").await;
    let acme = stripe.add_customer("Acme", "billing@acme.test");
    let globex = stripe.add_customer("Globex", "ap@globex.test");
    stripe.add_subscription(&acme, "Pro", 1500, 2);
    stripe.add_subscription(&globex, "Enterprise", 99_000, 1);

    let Portal { app, admin, accounts, .. } =
        stripe_portal(&stripe, "sk_test_subscriptions", &[(&acme, "Acme"), (&globex, "Globex")], &["subscriptions"])
            .await;
    let (account, other) = (accounts[0], accounts[1]);

    let billing = app.member(&admin, account, "billing").await;
    let list = page(&app, &billing, &format!("/api/v1/accounts/{account}/subscriptions")).await;
    let items = list["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "only the account's own: {list}");
    let subscription = &items[0];
    assert_eq!(subscription["type"], "subscription");
    assert_eq!(subscription["title"], "Pro");
    assert_eq!(subscription["status"], "active");
    assert_eq!(subscription["amount_minor"], 3000);
    assert_eq!(subscription["data"]["interval"], "month");
    assert!(subscription["due_at"].is_string(), "the renewal: {subscription}");
    assert_eq!(subscription["source"]["kind"], "stripe");
    // Not an order any more.
    let orders = page(&app, &billing, &format!("/api/v1/accounts/{account}/orders")).await;
    assert!(orders["items"].as_array().unwrap().is_empty(), "{orders}");
    // Renewing within a month and a day, not within a week.
    let week = (chrono::Utc::now() + chrono::Duration::days(7)).to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let soon = page(&app, &billing, &format!("/api/v1/accounts/{account}/subscriptions?due_until={week}")).await;
    assert!(soon["items"].as_array().unwrap().is_empty(), "{soon}");

    let id = subscription["id"].as_str().unwrap();
    let detail = page(&app, &billing, &format!("/api/v1/accounts/{account}/subscriptions/{id}")).await;
    assert_eq!(detail["data"]["plan"], "Pro");
    // A viewer (no invoices.view) is refused; another account's is not found.
    let viewer = app.member(&admin, account, "viewer").await;
    let refused = app.request(Method::GET, &format!("/api/v1/accounts/{account}/subscriptions"), Some(&viewer));
    let refused = refused.send().await.unwrap();
    assert_eq!(refused.status(), 403);
    assert_eq!(refused.json::<Value>().await.unwrap()["code"], "forbidden");
    let outsider = app.member(&admin, other, "billing").await;
    let hidden = app.request(Method::GET, &format!("/api/v1/accounts/{other}/subscriptions/{id}"), Some(&outsider));
    assert_eq!(hidden.send().await.unwrap().status(), 404);
}

#[tokio::test]
async fn an_invoice_comes_with_its_payments_for_those_who_may_see_them() {
    let stripe = FakeStripe::start("sk_test_detail").await;
    let acme = stripe.add_customer("Acme", "billing@acme.test");
    let invoice = stripe.add_invoice(&acme, &[1500]);
    stripe.add_raw(
        "charges",
        json!({"id": "ch_1", "object": "charge", "amount": 1500, "currency": "usd",
        "status": "succeeded", "customer": acme, "invoice": invoice, "created": 1_700_000_000, "refunded": false}),
    );
    stripe.add_raw(
        "charges",
        json!({"id": "ch_other", "object": "charge", "amount": 99, "currency": "usd",
        "status": "succeeded", "customer": acme, "invoice": null, "created": 1_700_000_001, "refunded": false}),
    );
    let Portal { app, admin, accounts, .. } =
        stripe_portal(&stripe, "sk_test_detail", &[(&acme, "Acme")], &["invoices", "payments"]).await;
    let account = accounts[0];
    let billing = app.member(&admin, account, "billing").await;

    let listed = page(&app, &billing, &format!("/api/v1/accounts/{account}/invoices")).await;
    let id = listed["items"][0]["id"].as_str().unwrap().to_owned();
    let path = format!("/api/v1/accounts/{account}/invoices/{id}");
    let detail = page(&app, &billing, &path).await;
    assert_eq!(detail["data"]["line_items"].as_array().unwrap().len(), 1);
    let payments: Vec<&str> = detail["payments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["data"]["invoice_external_id"].as_str().unwrap())
        .collect();
    assert_eq!(payments, [invoice.as_str()], "only this invoice's payment: {detail}");

    // Its PDF comes through Portico from where Stripe keeps it.
    let response = app.request(Method::GET, &format!("{path}/pdf"), Some(&billing)).send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "application/pdf");
    let number = detail["data"]["number"].as_str().unwrap();
    assert_eq!(response.headers()["content-disposition"], format!("attachment; filename=\"{number}.pdf\"").as_str());
    assert_eq!(response.text().await.unwrap(), format!("%PDF-1.4\n% invoice {invoice}\n%%EOF\n"));
    let viewer = app.member(&admin, account, "viewer").await;
    let response = app.request(Method::GET, &format!("{path}/pdf"), Some(&viewer)).send().await.unwrap();
    assert_eq!(response.status(), 403);

    // A custom role that may see invoices but not payments gets the invoice alone.
    let response = app
        .request(Method::POST, &format!("/api/v1/accounts/{account}/roles"), Some(&admin))
        .json(&json!({"name": "Invoices only", "permissions": ["invoices.view"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201);
    let role_id = response.json::<Value>().await.unwrap()["role_id"].as_str().unwrap().to_owned();
    let reader = app.member(&admin, account, "viewer").await;
    let response = app
        .request(Method::PATCH, &format!("/api/v1/accounts/{account}/members/{}", reader.user_id), Some(&admin))
        .json(&json!({"role": "custom", "custom_role_id": role_id}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 204);
    let detail = page(&app, &reader, &path).await;
    assert!(detail.get("payments").is_none(), "{detail}");

    // The same record under another collection, or another account, is not found.
    let response = app
        .request(Method::GET, &format!("/api/v1/accounts/{account}/orders/{id}"), Some(&admin))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 404);
    let other = app.create_account(&admin, "Other").await;
    let outsider = app.member(&admin, other, "owner").await;
    let response = app
        .request(Method::GET, &format!("/api/v1/accounts/{other}/invoices/{id}"), Some(&outsider))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 404);
}

#[tokio::test]
async fn the_dashboard_sums_up_open_and_overdue_invoices_by_due_date_for_those_who_may_see_them() {
    let stripe = FakeStripe::start("sk_test_dashboard").await;
    let acme = stripe.add_customer("Acme", "billing@acme.test");
    let globex = stripe.add_customer("Globex", "ap@globex.test");
    let open = stripe.add_invoice(&acme, &[1000]);
    let overdue = stripe.add_invoice(&acme, &[2500]);
    let paid = stripe.add_invoice(&acme, &[7000]);
    let elsewhere = stripe.add_invoice(&globex, &[99_900]);
    stripe.set_invoice_due_date(&overdue, chrono::Utc::now().timestamp() - 5 * 86_400);
    stripe.set_invoice_due_date(&elsewhere, chrono::Utc::now().timestamp() - 5 * 86_400);
    stripe.pay_invoice(&paid);

    let Portal { app, admin, accounts, .. } =
        stripe_portal(&stripe, "sk_test_dashboard", &[(&acme, "Acme"), (&globex, "Globex")], &["invoices"]).await;
    let (account, other) = (accounts[0], accounts[1]);
    let billing = app.member(&admin, account, "billing").await;

    let dashboard = page(&app, &billing, &format!("/api/v1/accounts/{account}/dashboard")).await;
    let totals = dashboard["invoices"].as_array().unwrap();
    assert_eq!(totals.len(), 1, "{dashboard}");
    assert_eq!(totals[0]["currency"], "USD");
    assert_eq!(totals[0]["open_count"], 2, "the paid one is not open: {dashboard}");
    assert_eq!(totals[0]["open_amount_minor"], 3500);
    assert_eq!(totals[0]["overdue_count"], 1, "Globex's overdue invoice is not Acme's: {dashboard}");
    assert_eq!(totals[0]["overdue_amount_minor"], 2500);
    assert_eq!(dashboard["recent_changes"].as_array().unwrap().len(), 3);
    assert!(dashboard.get("open_tickets").is_none(), "billing may not see tickets: {dashboard}");
    assert!(dashboard["last_visit_at"].is_null(), "a first visit");
    let again = page(&app, &billing, &format!("/api/v1/accounts/{account}/dashboard")).await;
    assert!(again["last_visit_at"].is_null(), "a refresh is the same visit: {again}");

    // The list filters on the due date too: what is past due.
    let now = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let past_due =
        page(&app, &billing, &format!("/api/v1/accounts/{account}/invoices?status=open&due_until={now}")).await;
    let items = past_due["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "{past_due}");
    assert!(items[0]["due_at"].as_str().unwrap() < now.as_str());
    let _ = open;

    // A viewer sees the account, but no invoice figures and no invoices among the changes.
    let viewer = app.member(&admin, account, "viewer").await;
    let seen = page(&app, &viewer, &format!("/api/v1/accounts/{account}/dashboard")).await;
    assert!(seen.get("invoices").is_none(), "{seen}");
    assert!(seen["recent_changes"].as_array().unwrap().is_empty(), "{seen}");
    assert_eq!(seen["open_tickets"], 0);
    let outsider = app.member(&admin, other, "owner").await;
    let response = app
        .request(Method::GET, &format!("/api/v1/accounts/{account}/dashboard"), Some(&outsider))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 404);
}
