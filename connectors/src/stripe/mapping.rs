//! Stripe objects into the common model, as Stripe's API reference documents them.

use chrono::{DateTime, Utc};
use serde_json::Value;

use crate::error::ConnectorError;
use crate::json::{i64_at, id_at, required_str, str_at, string_at, unix_at};
use crate::model::{CommonRecord, Contact, Invoice, InvoiceLine, Payment, Record, Subscription};

/// Maps one object of type `object` (`customer`, `invoice`, `charge`, `subscription`).
/// `changed_at` is the time of the event that carried it, when it came from one.
pub fn map_object(object: &str, value: &Value, changed_at: Option<DateTime<Utc>>) -> Result<Record, ConnectorError> {
    let external_id = required_str(value, "/id")?.to_owned();
    let (account_ref, body) = match object {
        "customer" => (Some(external_id.clone()), CommonRecord::Contact(customer(value))),
        "invoice" => (id_at(value, "/customer"), CommonRecord::Invoice(invoice(value)?)),
        "charge" => (id_at(value, "/customer"), CommonRecord::Payment(charge(value)?)),
        "subscription" => (id_at(value, "/customer"), CommonRecord::Subscription(subscription(value))),
        other => return Err(ConnectorError::permanent(format!("Stripe object {other} is not synced"))),
    };
    // A payment belongs to the invoice it paid (the invoice's detail lists it).
    let parent_external_id = match object {
        "charge" => id_at(value, "/invoice"),
        _ => None,
    };
    Ok(Record {
        external_id,
        account_ref,
        account_unknown: false,
        parent_external_id,
        source_updated_at: changed_at,
        body,
        raw: value.clone(),
    })
}

fn customer(value: &Value) -> Contact {
    Contact {
        name: string_at(value, "/name")
            .or_else(|| string_at(value, "/email"))
            .or_else(|| string_at(value, "/id").map(|id| format!("Customer {id}")))
            .unwrap_or_else(|| "Customer".to_owned()),
        kind: "customer".to_owned(),
        email: string_at(value, "/email"),
        phone: string_at(value, "/phone"),
        company: string_at(value, "/description"),
    }
}

fn currency(value: &Value) -> Result<String, ConnectorError> {
    Ok(required_str(value, "/currency")?.to_ascii_uppercase())
}

fn invoice(value: &Value) -> Result<Invoice, ConnectorError> {
    let total = i64_at(value, "/total").unwrap_or(0);
    let subtotal = i64_at(value, "/subtotal").unwrap_or(total);
    // `tax` was replaced by `total_taxes` in newer API versions; either may be absent.
    let tax = i64_at(value, "/tax").or_else(|| {
        value
            .get("total_taxes")
            .and_then(Value::as_array)
            .map(|taxes| taxes.iter().filter_map(|tax| i64_at(tax, "/amount")).sum())
    });
    let lines = value.pointer("/lines/data").and_then(Value::as_array).map(Vec::as_slice).unwrap_or_default();
    Ok(Invoice {
        number: string_at(value, "/number").or_else(|| string_at(value, "/id")).unwrap_or_default(),
        status: string_at(value, "/status").unwrap_or_else(|| "draft".to_owned()),
        currency: currency(value)?,
        subtotal_minor: subtotal,
        tax_minor: tax.unwrap_or(total - subtotal),
        total_minor: total,
        amount_paid_minor: i64_at(value, "/amount_paid").unwrap_or(0),
        amount_due_minor: i64_at(value, "/amount_due").unwrap_or(0),
        issued_at: unix_at(value, "/status_transitions/finalized_at").or_else(|| unix_at(value, "/created")),
        due_at: unix_at(value, "/due_date"),
        paid_at: unix_at(value, "/status_transitions/paid_at"),
        hosted_url: string_at(value, "/hosted_invoice_url"),
        pdf_url: string_at(value, "/invoice_pdf"),
        line_items: lines.iter().map(invoice_line).collect(),
    })
}

fn invoice_line(line: &Value) -> InvoiceLine {
    let quantity = i64_at(line, "/quantity").unwrap_or(1);
    InvoiceLine {
        description: string_at(line, "/description").unwrap_or_default(),
        quantity,
        unit_amount_minor: i64_at(line, "/price/unit_amount")
            .or_else(|| i64_at(line, "/pricing/unit_amount_decimal"))
            .or_else(|| i64_at(line, "/unit_amount_excluding_tax")),
        amount_minor: i64_at(line, "/amount").unwrap_or(0),
    }
}

fn charge(value: &Value) -> Result<Payment, ConnectorError> {
    let status = string_at(value, "/status").unwrap_or_else(|| "pending".to_owned());
    let refunded = value["refunded"].as_bool().unwrap_or(false);
    Ok(Payment {
        status: if refunded { "refunded".to_owned() } else { status },
        currency: currency(value)?,
        amount_minor: i64_at(value, "/amount").unwrap_or(0),
        description: string_at(value, "/description"),
        method: str_at(value, "/payment_method_details/type").map(str::to_owned),
        invoice_external_id: id_at(value, "/invoice"),
        paid_at: unix_at(value, "/created"),
    })
}

fn subscription(value: &Value) -> Subscription {
    let items = value.pointer("/items/data").and_then(Value::as_array).map(Vec::as_slice).unwrap_or_default();
    // A period's price is every item's; unknown if any item's price is (metered usage).
    let amount: Option<i64> = items
        .iter()
        .map(|item| Some(i64_at(item, "/price/unit_amount")? * i64_at(item, "/quantity").unwrap_or(1)))
        .sum();
    let first_item = items.first();
    let plan = string_at(value, "/description")
        .or_else(|| first_item.and_then(|item| string_at(item, "/price/nickname")))
        .or_else(|| first_item.and_then(|item| id_at(item, "/price/product")))
        .unwrap_or_else(|| "Subscription".to_owned());
    // Newer API versions moved the period onto each item.
    let current_period_end = unix_at(value, "/current_period_end")
        .or_else(|| first_item.and_then(|item| unix_at(item, "/current_period_end")));
    Subscription {
        plan,
        status: string_at(value, "/status").unwrap_or_else(|| "incomplete".to_owned()),
        amount_minor: amount,
        currency: first_item
            .and_then(|item| str_at(item, "/price/currency"))
            .or_else(|| str_at(value, "/currency"))
            .map(str::to_ascii_uppercase),
        interval: first_item.and_then(|item| string_at(item, "/price/recurring/interval")),
        interval_count: first_item.and_then(|item| i64_at(item, "/price/recurring/interval_count")),
        started_at: unix_at(value, "/start_date").or_else(|| unix_at(value, "/created")),
        current_period_end,
        cancel_at_period_end: value["cancel_at_period_end"].as_bool().unwrap_or(false),
        canceled_at: unix_at(value, "/canceled_at"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn an_invoice_maps_with_its_lines_and_customer() {
        // Shape from Stripe's API reference ("The Invoice object").
        let invoice = json!({
            "id": "in_1MtHbELkdIwHu7ixl4OzzPMv", "object": "invoice", "customer": "cus_NeZwdNtLEOXuvB",
            "number": "EB2E-0001", "status": "open", "currency": "usd", "subtotal": 1500, "tax": 300,
            "total": 1800, "amount_paid": 0, "amount_due": 1800, "created": 1680644467, "due_date": 1683236467,
            "status_transitions": {"finalized_at": 1680644500, "paid_at": null},
            "hosted_invoice_url": "https://invoice.stripe.com/i/acct_1/test", "invoice_pdf": "https://pay.stripe.com/invoice/acct_1/test/pdf",
            "lines": {"object": "list", "data": [
                {"id": "il_1", "description": "2 × Widget", "quantity": 2, "amount": 1500, "price": {"unit_amount": 750}}
            ], "has_more": false}
        });
        let record = map_object("invoice", &invoice, None).unwrap();
        assert_eq!(record.account_ref.as_deref(), Some("cus_NeZwdNtLEOXuvB"));
        let CommonRecord::Invoice(mapped) = &record.body else { panic!("not an invoice") };
        assert_eq!(mapped.number, "EB2E-0001");
        assert_eq!(mapped.currency, "USD");
        assert_eq!((mapped.subtotal_minor, mapped.tax_minor, mapped.total_minor), (1500, 300, 1800));
        assert_eq!(mapped.issued_at.unwrap().timestamp(), 1680644500);
        assert_eq!(mapped.line_items[0].unit_amount_minor, Some(750));
        assert_eq!(mapped.line_items[0].quantity, 2);
        assert_eq!(record.raw, invoice, "the raw payload is kept as received");
    }

    #[test]
    fn expanded_customers_and_refunds_map() {
        let charge = json!({"id": "ch_1", "object": "charge", "customer": {"id": "cus_9", "object": "customer"},
            "amount": 500, "currency": "eur", "status": "succeeded", "refunded": true, "created": 1680000000,
            "payment_method_details": {"type": "card"}});
        let record = map_object("charge", &charge, None).unwrap();
        assert_eq!(record.account_ref.as_deref(), Some("cus_9"));
        let CommonRecord::Payment(payment) = record.body else { panic!("not a payment") };
        assert_eq!(payment.status, "refunded");
        assert_eq!(payment.method.as_deref(), Some("card"));
    }

    #[test]
    fn a_subscription_maps_with_its_price_and_renewal() {
        // Shape from Stripe's API reference ("The Subscription object"), trimmed.
        let subscription = json!({
            "id": "sub_1MowQVLkdIwHu7ixeRlqHVzs", "object": "subscription", "customer": "cus_Na6dX7aXxi11N4",
            "status": "active", "cancel_at_period_end": true, "canceled_at": null, "created": 1679609767,
            "start_date": 1679609767, "description": null, "currency": "usd",
            "items": {"object": "list", "data": [{
                "id": "si_1", "object": "subscription_item", "quantity": 2, "current_period_end": 1682288167,
                "price": {"id": "price_1", "nickname": "Pro", "unit_amount": 1500, "currency": "usd",
                          "product": "prod_1", "recurring": {"interval": "month", "interval_count": 1}}
            }]}
        });
        let record = map_object("subscription", &subscription, None).unwrap();
        assert_eq!(record.account_ref.as_deref(), Some("cus_Na6dX7aXxi11N4"));
        let CommonRecord::Subscription(mapped) = &record.body else { panic!("not a subscription") };
        assert_eq!(mapped.plan, "Pro");
        assert_eq!((mapped.amount_minor, mapped.currency.as_deref()), (Some(3000), Some("USD")));
        assert_eq!((mapped.interval.as_deref(), mapped.interval_count), (Some("month"), Some(1)));
        assert_eq!(mapped.current_period_end.unwrap().timestamp(), 1682288167, "read from the item");
        assert!(mapped.cancel_at_period_end);
        assert_eq!(record.body.summary().due_at, mapped.current_period_end, "lists filter on the renewal");
    }

    #[test]
    fn an_object_without_an_id_is_refused() {
        assert!(map_object("invoice", &json!({"currency": "usd"}), None).is_err());
    }
}
