//! HubSpot webhooks: signed with the `hubspot-v3` scheme; each delivery is a
//! batch of events that only name what changed (`contact.propertyChange`,
//! `deal.creation`, `ticket.deletion`, ... with an `objectId`). Deletions apply as
//! they are; anything else is fetched, so the record is whole and current.

use std::collections::BTreeMap;

use serde_json::Value;

use super::OBJECTS;
use crate::error::ConnectorError;
use crate::model::Deletion;
use crate::webhook::{WebhookChanges, Webhooks};

pub struct HubSpotWebhooks;

/// The object type named by a subscription type's first word.
fn stream_of(object: &str) -> Option<&'static super::ObjectType> {
    let plural = match object {
        "contact" => "contacts",
        "company" => "companies",
        "deal" => "deals",
        "ticket" => "tickets",
        _ => return None,
    };
    OBJECTS.iter().find(|object| object.object == plural)
}

impl Webhooks for HubSpotWebhooks {
    fn changes(&self, body: &[u8]) -> Result<Vec<WebhookChanges>, ConnectorError> {
        let events: Vec<Value> = serde_json::from_slice(body)
            .map_err(|error| ConnectorError::permanent(format!("not a batch of HubSpot events: {error}")))?;
        let mut by_stream: BTreeMap<&'static str, WebhookChanges> = BTreeMap::new();
        for event in &events {
            let Some((object, change)) = event["subscriptionType"].as_str().and_then(|kind| kind.split_once('.'))
            else {
                continue;
            };
            let Some(object) = stream_of(object) else { continue };
            let id = match &event["objectId"] {
                Value::Number(number) => number.to_string(),
                Value::String(text) => text.clone(),
                _ => return Err(ConnectorError::permanent("a HubSpot event without objectId")),
            };
            let changes = by_stream
                .entry(object.stream)
                .or_insert_with(|| WebhookChanges { stream: object.stream.to_owned(), ..Default::default() });
            if matches!(change, "deletion" | "privacyDeletion") {
                changes.fetch.retain(|fetched| *fetched != id);
                changes.deletions.push(Deletion { record_type: object.record_type, external_id: id });
            } else if !changes.fetch.contains(&id) {
                changes.fetch.push(id);
            }
        }
        Ok(by_stream.into_values().collect())
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn events_name_objects_to_fetch_or_delete_per_stream() {
        let batch = json!([
            {"eventId": 1, "subscriptionType": "contact.propertyChange", "objectId": 101, "occurredAt": 1700000000000u64},
            {"eventId": 2, "subscriptionType": "contact.propertyChange", "objectId": 101, "occurredAt": 1700000000001u64},
            {"eventId": 3, "subscriptionType": "deal.creation", "objectId": 7, "occurredAt": 1700000000002u64},
            {"eventId": 4, "subscriptionType": "ticket.deletion", "objectId": "9", "occurredAt": 1700000000003u64},
            {"eventId": 5, "subscriptionType": "conversation.creation", "objectId": 1, "occurredAt": 1700000000004u64}
        ]);
        let changes = HubSpotWebhooks.changes(batch.to_string().as_bytes()).unwrap();
        let streams: Vec<&str> = changes.iter().map(|change| change.stream.as_str()).collect();
        assert_eq!(streams, ["contacts", "deals", "tickets"]);
        assert_eq!(changes[0].fetch, ["101"], "one fetch per object however many events");
        assert_eq!(changes[1].fetch, ["7"]);
        assert_eq!(changes[2].deletions[0].external_id, "9");
        assert!(HubSpotWebhooks.changes(b"{\"not\": \"a batch\"}").is_err());
    }
}
