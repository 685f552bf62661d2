//! Every error is RFC 9457 problem+json with a stable code, never a bare 500.

use crate::helpers::{spawn_app, spawn_app_with};

async fn problem(response: reqwest::Response) -> (u16, serde_json::Value) {
    let status = response.status().as_u16();
    assert_eq!(response.headers()["content-type"], "application/problem+json", "status {status}");
    let request_id = response.headers()["x-request-id"].to_str().unwrap().to_owned();
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["status"], status);
    assert_eq!(body["request_id"], request_id.as_str());
    assert_eq!(body["type"], format!("urn:portico:problem:{}", body["code"].as_str().unwrap()));
    (status, body)
}

#[tokio::test]
async fn unknown_route_is_404_problem() {
    let app = spawn_app().await;
    let (status, body) = problem(app.get("/api/v1/nothing-here").await).await;
    assert_eq!(status, 404);
    assert_eq!(body["code"], "not_found");
    assert_eq!(body["instance"], "/api/v1/nothing-here");
}

#[tokio::test]
async fn wrong_method_is_405_problem() {
    let app = spawn_app().await;
    let response = app.client.delete(app.url("/healthz")).send().await.unwrap();
    let (status, body) = problem(response).await;
    assert_eq!(status, 405);
    assert_eq!(body["code"], "method_not_allowed");
}

#[tokio::test]
async fn oversized_body_is_413_problem() {
    let app = spawn_app_with(|settings| settings.http.body_limit_bytes = 1024).await;
    let response = app.client.post(app.url("/healthz")).body(vec![b'x'; 4096]).send().await.unwrap();
    let (status, body) = problem(response).await;
    assert_eq!(status, 413);
    assert_eq!(body["code"], "payload_too_large");
}

#[tokio::test]
async fn a_given_request_id_is_kept() {
    let app = spawn_app().await;
    let response = app.client.get(app.url("/nowhere")).header("x-request-id", "trace-me-123").send().await.unwrap();
    let (_, body) = problem(response).await;
    assert_eq!(body["request_id"], "trace-me-123");
}
