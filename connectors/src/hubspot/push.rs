//! Write-back to HubSpot: `create_ticket`, `add_note` and `close_ticket`.
//!
//! HubSpot's CRM API takes no idempotency key, so the key is written into a
//! unique property (`idempotency_property`, which the HubSpot admin creates); a
//! retried push first searches for it and returns what the earlier attempt made.

use reqwest::Method;
use serde::Deserialize;
use serde_json::{Value, json};

use super::HubSpot;
use crate::connector::{Connector, PushOperation, PushOutcome};
use crate::error::ConnectorError;

/// HubSpot-defined association type ids.
const TICKET_TO_COMPANY: u32 = 339;
const NOTE_TO_TICKET: u32 = 228;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewTicket {
    subject: String,
    #[serde(default)]
    content: Option<String>,
    #[serde(default)]
    priority: Option<String>,
    /// The company (account key) the ticket belongs to.
    company_id: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewNote {
    ticket_id: String,
    body: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TicketToClose {
    ticket_id: String,
    /// The company (account key) the portal filed it under; the ticket's company
    /// is read back from HubSpot with the rest of it.
    #[allow(dead_code)]
    company_id: String,
}

fn payload<T: serde::de::DeserializeOwned>(operation: &PushOperation) -> Result<T, ConnectorError> {
    serde_json::from_value(operation.payload.clone())
        .map_err(|error| ConnectorError::permanent(format!("invalid {} payload: {error}", operation.operation)))
}

pub async fn push(hubspot: &HubSpot, operation: &PushOperation) -> Result<PushOutcome, ConnectorError> {
    if operation.operation == "close_ticket" {
        // Setting a stage is idempotent: a retry sets it again.
        let ticket: TicketToClose = payload(operation)?;
        let body = json!({"properties": {"hs_pipeline_stage": hubspot.settings.ticket_closed_stage}});
        let path = format!("/crm/v3/objects/tickets/{}", ticket.ticket_id);
        hubspot.call(Method::PATCH, &path, &[], Some(&body)).await?;
        // The update's answer carries only the properties it set: the ticket is
        // read back whole (subject, description, company) to be cached.
        let records = Connector::fetch(hubspot, "tickets", &ticket.ticket_id).await?.into_iter().collect();
        return Ok(PushOutcome { external_id: Some(ticket.ticket_id), records });
    }
    let (object, properties, association) = match operation.operation.as_str() {
        "create_ticket" => {
            let ticket: NewTicket = payload(operation)?;
            let mut properties = json!({
                "subject": ticket.subject,
                "content": ticket.content.unwrap_or_default(),
                "hs_pipeline": hubspot.settings.ticket_pipeline,
                "hs_pipeline_stage": hubspot.settings.ticket_stage,
            });
            if let Some(priority) = ticket.priority {
                properties["hs_ticket_priority"] = json!(priority.to_uppercase());
            }
            ("tickets", properties, (ticket.company_id, TICKET_TO_COMPANY))
        }
        "add_note" => {
            let note: NewNote = payload(operation)?;
            let properties =
                json!({"hs_note_body": note_html(&note.body), "hs_timestamp": chrono::Utc::now().to_rfc3339()});
            ("notes", properties, (note.ticket_id, NOTE_TO_TICKET))
        }
        other => return Err(ConnectorError::permanent(format!("HubSpot cannot {other}"))),
    };
    let key_property = &hubspot.settings.idempotency_property;
    if let Some(existing) = find_by_key(hubspot, object, key_property, &operation.idempotency_key).await? {
        // What the first attempt created, read with the properties that are mapped.
        return outcome(hubspot, object, existing, &association.0).await;
    }
    let mut properties = properties;
    properties[key_property.as_str()] = json!(operation.idempotency_key);
    let body = json!({
        "properties": properties,
        "associations": [{
            "to": {"id": association.0},
            "types": [{"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": association.1}],
        }],
    });
    let created = hubspot.call(Method::POST, &format!("/crm/v3/objects/{object}"), &[], Some(&body)).await?;
    outcome(hubspot, object, created, &association.0).await
}

/// A note's body as HubSpot keeps it: rich text (HTML). What a customer typed is
/// text, so it is escaped (a `<script>` stays words on the agent's screen) and its
/// line breaks kept.
fn note_html(text: &str) -> String {
    let mut html = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => html.push_str("&amp;"),
            '<' => html.push_str("&lt;"),
            '>' => html.push_str("&gt;"),
            '"' => html.push_str("&quot;"),
            '\'' => html.push_str("&#39;"),
            '\n' => html.push_str("<br>"),
            other => html.push(other),
        }
    }
    html
}

/// The object an earlier attempt created under `key`, with the properties that
/// are mapped (a search answers only a default few unless asked). The body has
/// every field HubSpot's published spec requires of a search: `filterGroups`,
/// `sorts`, `properties`, `limit` and `after`.
async fn find_by_key(
    hubspot: &HubSpot,
    object: &str,
    property: &str,
    key: &str,
) -> Result<Option<Value>, ConnectorError> {
    let mut properties: Vec<&str> = match super::OBJECTS.iter().find(|synced| synced.object == object) {
        Some(synced) => synced.properties.to_vec(),
        None => vec!["hs_note_body", "hs_timestamp"],
    };
    properties.push(property);
    let body = json!({
        "filterGroups": [{"filters": [{"propertyName": property, "operator": "EQ", "value": key}]}],
        "sorts": [{"propertyName": "hs_object_id", "direction": "ASCENDING"}],
        "properties": properties,
        "limit": 1,
        "after": "0",
    });
    let answer = hubspot.call(Method::POST, &format!("/crm/v3/objects/{object}/search"), &[], Some(&body)).await?;
    Ok(answer["results"].as_array().and_then(|results| results.first()).cloned())
}

/// `associated_id` is what the object was attached to: a ticket's company (its
/// account key), a note's ticket.
async fn outcome(
    hubspot: &HubSpot,
    object: &str,
    created: Value,
    associated_id: &str,
) -> Result<PushOutcome, ConnectorError> {
    let external_id = created["id"].as_str().map(str::to_owned);
    let records = match object {
        // A created ticket is cached at once, under the company it was created for.
        "tickets" => {
            let tickets = super::OBJECTS.iter().find(|object| object.object == "tickets").expect("tickets are synced");
            let labels = hubspot.stage_labels().await.ok();
            let company = super::mapping::CompanyLink::Is(associated_id.to_owned());
            vec![super::mapping::map_object(tickets, &created, company, labels.as_ref(), &hubspot.settings.deal_kind)?]
        }
        _ => Vec::new(),
    };
    Ok(PushOutcome { external_id, records })
}

#[cfg(test)]
mod tests {
    use super::note_html;

    #[test]
    fn a_customers_note_reaches_hubspot_as_text_not_markup() {
        assert_eq!(
            note_html("<script>alert('x')</script> & \"more\"\nsecond line"),
            "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &quot;more&quot;<br>second line"
        );
    }
}
