//! HubSpot CRM objects into the common model.

use std::collections::HashMap;

use serde_json::Value;

use super::ObjectType;
use crate::error::ConnectorError;
use crate::json::{required_str, string_at, time_at};
use crate::model::{CommonRecord, Contact, Order, Record, Ticket};

/// Maps one CRM object. `company` is the id of its associated company, which is
/// how its customer account is found (a company is its own key).
pub fn map_object(
    object: &ObjectType,
    value: &Value,
    company: Option<String>,
    stage_labels: Option<&HashMap<(String, String), String>>,
    deal_kind: &str,
) -> Result<Record, ConnectorError> {
    let external_id = required_str(value, "/id")?.to_owned();
    let property = |name: &str| string_at(value, &format!("/properties/{name}"));
    let stage = |pipeline_object: &str, stage: Option<String>| {
        stage.map(|stage| {
            stage_labels
                .and_then(|labels| labels.get(&(pipeline_object.to_owned(), stage.clone())))
                .cloned()
                .unwrap_or(stage)
        })
    };
    let modified =
        time_at(value, &format!("/properties/{}", object.modified_property)).or_else(|| time_at(value, "/updatedAt"));
    let (account_ref, body) = match object.object {
        "companies" => (
            Some(external_id.clone()),
            CommonRecord::Contact(Contact {
                name: property("name")
                    .or_else(|| property("domain"))
                    .unwrap_or_else(|| format!("Company {external_id}")),
                kind: "company".to_owned(),
                email: None,
                phone: property("phone"),
                company: property("domain"),
            }),
        ),
        "contacts" => {
            let name =
                [property("firstname"), property("lastname")].into_iter().flatten().collect::<Vec<_>>().join(" ");
            (
                company.or_else(|| property("associatedcompanyid")),
                CommonRecord::Contact(Contact {
                    name: if name.is_empty() { property("email").unwrap_or_default() } else { name },
                    kind: "person".to_owned(),
                    email: property("email"),
                    phone: property("phone"),
                    company: property("company"),
                }),
            )
        }
        "deals" => (
            company,
            CommonRecord::Order(Order {
                kind: deal_kind.to_owned(),
                reference: Some(external_id.clone()),
                title: property("dealname").unwrap_or_else(|| format!("Deal {external_id}")),
                status: stage("deals", property("dealstage")).unwrap_or_default(),
                amount_minor: property("amount")
                    .and_then(|amount| amount.parse::<f64>().ok())
                    .map(|amount| (amount * 100.0).round() as i64),
                currency: property("deal_currency_code"),
                status_changed_at: modified,
            }),
        ),
        "tickets" => (
            company,
            CommonRecord::Ticket(Ticket {
                subject: property("subject").unwrap_or_else(|| format!("Ticket {external_id}")),
                status: stage("tickets", property("hs_pipeline_stage")).unwrap_or_default(),
                priority: property("hs_ticket_priority").map(|priority| priority.to_lowercase()),
                description: property("content"),
                opened_at: time_at(value, "/properties/createdate").or_else(|| time_at(value, "/createdAt")),
                closed_at: time_at(value, "/properties/closed_date"),
            }),
        ),
        other => return Err(ConnectorError::permanent(format!("HubSpot object {other} is not synced"))),
    };
    // The list API embeds associations and search does not; they live in
    // `account_ref`, and leaving them out of the raw payload keeps both paths' hashes equal.
    let mut raw = value.clone();
    if let Some(object) = raw.as_object_mut() {
        object.remove("associations");
    }
    Ok(Record { external_id, account_ref, parent_external_id: None, source_updated_at: modified, body, raw })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::hubspot::OBJECTS;

    #[test]
    fn a_deal_takes_its_stage_label_and_company() {
        // Shape from HubSpot's CRM v3 objects API.
        let deal = json!({
            "id": "512", "properties": {"dealname": "Website redesign", "dealstage": "contractsent", "pipeline": "default",
                "amount": "1500.50", "hs_lastmodifieddate": "2026-11-20T10:00:00.000Z"},
            "createdAt": "2026-11-01T09:00:00.000Z", "updatedAt": "2026-11-20T10:00:00.000Z", "archived": false,
        });
        let labels = HashMap::from([(("deals".to_owned(), "contractsent".to_owned()), "Contract sent".to_owned())]);
        let deals = OBJECTS.iter().find(|object| object.object == "deals").unwrap();
        let record = map_object(deals, &deal, Some("77".into()), Some(&labels), "project").unwrap();
        assert_eq!(record.account_ref.as_deref(), Some("77"));
        let CommonRecord::Order(order) = &record.body else { panic!("not an order") };
        assert_eq!(order.status, "Contract sent");
        assert_eq!(order.kind, "project");
        assert_eq!(order.amount_minor, Some(150050));
        assert_eq!(record.source_updated_at.unwrap().to_rfc3339(), "2026-11-20T10:00:00+00:00");
    }

    #[test]
    fn a_company_is_its_own_account_key() {
        let company = json!({"id": "77", "properties": {"name": "Acme", "domain": "acme.test", "hs_lastmodifieddate": "1700000000000"}});
        let companies = OBJECTS.iter().find(|object| object.object == "companies").unwrap();
        let record = map_object(companies, &company, None, None, "order").unwrap();
        assert_eq!(record.account_ref.as_deref(), Some("77"));
        assert_eq!(record.source_updated_at.unwrap().timestamp_millis(), 1_700_000_000_000);
    }
}
