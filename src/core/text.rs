//! The one rule for text that comes in from outside: no control characters but
//! tab and newline. PostgreSQL cannot store NUL in text at all, and the other
//! control characters are never part of a name, an address, a subject or a
//! search; refusing them at the edge keeps both engines alike and every 500 out.

use serde_json::Value;

/// Whether `c` may stand in text Portico accepts.
pub fn is_allowed(c: char) -> bool {
    !c.is_control() || c == '\t' || c == '\n'
}

/// Whether `text` holds a character [`is_allowed`] refuses.
pub fn has_control_characters(text: &str) -> bool {
    !text.chars().all(is_allowed)
}

/// A cheap look at a raw JSON body for anything that could decode to a refused
/// character: a `\u00XX` escape, a raw DEL, or a raw C1 control (U+0080–U+009F,
/// `C2 80`–`C2 9F` in UTF-8). Most bodies have none, and skip the full walk.
pub fn json_may_hold_control_characters(body: &[u8]) -> bool {
    body.windows(4).any(|window| window == b"\\u00")
        || body.contains(&0x7f)
        || body.windows(2).any(|pair| pair[0] == 0xc2 && (0x80..=0x9f).contains(&pair[1]))
}

/// The JSON pointer of the first string (or object key) holding a refused
/// character, if any.
pub fn first_control_character(value: &Value) -> Option<String> {
    fn walk(value: &Value, pointer: &mut String) -> Option<String> {
        match value {
            Value::String(text) if has_control_characters(text) => Some(pointer.clone()),
            Value::Array(items) => items.iter().enumerate().find_map(|(index, item)| {
                let length = pointer.len();
                pointer.push_str(&format!("/{index}"));
                let found = walk(item, pointer);
                pointer.truncate(length);
                found
            }),
            Value::Object(fields) => fields.iter().find_map(|(key, item)| {
                let length = pointer.len();
                pointer.push('/');
                // The offending key is named without echoing what it holds.
                let shown: String = key.chars().map(|c| if is_allowed(c) { c } else { '\u{fffd}' }).collect();
                pointer.push_str(&shown.replace('~', "~0").replace('/', "~1"));
                let found = if has_control_characters(key) { Some(pointer.clone()) } else { walk(item, pointer) };
                pointer.truncate(length);
                found
            }),
            _ => None,
        }
    }
    walk(value, &mut String::new())
}

/// Text from an upstream or a webhook sender, made storable: PostgreSQL holds no
/// NUL in `text` or `jsonb`, and what others send is not ours to refuse (a
/// webhook is acknowledged before it is read), so each NUL becomes U+FFFD, on
/// both engines alike. The raw bytes of a delivery are kept as they came.
pub fn storable(text: String) -> String {
    if text.contains('\0') { text.replace('\0', "\u{fffd}") } else { text }
}

/// [`storable`] for every string and key in a JSON value.
pub fn make_storable(value: &mut Value) {
    match value {
        Value::String(text) if text.contains('\0') => *text = text.replace('\0', "\u{fffd}"),
        Value::Array(items) => items.iter_mut().for_each(make_storable),
        Value::Object(fields) => {
            if fields.keys().any(|key| key.contains('\0')) {
                let entries = std::mem::take(fields);
                *fields = entries.into_iter().map(|(key, item)| (storable(key), item)).collect();
            }
            fields.values_mut().for_each(make_storable);
        }
        _ => {}
    }
}

/// Serialized JSON made storable: re-written only when it holds a NUL escape.
pub fn storable_json(raw: Box<serde_json::value::RawValue>) -> Box<serde_json::value::RawValue> {
    if !raw.get().contains("\\u0000") {
        return raw;
    }
    let mut value: Value = serde_json::from_str(raw.get()).expect("serialized JSON parses");
    make_storable(&mut value);
    serde_json::value::to_raw_value(&value).expect("JSON values serialize")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn tab_and_newline_pass_and_every_other_control_character_is_found() {
        assert!(!has_control_characters("two lines\n\tindented"));
        for refused in ["nul\0", "bell\u{7}", "cr\r", "del\u{7f}", "c1\u{85}", "esc\u{1b}[0m"] {
            assert!(has_control_characters(refused), "{refused:?}");
        }
        assert!(!has_control_characters("Grüße, ünïcödé — 東京 ✓"));
    }

    #[test]
    fn the_pointer_names_the_field_even_deep_down() {
        let body = json!({ "name": "fine", "items": [{ "ok": 1 }, { "subject": "bad\u{0}" }] });
        assert_eq!(first_control_character(&body).as_deref(), Some("/items/1/subject"));
        assert_eq!(first_control_character(&json!({ "a/b\u{1}": 1 })).as_deref(), Some("/a~1b\u{fffd}"));
        assert_eq!(first_control_character(&json!({ "text": "line\nline\t" })), None);
    }

    #[test]
    fn nul_from_outside_is_stored_as_a_replacement_character() {
        assert_eq!(storable("a\0b".into()), "a\u{fffd}b");
        let raw = serde_json::value::to_raw_value(&json!({ "k\u{0}": ["x\u{0}y", "\\u0000 is text"] })).unwrap();
        let stored: Value = serde_json::from_str(storable_json(raw).get()).unwrap();
        assert_eq!(stored, json!({ "k\u{fffd}": ["x\u{fffd}y", "\\u0000 is text"] }));
    }

    #[test]
    fn the_quick_look_catches_every_encoding_of_a_control_character() {
        assert!(json_may_hold_control_characters(br#"{"a":"\u0000"}"#));
        assert!(json_may_hold_control_characters("{\"a\":\"\u{85}\"}".as_bytes()));
        assert!(json_may_hold_control_characters("{\"a\":\"\u{7f}\"}".as_bytes()));
        assert!(!json_may_hold_control_characters("{\"a\":\"é東\"}".as_bytes()));
    }
}
