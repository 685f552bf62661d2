//! Signing deliveries the way senders do, for tests and benchmarks of the
//! webhook gateway. Independent of Portico's verifier: written from each
//! provider's documentation.

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

/// HMAC-SHA256 of the concatenated `parts`, hex: what many providers' own schemes send.
pub fn hmac_sha256_hex(key: &[u8], parts: &[&[u8]]) -> String {
    hex::encode(hmac_sha256(key, parts))
}

fn hmac_sha256(key: &[u8], parts: &[&[u8]]) -> Vec<u8> {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("any key length");
    for part in parts {
        mac.update(part);
    }
    mac.finalize().into_bytes().to_vec()
}

/// `Stripe-Signature: t=…,v1=…` for `body` signed at `timestamp` with `secret` (used as given).
pub fn stripe_signature(secret: &str, timestamp: i64, body: &[u8]) -> String {
    let signature = hmac_sha256(secret.as_bytes(), &[timestamp.to_string().as_bytes(), b".", body]);
    format!("t={timestamp},v1={}", hex::encode(signature))
}

/// HubSpot's v3 headers (`X-HubSpot-Signature-v3`, `X-HubSpot-Request-Timestamp`)
/// for a POST of `body` to `url` at `timestamp_ms`, signed with the app's client secret.
pub fn hubspot_v3_headers(secret: &str, url: &str, timestamp_ms: i64, body: &[u8]) -> [(&'static str, String); 2] {
    let timestamp = timestamp_ms.to_string();
    let signature = hmac_sha256(secret.as_bytes(), &[b"POST", url.as_bytes(), body, timestamp.as_bytes()]);
    [("x-hubspot-signature-v3", BASE64.encode(signature)), ("x-hubspot-request-timestamp", timestamp)]
}

/// The three Standard Webhooks headers (`webhook-id`, `webhook-timestamp`,
/// `webhook-signature`) for a `whsec_` secret.
pub fn standard_webhooks_headers(secret: &str, id: &str, timestamp: i64, body: &[u8]) -> [(&'static str, String); 3] {
    let key = BASE64.decode(secret.trim_start_matches("whsec_")).expect("a whsec_ secret is base64");
    let timestamp = timestamp.to_string();
    let signature = hmac_sha256(&key, &[id.as_bytes(), b".", timestamp.as_bytes(), b".", body]);
    [
        ("webhook-id", id.to_owned()),
        ("webhook-timestamp", timestamp),
        ("webhook-signature", format!("v1,{}", BASE64.encode(signature))),
    ]
}
