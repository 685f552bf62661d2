//! Forms generated from a connector kind's JSON Schemas (`settings_schema`,
//! `credentials_schema`), and the submitted form turned back into the JSON the
//! API takes.
//!
//! The schemas come from the same Rust types that validate settings (schemars),
//! so a form built here asks for exactly what the connector accepts: objects
//! become fieldsets, `oneOf` objects told apart by a constant tag become a choice
//! with one fieldset per variant, enums become selects, booleans checkboxes,
//! `contentMediaType` strings code fields (a `rest` manifest's YAML), arrays of
//! strings one value per line. Defaults fill new forms; descriptions become hints.
//!
//! Credentials are write-only: their fields are never filled in, and a form that
//! leaves all of them empty keeps what is stored.
//!
//! Field names are paths: `settings.base_url`, `settings.store.bucket`; a
//! variant's fields carry the variant (`settings.store[s3].bucket`) so that two
//! variants may share a property name. Each field also knows the path the API
//! names in its errors (`settings.store.bucket`), to show them at the field.

use std::collections::{BTreeMap, HashMap};

use serde_json::{Map, Number, Value};

/// How a field is drawn.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Widget {
    Text,
    Url,
    Integer,
    Number,
    Checkbox,
    /// The allowed values.
    Select(Vec<String>),
    /// A multi-line text in a language (`yaml`), kept exactly as typed.
    Code(String),
    /// An array of strings, one per line.
    Lines,
    /// Anything the form has no better field for, as JSON.
    Json,
}

#[derive(Debug, Clone)]
pub struct Field {
    /// The form field's name (a path).
    pub name: String,
    /// The element id: the name with everything but letters and digits as `-`.
    pub id: String,
    /// The path the API's errors name.
    pub api_path: String,
    pub label: String,
    pub help: Option<String>,
    pub widget: Widget,
    pub required: bool,
    /// Write-only: drawn empty, never echoed.
    pub secret: bool,
    pub value: String,
    pub error: Option<String>,
}

impl Field {
    pub fn checked(&self) -> bool {
        self.value == "true"
    }

    pub fn is(&self, widget: &str) -> bool {
        matches!(
            (&self.widget, widget),
            (Widget::Text, "text")
                | (Widget::Url, "url")
                | (Widget::Integer, "integer")
                | (Widget::Number, "number")
                | (Widget::Checkbox, "checkbox")
                | (Widget::Select(_), "select")
                | (Widget::Code(_), "code")
                | (Widget::Lines, "lines")
                | (Widget::Json, "json")
        )
    }

    /// The ids of what describes the field (its hint, "kept" note, error).
    /// (Templates hand the flag over by value or by reference.)
    pub fn described_by(&self, secret_kept: impl std::borrow::Borrow<bool>) -> String {
        let secret_kept = *secret_kept.borrow();
        let mut ids = Vec::new();
        if self.help.is_some() {
            ids.push(format!("{}-hint", self.id));
        }
        if self.secret && secret_kept {
            ids.push(format!("{}-kept", self.id));
        }
        if self.error.is_some() {
            ids.push(format!("{}-error", self.id));
        }
        ids.join(" ")
    }

    pub fn options(&self) -> &[String] {
        match &self.widget {
            Widget::Select(options) => options,
            _ => &[],
        }
    }

    /// The lines around a code field's error line, numbered, the failing one marked:
    /// (number, text, is the failing line).
    pub fn error_excerpt(&self) -> Vec<(usize, String, bool)> {
        let Some(line) = self.error.as_deref().and_then(error_line) else { return Vec::new() };
        let first = line.saturating_sub(2).max(1);
        self.value
            .lines()
            .enumerate()
            .map(|(index, text)| (index + 1, text.to_owned(), index + 1 == line))
            .filter(|(number, _, _)| (first..=line + 2).contains(number))
            .collect()
    }
}

/// The line a code field's error names: the API words a manifest's position as
/// `line N: …`.
fn error_line(message: &str) -> Option<usize> {
    let rest = message.strip_prefix("line ")?;
    let (number, _) = rest.split_once(':')?;
    number.parse().ok()
}

/// One part of a generated form, in order: fields, and fieldsets around them.
#[derive(Debug, Clone)]
pub enum Item {
    Field(Field),
    /// A nested object.
    GroupStart {
        legend: String,
        help: Option<String>,
    },
    GroupEnd,
    /// The fields of one variant of a choice (shown when its tag is chosen).
    VariantStart {
        choice_id: String,
        value: String,
        legend: String,
        help: Option<String>,
    },
    VariantEnd,
}

/// A generated form: its items and what they hold.
#[derive(Debug, Clone, Default)]
pub struct SchemaForm {
    pub items: Vec<Item>,
}

impl SchemaForm {
    /// The form for `schema` under `root` (`settings`), filled from `value` (a
    /// stored instance's) or, where it says nothing, from the schema's defaults.
    /// A `secret` form is never filled.
    pub fn build(schema: &Value, root: &str, value: Option<&Value>, secret: bool) -> Self {
        let mut builder = Builder { root_schema: schema, secret, items: Vec::new() };
        builder.object(schema, root, root, value, secret);
        Self { items: builder.items }
    }

    pub fn fields(&self) -> impl Iterator<Item = &Field> {
        self.items.iter().filter_map(|item| match item {
            Item::Field(field) => Some(field),
            _ => None,
        })
    }

    fn fields_mut(&mut self) -> impl Iterator<Item = &mut Field> {
        self.items.iter_mut().filter_map(|item| match item {
            Item::Field(field) => Some(field),
            _ => None,
        })
    }

    /// Puts what a person typed back into the fields (secrets stay empty).
    pub fn refill(&mut self, submitted: &HashMap<String, String>) {
        for field in self.fields_mut() {
            if field.secret {
                continue;
            }
            field.value = match field.widget {
                Widget::Checkbox => submitted.contains_key(&field.name).to_string(),
                _ => submitted.get(&field.name).cloned().unwrap_or_default(),
            };
        }
    }

    /// Shows the API's errors at their fields: an error names a field's path or a
    /// path inside it (`settings.manifest.streams[0].path`). Those no field takes
    /// are returned, for the summary.
    pub fn show_errors(&mut self, errors: &BTreeMap<String, String>, chosen: &HashMap<String, String>) -> Vec<String> {
        let mut left = Vec::new();
        for (path, message) in errors {
            let target = self
                .fields_mut()
                .filter(|field| field.name == *path || within(path, &field.api_path))
                .filter(|field| variant_chosen(&field.name, chosen))
                .max_by_key(|field| field.api_path.len());
            match target {
                Some(field) => field.error = Some(message.clone()),
                None => left.push(format!("{path}: {message}")),
            }
        }
        left
    }
}

/// `path` is `field` or a path under it.
fn within(path: &str, field: &str) -> bool {
    path == field || path.strip_prefix(field).is_some_and(|rest| rest.starts_with('.') || rest.starts_with('['))
}

/// A variant's field (`settings.store[s3].bucket`) only when `s3` is the chosen
/// tag of `settings.store` (the value of its direct child field); every other
/// field always.
fn variant_chosen(name: &str, submitted: &HashMap<String, String>) -> bool {
    let Some((before, after)) = name.rsplit_once('[') else { return true };
    let Some((variant, _)) = after.split_once(']') else { return true };
    let prefix = format!("{before}.");
    submitted
        .iter()
        .any(|(key, value)| key.strip_prefix(&prefix).is_some_and(|tag| !tag.contains(['.', '['])) && value == variant)
}

struct Builder<'a> {
    root_schema: &'a Value,
    secret: bool,
    items: Vec<Item>,
}

impl Builder<'_> {
    /// The object's properties: required ones first, then by name.
    fn object(&mut self, schema: &Value, name: &str, api_path: &str, value: Option<&Value>, secret: bool) {
        let schema = resolve(self.root_schema, schema);
        let required = required_of(schema);
        for (property, property_schema) in ordered_properties(schema, &required) {
            let property_value = value.and_then(|value| value.get(property.as_str()));
            self.property(
                property_schema,
                &format!("{name}.{property}"),
                &format!("{api_path}.{property}"),
                &property,
                required.contains(&property),
                property_value,
                secret,
            );
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn property(
        &mut self,
        schema: &Value,
        name: &str,
        api_path: &str,
        property: &str,
        required: bool,
        value: Option<&Value>,
        secret: bool,
    ) {
        let schema = resolve(self.root_schema, schema);
        let help = description(schema);
        if let Some(variants) = tagged_variants(self.root_schema, schema) {
            self.choice(&variants, name, api_path, property, required, value, help);
            return;
        }
        if is_type(schema, "object") && schema.get("properties").is_some() {
            self.items.push(Item::GroupStart { legend: label_of(schema, property), help });
            self.object(schema, name, api_path, value, secret);
            self.items.push(Item::GroupEnd);
            return;
        }
        let widget = widget_of(self.root_schema, schema);
        let shown = if secret || self.secret {
            String::new()
        } else {
            let value = value.filter(|value| !value.is_null()).or_else(|| schema.get("default"));
            display(&widget, value)
        };
        let required = required && schema.get("default").is_none() && !is_type(schema, "null");
        self.items.push(Item::Field(Field {
            id: element_id(name),
            name: name.to_owned(),
            api_path: api_path.to_owned(),
            label: label_of(schema, property),
            help,
            widget,
            required,
            secret: secret || self.secret,
            value: shown,
            error: None,
        }));
    }

    #[allow(clippy::too_many_arguments)]
    fn choice(
        &mut self,
        variants: &Variants,
        name: &str,
        api_path: &str,
        property: &str,
        required: bool,
        value: Option<&Value>,
        help: Option<String>,
    ) {
        let chosen = value.and_then(|value| value.get(&variants.tag)).and_then(Value::as_str).unwrap_or_default();
        let tag_name = format!("{name}.{}", variants.tag);
        let choice_id = element_id(&tag_name);
        self.items.push(Item::GroupStart { legend: humanise(property), help });
        self.items.push(Item::Field(Field {
            id: choice_id.clone(),
            name: tag_name,
            api_path: format!("{api_path}.{}", variants.tag),
            label: humanise(&variants.tag),
            help: None,
            widget: Widget::Select(variants.options.iter().map(|(value, _)| value.clone()).collect()),
            required,
            secret: false,
            value: chosen.to_owned(),
            error: None,
        }));
        for (tag_value, variant_schema) in &variants.options {
            let variant_value = value.filter(|_| chosen == tag_value);
            self.items.push(Item::VariantStart {
                choice_id: choice_id.clone(),
                value: tag_value.clone(),
                legend: humanise(tag_value),
                help: description(variant_schema),
            });
            let required_here = required_of(variant_schema);
            for (property, property_schema) in ordered_properties(variant_schema, &required_here) {
                if property == variants.tag {
                    continue;
                }
                self.property(
                    property_schema,
                    &format!("{name}[{tag_value}].{property}"),
                    &format!("{api_path}.{property}"),
                    &property,
                    required_here.contains(&property),
                    variant_value.and_then(|value| value.get(property.as_str())),
                    false,
                );
            }
            self.items.push(Item::VariantEnd);
        }
        self.items.push(Item::GroupEnd);
    }
}

/// The variants of a `oneOf` whose members are objects each fixing one tag
/// property to a constant (serde's internally tagged enums).
struct Variants {
    tag: String,
    options: Vec<(String, Value)>,
}

fn tagged_variants(root: &Value, schema: &Value) -> Option<Variants> {
    let members = schema.get("oneOf").or_else(|| schema.get("anyOf"))?.as_array()?;
    let members: Vec<&Value> = members.iter().map(|member| resolve(root, member)).collect();
    let first = members.first()?;
    let tag = first
        .get("properties")?
        .as_object()?
        .iter()
        .find(|(_, property)| property.get("const").is_some_and(Value::is_string))
        .map(|(name, _)| name.clone())?;
    let options = members
        .iter()
        .map(|member| {
            let value = member.get("properties")?.get(&tag)?.get("const")?.as_str()?;
            Some((value.to_owned(), (*member).clone()))
        })
        .collect::<Option<Vec<_>>>()?;
    Some(Variants { tag, options })
}

fn resolve<'a>(root: &'a Value, schema: &'a Value) -> &'a Value {
    let mut schema = schema;
    // A reference to a reference is followed a few times, never in circles.
    for _ in 0..8 {
        let Some(reference) = schema.get("$ref").and_then(Value::as_str) else { break };
        let Some(pointer) = reference.strip_prefix('#') else { break };
        match root.pointer(pointer) {
            Some(target) => schema = target,
            None => break,
        }
    }
    schema
}

fn required_of(schema: &Value) -> Vec<String> {
    schema
        .get("required")
        .and_then(Value::as_array)
        .map(|names| names.iter().filter_map(Value::as_str).map(str::to_owned).collect())
        .unwrap_or_default()
}

fn ordered_properties<'a>(schema: &'a Value, required: &[String]) -> Vec<(String, &'a Value)> {
    let mut properties: Vec<(String, &Value)> = schema
        .get("properties")
        .and_then(Value::as_object)
        .map(|properties| properties.iter().map(|(name, schema)| (name.clone(), schema)).collect())
        .unwrap_or_default();
    properties.sort_by_key(|(name, _)| (!required.contains(name), name.clone()));
    properties
}

fn types_of(schema: &Value) -> Vec<&str> {
    match schema.get("type") {
        Some(Value::String(single)) => vec![single.as_str()],
        Some(Value::Array(many)) => many.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    }
}

fn is_type(schema: &Value, wanted: &str) -> bool {
    types_of(schema).contains(&wanted)
}

fn widget_of(root: &Value, schema: &Value) -> Widget {
    if let Some(options) = schema.get("enum").and_then(Value::as_array) {
        return Widget::Select(options.iter().filter_map(Value::as_str).map(str::to_owned).collect());
    }
    if is_type(schema, "boolean") {
        return Widget::Checkbox;
    }
    if is_type(schema, "integer") {
        return Widget::Integer;
    }
    if is_type(schema, "number") {
        return Widget::Number;
    }
    if is_type(schema, "string") {
        if let Some(media) = schema.get("contentMediaType").and_then(Value::as_str) {
            let language = media.rsplit(['/', '+']).next().unwrap_or("text").to_owned();
            return Widget::Code(language);
        }
        if schema.get("format").and_then(Value::as_str) == Some("uri") {
            return Widget::Url;
        }
        return Widget::Text;
    }
    if is_type(schema, "array") && schema.get("items").is_some_and(|items| is_type(resolve(root, items), "string")) {
        return Widget::Lines;
    }
    Widget::Json
}

fn display(widget: &Widget, value: Option<&Value>) -> String {
    match (widget, value) {
        (_, None | Some(Value::Null)) => match widget {
            Widget::Checkbox => "false".to_owned(),
            _ => String::new(),
        },
        (Widget::Checkbox, Some(value)) => (value.as_bool() == Some(true)).to_string(),
        (Widget::Lines, Some(Value::Array(items))) => {
            items.iter().filter_map(Value::as_str).collect::<Vec<_>>().join("\n")
        }
        (Widget::Json, Some(value)) => serde_json::to_string_pretty(value).unwrap_or_default(),
        (_, Some(Value::String(text))) => text.clone(),
        (_, Some(other)) => other.to_string(),
    }
}

fn description(schema: &Value) -> Option<String> {
    schema.get("description").and_then(Value::as_str).map(|text| text.split_whitespace().collect::<Vec<_>>().join(" "))
}

fn label_of(schema: &Value, property: &str) -> String {
    schema.get("title").and_then(Value::as_str).map(str::to_owned).unwrap_or_else(|| humanise(property))
}

/// `base_url` → "Base URL".
fn humanise(name: &str) -> String {
    let words: Vec<String> = name
        .split(['_', '-'])
        .filter(|word| !word.is_empty())
        .map(|word| match word {
            "url" | "api" | "id" | "s3" | "uri" => word.to_uppercase(),
            _ => word.to_owned(),
        })
        .collect();
    let text = words.join(" ");
    let mut chars = text.chars();
    chars.next().map(|first| first.to_uppercase().chain(chars).collect()).unwrap_or_default()
}

fn element_id(name: &str) -> String {
    name.chars().map(|c| if c.is_ascii_alphanumeric() { c } else { '-' }).collect()
}

/// What is wrong with a submitted form, by field name.
pub type FieldProblems = BTreeMap<String, String>;

/// The submitted form as the JSON `schema` describes, under `root`. Empty optional
/// fields are left out (the connector's default applies). A `secret` form left
/// entirely empty is `None`: keep what is stored.
pub fn decode(
    schema: &Value,
    root: &str,
    submitted: &HashMap<String, String>,
    secret: bool,
) -> Result<Option<Value>, FieldProblems> {
    let form = SchemaForm::build(schema, root, None, secret);
    if secret && form.fields().all(|field| submitted.get(&field.name).is_none_or(|value| value.is_empty())) {
        return Ok(None);
    }
    let mut problems = FieldProblems::new();
    let value = decode_object(schema, schema, root, submitted, &mut problems);
    if problems.is_empty() { Ok(Some(value)) } else { Err(problems) }
}

fn decode_object(
    root: &Value,
    schema: &Value,
    name: &str,
    submitted: &HashMap<String, String>,
    problems: &mut FieldProblems,
) -> Value {
    let schema = resolve(root, schema);
    let required = required_of(schema);
    let mut object = Map::new();
    for (property, property_schema) in ordered_properties(schema, &required) {
        let field_name = format!("{name}.{property}");
        let is_required = required.contains(&property);
        if let Some(value) = decode_property(root, property_schema, &field_name, is_required, submitted, problems) {
            object.insert(property, value);
        }
    }
    Value::Object(object)
}

fn decode_property(
    root: &Value,
    schema: &Value,
    name: &str,
    required: bool,
    submitted: &HashMap<String, String>,
    problems: &mut FieldProblems,
) -> Option<Value> {
    let schema = resolve(root, schema);
    if let Some(variants) = tagged_variants(root, schema) {
        let tag_name = format!("{name}.{}", variants.tag);
        let chosen = submitted.get(&tag_name).map(|value| value.trim()).unwrap_or_default();
        if chosen.is_empty() {
            if required {
                problems.insert(tag_name, "choose one".into());
            }
            return None;
        }
        let Some((tag_value, variant_schema)) = variants.options.iter().find(|(value, _)| value == chosen) else {
            problems.insert(tag_name, "not one of the choices".into());
            return None;
        };
        let mut object = Map::new();
        object.insert(variants.tag.clone(), Value::String(tag_value.clone()));
        let required_here = required_of(variant_schema);
        for (property, property_schema) in ordered_properties(variant_schema, &required_here) {
            if property == variants.tag {
                continue;
            }
            let field_name = format!("{name}[{tag_value}].{property}");
            let is_required = required_here.contains(&property);
            if let Some(value) = decode_property(root, property_schema, &field_name, is_required, submitted, problems) {
                object.insert(property, value);
            }
        }
        return Some(Value::Object(object));
    }
    if is_type(schema, "object") && schema.get("properties").is_some() {
        return Some(decode_object(root, schema, name, submitted, problems));
    }
    let widget = widget_of(root, schema);
    let raw = submitted.get(name).map(String::as_str).unwrap_or_default();
    if widget == Widget::Checkbox {
        return Some(Value::Bool(!raw.is_empty()));
    }
    // Code is kept as typed (browsers send a textarea's line ends as CRLF).
    let text = match widget {
        Widget::Code(_) => raw.replace("\r\n", "\n"),
        _ => raw.trim().to_owned(),
    };
    if text.trim().is_empty() {
        if required && schema.get("default").is_none() && !is_type(schema, "null") {
            problems.insert(name.to_owned(), "is required".into());
        }
        return None;
    }
    let parsed = match &widget {
        Widget::Integer => text.parse::<i64>().map(Value::from).map_err(|_| "must be a whole number".to_owned()),
        Widget::Number => text
            .parse::<f64>()
            .ok()
            .and_then(Number::from_f64)
            .map(Value::Number)
            .ok_or_else(|| "must be a number".to_owned()),
        Widget::Select(options) if !options.contains(&text) => Err("not one of the choices".to_owned()),
        Widget::Lines => Ok(Value::Array(
            text.lines()
                .map(str::trim)
                .filter(|line| !line.is_empty())
                .map(|line| Value::String(line.into()))
                .collect(),
        )),
        Widget::Json => serde_json::from_str(&text).map_err(|error| format!("is not valid JSON: {error}")),
        _ => Ok(Value::String(text)),
    };
    match parsed {
        Ok(value) => Some(value),
        Err(message) => {
            problems.insert(name.to_owned(), message);
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    /// What a browser submits for a form as drawn: every field with its value
    /// (checkboxes only when checked).
    fn as_submitted(form: &SchemaForm) -> HashMap<String, String> {
        form.fields()
            .filter(|field| field.widget != Widget::Checkbox || field.checked())
            .map(|field| {
                (field.name.clone(), if field.widget == Widget::Checkbox { "on".into() } else { field.value.clone() })
            })
            .collect()
    }

    fn schema() -> Value {
        json!({
            "type": "object",
            "additionalProperties": false,
            "required": ["store", "name"],
            "properties": {
                "name": {"type": "string", "description": "What it is\ncalled."},
                "base_url": {"type": "string", "format": "uri", "default": "https://api.example.com/"},
                "mode": {"type": "string", "enum": ["order", "project"], "default": "order"},
                "pages": {"type": ["integer", "null"], "default": null},
                "verbose": {"type": "boolean", "default": true},
                "tags": {"type": "array", "items": {"type": "string"}},
                "manifest": {"type": ["string", "null"], "contentMediaType": "application/yaml"},
                "store": {"$ref": "#/$defs/Store"}
            },
            "$defs": {"Store": {"oneOf": [
                {"type": "object", "description": "S3.", "required": ["type", "bucket"], "properties": {
                    "type": {"type": "string", "const": "s3"}, "bucket": {"type": "string"},
                    "region": {"type": "string", "default": "us-east-1"}}},
                {"type": "object", "required": ["type", "root"], "properties": {
                    "type": {"type": "string", "const": "local"}, "root": {"type": "string"}}}
            ]}}
        })
    }

    #[test]
    fn a_filled_form_submits_what_it_shows() {
        let stored = json!({
            "name": "Files", "base_url": "https://files.test/", "mode": "project", "pages": 3, "verbose": false,
            "tags": ["a", "b"], "manifest": "streams:\n  - name: x\n",
            "store": {"type": "local", "root": "/srv/files"}
        });
        let form = SchemaForm::build(&schema(), "settings", Some(&stored), false);
        let decoded = decode(&schema(), "settings", &as_submitted(&form), false).unwrap().unwrap();
        assert_eq!(decoded, stored);
    }

    #[test]
    fn a_new_form_shows_the_defaults_and_asks_for_what_is_required() {
        let form = SchemaForm::build(&schema(), "settings", None, false);
        let field = |name: &str| form.fields().find(|field| field.name == name).unwrap().clone();
        assert_eq!(field("settings.base_url").value, "https://api.example.com/");
        assert_eq!(field("settings.base_url").widget, Widget::Url);
        assert_eq!(field("settings.mode").options(), ["order", "project"]);
        assert!(field("settings.verbose").checked());
        assert!(field("settings.name").required);
        assert_eq!(field("settings.name").help.as_deref(), Some("What it is called."));
        assert_eq!(field("settings.manifest").widget, Widget::Code("yaml".into()));
        assert_eq!(field("settings.store[s3].region").value, "us-east-1");
        let problems = decode(&schema(), "settings", &as_submitted(&form), false).unwrap_err();
        assert_eq!(problems.keys().collect::<Vec<_>>(), ["settings.name", "settings.store.type"]);

        let mut submitted = as_submitted(&form);
        submitted.insert("settings.name".into(), "Bucket".into());
        submitted.insert("settings.store.type".into(), "s3".into());
        submitted.insert("settings.store[s3].bucket".into(), "invoices".into());
        submitted.insert("settings.store[local].root".into(), "ignored: not the chosen store".into());
        let decoded = decode(&schema(), "settings", &submitted, false).unwrap().unwrap();
        assert_eq!(decoded["store"], json!({"type": "s3", "bucket": "invoices", "region": "us-east-1"}));
        assert_eq!(decoded["pages"], Value::Null, "an empty optional field is left out: {decoded}");
        assert!(decoded.get("pages").is_none());
    }

    #[test]
    fn typed_values_are_checked_and_code_keeps_its_lines() {
        let mut submitted = HashMap::from([
            ("settings.name".to_owned(), "x".to_owned()),
            ("settings.pages".to_owned(), "many".to_owned()),
            ("settings.mode".to_owned(), "other".to_owned()),
            ("settings.store.type".to_owned(), "local".to_owned()),
            ("settings.store[local].root".to_owned(), "/srv".to_owned()),
        ]);
        let problems = decode(&schema(), "settings", &submitted, false).unwrap_err();
        assert_eq!(problems["settings.pages"], "must be a whole number");
        assert_eq!(problems["settings.mode"], "not one of the choices");
        submitted.remove("settings.pages");
        submitted.remove("settings.mode");
        submitted.insert("settings.manifest".into(), "a: 1\r\n  # kept\r\n".into());
        let decoded = decode(&schema(), "settings", &submitted, false).unwrap().unwrap();
        assert_eq!(decoded["manifest"], "a: 1\n  # kept\n");
        assert_eq!(decoded["verbose"], false, "an unchecked box is false, whatever the default");
    }

    #[test]
    fn secrets_are_never_shown_and_left_empty_are_kept() {
        let schema = json!({"type": "object", "required": ["api_key"], "properties": {"api_key": {"type": "string"}}});
        let form = SchemaForm::build(&schema, "credentials", Some(&json!({"api_key": "sk_live_secret"})), true);
        assert!(form.fields().all(|field| field.secret && field.value.is_empty()));
        assert_eq!(decode(&schema, "credentials", &HashMap::new(), true).unwrap(), None);
        let submitted = HashMap::from([("credentials.api_key".to_owned(), "sk_new".to_owned())]);
        assert_eq!(decode(&schema, "credentials", &submitted, true).unwrap(), Some(json!({"api_key": "sk_new"})));
    }

    #[test]
    fn errors_land_at_the_field_they_name_or_inside() {
        let mut form = SchemaForm::build(&schema(), "settings", None, false);
        let chosen = HashMap::from([("settings.store.type".to_owned(), "s3".to_owned())]);
        let errors = BTreeMap::from([
            ("settings.manifest.streams[0].path".to_owned(), "line 3: must start with /".to_owned()),
            ("settings.store.bucket".to_owned(), "is taken".to_owned()),
            ("settings.elsewhere".to_owned(), "odd".to_owned()),
        ]);
        let left = form.show_errors(&errors, &chosen);
        assert_eq!(left, ["settings.elsewhere: odd"]);
        let field = |name: &str| form.fields().find(|field| field.name == name).unwrap().clone();
        assert_eq!(field("settings.manifest").error.as_deref(), Some("line 3: must start with /"));
        assert_eq!(field("settings.store[s3].bucket").error.as_deref(), Some("is taken"));
    }

    /// A stored instance of every shipped kind, every setting given.
    fn stored_settings(kind: &str) -> Value {
        match kind {
            "stripe" => json!({"base_url": "https://stripe.example.com/", "api_version": "2024-06-20"}),
            "hubspot" => json!({
                "base_url": "https://crm.example.com/", "deal_kind": "project", "idempotency_property": "our_key",
                "ticket_pipeline": "7", "ticket_stage": "8", "ticket_closed_stage": "9"
            }),
            "files" => json!({
                "store": {"type": "s3", "bucket": "documents", "region": "eu-west-1", "endpoint": "https://s3.example.com/"},
                "prefix": "customers/"
            }),
            "rest" => json!({"manifest": include_str!("../../../connectors/manifests/projects.yaml")}),
            other => panic!("no stored settings for the shipped kind {other}: add them here"),
        }
    }

    #[test]
    fn every_shipped_kinds_form_opens_a_stored_instance_and_submits_it_unchanged() {
        let registry = portico_connectors::Registry::default();
        for kind in registry.kinds() {
            let stored = stored_settings(kind.id());
            let schema = kind.settings_schema();
            let form = SchemaForm::build(&schema, "settings", Some(&stored), false);
            let decoded = decode(&schema, "settings", &as_submitted(&form), false).unwrap();
            assert_eq!(decoded, Some(stored.clone()), "{}", kind.id());
            let credentials =
                SchemaForm::build(&kind.credentials_schema(), "credentials", Some(&json!({"x": 1})), true);
            assert!(credentials.fields().all(|field| field.secret && field.value.is_empty()), "{}", kind.id());
        }
        let files = SchemaForm::build(&registry.get("files").unwrap().settings_schema(), "settings", None, false);
        assert!(files.fields().any(|field| field.name == "settings.store[local].root"), "the choice of store is drawn");
        let rest = SchemaForm::build(&registry.get("rest").unwrap().settings_schema(), "settings", None, false);
        assert!(rest.fields().any(|field| field.widget == Widget::Code("yaml".into())), "the manifest is a code field");
        let hubspot = SchemaForm::build(&registry.get("hubspot").unwrap().settings_schema(), "settings", None, false);
        let deal_kind = hubspot.fields().find(|field| field.name == "settings.deal_kind").unwrap();
        assert_eq!(deal_kind.options(), ["order", "project"]);
    }

    #[test]
    fn a_code_error_shows_the_lines_around_it() {
        let field = Field {
            name: "m".into(),
            id: "m".into(),
            api_path: "m".into(),
            label: "M".into(),
            help: None,
            widget: Widget::Code("yaml".into()),
            required: true,
            secret: false,
            value: "one\ntwo\nthree\nfour\nfive\nsix".into(),
            error: Some("line 4: bad".into()),
        };
        let excerpt = field.error_excerpt();
        assert_eq!(excerpt.iter().map(|(number, _, _)| *number).collect::<Vec<_>>(), [2, 3, 4, 5, 6]);
        assert!(excerpt.iter().any(|(number, text, marked)| *number == 4 && text == "four" && *marked));
    }
}
