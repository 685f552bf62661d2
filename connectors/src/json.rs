//! Small readers for upstream JSON, for mappings that take what they need from a
//! payload without modelling every field the upstream sends.

use chrono::{DateTime, Utc};
use serde_json::Value;

use crate::error::ConnectorError;

pub fn str_at<'a>(value: &'a Value, pointer: &str) -> Option<&'a str> {
    value.pointer(pointer).and_then(Value::as_str)
}

pub fn string_at(value: &Value, pointer: &str) -> Option<String> {
    match value.pointer(pointer)? {
        Value::String(text) if !text.is_empty() => Some(text.clone()),
        Value::Number(number) => Some(number.to_string()),
        _ => None,
    }
}

pub fn required_str<'a>(value: &'a Value, pointer: &str) -> Result<&'a str, ConnectorError> {
    str_at(value, pointer).ok_or_else(|| ConnectorError::permanent(format!("upstream object lacks {pointer}")))
}

pub fn i64_at(value: &Value, pointer: &str) -> Option<i64> {
    match value.pointer(pointer)? {
        Value::Number(number) => number.as_i64().or_else(|| number.as_f64().map(|float| float.round() as i64)),
        Value::String(text) => text.parse().ok(),
        _ => None,
    }
}

/// A Unix timestamp in seconds.
pub fn unix_at(value: &Value, pointer: &str) -> Option<DateTime<Utc>> {
    i64_at(value, pointer).and_then(|seconds| DateTime::from_timestamp(seconds, 0))
}

/// An RFC 3339 time, or milliseconds since the epoch (both appear in CRM APIs).
pub fn time_at(value: &Value, pointer: &str) -> Option<DateTime<Utc>> {
    match value.pointer(pointer)? {
        Value::String(text) => DateTime::parse_from_rfc3339(text)
            .map(|time| time.with_timezone(&Utc))
            .ok()
            .or_else(|| text.parse::<i64>().ok().and_then(DateTime::from_timestamp_millis)),
        Value::Number(number) => number.as_i64().and_then(DateTime::from_timestamp_millis),
        _ => None,
    }
}

/// An id field that may be a plain id or an expanded object with an `id`.
pub fn id_at(value: &Value, pointer: &str) -> Option<String> {
    match value.pointer(pointer)? {
        Value::String(id) => Some(id.clone()),
        Value::Object(object) => object.get("id").and_then(Value::as_str).map(str::to_owned),
        _ => None,
    }
}
