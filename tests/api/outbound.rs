//! The outbound HTTP client against a real server on loopback: internal
//! addresses are refused before any byte is sent, unless allowed.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use axum::Router;
use axum::response::Redirect;
use axum::routing::get;
use portico::core::outbound::{AddressPolicy, OutboundClient, OutboundError};
use url::Url;

/// A loopback server counting the requests it receives; `/loop` redirects to itself,
/// `/file` to a file URL.
async fn upstream() -> (String, Arc<AtomicUsize>) {
    let hits = Arc::new(AtomicUsize::new(0));
    let counter = hits.clone();
    let app = Router::new()
        .route("/hello", get(|| async { "hello" }))
        .route("/loop", get(|| async { Redirect::temporary("/loop") }))
        .route("/file", get(|| async { Redirect::temporary("file:///etc/passwd") }))
        .layer(axum::middleware::from_fn(move |request, next: axum::middleware::Next| {
            let counter = counter.clone();
            async move {
                counter.fetch_add(1, Ordering::SeqCst);
                next.run(request).await
            }
        }));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (format!("127.0.0.1:{port}"), hits)
}

fn url(text: String) -> Url {
    Url::parse(&text).unwrap()
}

#[tokio::test]
async fn internal_addresses_are_refused_by_default_and_reached_when_allowed() {
    let (address, hits) = upstream().await;
    let port = address.rsplit(':').next().unwrap().to_owned();
    let public_only = OutboundClient::new(AddressPolicy::PublicOnly, Duration::from_secs(5));

    let literal = public_only.get(&url(format!("http://{address}/hello"))).await;
    assert!(matches!(literal, Err(OutboundError::ForbiddenAddress(_))), "{literal:?}");
    let by_name = public_only.get(&url(format!("http://localhost:{port}/hello"))).await;
    assert!(by_name.is_err(), "a name resolving to loopback is refused at connect");
    assert_eq!(hits.load(Ordering::SeqCst), 0, "nothing reached the internal server");

    let allowed = OutboundClient::new(AddressPolicy::AllowPrivate, Duration::from_secs(5));
    let response = allowed.get(&url(format!("http://{address}/hello"))).await.unwrap();
    assert_eq!(response.text().await.unwrap(), "hello");
    assert_eq!(hits.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn every_redirect_hop_is_checked() {
    let (address, hits) = upstream().await;
    let allowed = OutboundClient::new(AddressPolicy::AllowPrivate, Duration::from_secs(5));
    match allowed.get(&url(format!("http://{address}/file"))).await {
        Ok(response) => assert!(response.status().is_redirection(), "a redirect to a file URL is not followed"),
        Err(error) => assert!(error.to_string().contains("http"), "{error}"),
    }
    let looping = allowed.get(&url(format!("http://{address}/loop"))).await;
    assert!(looping.is_err(), "redirect loops end");
    assert!(hits.load(Ordering::SeqCst) <= 7);
}
