//! Settings and credentials: one Rust type per kind gives both the JSON Schema
//! (through schemars) and the validation (through serde, with the failing field's
//! path), so they cannot disagree.

use schemars::JsonSchema;
use serde::de::DeserializeOwned;
use serde_json::Value;

/// A setting that is missing or wrong, with where and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{path}: {reason}")]
pub struct SettingsError {
    /// A JSON-Pointer-like path (`settings.base_url`, `streams[2].pagination.kind`).
    pub path: String,
    pub reason: String,
}

impl SettingsError {
    pub fn new(path: impl Into<String>, reason: impl Into<String>) -> Self {
        Self { path: path.into(), reason: reason.into() }
    }
}

/// Parses `value` as `T`; an error names the path under `root` that failed.
pub fn parse<T: DeserializeOwned>(root: &str, value: &Value) -> Result<T, SettingsError> {
    serde_path_to_error::deserialize(value).map_err(|error| {
        let inner = error.path().to_string();
        let path = if inner == "." { root.to_owned() } else { format!("{root}.{inner}") };
        SettingsError::new(path, strip_position(&error.inner().to_string()))
    })
}

/// The schema of `T`, as JSON.
pub fn schema_of<T: JsonSchema>() -> Value {
    serde_json::to_value(schemars::schema_for!(T)).expect("schemas serialize")
}

/// serde_json appends "at line 1 column 12", meaningless for a value built in memory.
fn strip_position(message: &str) -> String {
    match message.find(" at line ") {
        Some(index) => message[..index].to_owned(),
        None => message.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, serde::Deserialize, JsonSchema)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Example {
        base_url: url::Url,
        pages: Vec<Inner>,
    }

    #[derive(Debug, serde::Deserialize, JsonSchema)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Inner {
        size: u32,
    }

    #[test]
    fn errors_name_the_failing_path() {
        let error = parse::<Example>("settings", &serde_json::json!({"base_url": "x"})).unwrap_err();
        assert_eq!(error.path, "settings.base_url");
        let value = serde_json::json!({"base_url": "https://a.test", "pages": [{"size": 1}, {"size": "big"}]});
        let error = parse::<Example>("settings", &value).unwrap_err();
        assert_eq!(error.path, "settings.pages[1].size");
        assert!(error.reason.contains("invalid type"), "{}", error.reason);
    }

    #[test]
    fn schema_lists_required_fields() {
        let schema = schema_of::<Example>();
        assert_eq!(schema["required"], serde_json::json!(["base_url", "pages"]));
    }
}
