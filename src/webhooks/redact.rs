//! What an admin may read of a stored delivery: signatures and credentials are
//! never shown, and personal data in a JSON body is masked. What remains (event
//! type, object ids, statuses, amounts, times) is what debugging a mapping needs.

use serde_json::Value;

pub const REDACTED: &str = "[redacted]";

/// Header names (lower case) shown masked whatever the scheme.
fn is_secret_header(name: &str) -> bool {
    ["signature", "token", "secret", "auth", "key", "cookie"].iter().any(|part| name.contains(part))
}

/// Keys whose values are personal or secret, matched without case on the whole
/// key or its last `_`-separated word (`billing_email`, `customer_name`).
const PERSONAL_KEYS: &[&str] = &[
    "email",
    "phone",
    "name",
    "firstname",
    "lastname",
    "address",
    "line1",
    "line2",
    "city",
    "postal",
    "zip",
    "ip",
    "birthday",
    "dob",
    "ssn",
    "tax",
    "iban",
    "number",
    "last4",
    "fingerprint",
    "password",
    "secret",
    "token",
    "key",
    "signature",
    "description",
    "shipping",
    "billing",
    "mobile",
    "fax",
];

fn is_personal_key(key: &str) -> bool {
    let key = key.to_ascii_lowercase();
    let last_word = key.rsplit(['_', '-']).next().unwrap_or(&key);
    let compact: String = key.chars().filter(|c| c.is_ascii_alphanumeric()).collect();
    PERSONAL_KEYS.iter().any(|personal| key == *personal || last_word == *personal || compact == *personal)
}

pub fn redact_headers(headers: &Value, signature_headers: &[String]) -> Value {
    let Some(map) = headers.as_object() else { return Value::Object(Default::default()) };
    map.iter()
        .map(|(name, value)| {
            let name_lower = name.to_ascii_lowercase();
            let masked = signature_headers.contains(&name_lower) || is_secret_header(&name_lower);
            (name.clone(), if masked { Value::String(REDACTED.into()) } else { value.clone() })
        })
        .collect::<serde_json::Map<_, _>>()
        .into()
}

/// The body as JSON with personal values masked (structure kept: a masked object
/// or list becomes the marker), or `None` when the body is not JSON.
pub fn redact_body(body: &[u8]) -> Option<Value> {
    let mut value: Value = serde_json::from_slice(body).ok()?;
    redact_value(&mut value);
    Some(value)
}

fn redact_value(value: &mut Value) {
    match value {
        Value::Object(map) => {
            for (key, child) in map.iter_mut() {
                if is_personal_key(key) && !child.is_null() {
                    *child = Value::String(REDACTED.into());
                } else {
                    redact_value(child);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(redact_value),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn signatures_and_credentials_are_masked_and_the_rest_kept() {
        let headers = json!({"stripe-signature": "t=1,v1=abc", "x-api-key": "k", "content-type": "application/json",
            "x-custom-sig": "zzz"});
        let shown = redact_headers(&headers, &["stripe-signature".into(), "x-custom-sig".into()]);
        assert_eq!(shown["stripe-signature"], REDACTED);
        assert_eq!(shown["x-api-key"], REDACTED);
        assert_eq!(shown["x-custom-sig"], REDACTED);
        assert_eq!(shown["content-type"], "application/json");
    }

    #[test]
    fn personal_values_in_the_body_are_masked() {
        let body = json!({"id": "evt_1", "type": "customer.updated", "data": {"object": {
            "id": "cus_1", "email": "ada@example.com", "name": "Ada", "billing_address": {"line1": "1 Road"},
            "phone": null, "status": "active", "amount_due": 500, "items": [{"customer_email": "x@y.z", "qty": 1}]}}});
        let shown = redact_body(body.to_string().as_bytes()).unwrap();
        let object = &shown["data"]["object"];
        assert_eq!(object["id"], "cus_1");
        assert_eq!(object["email"], REDACTED);
        assert_eq!(object["name"], REDACTED);
        assert_eq!(object["billing_address"], REDACTED);
        assert_eq!(object["phone"], Value::Null);
        assert_eq!(object["status"], "active");
        assert_eq!(object["amount_due"], 500);
        assert_eq!(object["items"][0]["customer_email"], REDACTED);
        assert_eq!(object["items"][0]["qty"], 1);
        assert_eq!(shown["type"], "customer.updated");
        assert!(redact_body(b"\xff\x00 not json").is_none());
    }
}
