//! Turning a connector's record into what the store writes.
//!
//! The content hash ([`PreparedRecord::hash_of`]) covers the mapped record, the raw
//! payload and the account key: anything that changes what a customer could see or
//! what history should keep. Unchanged records are then recognised without
//! comparing payloads.

use portico_connectors::Record;

use crate::core::text;
use crate::store::PreparedRecord;

/// Every text an upstream sent is made storable first ([`text::storable`]), so a
/// NUL in a payload is the same replacement character on both engines and in
/// the content hash, never a failed write.
pub fn prepare(record: Record) -> PreparedRecord {
    let record_type = record.record_type().as_str();
    let data = serde_json::value::to_raw_value(&record.body).expect("common-model records serialize");
    let data = text::storable_json(data);
    let raw = text::storable_json(serde_json::value::to_raw_value(&record.raw).expect("JSON values serialize"));
    let account_ref = record.account_ref.map(text::storable);
    let parent_external_id = record.parent_external_id.map(text::storable);
    let content_hash = PreparedRecord::hash_of(&data, &raw, account_ref.as_deref(), parent_external_id.as_deref());
    let summary = record.body.summary();
    PreparedRecord {
        record_type,
        title: text::storable(summary.title.to_owned()),
        status: summary.status.map(|status| text::storable(status.to_owned())),
        amount_minor: summary.amount_minor,
        currency: summary.currency.map(|currency| text::storable(currency.to_owned())),
        occurred_at: summary.occurred_at,
        due_at: summary.due_at,
        external_id: text::storable(record.external_id),
        account_ref,
        account_unknown: record.account_unknown,
        parent_external_id,
        data,
        raw,
        content_hash,
        source_updated_at: record.source_updated_at,
    }
}

#[cfg(test)]
mod tests {
    use portico_connectors::model::{CommonRecord, Contact};
    use serde_json::json;

    use super::*;

    fn contact(name: &str, raw: serde_json::Value) -> Record {
        Record {
            external_id: "c1".into(),
            account_ref: Some("cus_1".into()),
            account_unknown: false,
            parent_external_id: None,
            source_updated_at: None,
            body: CommonRecord::Contact(Contact {
                name: name.into(),
                kind: "customer".into(),
                email: None,
                phone: None,
                company: None,
            }),
            raw,
        }
    }

    #[test]
    fn the_hash_changes_with_the_content_and_only_then() {
        let first = prepare(contact("Ada", json!({"name": "Ada"})));
        let same = prepare(contact("Ada", json!({"name": "Ada"})));
        let renamed = prepare(contact("Ada L.", json!({"name": "Ada"})));
        let raw_changed = prepare(contact("Ada", json!({"name": "Ada", "phone": "1"})));
        assert_eq!(first.content_hash, same.content_hash);
        assert_ne!(first.content_hash, renamed.content_hash);
        assert_ne!(first.content_hash, raw_changed.content_hash);
        assert_eq!(first.record_type, "contact");
        assert_eq!(first.title, "Ada");
    }
}
