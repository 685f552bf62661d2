//! Stripe webhooks: `Stripe-Signature: t=<unix time>,v1=<hex HMAC-SHA256>` over
//! `"<t>.<body>"` with the endpoint's signing secret (Stripe's documented scheme),
//! five minutes of tolerance; the event's `data.object` is the record.

use chrono::{DateTime, Utc};
use hmac::{Hmac, KeyInit, Mac};
use reqwest::header::HeaderMap;
use serde_json::Value;
use sha2::Sha256;

use super::{STREAMS, mapping};
use crate::error::ConnectorError;
use crate::model::Deletion;
use crate::webhook::{WebhookChanges, WebhookError, Webhooks};

/// Stripe's default tolerance for the signed timestamp.
const TOLERANCE_SECS: i64 = 300;

pub struct StripeWebhooks;

impl Webhooks for StripeWebhooks {
    fn scheme(&self) -> &'static str {
        "stripe"
    }

    fn verify(
        &self,
        headers: &HeaderMap,
        body: &[u8],
        secrets: &[Vec<u8>],
        now: DateTime<Utc>,
    ) -> Result<(), WebhookError> {
        let header =
            headers.get("stripe-signature").and_then(|value| value.to_str().ok()).ok_or(WebhookError::Malformed)?;
        let mut timestamp = None;
        let mut signatures = Vec::new();
        for part in header.split(',') {
            match part.trim().split_once('=') {
                Some(("t", value)) => timestamp = value.parse::<i64>().ok(),
                Some(("v1", value)) => signatures.push(hex::decode(value).map_err(|_| WebhookError::Malformed)?),
                _ => {}
            }
        }
        let timestamp = timestamp.ok_or(WebhookError::Malformed)?;
        if signatures.is_empty() {
            return Err(WebhookError::Malformed);
        }
        if (now.timestamp() - timestamp).abs() > TOLERANCE_SECS {
            return Err(WebhookError::Stale);
        }
        for secret in secrets {
            for signature in &signatures {
                let mut mac = Hmac::<Sha256>::new_from_slice(secret).expect("HMAC takes keys of any length");
                mac.update(timestamp.to_string().as_bytes());
                mac.update(b".");
                mac.update(body);
                // verify_slice compares in constant time.
                if mac.verify_slice(signature).is_ok() {
                    return Ok(());
                }
            }
        }
        Err(WebhookError::BadSignature)
    }

    fn delivery_id(&self, _headers: &HeaderMap, body: &[u8]) -> Option<String> {
        let event: Value = serde_json::from_slice(body).ok()?;
        event["id"].as_str().map(str::to_owned)
    }

    fn changes(&self, body: &[u8]) -> Result<WebhookChanges, ConnectorError> {
        let event: Value = serde_json::from_slice(body)
            .map_err(|error| ConnectorError::permanent(format!("not a Stripe event: {error}")))?;
        let object = &event["data"]["object"];
        let Some(stream) = STREAMS.iter().find(|stream| object["object"].as_str() == Some(stream.object)) else {
            return Ok(WebhookChanges::default());
        };
        let mut changes = WebhookChanges { stream: Some(stream.name.to_owned()), ..Default::default() };
        if event["type"].as_str().is_some_and(|kind| kind.ends_with(".deleted")) {
            let external_id = crate::json::required_str(object, "/id")?.to_owned();
            changes.deletions.push(Deletion { record_type: stream.record_type, external_id });
        } else {
            changes.records.push(mapping::map_object(stream.object, object, crate::json::unix_at(&event, "/created"))?);
        }
        Ok(changes)
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn signed(body: &str, secret: &[u8], at: i64) -> HeaderMap {
        let mut mac = Hmac::<Sha256>::new_from_slice(secret).unwrap();
        mac.update(format!("{at}.{body}").as_bytes());
        let signature = hex::encode(mac.finalize().into_bytes());
        let mut headers = HeaderMap::new();
        headers.insert("stripe-signature", format!("t={at},v1={signature}").parse().unwrap());
        headers
    }

    const EVENT: &str = r#"{"id": "evt_1", "object": "event", "type": "invoice.paid", "created": 1700000000,
        "data": {"object": {"id": "in_1", "object": "invoice", "customer": "cus_1", "currency": "usd", "total": 500,
        "status": "paid"}}}"#;

    #[test]
    fn a_signed_delivery_is_accepted_and_mapped() {
        let now = Utc::now();
        let headers = signed(EVENT, b"whsec_new", now.timestamp());
        let secrets = vec![b"whsec_old".to_vec(), b"whsec_new".to_vec()];
        assert_eq!(StripeWebhooks.verify(&headers, EVENT.as_bytes(), &secrets, now), Ok(()));
        assert_eq!(StripeWebhooks.delivery_id(&headers, EVENT.as_bytes()).as_deref(), Some("evt_1"));
        let changes = StripeWebhooks.changes(EVENT.as_bytes()).unwrap();
        assert_eq!(changes.stream.as_deref(), Some("invoices"));
        assert_eq!(changes.records[0].external_id, "in_1");
        assert_eq!(changes.records[0].source_updated_at.unwrap().timestamp(), 1_700_000_000);
    }

    #[test]
    fn tampered_stale_and_unsigned_deliveries_are_refused() {
        let now = Utc::now();
        let secrets = vec![b"whsec_new".to_vec()];
        let headers = signed(EVENT, b"whsec_new", now.timestamp());
        let tampered = EVENT.replace("500", "5");
        assert_eq!(
            StripeWebhooks.verify(&headers, tampered.as_bytes(), &secrets, now),
            Err(WebhookError::BadSignature)
        );
        let old = signed(EVENT, b"whsec_new", now.timestamp() - 301);
        assert_eq!(StripeWebhooks.verify(&old, EVENT.as_bytes(), &secrets, now), Err(WebhookError::Stale));
        assert_eq!(
            StripeWebhooks.verify(&HeaderMap::new(), EVENT.as_bytes(), &secrets, now),
            Err(WebhookError::Malformed)
        );
        let wrong_secret = signed(EVENT, b"whsec_other", now.timestamp());
        assert_eq!(
            StripeWebhooks.verify(&wrong_secret, EVENT.as_bytes(), &secrets, now),
            Err(WebhookError::BadSignature)
        );
    }

    #[test]
    fn deletions_and_unsynced_objects() {
        let deleted = json!({"id": "evt_2", "type": "customer.deleted", "data": {"object": {"id": "cus_9", "object": "customer"}}});
        let changes = StripeWebhooks.changes(deleted.to_string().as_bytes()).unwrap();
        assert_eq!(changes.deletions[0].external_id, "cus_9");
        let other =
            json!({"id": "evt_3", "type": "payout.paid", "data": {"object": {"id": "po_1", "object": "payout"}}});
        assert_eq!(StripeWebhooks.changes(other.to_string().as_bytes()).unwrap(), WebhookChanges::default());
    }
}
