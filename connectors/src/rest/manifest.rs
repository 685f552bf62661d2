//! The declarative REST manifest: everything needed to sync a REST source, as YAML.
//! See `connectors/manifests/` for examples and `connectors/README.md` for the format.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::Value;
use url::Url;

use crate::model::RecordType;
use crate::settings::SettingsError;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    /// Shown to admins.
    pub name: String,
    pub base_url: Url,
    #[serde(default)]
    pub auth: Auth,
    /// Headers that tell how much of the rate limit is left.
    #[serde(default)]
    pub rate_limit: Option<RateLimitHeaders>,
    /// Added to every request.
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    pub streams: Vec<Stream>,
    /// What the source's webhooks carry, when it sends them.
    #[serde(default)]
    pub webhooks: Option<Webhooks>,
    /// Write-backs the source takes, by operation ([`ACTIONS`] names them).
    #[serde(default)]
    pub actions: BTreeMap<String, Action>,
}

/// The write-back operations a manifest may declare, and the record type each changes.
pub const ACTIONS: &[(&str, RecordType)] =
    &[("complete_task", RecordType::Task), ("approve_task", RecordType::Task), ("decline_task", RecordType::Task)];

/// One write-back: a request about one record of `stream`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Action {
    /// The stream whose records it changes; an answer is mapped with its fields.
    pub stream: String,
    #[serde(default)]
    pub method: ActionMethod,
    /// Under `base_url`, with `{id}` for the record's upstream id (`/tasks/{id}`).
    pub path: String,
    /// Sent as the JSON body, as given (`{state: done}`).
    #[serde(default)]
    pub body: Option<Value>,
    /// Where in the body the person's comment goes (a decision's reason), as a
    /// JSON Pointer (`/decision_note`); without it the comment stays here.
    #[serde(default)]
    pub comment_field: Option<String>,
    /// Pointer to the changed object in the answer (`""`: the whole body). Without
    /// it the answer is not read, and the change shows with the next sync.
    #[serde(default)]
    pub result_selector: Option<String>,
}

#[derive(Debug, Clone, Copy, Default, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum ActionMethod {
    Post,
    Put,
    #[default]
    Patch,
}

/// How a delivery's body becomes record changes: each event goes to the first
/// rule whose `when` matches; events no rule matches change nothing.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Webhooks {
    /// JSON Pointer to an array of events in the body; by default the body is one
    /// event (or, if it is an array, a list of them).
    #[serde(default)]
    pub events_selector: Option<String>,
    pub events: Vec<EventRule>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EventRule {
    /// Matches every event when absent.
    #[serde(default)]
    pub when: Option<EventMatch>,
    pub stream: String,
    /// Pointer to the object inside the event, mapped with the stream's fields.
    #[serde(default)]
    pub record: Option<String>,
    /// Pointer to the id of an object the event deletes.
    #[serde(default)]
    pub delete: Option<String>,
    /// Pointer to the id of an object to fetch (the stream's `item_path`).
    #[serde(default)]
    pub fetch: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EventMatch {
    pub pointer: String,
    #[serde(default)]
    pub equals: Option<String>,
    #[serde(default)]
    pub prefix: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum Auth {
    #[default]
    None,
    /// `Authorization: Bearer <credentials.token>`.
    Bearer,
    /// `credentials.api_key` in a header or a query parameter.
    ApiKey {
        #[serde(default)]
        header: Option<String>,
        #[serde(default)]
        query: Option<String>,
    },
    /// `credentials.username` and `credentials.password`.
    Basic,
    /// OAuth 2.0 client credentials (`credentials.client_id`, `credentials.client_secret`);
    /// the token is fetched, cached until it expires, and refreshed on a 401.
    Oauth2ClientCredentials {
        token_url: Url,
        #[serde(default)]
        scopes: Vec<String>,
    },
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RateLimitHeaders {
    /// Requests left in the window; at 0 the budget waits for the reset.
    pub remaining: String,
    /// Seconds until the window resets (or a Unix time, with `reset_is_epoch`).
    pub reset: String,
    #[serde(default)]
    pub reset_is_epoch: bool,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Stream {
    pub name: String,
    /// Appended to `base_url`.
    pub path: String,
    #[serde(default)]
    pub query: BTreeMap<String, String>,
    /// JSON Pointer to the array of records in a response (`""` for a bare array).
    #[serde(default)]
    pub record_selector: String,
    #[serde(default)]
    pub pagination: Pagination,
    #[serde(default)]
    pub incremental: Option<Incremental>,
    pub record_type: RecordType,
    /// Common-model field → where its value is in a record.
    pub fields: BTreeMap<String, Field>,
    /// One object by id (`/tasks/{id}`), for webhooks that only name what changed.
    #[serde(default)]
    pub item_path: Option<String>,
    /// Pointer to the object in that answer (`""`, the default: the whole body).
    #[serde(default)]
    pub item_selector: String,
    /// For documents: where one's bytes are (`/documents/{id}/content`), so
    /// downloads stream from the source through Portico.
    #[serde(default)]
    pub download_path: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum Pagination {
    /// One request returns everything.
    #[default]
    None,
    /// The response names the next cursor; it goes back in `cursor_param`.
    Cursor {
        cursor_param: String,
        next_cursor: String,
        #[serde(default)]
        limit_param: Option<String>,
        #[serde(default)]
        limit: Option<u32>,
    },
    /// `offset_param` advances by the records received, `limit` at a time.
    Offset { offset_param: String, limit_param: String, limit: u32 },
    /// `page_param` counts pages from `first_page`.
    PageNumber {
        page_param: String,
        #[serde(default)]
        size_param: Option<String>,
        size: u32,
        #[serde(default = "one")]
        first_page: u32,
    },
    /// RFC 8288 `Link: <...>; rel="next"` headers (same origin only).
    Link {
        #[serde(default)]
        limit_param: Option<String>,
        #[serde(default)]
        limit: Option<u32>,
    },
}

fn one() -> u32 {
    1
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Incremental {
    /// JSON Pointer to the field that grows with each change (an update time).
    pub cursor_field: String,
    /// The query parameter that asks for records changed since a value.
    pub query_param: String,
}

/// Where a common-model field's value comes from.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum Field {
    /// A JSON Pointer into the record.
    Pointer(String),
    Spec(FieldSpec),
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FieldSpec {
    #[serde(default)]
    pub pointer: Option<String>,
    /// A constant instead of a pointer.
    #[serde(default)]
    pub value: Option<Value>,
    /// Multiply a number by this (12.50 with scale 100 becomes 1250 cents).
    #[serde(default)]
    pub scale: Option<f64>,
    /// Used when the pointer finds nothing.
    #[serde(default)]
    pub default: Option<Value>,
}

/// Fields every stream maps, and those each record type needs.
const RECORD_FIELDS: &[&str] = &["external_id", "account_ref", "parent_external_id", "source_updated_at"];

fn required_fields(record_type: RecordType) -> &'static [&'static str] {
    match record_type {
        RecordType::Contact => &["name"],
        RecordType::Organisation => &["name"],
        RecordType::Invoice => &["number", "status", "currency", "total_minor"],
        RecordType::Payment => &["status", "currency", "amount_minor"],
        RecordType::Document => &["name", "storage_key"],
        RecordType::Ticket => &["subject", "status"],
        RecordType::TicketMessage => &["author_name", "body", "posted_at"],
        RecordType::Order => &["title", "status"],
        RecordType::Subscription => &["plan", "status"],
        RecordType::Task => &["title", "status"],
    }
}

fn check_pointer(path: &str, pointer: &str) -> Result<(), SettingsError> {
    if pointer.is_empty() || pointer.starts_with('/') {
        Ok(())
    } else {
        Err(SettingsError::new(path, format!("`{pointer}` is not a JSON Pointer (it must start with /)")))
    }
}

impl Manifest {
    /// Parses and checks a manifest; errors name the path inside it (under `root`).
    pub fn parse(root: &str, yaml: &str) -> Result<Self, SettingsError> {
        let deserializer = serde_yaml_ng::Deserializer::from_str(yaml);
        let manifest: Manifest = serde_path_to_error::deserialize(deserializer).map_err(|error| {
            let inner = error.path().to_string();
            let path = if inner == "." { root.to_owned() } else { format!("{root}.{inner}") };
            let reason = error.inner().to_string();
            // serde_yaml_ng's message repeats the path and appends a position.
            let reason = reason.strip_prefix(&format!("{inner}: ")).unwrap_or(&reason);
            let reason = reason.split(" at line ").next().unwrap_or(reason);
            // The position, in words a person finds in the YAML they typed.
            let reason = match error.inner().location() {
                Some(location) => format!("line {}: {reason}", location.line()),
                None => reason.to_owned(),
            };
            SettingsError::new(path, reason)
        })?;
        manifest.check(root)?;
        Ok(manifest)
    }

    fn check(&self, root: &str) -> Result<(), SettingsError> {
        if !matches!(self.base_url.scheme(), "http" | "https") {
            return Err(SettingsError::new(format!("{root}.base_url"), "must be an http or https URL"));
        }
        if let Auth::ApiKey { header: None, query: None } = &self.auth {
            return Err(SettingsError::new(format!("{root}.auth"), "api_key needs `header` or `query`"));
        }
        if self.streams.is_empty() {
            return Err(SettingsError::new(format!("{root}.streams"), "must list at least one stream"));
        }
        for (index, stream) in self.streams.iter().enumerate() {
            let at = |field: &str| format!("{root}.streams[{index}].{field}");
            if stream.name.is_empty() || self.streams[..index].iter().any(|other| other.name == stream.name) {
                return Err(SettingsError::new(at("name"), "must be present and unique"));
            }
            if !stream.path.starts_with('/') {
                return Err(SettingsError::new(at("path"), "must start with /"));
            }
            check_pointer(&at("record_selector"), &stream.record_selector)?;
            if let Pagination::Cursor { next_cursor, .. } = &stream.pagination {
                check_pointer(&at("pagination.next_cursor"), next_cursor)?;
            }
            if let Some(incremental) = &stream.incremental {
                check_pointer(&at("incremental.cursor_field"), &incremental.cursor_field)?;
            }
            let allowed = model_fields(stream.record_type);
            for (name, field) in &stream.fields {
                let path = at(&format!("fields.{name}"));
                if !RECORD_FIELDS.contains(&name.as_str()) && !allowed.contains(&name.as_str()) {
                    return Err(SettingsError::new(
                        path,
                        format!("{} has no field {name}", stream.record_type.as_str()),
                    ));
                }
                match field {
                    Field::Pointer(pointer) => check_pointer(&path, pointer)?,
                    Field::Spec(spec) => {
                        if let Some(pointer) = &spec.pointer {
                            check_pointer(&format!("{path}.pointer"), pointer)?;
                        } else if spec.value.is_none() {
                            return Err(SettingsError::new(path, "needs a pointer or a value"));
                        }
                    }
                }
            }
            for required in ["external_id"].iter().chain(required_fields(stream.record_type)) {
                if !stream.fields.contains_key(*required) {
                    return Err(SettingsError::new(at("fields"), format!("must map {required}")));
                }
            }
            if let Some(item_path) = &stream.item_path
                && !(item_path.starts_with('/') && item_path.contains("{id}"))
            {
                return Err(SettingsError::new(at("item_path"), "must start with / and contain {id}"));
            }
            check_pointer(&at("item_selector"), &stream.item_selector)?;
            if let Some(download_path) = &stream.download_path {
                if stream.record_type != RecordType::Document {
                    return Err(SettingsError::new(at("download_path"), "only document streams have files"));
                }
                if !(download_path.starts_with('/') && download_path.contains("{id}")) {
                    return Err(SettingsError::new(at("download_path"), "must start with / and contain {id}"));
                }
            }
        }
        if let Some(webhooks) = &self.webhooks {
            self.check_webhooks(&format!("{root}.webhooks"), webhooks)?;
        }
        for (name, action) in &self.actions {
            self.check_action(&format!("{root}.actions.{name}"), name, action)?;
        }
        Ok(())
    }

    fn check_action(&self, root: &str, name: &str, action: &Action) -> Result<(), SettingsError> {
        let Some((_, record_type)) = ACTIONS.iter().find(|(known, _)| *known == name) else {
            let known: Vec<&str> = ACTIONS.iter().map(|(known, _)| *known).collect();
            return Err(SettingsError::new(root, format!("unknown action; known: {}", known.join(", "))));
        };
        let Some(stream) = self.streams.iter().find(|stream| stream.name == action.stream) else {
            return Err(SettingsError::new(format!("{root}.stream"), format!("no stream is named {}", action.stream)));
        };
        if stream.record_type != *record_type {
            return Err(SettingsError::new(
                format!("{root}.stream"),
                format!(
                    "{name} changes {} records; {} has {}",
                    record_type.as_str(),
                    stream.name,
                    stream.record_type.as_str()
                ),
            ));
        }
        if !(action.path.starts_with('/') && action.path.contains("{id}")) {
            return Err(SettingsError::new(format!("{root}.path"), "must start with / and contain {id}"));
        }
        if let Some(selector) = &action.result_selector {
            check_pointer(&format!("{root}.result_selector"), selector)?;
        }
        if let Some(field) = &action.comment_field {
            let at = format!("{root}.comment_field");
            check_pointer(&at, field)?;
            if field.is_empty() {
                return Err(SettingsError::new(at, "must name a field of the body, not the whole body"));
            }
            if action.body.as_ref().is_some_and(|body| !body.is_object()) {
                return Err(SettingsError::new(format!("{root}.body"), "must be an object to carry the comment"));
            }
        }
        Ok(())
    }

    fn check_webhooks(&self, root: &str, webhooks: &Webhooks) -> Result<(), SettingsError> {
        if let Some(selector) = &webhooks.events_selector {
            check_pointer(&format!("{root}.events_selector"), selector)?;
        }
        if webhooks.events.is_empty() {
            return Err(SettingsError::new(format!("{root}.events"), "must list at least one rule"));
        }
        for (index, rule) in webhooks.events.iter().enumerate() {
            let at = |field: &str| format!("{root}.events[{index}].{field}");
            let Some(stream) = self.streams.iter().find(|stream| stream.name == rule.stream) else {
                return Err(SettingsError::new(at("stream"), format!("no stream is named {}", rule.stream)));
            };
            if let Some(when) = &rule.when {
                check_pointer(&at("when.pointer"), &when.pointer)?;
                if when.equals.is_some() == when.prefix.is_some() {
                    return Err(SettingsError::new(at("when"), "needs exactly one of `equals` or `prefix`"));
                }
            }
            let actions = [("record", &rule.record), ("delete", &rule.delete), ("fetch", &rule.fetch)];
            let given: Vec<&(&str, &Option<String>)> =
                actions.iter().filter(|(_, pointer)| pointer.is_some()).collect();
            let [(action, Some(pointer))] = given.as_slice() else {
                return Err(SettingsError::new(
                    at("stream"),
                    "a rule needs exactly one of `record`, `delete` or `fetch`",
                ));
            };
            check_pointer(&at(action), pointer)?;
            if *action == "fetch" && stream.item_path.is_none() {
                return Err(SettingsError::new(
                    at("fetch"),
                    format!("stream {} has no item_path to fetch from", stream.name),
                ));
            }
        }
        Ok(())
    }
}

/// The common-model fields of a record type, as the model serializes them.
fn model_fields(record_type: RecordType) -> &'static [&'static str] {
    match record_type {
        RecordType::Contact => &["name", "kind", "email", "phone", "company"],
        RecordType::Organisation => &["name", "domain", "phone"],
        RecordType::Invoice => &[
            "number",
            "status",
            "currency",
            "subtotal_minor",
            "tax_minor",
            "total_minor",
            "amount_paid_minor",
            "amount_due_minor",
            "issued_at",
            "due_at",
            "paid_at",
            "hosted_url",
            "pdf_url",
            // An array of lines in the model's shape (description, quantity, amounts).
            "line_items",
        ],
        RecordType::Payment => {
            &["status", "currency", "amount_minor", "description", "method", "invoice_external_id", "paid_at"]
        }
        RecordType::Document => {
            &["name", "folder", "content_type", "size_bytes", "checksum", "storage_key", "modified_at", "tags"]
        }
        RecordType::Ticket => &["subject", "status", "priority", "description", "opened_at", "closed_at"],
        RecordType::TicketMessage => &["author_name", "author_kind", "body", "posted_at"],
        RecordType::Order => &["kind", "reference", "title", "status", "amount_minor", "currency", "status_changed_at"],
        RecordType::Subscription => &[
            "plan",
            "status",
            "amount_minor",
            "currency",
            "interval",
            "interval_count",
            "started_at",
            "current_period_end",
            "cancel_at_period_end",
            "canceled_at",
        ],
        RecordType::Task => {
            &["title", "status", "kind", "description", "assignee", "due_at", "completed_at", "decision_comment"]
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const VALID: &str = r#"
name: Orders
base_url: https://api.example.test/v1
auth: {type: bearer}
streams:
  - name: orders
    path: /orders
    record_selector: /data
    pagination: {type: cursor, cursor_param: cursor, next_cursor: /next}
    record_type: order
    fields:
      external_id: /id
      title: /name
      status: /state
"#;

    #[test]
    fn a_valid_manifest_parses() {
        let manifest = Manifest::parse("settings.manifest", VALID).unwrap();
        assert_eq!(manifest.streams[0].record_type, RecordType::Order);
    }

    #[test]
    fn a_mistake_in_the_yaml_names_its_line() {
        // VALID starts with an empty line 1: the pagination is on line 9.
        let error = Manifest::parse("settings.manifest", &VALID.replace("type: cursor", "type: scroll")).unwrap_err();
        assert!(error.reason.starts_with("line 9: unknown variant `scroll`"), "{}", error.reason);
    }

    #[test]
    fn mistakes_name_their_path_and_reason() {
        let cases = [
            (VALID.replace("type: cursor", "type: scroll"), "settings.manifest.streams[0].pagination.type"),
            (
                VALID.replace("record_selector: /data", "record_selector: data"),
                "settings.manifest.streams[0].record_selector",
            ),
            (VALID.replace("      status: /state\n", ""), "settings.manifest.streams[0].fields"),
            (VALID.replace("title: /name", "colour: /name"), "settings.manifest.streams[0].fields.colour"),
            (VALID.replace("base_url: https://api.example.test/v1", "base_url: nope"), "settings.manifest.base_url"),
            (VALID.replace("record_type: order", "record_type: spaceship"), "settings.manifest.streams[0].record_type"),
            // Orders have no files to download.
            (format!("{VALID}    download_path: /orders/{{id}}/pdf\n"), "settings.manifest.streams[0].download_path"),
        ];
        for (yaml, path) in cases {
            let error = Manifest::parse("settings.manifest", &yaml).unwrap_err();
            assert_eq!(error.path, path, "{error}");
            assert!(!error.reason.is_empty());
        }
    }

    #[test]
    fn actions_must_be_known_and_fit_their_stream() {
        let with = |action: &str| format!("{VALID}actions:\n{action}");
        let good = with("  complete_task: {stream: tasks, path: \"/tasks/{id}\", body: {state: done}}\n");
        let tasks = VALID.replace("record_type: order", "record_type: task").replace("name: orders", "name: tasks");
        let manifest = Manifest::parse("settings.manifest", &good.replace(VALID, &tasks)).unwrap();
        assert!(matches!(manifest.actions["complete_task"].method, ActionMethod::Patch), "PATCH by default");
        let decisions = with(
            "  approve_task: {stream: tasks, path: \"/tasks/{id}\", body: {state: approved}, comment_field: /note}\n  \
             decline_task: {stream: tasks, path: \"/tasks/{id}\", body: {state: declined}, comment_field: /why/text}\n",
        );
        let manifest = Manifest::parse("settings.manifest", &decisions.replace(VALID, &tasks)).unwrap();
        assert_eq!(manifest.actions["decline_task"].comment_field.as_deref(), Some("/why/text"));
        let cases = [
            (with("  launch_rocket: {stream: orders, path: \"/x/{id}\"}\n"), "settings.manifest.actions.launch_rocket"),
            // An order stream cannot complete tasks.
            (
                with("  complete_task: {stream: orders, path: \"/orders/{id}\"}\n"),
                "settings.manifest.actions.complete_task.stream",
            ),
            (
                good.replace(VALID, &tasks).replace("/tasks/{id}", "/tasks/done"),
                "settings.manifest.actions.complete_task.path",
            ),
            // A comment goes into a field of an object body.
            (
                with("  approve_task: {stream: tasks, path: \"/tasks/{id}\", comment_field: note}\n")
                    .replace(VALID, &tasks),
                "settings.manifest.actions.approve_task.comment_field",
            ),
            (
                with("  decline_task: {stream: tasks, path: \"/tasks/{id}\", body: [no], comment_field: /note}\n")
                    .replace(VALID, &tasks),
                "settings.manifest.actions.decline_task.body",
            ),
        ];
        for (yaml, path) in cases {
            let error = Manifest::parse("settings.manifest", &yaml).unwrap_err();
            assert_eq!(error.path, path, "{error}");
        }
    }
}
