//! Webhooks of a declarative REST source: the manifest's `webhooks` rules turn
//! each event of a delivery into a record (mapped with its stream's fields), a
//! deletion, or an id to fetch. The signature scheme is the endpoint's choice
//! (Standard Webhooks, GitHub, Slack, a generic HMAC ...), not the manifest's.

use std::collections::BTreeMap;

use serde_json::Value;

use super::manifest::{EventMatch, EventRule};
use super::{Rest, map_record};
use crate::error::ConnectorError;
use crate::model::Deletion;
use crate::webhook::{WebhookChanges, Webhooks};

fn matches(rule: &EventRule, event: &Value) -> bool {
    let Some(EventMatch { pointer, equals, prefix }) = &rule.when else { return true };
    let Some(value) = event.pointer(pointer).and_then(|value| match value {
        Value::String(text) => Some(text.clone()),
        Value::Number(number) => Some(number.to_string()),
        Value::Bool(flag) => Some(flag.to_string()),
        _ => None,
    }) else {
        return false;
    };
    match (equals, prefix) {
        (Some(equals), _) => value == *equals,
        (_, Some(prefix)) => value.starts_with(prefix.as_str()),
        _ => false,
    }
}

fn id_at(event: &Value, pointer: &str) -> Result<String, ConnectorError> {
    match event.pointer(pointer) {
        Some(Value::String(id)) if !id.is_empty() => Ok(id.clone()),
        Some(Value::Number(id)) => Ok(id.to_string()),
        _ => Err(ConnectorError::permanent(format!("an event has no id at {pointer}"))),
    }
}

impl Webhooks for Rest {
    fn changes(&self, body: &[u8]) -> Result<Vec<WebhookChanges>, ConnectorError> {
        let Some(webhooks) = &self.manifest.webhooks else { return Ok(Vec::new()) };
        let body: Value = serde_json::from_slice(body)
            .map_err(|error| ConnectorError::permanent(format!("the delivery is not JSON: {error}")))?;
        let events: Vec<&Value> = match webhooks.events_selector.as_deref() {
            Some(selector) => body
                .pointer(selector)
                .and_then(Value::as_array)
                .ok_or_else(|| ConnectorError::permanent(format!("no array of events at {selector}")))?
                .iter()
                .collect(),
            None => match &body {
                Value::Array(events) => events.iter().collect(),
                event => vec![event],
            },
        };
        let mut by_stream: BTreeMap<String, WebhookChanges> = BTreeMap::new();
        for event in events {
            let Some(rule) = webhooks.events.iter().find(|rule| matches(rule, event)) else { continue };
            let stream = self.stream(&rule.stream)?;
            let changes = by_stream
                .entry(stream.name.clone())
                .or_insert_with(|| WebhookChanges { stream: stream.name.clone(), ..Default::default() });
            if let Some(pointer) = &rule.record {
                let object = event
                    .pointer(pointer)
                    .ok_or_else(|| ConnectorError::permanent(format!("an event has no object at {pointer}")))?;
                changes.records.push(map_record(stream, object)?);
            } else if let Some(pointer) = &rule.delete {
                changes
                    .deletions
                    .push(Deletion { record_type: stream.record_type, external_id: id_at(event, pointer)? });
            } else if let Some(pointer) = &rule.fetch {
                let id = id_at(event, pointer)?;
                if !changes.fetch.contains(&id) {
                    changes.fetch.push(id);
                }
            }
        }
        Ok(by_stream.into_values().collect())
    }
}
