//! Sign-in, sessions, CSRF, invitations and the audit chain, over HTTP.

use portico::auth::permissions::StaffRole;
use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{
    TestApp, TestDatabase, portico_command, raw_sql, run_portico, session_cookie_from, spawn_app, spawn_app_with,
};

async fn body(response: reqwest::Response) -> Value {
    response.json().await.unwrap()
}

#[tokio::test]
async fn sign_in_sets_a_hardened_cookie_and_sign_out_ends_the_session_server_side() {
    let app = spawn_app().await;
    let staff = app.staff(StaffRole::Admin).await;
    let response = app.login(&staff.email, &staff.password).await;
    let set_cookie = response.headers()["set-cookie"].to_str().unwrap().to_owned();
    for attribute in ["HttpOnly", "SameSite=Lax", "Path=/", "Max-Age=86400"] {
        assert!(set_cookie.contains(attribute), "{attribute} missing from {set_cookie}");
    }
    assert!(!set_cookie.contains("Secure"), "plain-http deployments cannot use Secure cookies");
    let session = crate::helpers::Session { cookie: session_cookie_from(&response).unwrap(), ..staff };
    let user_id = session.user_id.to_string();

    let me = app.request(Method::GET, "/api/v1/me", Some(&session)).send().await.unwrap();
    assert_eq!(me.status(), 200);
    let me = body(me).await;
    assert_eq!(me["user_id"], user_id.as_str());
    assert_eq!(me["staff_role"], "admin");
    assert!(me["staff_permissions"].as_array().unwrap().contains(&json!("accounts.manage")));

    let logout = app.request(Method::POST, "/api/v1/auth/logout", Some(&session)).send().await.unwrap();
    assert_eq!(logout.status(), 204);
    assert!(logout.headers()["set-cookie"].to_str().unwrap().contains("Max-Age=0"));
    // The same cookie, replayed, no longer works: the session ended on the server.
    let replay = app.request(Method::GET, "/api/v1/me", Some(&session)).send().await.unwrap();
    assert_eq!(replay.status(), 401);
    assert_eq!(body(replay).await["code"], "unauthenticated");
}

#[tokio::test]
async fn unknown_email_and_wrong_password_answer_alike() {
    let app = spawn_app().await;
    let staff = app.staff(StaffRole::Support).await;
    let wrong_password = app.login(&staff.email, "not the right passphrase").await;
    let unknown_email = app.login("nobody-here@example.com", "not the right passphrase").await;
    assert_eq!(wrong_password.status(), 401);
    assert_eq!(unknown_email.status(), 401);
    let (mut first, mut second) = (body(wrong_password).await, body(unknown_email).await);
    // Only the per-request id may differ.
    first.as_object_mut().unwrap().remove("request_id");
    second.as_object_mut().unwrap().remove("request_id");
    assert_eq!(first, second);
}

#[tokio::test]
async fn repeated_failures_are_throttled_with_retry_after() {
    let app = spawn_app_with(|settings| settings.auth.login_failures_per_account = 3).await;
    let staff = app.staff(StaffRole::Auditor).await;
    for _ in 0..3 {
        assert_eq!(app.login(&staff.email, "wrong wrong wrong").await.status(), 401);
    }
    // Now even the right password waits.
    let throttled = app.login(&staff.email, &staff.password).await;
    assert_eq!(throttled.status(), 429);
    let retry_after: u64 = throttled.headers()["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=900).contains(&retry_after), "{retry_after}");
    assert_eq!(body(throttled).await["code"], "rate_limited");
    // Another account from elsewhere is unaffected (different email; the address limit is higher).
    let other = app.staff(StaffRole::Auditor).await;
    assert_eq!(app.login(&other.email, &other.password).await.status(), 200);

    // Every failure and the refusal are on record, for the staff to see.
    let events =
        body(app.request(Method::GET, "/api/v1/audit-events?limit=200", Some(&other)).send().await.unwrap()).await;
    let about_staff: Vec<&str> = events
        .as_array()
        .unwrap()
        .iter()
        .filter(|event| event["details"]["email"] == staff.email.as_str())
        .map(|event| event["action"].as_str().unwrap())
        .collect();
    assert_eq!(about_staff.iter().filter(|action| **action == "auth.login.failed").count(), 3, "{about_staff:?}");
    assert!(about_staff.contains(&"auth.login.throttled"), "{about_staff:?}");
}

#[tokio::test]
async fn signing_in_again_replaces_the_old_session() {
    let app = spawn_app().await;
    let first = app.staff(StaffRole::Admin).await;
    let response = app
        .request(Method::POST, "/api/v1/auth/login", Some(&first))
        .json(&json!({ "email": first.email, "password": first.password }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let new_cookie = session_cookie_from(&response).unwrap();
    assert_ne!(new_cookie, first.cookie, "a new session id at sign-in");
    assert_eq!(app.request(Method::GET, "/api/v1/me", Some(&first)).send().await.unwrap().status(), 401);
    let second = crate::helpers::Session { cookie: new_cookie, ..first };
    assert_eq!(app.request(Method::GET, "/api/v1/me", Some(&second)).send().await.unwrap().status(), 200);
}

#[tokio::test]
async fn cookie_authenticated_writes_must_come_from_our_origin() {
    let app = spawn_app().await;
    let staff = app.staff(StaffRole::Admin).await;
    let create = |origin: Option<&'static str>, fetch_site: Option<&'static str>| {
        let mut request = app
            .client
            .post(app.url("/api/v1/accounts"))
            .header("cookie", &staff.cookie)
            .json(&json!({ "name": "Csrf", "slug": format!("csrf-{}", uuid::Uuid::new_v4().simple()) }));
        if let Some(origin) = origin {
            request = request.header("origin", origin);
        }
        if let Some(fetch_site) = fetch_site {
            request = request.header("sec-fetch-site", fetch_site);
        }
        request.send()
    };
    assert_eq!(create(Some("https://evil.example"), None).await.unwrap().status(), 403);
    assert_eq!(create(None, None).await.unwrap().status(), 403);
    assert_eq!(create(None, Some("cross-site")).await.unwrap().status(), 403);
    assert_eq!(create(None, Some("same-origin")).await.unwrap().status(), 201);
    assert_eq!(create(Some(crate::helpers::PUBLIC_URL), None).await.unwrap().status(), 201);
    // Reads are not writes.
    let read = app.client.get(app.url("/api/v1/me")).header("cookie", &staff.cookie).send().await.unwrap();
    assert_eq!(read.status(), 200);
}

#[tokio::test]
async fn an_invitation_is_single_use_and_grants_its_role() {
    let app = spawn_app().await;
    let admin = app.staff(StaffRole::Admin).await;
    let account_id = app.create_account(&admin, "Acme").await;
    let invitation = app
        .request(Method::POST, &format!("/api/v1/accounts/{account_id}/invitations"), Some(&admin))
        .json(&json!({ "email": "Billing.Person@Example.com", "role": "billing" }))
        .send()
        .await
        .unwrap();
    assert_eq!(invitation.status(), 201);
    let invitation = body(invitation).await;
    assert_eq!(invitation["email"], "billing.person@example.com");
    assert!(invitation["accept_url"].as_str().unwrap().starts_with("http://portico.test/invitations/accept#token="));

    let accept = |password: &'static str| {
        app.request(Method::POST, "/api/v1/invitations/accept", None)
            .json(&json!({ "token": invitation["token"], "password": password, "display_name": "Bea Billing" }))
            .send()
    };
    let weak = accept("password1234").await.unwrap();
    assert_eq!(weak.status(), 422);
    assert_eq!(body(weak).await["errors"][0]["field"], "password");

    let accepted = accept("ledgers and invoices all day").await.unwrap();
    assert_eq!(accepted.status(), 201);
    let cookie = session_cookie_from(&accepted).expect("signed in on acceptance");
    let me = app.client.get(app.url("/api/v1/me")).header("cookie", &cookie).send().await.unwrap();
    let me = body(me).await;
    assert_eq!(me["accounts"][0]["account_id"], account_id.to_string());
    assert_eq!(me["accounts"][0]["role"], "billing");
    let permissions = me["accounts"][0]["permissions"].as_array().unwrap();
    assert!(permissions.contains(&json!("invoices.pay")));
    assert!(!permissions.contains(&json!("team.invite")));

    let reused = accept("ledgers and invoices all day").await.unwrap();
    assert_eq!(reused.status(), 404, "an invitation works once");
}

async fn run_verify(db: &TestDatabase) -> (i32, String, String) {
    run_portico(portico_command(db, &["audit", "verify"]), None)
}

async fn tamper_with_audit_event(app: &TestApp, event_id: i64) {
    let statement = "UPDATE audit_events SET action = 'auth.login.failed' WHERE id = $1";
    assert_eq!(raw_sql(&app.db, statement, |query| query.bind(event_id)).await, 1);
}

#[tokio::test]
async fn the_audit_chain_detects_an_edited_event() {
    let app = spawn_app().await;
    let admin = app.staff(StaffRole::Admin).await;
    let account_id = app.create_account(&admin, "Chain").await;
    app.member(&admin, account_id, "owner").await;

    let events = app.request(Method::GET, "/api/v1/audit-events", Some(&admin)).send().await.unwrap();
    let events = body(events).await;
    let actions: Vec<&str> = events.as_array().unwrap().iter().map(|e| e["action"].as_str().unwrap()).collect();
    for expected in ["auth.login.succeeded", "account.created", "invitation.created", "invitation.accepted"] {
        assert!(actions.contains(&expected), "{expected} not in {actions:?}");
    }
    let (code, stdout, stderr) = run_verify(&app.db).await;
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.contains(&format!("intact: {} events", actions.len())), "{stdout}");

    tamper_with_audit_event(&app, 2).await;
    let (code, _, stderr) = run_verify(&app.db).await;
    assert_eq!(code, 1);
    assert!(stderr.contains("broken at event 2"), "{stderr}");
}

#[tokio::test]
async fn an_account_exports_its_own_audit_log_as_json_lines_and_csv() {
    let app = spawn_app().await;
    let admin = app.staff(StaffRole::Admin).await;
    let alpha = app.create_account(&admin, "Alpha").await;
    let beta = app.create_account(&admin, "Beta").await;
    let alpha_owner = app.member(&admin, alpha, "owner").await;
    app.member(&admin, beta, "owner").await;

    let export = |format: &'static str| {
        app.request(
            Method::GET,
            &format!("/api/v1/accounts/{alpha}/audit-events/export?format={format}"),
            Some(&alpha_owner),
        )
        .header("user-agent", "portico-test/1.0")
        .send()
    };
    let jsonl = export("jsonl").await.unwrap();
    assert_eq!(jsonl.status(), 200);
    assert_eq!(jsonl.headers()["content-type"], "application/x-ndjson");
    assert!(jsonl.headers()["content-disposition"].to_str().unwrap().contains("audit-events.jsonl"));
    let text = jsonl.text().await.unwrap();
    let events: Vec<Value> = text.lines().map(|line| serde_json::from_str(line).unwrap()).collect();
    assert!(events.len() >= 3, "{text}");
    assert!(events.iter().all(|event| event["account_id"] == alpha.to_string()), "only Alpha's events");
    assert!(events.iter().any(|event| event["action"] == "invitation.accepted"));

    let csv = export("csv").await.unwrap();
    assert!(csv.headers()["content-type"].to_str().unwrap().starts_with("text/csv"));
    let csv = csv.text().await.unwrap();
    let mut lines = csv.lines();
    assert_eq!(
        lines.next().unwrap(),
        "id,occurred_at,actor_user_id,actor_kind,account_id,action,target_type,target_id,ip_address,user_agent,details"
    );
    // The JSON export itself is now an event too, with who asked and from what.
    assert!(csv.contains("audit.exported"), "{csv}");
    assert!(csv.contains("portico-test/1.0"), "{csv}");
    assert!(!csv.contains(&beta.to_string()));
}

#[tokio::test]
async fn an_accounts_audit_log_is_filtered_by_action_person_and_time_in_the_query() {
    let app = spawn_app().await;
    let admin = app.staff(StaffRole::Admin).await;
    let alpha = app.create_account(&admin, "Alpha").await;
    let owner = app.member(&admin, alpha, "owner").await;
    let member = app.member(&admin, alpha, "member").await;
    let me = body(app.request(Method::GET, "/api/v1/me", Some(&member)).send().await.unwrap()).await;
    let member_id = me["user_id"].as_str().unwrap().to_owned();
    let events = |query: String| {
        let request = app.request(Method::GET, &format!("/api/v1/accounts/{alpha}/audit-events?{query}"), Some(&owner));
        async move {
            let response = request.send().await.unwrap();
            let status = response.status().as_u16();
            (status, response.json::<Value>().await.unwrap())
        }
    };
    let actions = |events: &Value| -> Vec<String> {
        events.as_array().unwrap().iter().map(|event| event["action"].as_str().unwrap().to_owned()).collect()
    };
    let (status, all) = events(String::new()).await;
    assert_eq!(status, 200);
    assert!(actions(&all).iter().any(|action| action == "account.created"), "{all}");

    // A prefix of actions: only those, and a wildcard in it is a plain character.
    let (_, invitations) = events("action=invitation.".into()).await;
    let found = actions(&invitations);
    assert!(!found.is_empty() && found.iter().all(|action| action.starts_with("invitation.")), "{found:?}");
    let (_, none) = events("action=%25".into()).await;
    assert_eq!(none, json!([]), "% matches only a literal %");
    // One person's doing: the member accepted their invitation.
    let (_, theirs) = events(format!("actor={member_id}")).await;
    assert!(!theirs.as_array().unwrap().is_empty());
    assert!(theirs.as_array().unwrap().iter().all(|event| event["actor_user_id"] == member_id.as_str()), "{theirs}");
    // A window of time: before the account existed, nothing.
    let (_, old) = events("until=2020-01-01T00:00:00Z".into()).await;
    assert_eq!(old, json!([]));
    let (_, recent) = events("from=2020-01-01T00:00:00Z".into()).await;
    assert_eq!(recent.as_array().unwrap().len(), all.as_array().unwrap().len());
    // A range that is not one, or an action too long: 422, saying which field.
    let (status, problem) = events("from=2026-02-01T00:00:00Z&until=2026-01-01T00:00:00Z".into()).await;
    assert_eq!(status, 422, "{problem}");
    assert_eq!(problem["errors"][0]["field"], "until");
    let (status, _) = events(format!("action={}", "a".repeat(101))).await;
    assert_eq!(status, 422);
    let (status, problem) = events("action=invoice.%00".into()).await;
    // A NUL byte never reaches the filter: the shared layer refuses the address.
    assert_eq!((status, &problem["code"]), (400, &json!("bad_request")), "a NUL byte: {problem}");
    // The export takes the same filters.
    let csv = app
        .request(
            Method::GET,
            &format!("/api/v1/accounts/{alpha}/audit-events/export?format=csv&action=invitation."),
            Some(&owner),
        )
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(csv.lines().skip(1).all(|line| line.contains(",invitation.")), "{csv}");
    assert!(csv.lines().count() > 1, "{csv}");
}

#[tokio::test]
async fn people_keep_their_own_name_locale_time_zone_and_notification_choices() {
    let app = spawn_app().await;
    let admin = app.staff(StaffRole::Admin).await;
    let account = app.create_account(&admin, "Acme").await;
    let member = app.member(&admin, account, "member").await;
    let other = app.member(&admin, account, "viewer").await;

    let profile = body(app.request(Method::GET, "/api/v1/me/profile", Some(&member)).send().await.unwrap()).await;
    assert_eq!(profile["locale"], "en");
    assert_eq!(profile["time_zone"], "UTC");
    assert_eq!(profile["notification_preferences"]["invoices"], true);
    assert_eq!(profile["notification_preferences"]["email"], false);

    let change = json!({
        "display_name": "Ada L.", "locale": "de-CH", "time_zone": "Europe/Zurich",
        "notification_preferences": {"documents": false, "email": true}
    });
    let response = app.request(Method::PATCH, "/api/v1/me/profile", Some(&member)).json(&change).send().await.unwrap();
    assert_eq!(response.status(), 200);
    let profile = body(app.request(Method::GET, "/api/v1/me/profile", Some(&member)).send().await.unwrap()).await;
    assert_eq!(profile["display_name"], "Ada L.");
    assert_eq!(profile["locale"], "de-CH");
    assert_eq!(profile["time_zone"], "Europe/Zurich");
    assert_eq!(profile["notification_preferences"]["documents"], false);
    assert_eq!(profile["notification_preferences"]["email"], true);
    assert_eq!(profile["notification_preferences"]["tickets"], true, "unnamed choices keep their defaults");
    let me = body(app.request(Method::GET, "/api/v1/me", Some(&member)).send().await.unwrap()).await;
    assert_eq!(me["display_name"], "Ada L.");
    // Someone else's profile is untouched.
    let theirs = body(app.request(Method::GET, "/api/v1/me/profile", Some(&other)).send().await.unwrap()).await;
    assert_eq!(theirs["locale"], "en");

    // Bad values are refused by field, and nothing changes.
    let bad = json!({"locale": "english please", "time_zone": "../../etc/passwd", "display_name": ""});
    let response = app.request(Method::PATCH, "/api/v1/me/profile", Some(&member)).json(&bad).send().await.unwrap();
    assert_eq!(response.status(), 422);
    let problem = body(response).await;
    let fields: Vec<&str> =
        problem["errors"].as_array().unwrap().iter().map(|e| e["field"].as_str().unwrap()).collect();
    assert_eq!(fields, ["display_name", "locale", "time_zone"], "{problem}");
    let unknown = json!({"email": "new@example.com"});
    let response = app.request(Method::PATCH, "/api/v1/me/profile", Some(&member)).json(&unknown).send().await.unwrap();
    assert_eq!(response.status(), 422, "the address changes only through its confirmed flow");
    let profile = body(app.request(Method::GET, "/api/v1/me/profile", Some(&member)).send().await.unwrap()).await;
    assert_eq!(profile["locale"], "de-CH");
}

#[tokio::test]
async fn the_whole_audit_log_downloads_compressed_or_not_and_is_safe_in_a_spreadsheet() {
    use std::io::Read;
    let app = spawn_app().await;
    let admin = app.staff(StaffRole::Admin).await;
    // More than two pages of the export, one of them with a formula for a user agent.
    for number in 0..1_100 {
        let agent = if number == 7 { "=HYPERLINK(\"http://evil.example\")" } else { "portico-test" };
        let event = portico::audit::AuditEvent::new("test.filler", portico::audit::ActorKind::System)
            .user_agent(Some(agent.to_owned()));
        portico::audit::record(&app.store, event).await.unwrap();
    }
    for format in ["jsonl", "csv"] {
        for gzip in [false, true] {
            let mut request =
                app.request(Method::GET, &format!("/api/v1/audit-events/export?format={format}"), Some(&admin));
            if gzip {
                request = request.header("accept-encoding", "gzip");
            }
            let response = request.send().await.unwrap();
            assert_eq!(response.status(), 200);
            let compressed = response.headers().get("content-encoding").is_some_and(|value| value == "gzip");
            assert_eq!(compressed, gzip, "{format}");
            let bytes = response.bytes().await.unwrap();
            let text = if gzip {
                let mut text = String::new();
                flate2::read::GzDecoder::new(&bytes[..]).read_to_string(&mut text).expect("a whole gzip stream");
                text
            } else {
                String::from_utf8(bytes.to_vec()).unwrap()
            };
            let fillers = text.lines().filter(|line| line.contains("test.filler")).count();
            assert_eq!(fillers, 1_100, "{format}, gzip {gzip}: every event, none cut off");
            if format == "csv" {
                assert!(text.contains("'=HYPERLINK"), "the formula is neutralised");
                assert!(!text.contains(",=HYPERLINK"), "no cell starts with a formula");
            }
        }
    }
}
