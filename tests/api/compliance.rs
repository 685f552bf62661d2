//! The connector compliance suite: every connector kind, against its local
//! upstream, must resume from any cursor without loss or duplicates, classify
//! failures the same way, map records so they survive a round trip with their raw
//! payload, and be safe to cancel mid-request.

use std::collections::BTreeSet;
use std::time::Duration;

use portico::config::{MasterKey, Settings};
use portico::core::crypto::SecretCipher;
use portico::sync::ConnectorHost;
use portico_connectors::connector::PullRequest;
use portico_connectors::{CommonRecord, Connector, ErrorClass, Page, PageEnd, SyncMode};
use portico_testkit::rest::API_KEY as REST_API_KEY;
use portico_testkit::status::{Behaviour, StatusServer};
use portico_testkit::{FakeHubSpot, FakeRest, FakeStripe};
use serde_json::{Value, json};

/// One connector kind under test: how to build it against a given base URL.
struct Subject {
    kind: &'static str,
    stream: &'static str,
    credentials: Value,
    settings: Box<dyn Fn(&str) -> Value + Send + Sync>,
}

pub fn host(allow_private: bool) -> (ConnectorHost, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let mut settings = Settings::defaults();
    settings.data_dir = dir.path().to_owned();
    settings.sync.local_file_roots = vec![std::env::temp_dir()];
    settings.outbound.allow_private_addresses = allow_private;
    settings.outbound.timeout_secs = 5;
    let cipher = SecretCipher::new(&MasterKey::resolve(&settings).unwrap());
    (ConnectorHost::new(cipher, &settings.outbound, &settings.sync), dir)
}

fn build(host: &ConnectorHost, subject: &Subject, base_url: &str) -> Box<dyn Connector> {
    host.validate(subject.kind, &(subject.settings)(base_url), &subject.credentials, false)
        .unwrap_or_else(|error| panic!("{}: {error}", subject.kind))
}

async fn pull(
    connector: &dyn Connector,
    stream: &str,
    position: Option<&Value>,
) -> Result<Page, portico_connectors::ConnectorError> {
    connector.pull(PullRequest { stream, mode: SyncMode::Full, position, checkpoint: None }).await
}

/// Every page of a stream, with the position each was pulled from.
async fn pull_all(connector: &dyn Connector, stream: &str) -> Vec<(Option<Value>, Page)> {
    let mut pages = Vec::new();
    let mut position: Option<Value> = None;
    loop {
        let page = pull(connector, stream, position.as_ref()).await.expect("a page");
        let next = match &page.end {
            PageEnd::More(next) => Some(next.clone()),
            PageEnd::Done(_) => None,
        };
        pages.push((position.clone(), page));
        match next {
            Some(next) => position = Some(next),
            None => return pages,
        }
        assert!(pages.len() < 10_000, "the stream never ends");
    }
}

fn ids(pages: &[(Option<Value>, Page)]) -> Vec<String> {
    pages.iter().flat_map(|(_, page)| page.records.iter().map(|record| record.external_id.clone())).collect()
}

async fn check_compliance(subject: &Subject, upstream_url: &str, expected_records: usize) {
    let (host, _dir) = host(true);
    let connector = build(&host, subject, upstream_url);
    let kind = subject.kind;
    connector.check().await.unwrap_or_else(|error| panic!("{kind}: check failed: {error}"));
    let declared =
        connector.streams().into_iter().find(|stream| stream.name == subject.stream).expect("the stream is declared");

    // A whole pass: every record once.
    let pages = pull_all(connector.as_ref(), subject.stream).await;
    assert!(pages.len() >= 3, "{kind}: the fixture spans several pages");
    let all = ids(&pages);
    assert_eq!(all.len(), expected_records, "{kind}: every record arrives");
    assert_eq!(all.iter().collect::<BTreeSet<_>>().len(), all.len(), "{kind}: no record twice");

    // Cursor resume: from any page's position, the rest of the stream and nothing else.
    for start in [1, pages.len() / 2, pages.len() - 1] {
        let mut resumed = Vec::new();
        let mut position = pages[start].0.clone();
        loop {
            let page = pull(connector.as_ref(), subject.stream, position.as_ref()).await.unwrap();
            resumed.extend(page.records.iter().map(|record| record.external_id.clone()));
            match page.end {
                PageEnd::More(next) => position = Some(next),
                PageEnd::Done(_) => break,
            }
        }
        assert_eq!(resumed, ids(&pages[start..]), "{kind}: resuming at page {start}");
    }

    // Mapping round trip: the mapped record survives serialization; raw is the upstream's.
    for (_, page) in &pages {
        for record in &page.records {
            assert!(declared.record_types.contains(&record.record_type()), "{kind}: undeclared record type");
            let reparsed: CommonRecord = serde_json::from_value(serde_json::to_value(&record.body).unwrap()).unwrap();
            assert_eq!(reparsed, record.body, "{kind}: {} changes in a round trip", record.external_id);
            assert!(
                record.raw.is_object() && record.raw.to_string().contains(&record.external_id),
                "{kind}: raw payload kept"
            );
        }
    }

    // Cancellation: a pull dropped mid-request leaves nothing behind; the same
    // position then gives the same page.
    let position = pages[1].0.clone();
    for cut_after in [0, 1, 3] {
        let cut = tokio::time::timeout(
            Duration::from_millis(cut_after),
            pull(connector.as_ref(), subject.stream, position.as_ref()),
        )
        .await;
        drop(cut);
    }
    let again = pull(connector.as_ref(), subject.stream, position.as_ref()).await.unwrap();
    assert_eq!(again.records, pages[1].1.records, "{kind}: a repeated pull gives the same page");
    let stalled = StatusServer::start(Behaviour::Stall(Duration::from_secs(30))).await;
    let stalled_connector = build(&host, subject, &stalled.base_url());
    let started = std::time::Instant::now();
    let cancelled =
        tokio::time::timeout(Duration::from_millis(300), pull(stalled_connector.as_ref(), subject.stream, None)).await;
    assert!(
        cancelled.is_err() && started.elapsed() < Duration::from_secs(2),
        "{kind}: a stalled pull cancels promptly"
    );
}

async fn check_error_classes(subject: &Subject) {
    let kind = subject.kind;
    for (status, expected) in [
        (500, ErrorClass::Retryable),
        (503, ErrorClass::Retryable),
        (401, ErrorClass::Unauthorized),
        (403, ErrorClass::Unauthorized),
        (400, ErrorClass::Permanent),
        (429, ErrorClass::RateLimited),
    ] {
        // A fresh host each time: a 429 holds the kind's rate budget.
        let (host, _dir) = host(true);
        let server = StatusServer::start(Behaviour::Status(status)).await;
        let connector = build(&host, subject, &server.base_url());
        let error = pull(connector.as_ref(), subject.stream, None).await.expect_err("an error status");
        assert_eq!(error.class, expected, "{kind}: {status} is {expected:?} ({error})");
        // S3 clients do not surface Retry-After (S3 throttles with 503 SlowDown).
        if status == 429 && kind != "files" {
            assert_eq!(error.retry_after, Some(Duration::from_secs(7)), "{kind}: the Retry-After is reported");
        }
    }
    // An internal address is refused (when configured, or at the first call) and
    // not worth retrying.
    let (host, _dir) = host(false);
    let server = StatusServer::start(Behaviour::Status(200)).await;
    match host.validate(subject.kind, &(subject.settings)(&server.base_url()), &subject.credentials, false) {
        Err(error) => assert!(error.to_string().contains("not a public address"), "{kind}: {error}"),
        Ok(connector) => {
            let error = pull(connector.as_ref(), subject.stream, None).await.expect_err("refused");
            assert_eq!(error.class, ErrorClass::Permanent, "{kind}: {error}");
        }
    }
}

fn stripe() -> Subject {
    Subject {
        kind: "stripe",
        stream: "customers",
        credentials: json!({"api_key": "sk_compliance"}),
        settings: Box::new(|base| json!({"base_url": base})),
    }
}

fn hubspot() -> Subject {
    Subject {
        kind: "hubspot",
        stream: "companies",
        credentials: json!({"access_token": "pat-compliance"}),
        settings: Box::new(|base| json!({"base_url": base})),
    }
}

fn rest() -> Subject {
    Subject {
        kind: "rest",
        stream: "projects",
        credentials: json!({"api_key": REST_API_KEY}),
        settings: Box::new(|base| {
            let manifest = include_str!("../../connectors/manifests/projects.yaml");
            json!({"manifest": manifest.replace("https://projects.example.com/v1", &format!("{base}/v1"))})
        }),
    }
}

fn s3() -> Subject {
    Subject {
        kind: "files",
        stream: "documents",
        credentials: json!({"access_key_id": "key", "secret_access_key": "secret"}),
        settings: Box::new(|base| json!({"store": {"type": "s3", "bucket": "b", "endpoint": base}})),
    }
}

#[tokio::test]
async fn stripe_complies() {
    let upstream = FakeStripe::start("sk_compliance").await;
    upstream.generate_customers(250);
    check_compliance(&stripe(), &upstream.base_url(), 250).await;
    check_error_classes(&stripe()).await;
}

#[tokio::test]
async fn hubspot_complies() {
    let upstream = FakeHubSpot::start("pat-compliance").await;
    for n in 0..230 {
        upstream.add_company(&format!("Company{n}"));
    }
    check_compliance(&hubspot(), &upstream.base_url(), 230).await;
    check_error_classes(&hubspot()).await;
}

#[tokio::test]
async fn rest_complies() {
    let upstream = FakeRest::start().await;
    for n in 1..=120 {
        upstream.add_project(json!({"id": n, "client_id": "c", "name": format!("P{n}"), "phase": "x", "updated": n}));
    }
    check_compliance(&rest(), &upstream.base_url(), 120).await;
    check_error_classes(&rest()).await;
}

#[tokio::test]
async fn files_comply() {
    let folder = tempfile::tempdir().unwrap();
    for n in 0..1_200 {
        let file = folder.path().join(format!("acme/file-{n:04}.txt"));
        std::fs::create_dir_all(file.parent().unwrap()).unwrap();
        std::fs::write(file, format!("{n}")).unwrap();
    }
    let root = folder.path().to_owned();
    let local = Subject {
        kind: "files",
        stream: "documents",
        credentials: json!({}),
        settings: Box::new(move |_| json!({"store": {"type": "local", "root": root}})),
    };
    let (host, _dir) = host(true);
    let connector = build(&host, &local, "");
    let pages = pull_all(connector.as_ref(), "documents").await;
    assert_eq!(ids(&pages).len(), 1_200);
    check_compliance_local(&local, &pages).await;
    check_error_classes(&s3()).await;
}

/// Local folders have no network to stall; the rest of the suite applies.
async fn check_compliance_local(subject: &Subject, pages: &[(Option<Value>, Page)]) {
    let (host, _dir) = host(true);
    let connector = build(&host, subject, "");
    for start in [1, pages.len() - 1] {
        let mut resumed = Vec::new();
        let mut position = pages[start].0.clone();
        loop {
            let page = pull(connector.as_ref(), subject.stream, position.as_ref()).await.unwrap();
            resumed.extend(page.records.iter().map(|record| record.external_id.clone()));
            match page.end {
                PageEnd::More(next) => position = Some(next),
                PageEnd::Done(_) => break,
            }
        }
        assert_eq!(resumed, ids(&pages[start..]));
    }
    for (_, page) in pages {
        for record in &page.records {
            let reparsed: CommonRecord = serde_json::from_value(serde_json::to_value(&record.body).unwrap()).unwrap();
            assert_eq!(reparsed, record.body);
        }
    }
}

#[tokio::test]
async fn paying_a_stripe_invoice_is_idempotent() {
    use portico_connectors::PushOperation;
    let upstream = FakeStripe::start("sk_compliance").await;
    let customer = upstream.add_customer("Acme", "a@acme.test");
    let invoice = upstream.add_invoice(&customer, &[1000]);
    let other = upstream.add_invoice(&customer, &[2000]);
    let (host, _dir) = host(true);
    let connector = build(&host, &stripe(), &upstream.base_url());
    let pay = |invoice: &str, key: &str| PushOperation {
        operation: "pay_invoice".into(),
        payload: json!({"invoice_id": invoice}),
        idempotency_key: key.into(),
    };

    let first = connector.push(&pay(&invoice, "portico-1")).await.unwrap();
    assert_eq!(first.external_id.as_deref(), Some(invoice.as_str()));
    assert_eq!(first.records[0].body.summary().status, Some("paid"));
    // A retry with the same key (the first answer was lost, say) replays; no second charge.
    let retried = connector.push(&pay(&invoice, "portico-1")).await.unwrap();
    assert_eq!(retried.records, first.records);
    assert_eq!(upstream.payments(), 1);
    // A new key for a paid invoice is refused for good, as is a key reused for another invoice.
    let error = connector.push(&pay(&invoice, "portico-2")).await.unwrap_err();
    assert_eq!(error.class, ErrorClass::Permanent, "{error}");
    let error = connector.push(&pay(&other, "portico-1")).await.unwrap_err();
    assert_eq!(error.class, ErrorClass::Permanent, "{error}");
    assert!(error.message.contains("idempotency_error"), "{error}");
    assert_eq!(upstream.payments(), 1);
}

#[tokio::test]
async fn a_stripe_checkpoint_older_than_its_events_falls_back_to_a_full_listing() {
    let upstream = FakeStripe::start("sk_compliance").await;
    upstream.generate_customers(30);
    let (host, _dir) = host(true);
    let connector = build(&host, &stripe(), &upstream.base_url());
    let incremental = |checkpoint: Value| {
        let connector = &connector;
        async move {
            connector
                .pull(PullRequest {
                    stream: "customers",
                    mode: SyncMode::Incremental,
                    position: None,
                    checkpoint: Some(&checkpoint),
                })
                .await
                .unwrap()
        }
    };
    let recent = chrono::Utc::now().timestamp() - 60;
    assert!(incremental(json!({"events_after": recent})).await.records.is_empty(), "no events since a minute ago");
    let expired = chrono::Utc::now().timestamp() - 40 * 86_400;
    assert_eq!(
        incremental(json!({"events_after": expired})).await.records.len(),
        30,
        "events expired: everything again"
    );
}
