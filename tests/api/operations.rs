//! Health, readiness, metrics and the OpenAPI document.

use std::time::Duration;

use portico::startup::{Roles, StartupError};

use crate::helpers::{spawn_app, spawn_app_with_roles};

#[tokio::test]
async fn healthz_answers_ok_with_the_version() {
    let app = spawn_app().await;
    let response = app.get("/healthz").await;
    assert_eq!(response.status(), 200);
    assert!(response.headers().contains_key("x-request-id"));
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["status"], "ok");
    assert_eq!(body["version"], env!("CARGO_PKG_VERSION"));
}

#[tokio::test]
async fn readyz_reports_database_and_queue() {
    let app = spawn_app().await;
    let response = app.get("/readyz").await;
    assert_eq!(response.status(), 200);
    let body: serde_json::Value = response.json().await.unwrap();
    let names: Vec<&str> = body["checks"].as_array().unwrap().iter().map(|c| c["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["database", "queue"]);
}

#[tokio::test]
async fn readyz_is_503_problem_when_the_database_is_gone() {
    // HTTP only: with workers, losing the database ends the process (next test).
    let app = spawn_app_with_roles(Roles::HTTP_ONLY, |_| {}).await;
    // Closing the pools is what an unreachable database looks like to the service.
    app.store.close().await;
    app.queue.close().await;
    let response = app.get("/readyz").await;
    assert_eq!(response.status(), 503);
    assert_eq!(response.headers()["content-type"], "application/problem+json");
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["code"], "not_ready");
    let failing: Vec<&str> = body["errors"].as_array().unwrap().iter().map(|e| e["field"].as_str().unwrap()).collect();
    assert!(failing.contains(&"database"), "{body}");
    // Liveness does not depend on the database.
    assert_eq!(app.get("/healthz").await.status(), 200);
}

#[tokio::test]
async fn metrics_expose_request_durations_and_queue_depth() {
    let app = spawn_app().await;
    app.get("/healthz").await;
    app.get("/no/such/route").await;
    let response = app.get("/metrics").await;
    assert_eq!(response.status(), 200);
    assert!(response.headers()["content-type"].to_str().unwrap().starts_with("text/plain"));
    let text = response.text().await.unwrap();
    assert!(
        text.contains(r#"portico_http_request_duration_seconds_count{method="GET",route="/healthz",status="200"}"#),
        "{text}"
    );
    assert!(text.contains(r#"route="unmatched",status="404""#), "{text}");
    assert!(text.contains(r#"portico_queue_depth{queue="portico.queue_probe",state="pending"}"#), "{text}");
}

#[tokio::test]
async fn openapi_document_covers_every_route() {
    let app = spawn_app().await;
    let response = app.get("/api/openapi.json").await;
    assert_eq!(response.status(), 200);
    let document: serde_json::Value = response.json().await.unwrap();
    assert!(document["openapi"].as_str().unwrap().starts_with("3.1"));
    let paths = document["paths"].as_object().unwrap();
    for path in ["/healthz", "/readyz", "/metrics", "/api/openapi.json"] {
        assert!(paths.contains_key(path), "{path} missing from the OpenAPI document");
    }
    assert!(document["components"]["schemas"]["Problem"].is_object());
    let schemes = &document["components"]["securitySchemes"];
    assert_eq!(schemes["session_cookie"]["in"], "cookie");
    assert_eq!(schemes["api_token"]["scheme"], "bearer");
}

#[tokio::test]
async fn responses_are_compressed_when_asked() {
    let app = spawn_app().await;
    let response = app.client.get(app.url("/api/openapi.json")).header("accept-encoding", "gzip").send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-encoding"], "gzip");
}

#[tokio::test]
async fn losing_the_database_stops_the_workers_and_the_process_with_an_error() {
    let app = spawn_app().await;
    app.store.close().await;
    app.queue.close().await;
    // Crash-only: a supervisor restarts the process rather than it living on half-working.
    let ended = tokio::time::timeout(Duration::from_secs(30), app.server).await.expect("the service stops");
    let outcome = ended.expect("the service task does not panic");
    assert!(matches!(outcome, Err(StartupError::Workers(_))), "{outcome:?}");
}

#[tokio::test]
async fn metrics_can_require_a_bearer_token() {
    let app = crate::helpers::spawn_app_with(|settings| {
        settings.http.metrics_token = Some(secrecy::SecretString::from("scrape-me-please"));
    })
    .await;
    assert_eq!(app.get("/metrics").await.status(), 401);
    let wrong = app.client.get(app.url("/metrics")).bearer_auth("scrape-me-pleasE").send().await.unwrap();
    assert_eq!(wrong.status(), 401);
    let right = app.client.get(app.url("/metrics")).bearer_auth("scrape-me-please").send().await.unwrap();
    assert_eq!(right.status(), 200);
    assert!(right.text().await.unwrap().contains("portico_queue_depth"));
}
