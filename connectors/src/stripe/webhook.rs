//! Stripe webhooks: signed with the `stripe` scheme (`Stripe-Signature`, see
//! `webhook::schemes`); each event's `data.object` is the record, `*.deleted` events
//! are deletions, and the event id names the delivery. Thin events (API v2) carry
//! no snapshot, only `related_object`: the gateway fetches that object.

use serde_json::Value;

use super::{STREAMS, mapping};
use crate::error::ConnectorError;
use crate::model::Deletion;
use crate::webhook::{WebhookChanges, Webhooks};

pub struct StripeWebhooks;

impl Webhooks for StripeWebhooks {
    fn changes(&self, body: &[u8]) -> Result<Vec<WebhookChanges>, ConnectorError> {
        let event: Value = serde_json::from_slice(body)
            .map_err(|error| ConnectorError::permanent(format!("not a Stripe event: {error}")))?;
        if let Some(related) = event.get("related_object").filter(|related| related.is_object()) {
            let Some(stream) = STREAMS.iter().find(|stream| related["type"].as_str() == Some(stream.object)) else {
                return Ok(Vec::new());
            };
            let id = crate::json::required_str(related, "/id")?.to_owned();
            return Ok(vec![WebhookChanges { stream: stream.name.to_owned(), fetch: vec![id], ..Default::default() }]);
        }
        let object = &event["data"]["object"];
        let Some(stream) = STREAMS.iter().find(|stream| object["object"].as_str() == Some(stream.object)) else {
            return Ok(Vec::new());
        };
        let mut changes = WebhookChanges { stream: stream.name.to_owned(), ..Default::default() };
        if event["type"].as_str().is_some_and(|kind| kind.ends_with(".deleted")) {
            let external_id = crate::json::required_str(object, "/id")?.to_owned();
            changes.deletions.push(Deletion { record_type: stream.record_type, external_id });
        } else {
            changes.records.push(mapping::map_object(stream.object, object, crate::json::unix_at(&event, "/created"))?);
        }
        Ok(vec![changes])
    }
}

#[cfg(test)]
mod tests {
    use reqwest::header::HeaderMap;
    use serde_json::json;

    use super::*;

    const EVENT: &str = r#"{"id": "evt_1", "object": "event", "type": "invoice.paid", "created": 1700000000,
        "data": {"object": {"id": "in_1", "object": "invoice", "customer": "cus_1", "currency": "usd", "total": 500,
        "status": "paid"}}}"#;

    #[test]
    fn an_event_maps_to_its_object() {
        let id = crate::webhook::schemes::delivery_id(
            &crate::webhook::schemes::Scheme::Stripe,
            &HeaderMap::new(),
            EVENT.as_bytes(),
        );
        assert_eq!(id.as_deref(), Some("evt_1"));
        let changes = StripeWebhooks.changes(EVENT.as_bytes()).unwrap().remove(0);
        assert_eq!(changes.stream, "invoices");
        assert_eq!(changes.records[0].external_id, "in_1");
        assert_eq!(changes.records[0].source_updated_at.unwrap().timestamp(), 1_700_000_000);
    }

    #[test]
    fn a_thin_event_names_the_object_to_fetch() {
        let thin = json!({"id": "evt_t", "object": "v2.core.event", "type": "v1.invoice.updated",
            "related_object": {"id": "in_7", "type": "invoice", "url": "/v1/invoices/in_7"}});
        let changes = StripeWebhooks.changes(thin.to_string().as_bytes()).unwrap().remove(0);
        assert_eq!(changes.stream, "invoices");
        assert_eq!(changes.fetch, vec!["in_7".to_owned()]);
        assert!(changes.records.is_empty());
    }

    #[test]
    fn deletions_and_unsynced_objects() {
        let deleted = json!({"id": "evt_2", "type": "customer.deleted", "data": {"object": {"id": "cus_9", "object": "customer"}}});
        let changes = StripeWebhooks.changes(deleted.to_string().as_bytes()).unwrap().remove(0);
        assert_eq!(changes.deletions[0].external_id, "cus_9");
        let other =
            json!({"id": "evt_3", "type": "payout.paid", "data": {"object": {"id": "po_1", "object": "payout"}}});
        assert!(StripeWebhooks.changes(other.to_string().as_bytes()).unwrap().is_empty());
    }
}
