//! HubSpot CRM objects into the common model.

use std::collections::HashMap;

use serde_json::Value;

use super::ObjectType;
use crate::error::ConnectorError;
use crate::json::{required_str, string_at, time_at};
use crate::model::{CommonRecord, Contact, Order, Organisation, Record, Ticket};

/// What an answer said about the company an object belongs to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CompanyLink {
    /// Associated with this company.
    Is(String),
    /// The answer carried the object's associations, and there is no company:
    /// the association is gone (or never was).
    None,
    /// The answer did not say (an association read that left the object out, or
    /// answered in part): the record keeps the account it has.
    Unknown,
}

impl CompanyLink {
    /// From a map of the objects an association answer covered.
    pub fn from_answer(companies: &HashMap<String, String>, id: &str, complete: bool) -> Self {
        match companies.get(id) {
            Some(company) => CompanyLink::Is(company.clone()),
            None if complete => CompanyLink::None,
            None => CompanyLink::Unknown,
        }
    }
}

/// Maps one CRM object. `company` is what the answer said of its associated
/// company, which is how its customer account is found (a company is its own key).
pub fn map_object(
    object: &ObjectType,
    value: &Value,
    company: CompanyLink,
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
    // A contact's own "primary company" property answers when associations do not.
    let company = match (company, property("associatedcompanyid")) {
        (CompanyLink::Unknown | CompanyLink::None, Some(primary)) if object.object == "contacts" => {
            CompanyLink::Is(primary)
        }
        (company, _) => company,
    };
    let (account_ref, account_unknown) = match company {
        CompanyLink::Is(company) => (Some(company), false),
        CompanyLink::None => (None, false),
        CompanyLink::Unknown => (None, true),
    };
    let (account_ref, account_unknown, body) = match object.object {
        "companies" => (
            Some(external_id.clone()),
            false,
            CommonRecord::Organisation(Organisation {
                name: property("name")
                    .or_else(|| property("domain"))
                    .unwrap_or_else(|| format!("Company {external_id}")),
                domain: property("domain"),
                phone: property("phone"),
            }),
        ),
        "contacts" => {
            let name =
                [property("firstname"), property("lastname")].into_iter().flatten().collect::<Vec<_>>().join(" ");
            (
                account_ref,
                account_unknown,
                CommonRecord::Contact(Contact {
                    name: Some(name)
                        .filter(|name| !name.trim().is_empty())
                        .or_else(|| property("email"))
                        .unwrap_or_else(|| format!("Contact {external_id}")),
                    kind: "person".to_owned(),
                    email: property("email"),
                    phone: property("phone"),
                    company: property("company"),
                }),
            )
        }
        "deals" => (
            account_ref,
            account_unknown,
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
            account_ref,
            account_unknown,
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
    Ok(Record {
        external_id,
        account_ref,
        account_unknown,
        parent_external_id: None,
        source_updated_at: modified,
        body,
        raw,
    })
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
        let record = map_object(deals, &deal, CompanyLink::Is("77".into()), Some(&labels), "project").unwrap();
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
        let record = map_object(companies, &company, CompanyLink::Unknown, None, "order").unwrap();
        assert_eq!(record.account_ref.as_deref(), Some("77"));
        assert!(!record.account_unknown);
        let CommonRecord::Organisation(organisation) = &record.body else { panic!("a company is an organisation") };
        assert_eq!((organisation.name.as_str(), organisation.domain.as_deref()), ("Acme", Some("acme.test")));
        assert_eq!(record.source_updated_at.unwrap().timestamp_millis(), 1_700_000_000_000);
    }

    #[test]
    fn only_an_answer_that_carries_associations_takes_a_record_out_of_its_account() {
        let tickets = OBJECTS.iter().find(|object| object.object == "tickets").unwrap();
        let ticket = json!({"id": "9", "properties": {"subject": "Printer on fire", "hs_pipeline_stage": "1"}});
        let unknown = map_object(tickets, &ticket, CompanyLink::Unknown, None, "order").unwrap();
        assert!(unknown.account_unknown && unknown.account_ref.is_none());
        let gone = map_object(tickets, &ticket, CompanyLink::None, None, "order").unwrap();
        assert!(!gone.account_unknown && gone.account_ref.is_none());
        let answers = HashMap::from([("9".to_owned(), "77".to_owned())]);
        assert_eq!(CompanyLink::from_answer(&answers, "9", false), CompanyLink::Is("77".into()));
        assert_eq!(CompanyLink::from_answer(&answers, "10", false), CompanyLink::Unknown);
        assert_eq!(CompanyLink::from_answer(&answers, "10", true), CompanyLink::None);
    }

    #[test]
    fn a_contact_without_a_name_or_email_is_named_by_its_kind_and_id() {
        let contacts = OBJECTS.iter().find(|object| object.object == "contacts").unwrap();
        let bare = json!({"id": "5", "properties": {"firstname": null, "lastname": " ", "email": null}});
        let record = map_object(contacts, &bare, CompanyLink::None, None, "order").unwrap();
        assert_eq!(record.body.summary().title, "Contact 5");
        // Its primary-company property answers when the association read did not.
        let with_primary = json!({"id": "6", "properties": {"email": "a@b.test", "associatedcompanyid": "77"}});
        let record = map_object(contacts, &with_primary, CompanyLink::Unknown, None, "order").unwrap();
        assert_eq!((record.account_ref.as_deref(), record.account_unknown), (Some("77"), false));
        assert_eq!(record.body.summary().title, "a@b.test");
    }
}
