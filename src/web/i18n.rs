//! Interface strings in the reader's language, from Fluent message files
//! (`locales/en.ftl`, `locales/de.ftl`), embedded in the binary. English is the
//! fallback for any other language; a test holds the two files to the same keys.

use std::sync::LazyLock;

use fluent_bundle::concurrent::FluentBundle;
use fluent_bundle::{FluentArgs, FluentResource, FluentValue};
use unic_langid::LanguageIdentifier;

/// The languages the interface is written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    En,
    De,
}

impl Lang {
    /// From a profile's locale (`de-DE`, `en`) or an `Accept-Language` header.
    pub fn from_locale(locale: &str) -> Self {
        let primary = locale.split([',', ';']).next().unwrap_or_default().trim();
        match primary.split(['-', '_']).next().unwrap_or_default().to_ascii_lowercase().as_str() {
            "de" => Lang::De,
            _ => Lang::En,
        }
    }

    pub fn code(self) -> &'static str {
        match self {
            Lang::En => "en",
            Lang::De => "de",
        }
    }
}

const EN: &str = include_str!("../../locales/en.ftl");
const DE: &str = include_str!("../../locales/de.ftl");

fn bundle(lang: &str, source: &'static str) -> FluentBundle<FluentResource> {
    let id: LanguageIdentifier = lang.parse().expect("a valid language id");
    let mut bundle = FluentBundle::new_concurrent(vec![id]);
    // No Unicode isolation marks around arguments: they would show in plain-text contexts.
    bundle.set_use_isolating(false);
    let resource = FluentResource::try_new(source.to_owned()).expect("the message file parses");
    bundle.add_resource(resource).expect("no message is defined twice");
    bundle
}

static BUNDLES: LazyLock<[FluentBundle<FluentResource>; 2]> = LazyLock::new(|| [bundle("en", EN), bundle("de", DE)]);

/// A message with arguments; the key itself when no language has it (a test
/// keeps that from happening).
pub fn message(lang: Lang, key: &str, args: &[(&str, FluentValue<'_>)]) -> String {
    let [en, de] = &*BUNDLES;
    let bundle = match lang {
        Lang::En => en,
        Lang::De => de,
    };
    let Some(pattern) = bundle.get_message(key).and_then(|message| message.value()) else {
        return key.to_owned();
    };
    let mut fluent_args = FluentArgs::new();
    for (name, value) in args {
        fluent_args.set(*name, value.clone());
    }
    let mut errors = Vec::new();
    bundle.format_pattern(pattern, Some(&fluent_args), &mut errors).into_owned()
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;

    /// The message ids of a file: lines that start an entry (`key = …`).
    fn keys(source: &str) -> BTreeSet<String> {
        FluentResource::try_new(source.to_owned()).expect("the file parses");
        source
            .lines()
            .filter_map(|line| line.split_once(" ="))
            .map(|(key, _)| key)
            .filter(|key| key.chars().next().is_some_and(|c| c.is_ascii_lowercase()) && !key.contains(' '))
            .map(str::to_owned)
            .collect()
    }

    #[test]
    fn english_and_german_have_the_same_messages() {
        let (en, de) = (keys(EN), keys(DE));
        assert!(!en.is_empty());
        assert_eq!(en.difference(&de).collect::<Vec<_>>(), Vec::<&String>::new(), "missing in de.ftl");
        assert_eq!(de.difference(&en).collect::<Vec<_>>(), Vec::<&String>::new(), "missing in en.ftl");
    }

    #[test]
    fn messages_take_their_arguments_and_plurals() {
        let args = [("count", FluentValue::from(1))];
        assert_eq!(message(Lang::En, "minutes-ago", &args), "1 minute ago");
        assert_eq!(message(Lang::De, "minutes-ago", &[("count", FluentValue::from(3))]), "vor 3 Minuten");
        assert_eq!(Lang::from_locale("de-CH,de;q=0.9,en;q=0.8"), Lang::De);
        assert_eq!(Lang::from_locale("fr-FR"), Lang::En);
    }
}
