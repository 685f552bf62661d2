//! Every signature scheme's header parsing and verification, on arbitrary headers
//! and bodies: nothing may panic, and nothing but a real signature may pass.

#![no_main]

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use portico_connectors::webhook::schemes::{self, Algorithm, Delivery, Encoding, GenericHmac, Scheme};
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};

/// The headers the schemes read, each with a fuzzed value.
const HEADERS: &[&str] = &[
    "webhook-id",
    "webhook-timestamp",
    "webhook-signature",
    "stripe-signature",
    "x-hub-signature-256",
    "x-github-delivery",
    "x-hubspot-signature-v3",
    "x-hubspot-request-timestamp",
    "x-slack-signature",
    "x-slack-request-timestamp",
    "x-signature",
    "x-timestamp",
];

#[derive(Debug, Arbitrary)]
struct Input {
    values: Vec<String>,
    body: Vec<u8>,
    secret: String,
    now: i64,
    template: String,
}

fuzz_target!(|input: Input| {
    let mut headers = HeaderMap::new();
    for (name, value) in HEADERS.iter().zip(&input.values) {
        if let Ok(value) = HeaderValue::from_str(value) {
            headers.insert(HeaderName::from_static(name), value);
        }
    }
    let Some(now) = chrono::DateTime::from_timestamp(input.now % 10_000_000_000, 0) else { return };
    let generic = Scheme::Hmac(GenericHmac {
        header: "x-signature".into(),
        prefix: "sha256=".into(),
        algorithm: Algorithm::Sha256,
        encoding: Encoding::Base64,
        template: input.template.clone(),
        timestamp_header: Some("x-timestamp".into()),
        id_header: None,
    });
    let secrets = vec![input.secret.clone(), format!("whsec_{}", input.secret), format!("whpk_{}", input.secret)];
    for scheme in [Scheme::StandardWebhooks, Scheme::Stripe, Scheme::GitHub, Scheme::HubSpotV3, Scheme::Slack, generic]
    {
        let delivery = Delivery {
            method: "POST",
            url: "https://portico.example/webhooks/x",
            headers: &headers,
            body: &input.body,
        };
        let _ = schemes::verify(&scheme, &delivery, &secrets, now, schemes::DEFAULT_TOLERANCE);
        let _ = schemes::delivery_id(&scheme, &headers, &input.body);
    }
});
