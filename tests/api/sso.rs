//! Single sign-on against a real OpenID provider (the certified `oidc-provider`
//! package on Node.js) on loopback: discovery, PKCE, the code exchange, ID token
//! checks and just-in-time users, through the browser's redirects.

use std::collections::HashMap;
use std::process::{Command, Stdio};
use std::sync::Mutex;
use std::time::Duration;

use portico::auth::permissions::StaffRole;
use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{PorticoProcess, free_port, session_cookie_from, spawn_app_with};

const PROVIDER_DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/oidc-provider");

/// Installs the provider's npm packages once (from the committed lock file).
fn install_provider() {
    static INSTALLED: Mutex<bool> = Mutex::new(false);
    let mut installed = INSTALLED.lock().unwrap();
    if *installed || std::path::Path::new(PROVIDER_DIR).join("node_modules/oidc-provider").exists() {
        *installed = true;
        return;
    }
    let status = Command::new("npm")
        .args(["ci", "--no-audit", "--no-fund", "--loglevel=error"])
        .current_dir(PROVIDER_DIR)
        .stdout(Stdio::null())
        .status()
        .expect("npm is installed (Node.js runs the test identity provider)");
    assert!(status.success(), "npm ci in tests/oidc-provider failed");
    *installed = true;
}

/// Starts the provider for one test; it vouches for `email`.
pub(crate) fn start_provider(email: &str) -> (PorticoProcess, String) {
    install_provider();
    let port = free_port();
    let mut command = Command::new("node");
    command
        .arg("server.mjs")
        .current_dir(PROVIDER_DIR)
        .env("PORT", port.to_string())
        .env("REDIRECT_URI", format!("{}/api/v1/auth/sso/callback", crate::helpers::PUBLIC_URL))
        .env("ACCOUNT_EMAIL", email);
    let mut provider = PorticoProcess::start(command);
    provider.wait_for_line("oidc provider listening", Duration::from_secs(30));
    (provider, format!("http://127.0.0.1:{port}"))
}

/// Follows redirects like a browser with a cookie jar for the provider, until the
/// provider sends it back to Portico's callback; returns that callback's path and query.
async fn sign_in_at_provider(start: &str) -> String {
    let client = reqwest::Client::builder().no_proxy().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let mut jar: HashMap<String, String> = HashMap::new();
    let mut location = start.to_owned();
    for _ in 0..10 {
        if let Some(callback) = location.strip_prefix(crate::helpers::PUBLIC_URL) {
            return callback.to_owned();
        }
        let cookie_header = jar.iter().map(|(name, value)| format!("{name}={value}")).collect::<Vec<_>>().join("; ");
        let response = client.get(&location).header("cookie", cookie_header).send().await.unwrap();
        for set_cookie in response.headers().get_all("set-cookie") {
            let pair = set_cookie.to_str().unwrap().split(';').next().unwrap();
            let (name, value) = pair.split_once('=').unwrap();
            jar.insert(name.to_owned(), value.to_owned());
        }
        let next = response.headers().get("location").expect("a redirect").to_str().unwrap().to_owned();
        location = if next.starts_with('/') { format!("{}{next}", base_of(&location)) } else { next };
    }
    panic!("the provider never sent the browser back");
}

/// The `name=value` of the sign-in's browser-binding cookie from a start's answer.
fn state_cookie_of(start: &reqwest::Response) -> String {
    start
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|value| value.to_str().unwrap())
        .find(|value| value.starts_with("portico_sso_state="))
        .expect("a state cookie")
        .split(';')
        .next()
        .unwrap()
        .to_owned()
}

fn base_of(url: &str) -> String {
    let parsed = url::Url::parse(url).unwrap();
    format!("{}://{}:{}", parsed.scheme(), parsed.host_str().unwrap(), parsed.port_or_known_default().unwrap())
}

#[tokio::test]
async fn a_customer_signs_in_with_their_identity_provider_and_arrives_with_the_default_role() {
    let app = spawn_app_with(|settings| settings.outbound.allow_private_addresses = true).await;
    let staff = app.staff(StaffRole::Admin).await;
    let account = app.create_account(&staff, "Federated").await;
    let owner = app.member(&staff, account, "owner").await;
    let (_provider, issuer) = start_provider("Sso.User@Example.com");

    let connect = |secret: &'static str, role: &'static str| {
        app.request(Method::PUT, &format!("/api/v1/accounts/{account}/sso"), Some(&owner))
            .json(&json!({ "issuer": issuer, "client_id": "portico", "client_secret": secret, "default_role": role }))
            .send()
    };
    assert_eq!(connect("portico-test-secret", "owner").await.unwrap().status(), 422, "owners are not provisioned");
    let connected = connect("portico-test-secret", "member").await.unwrap();
    assert_eq!(connected.status(), 200);
    let connection: Value = connected.json().await.unwrap();
    assert!(!connection.to_string().contains("portico-test-secret"), "the secret is never echoed");
    let connection_id = connection["connection_id"].as_str().unwrap();

    // Portico sends the browser to the provider with PKCE and a nonce.
    let no_redirects =
        reqwest::Client::builder().no_proxy().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let start = no_redirects.get(app.url(&format!("/api/v1/auth/sso/{connection_id}/start"))).send().await.unwrap();
    assert_eq!(start.status(), 303);
    let authorize = start.headers()["location"].to_str().unwrap().to_owned();
    assert!(authorize.starts_with(&issuer) && authorize.contains("code_challenge_method=S256"), "{authorize}");

    let state_cookie = state_cookie_of(&start);
    assert!(
        start.headers().get_all("set-cookie").iter().any(|value| {
            let value = value.to_str().unwrap();
            value.contains("HttpOnly")
                && value.contains("SameSite=Lax")
                && value.contains("Path=/api/v1/auth/sso/callback")
        }),
        "the state cookie is HttpOnly, Lax and for the callback only"
    );

    let callback = sign_in_at_provider(&authorize).await;
    // Carried to a browser that did not start it (login CSRF), the answer is refused.
    let elsewhere = no_redirects.get(app.url(&callback)).send().await.unwrap();
    assert_eq!(elsewhere.status(), 401);
    let wrong = no_redirects.get(app.url(&callback)).header("cookie", "portico_sso_state=forged").send().await.unwrap();
    assert_eq!(wrong.status(), 401);
    let landed = no_redirects.get(app.url(&callback)).header("cookie", &state_cookie).send().await.unwrap();
    assert_eq!(landed.status(), 303, "{:?}", landed.text().await);
    let cookie = session_cookie_from(&landed).expect("signed in");
    let me: Value =
        app.client.get(app.url("/api/v1/me")).header("cookie", &cookie).send().await.unwrap().json().await.unwrap();
    assert_eq!(me["email"], "sso.user@example.com");
    assert_eq!(me["email_verified"], true);
    assert_eq!(me["accounts"][0]["account_id"], account.to_string());
    assert_eq!(me["accounts"][0]["role"], "member");

    // An account's provider vouches for that account only: even when the same person
    // joins another account, a session begun through this provider does not reach it.
    let other = app.create_account(&staff, "Elsewhere").await;
    let invitation: Value = app
        .request(Method::POST, &format!("/api/v1/accounts/{other}/invitations"), Some(&staff))
        .json(&json!({ "email": "sso.user@example.com", "role": "viewer" }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let joined = app
        .client
        .post(app.url("/api/v1/invitations/accept-as-me"))
        .header("cookie", &cookie)
        .header("origin", crate::helpers::PUBLIC_URL)
        .json(&json!({ "token": invitation["token"] }))
        .send()
        .await
        .unwrap();
    assert_eq!(joined.status(), 200);
    let elsewhere =
        app.client.get(app.url(&format!("/api/v1/accounts/{other}"))).header("cookie", &cookie).send().await.unwrap();
    assert_eq!(elsewhere.status(), 404, "the SSO session is scoped to its provider's account");
    let me: Value =
        app.client.get(app.url("/api/v1/me")).header("cookie", &cookie).send().await.unwrap().json().await.unwrap();
    assert_eq!(me["accounts"].as_array().unwrap().len(), 1);

    // The same callback replayed is refused: a state works once.
    let replay = no_redirects.get(app.url(&callback)).header("cookie", &state_cookie).send().await.unwrap();
    assert_eq!(replay.status(), 401);

    // A second sign-in finds the same user rather than provisioning another.
    let again = no_redirects.get(app.url(&format!("/api/v1/auth/sso/{connection_id}/start"))).send().await.unwrap();
    let state_cookie = state_cookie_of(&again);
    let callback = sign_in_at_provider(again.headers()["location"].to_str().unwrap()).await;
    let landed = no_redirects.get(app.url(&callback)).header("cookie", &state_cookie).send().await.unwrap();
    assert_eq!(landed.status(), 303);
    let members: Value = app.get_json(&format!("/api/v1/accounts/{account}/members"), Some(&owner)).await;
    assert_eq!(members.as_array().unwrap().len(), 2, "owner and one provisioned member");
}

#[tokio::test]
async fn a_provider_that_cannot_be_discovered_is_refused() {
    let app = spawn_app_with(|settings| settings.outbound.allow_private_addresses = true).await;
    let staff = app.staff(StaffRole::Admin).await;
    let nowhere = format!("http://127.0.0.1:{}", free_port());
    let refused = app
        .request(Method::PUT, "/api/v1/staff/sso", Some(&staff))
        .json(&json!({ "issuer": nowhere, "client_id": "portico", "client_secret": "s", "default_role": "support" }))
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 422);
    let body: Value = refused.json().await.unwrap();
    assert_eq!(body["errors"][0]["field"], "issuer");
}

#[tokio::test]
async fn an_anonymous_start_costs_no_outbound_request_each_time_and_is_limited() {
    let app = spawn_app_with(|settings| settings.outbound.allow_private_addresses = true).await;
    let staff = app.staff(StaffRole::Admin).await;
    let (mut provider, issuer) = start_provider("someone@example.com");
    let connected = app
        .request(Method::PUT, "/api/v1/staff/sso", Some(&staff))
        .json(&json!({ "issuer": issuer, "client_id": "portico", "client_secret": "portico-test-secret", "default_role": "support" }))
        .send()
        .await
        .unwrap();
    assert_eq!(connected.status(), 200);
    let connection: Value = connected.json().await.unwrap();
    let start_path = format!("/api/v1/auth/sso/{}/start", connection["connection_id"].as_str().unwrap());
    let no_redirects =
        reqwest::Client::builder().no_proxy().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    assert_eq!(no_redirects.get(app.url(&start_path)).send().await.unwrap().status(), 303);

    // The provider is gone: starts keep working from the discovery already made.
    provider.sigkill();
    let mut statuses = Vec::new();
    for _ in 0..40 {
        statuses.push(no_redirects.get(app.url(&start_path)).send().await.unwrap().status().as_u16());
    }
    assert!(statuses.iter().take(29).all(|status| *status == 303), "{statuses:?}");
    assert_eq!(statuses.last(), Some(&429), "then the address is limited: {statuses:?}");
}

#[tokio::test]
async fn an_accounts_email_domains_lead_its_people_to_its_provider_from_the_sign_in_page() {
    let dns = portico_testkit::FakeDns::start().await;
    let app = spawn_app_with(|settings| {
        settings.outbound.allow_private_addresses = true;
        settings.auth.domain_proof_nameservers = vec![dns.address];
    })
    .await;
    let staff = app.staff(StaffRole::Admin).await;
    let account = app.create_account(&staff, "Federated").await;
    let owner = app.member(&staff, account, "owner").await;
    let (_provider, issuer) = start_provider("Arrives@Example.com");
    let put = |session: &crate::helpers::Session, account: uuid::Uuid, body: Value| {
        app.request(Method::PUT, &format!("/api/v1/accounts/{account}/sso"), Some(session)).json(&body).send()
    };
    let connect = |session: &crate::helpers::Session, account: uuid::Uuid, domains: Value| {
        put(
            session,
            account,
            json!({ "issuer": issuer, "client_id": "portico", "client_secret": "portico-test-secret",
                    "default_role": "member", "email_domains": domains }),
        )
    };
    let refusal = |problem: &Value| problem["errors"][0]["message"].as_str().unwrap_or_default().to_owned();

    for (domains, why) in [
        (json!(["not a domain"]), "not a domain"),
        (json!((0..21).map(|n| format!("d{n}.example")).collect::<Vec<_>>()), "too many"),
    ] {
        let refused = connect(&owner, account, domains).await.unwrap();
        assert_eq!(refused.status(), 422, "{why}");
        let problem: Value = refused.json().await.unwrap();
        assert_eq!(problem["errors"][0]["field"], "email_domains", "{why}: {problem}");
    }
    // An owner's domain is theirs once its DNS says so, not because their own
    // address is at it (think of gmail.com): the refusal names the record to add.
    let refused = connect(&owner, account, json!(["Example.COM", "@example.com"])).await.unwrap();
    assert_eq!(refused.status(), 422);
    let problem: Value = refused.json().await.unwrap();
    let message = refusal(&problem);
    assert!(message.contains("TXT record named _portico-verification.example.com"), "{message}");
    let value = message.split("with the value ").nth(1).unwrap().split(' ').next().unwrap().to_owned();
    assert!(value.starts_with("portico-verification="), "{message}");
    assert_eq!(dns.questions(), vec!["_portico-verification.example.com"], "asked the domain's DNS, once");
    // Another account's record proves nothing here.
    let rival = app.create_account(&staff, "Rival").await;
    let rival_owner = app.member(&staff, rival, "owner").await;
    let rival_refused: Value =
        connect(&rival_owner, rival, json!(["example.com"])).await.unwrap().json().await.unwrap();
    let rival_value =
        refusal(&rival_refused).split("with the value ").nth(1).unwrap().split(' ').next().unwrap().to_owned();
    assert_ne!(rival_value, value, "each account has its own record");
    dns.add_txt("_portico-verification.example.com", &rival_value);
    let still: Value = connect(&owner, account, json!(["example.com"])).await.unwrap().json().await.unwrap();
    assert!(refusal(&still).contains("add a TXT record"), "{still}");
    // With its record in place, the same request is accepted, normalized, once.
    dns.add_txt("_portico-verification.example.com", &value);
    let connected = connect(&owner, account, json!(["Example.COM", "@example.com"])).await.unwrap();
    assert_eq!(connected.status(), 200);
    let connection: Value = connected.json().await.unwrap();
    assert_eq!(connection["email_domains"], json!(["example.com"]), "normalized, once");
    let connection_id = connection["connection_id"].as_str().unwrap().to_owned();
    let shown: Value = app.get_json(&format!("/api/v1/accounts/{account}/sso"), Some(&owner)).await;
    assert_eq!(shown["connection_id"], connection_id.as_str());
    assert!(!shown.to_string().contains("portico-test-secret"), "the secret is never shown");
    // The staff add a domain without asking DNS, changing nothing else (the
    // secret left out is kept).
    let asked = dns.questions().len();
    let body = json!({ "issuer": issuer, "client_id": "portico", "default_role": "member",
                       "email_domains": ["example.com", "example.org"] });
    let added = put(&staff, account, body).await.unwrap();
    assert_eq!(added.status(), 200);
    let added: Value = added.json().await.unwrap();
    assert_eq!(added["email_domains"], json!(["example.com", "example.org"]));
    assert_eq!(added["connection_id"], connection_id.as_str(), "the same connection");
    assert_eq!(dns.questions().len(), asked);
    // Another provider needs its own secret.
    let body = json!({ "issuer": format!("{issuer}/other"), "client_id": "portico", "default_role": "member" });
    let refused = put(&owner, account, body).await.unwrap();
    assert_eq!(refused.status(), 422);
    let problem: Value = refused.json().await.unwrap();
    assert_eq!(problem["errors"][0]["field"], "client_secret", "{problem}");

    // A domain is one connection's: proved or not, nobody gives it to another account.
    for session in [&rival_owner, &staff] {
        let taken = connect(session, rival, json!(["example.com"])).await.unwrap();
        assert_eq!(taken.status(), 422);
        let problem: Value = taken.json().await.unwrap();
        assert!(refusal(&problem).contains("another connection"), "{problem}");
    }

    // Asked by domain (never by address): the provider and whose it is; other domains, nothing.
    let found: Value = app.get_json("/api/v1/auth/sso/discover?domain=EXAMPLE.com", None).await;
    assert_eq!(found["connection_id"], connection_id.as_str());
    assert_eq!(found["account_name"], "Federated");
    for domain in ["elsewhere.test", "not%20a%20domain", "example"] {
        let missing = app.get(&format!("/api/v1/auth/sso/discover?domain={domain}")).await;
        assert_eq!(missing.status(), 404, "{domain}");
    }

    // The sign-in page offers it: asked for by the page's script, or, without
    // JavaScript, when the address is sent with no password.
    let start = format!("/api/v1/auth/sso/{connection_id}/start");
    let offered = app.get("/sign-in?domain=example.com").await.text().await.unwrap();
    assert!(offered.contains("Federated signs in with its own identity provider"), "{offered}");
    assert!(offered.contains(&format!("href=\"{start}\"")), "{offered}");
    let plain = app.get("/sign-in?domain=elsewhere.test").await.text().await.unwrap();
    assert!(!plain.contains("/api/v1/auth/sso/"), "no offer for other domains");
    let sign_in = |email: &'static str| {
        app.request(Method::POST, "/sign-in", None).form(&[("email", email), ("password", ""), ("next", "/")]).send()
    };
    let answered = sign_in("nobody.yet@example.com").await.unwrap();
    assert_eq!(answered.status(), 200, "no error: the way on is the offer");
    assert!(answered.text().await.unwrap().contains(&format!("href=\"{start}\"")));
    let refused = sign_in("nobody@elsewhere.test").await.unwrap();
    assert_eq!(refused.status(), 401);
    assert!(!refused.text().await.unwrap().contains("/api/v1/auth/sso/"));

    // Someone arrives through it; saving the settings again keeps the
    // connection, so they are still themselves on their next sign-in.
    let no_redirects =
        reqwest::Client::builder().no_proxy().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    for _ in 0..2 {
        let begun = no_redirects.get(app.url(&start)).send().await.unwrap();
        let state_cookie = state_cookie_of(&begun);
        let callback = sign_in_at_provider(begun.headers()["location"].to_str().unwrap()).await;
        let landed = no_redirects.get(app.url(&callback)).header("cookie", &state_cookie).send().await.unwrap();
        assert_eq!(landed.status(), 303);
        // The owner saves what they were shown: kept, not added.
        let saved = connect(&owner, account, json!(["example.com"])).await.unwrap();
        let saved: Value = saved.json().await.unwrap();
        assert_eq!(saved["connection_id"], connection_id.as_str(), "the same connection");
        assert_eq!(saved["email_domains"], json!(["example.com"]));
    }
    let members: Value = app.get_json(&format!("/api/v1/accounts/{account}/members"), Some(&owner)).await;
    assert_eq!(members.as_array().unwrap().len(), 2, "owner and one arrival, not two: {members}");

    // The owner may take a domain away, and give it back while its record stands.
    let dropped: Value = connect(&owner, account, json!([])).await.unwrap().json().await.unwrap();
    assert_eq!(dropped["email_domains"], json!([]));
    assert_eq!(app.get("/api/v1/auth/sso/discover?domain=example.com").await.status(), 404);
    assert_eq!(connect(&owner, account, json!(["example.com"])).await.unwrap().status(), 200);
    assert_eq!(app.get("/api/v1/auth/sso/discover?domain=example.com").await.status(), 200);

    // Removed: the domain offers nothing, and the account shows no provider.
    let removed = app.request(Method::DELETE, &format!("/api/v1/accounts/{account}/sso"), Some(&owner)).send().await;
    assert_eq!(removed.unwrap().status(), 204);
    assert_eq!(app.get("/api/v1/auth/sso/discover?domain=example.com").await.status(), 404);
    let gone = app.request(Method::GET, &format!("/api/v1/accounts/{account}/sso"), Some(&owner)).send().await;
    assert_eq!(gone.unwrap().status(), 404);
    let log: Value = app.get_json(&format!("/api/v1/accounts/{account}/audit-events?action=sso."), Some(&owner)).await;
    let actions: Vec<&str> = log.as_array().unwrap().iter().map(|event| event["action"].as_str().unwrap()).collect();
    assert!(actions.contains(&"sso.configured") && actions.contains(&"sso.removed"), "{actions:?}");
}
