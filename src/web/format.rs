//! Amounts and dates in the reader's terms: their language's separators and
//! currency placement, their time zone, relative when recent ("3 minutes ago").
//! English and German are written out here rather than pulled from ICU, whose
//! data is heavy to build on a small machine; a new language adds its rules here
//! and its messages in `locales/`.

use chrono::{DateTime, Datelike, Utc};
use chrono_tz::Tz;
use fluent_bundle::FluentValue;

use super::i18n::{Lang, message};

#[derive(Debug, Clone, Copy)]
pub struct Formatter {
    pub lang: Lang,
    pub time_zone: Tz,
}

/// Digits after the decimal point for a currency (ISO 4217's minor unit).
fn minor_digits(currency: &str) -> u32 {
    match currency {
        "JPY" | "KRW" | "VND" | "CLP" | "ISK" | "UGX" | "XAF" | "XOF" => 0,
        "BHD" | "JOD" | "KWD" | "OMR" | "TND" => 3,
        _ => 2,
    }
}

fn symbol(currency: &str) -> Option<&'static str> {
    Some(match currency {
        "EUR" => "€",
        "USD" => "$",
        "GBP" => "£",
        "JPY" => "¥",
        _ => return None,
    })
}

/// `1234567` → `1,234,567` with the given grouping separator.
fn group(digits: &str, separator: char) -> String {
    let mut grouped = String::with_capacity(digits.len() + digits.len() / 3);
    for (index, digit) in digits.chars().enumerate() {
        if index > 0 && (digits.len() - index).is_multiple_of(3) {
            grouped.push(separator);
        }
        grouped.push(digit);
    }
    grouped
}

impl Formatter {
    pub fn new(lang: Lang, time_zone: &str) -> Self {
        Self { lang, time_zone: time_zone.parse().unwrap_or(Tz::UTC) }
    }

    /// An amount in a currency's minor unit, as a reader of this language writes it.
    pub fn money(&self, amount_minor: i64, currency: &str) -> String {
        let currency = currency.to_ascii_uppercase();
        let digits = minor_digits(&currency);
        let scale = 10_i64.pow(digits);
        let (whole, fraction) =
            (amount_minor.unsigned_abs() / scale as u64, amount_minor.unsigned_abs() % scale as u64);
        let (thousands, decimal) = match self.lang {
            Lang::En => (',', '.'),
            Lang::De => ('.', ','),
        };
        let mut number = group(&whole.to_string(), thousands);
        if digits > 0 {
            number.push(decimal);
            number.push_str(&format!("{fraction:0width$}", width = digits as usize));
        }
        let sign = if amount_minor < 0 { "-" } else { "" };
        match (self.lang, symbol(&currency)) {
            (Lang::En, Some(symbol)) => format!("{sign}{symbol}{number}"),
            (Lang::En, None) => format!("{sign}{currency} {number}"),
            (Lang::De, Some(symbol)) => format!("{sign}{number}\u{a0}{symbol}"),
            (Lang::De, None) => format!("{sign}{number}\u{a0}{currency}"),
        }
    }

    fn month(&self, month: u32) -> &'static str {
        const EN: [&str; 12] = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
        const DE: [&str; 12] =
            ["Jan.", "Feb.", "März", "Apr.", "Mai", "Juni", "Juli", "Aug.", "Sept.", "Okt.", "Nov.", "Dez."];
        let index = (month as usize).saturating_sub(1).min(11);
        match self.lang {
            Lang::En => EN[index],
            Lang::De => DE[index],
        }
    }

    /// A day in the reader's time zone: `6 Dec 2026`, `6. Dez. 2026`.
    pub fn date(&self, at: DateTime<Utc>) -> String {
        let local = at.with_timezone(&self.time_zone);
        match self.lang {
            Lang::En => format!("{} {} {}", local.day(), self.month(local.month()), local.year()),
            Lang::De => format!("{}. {} {}", local.day(), self.month(local.month()), local.year()),
        }
    }

    /// A moment in the reader's time zone: `6 Dec 2026, 14:05 CET`.
    pub fn date_time(&self, at: DateTime<Utc>) -> String {
        let local = at.with_timezone(&self.time_zone);
        format!("{}, {}", self.date(at), local.format("%H:%M %Z"))
    }

    /// How long ago, in words, when recent; the date otherwise.
    pub fn relative(&self, at: DateTime<Utc>, now: DateTime<Utc>) -> String {
        let seconds = (now - at).num_seconds();
        let count = |key: &str, value: i64| message(self.lang, key, &[("count", FluentValue::from(value))]);
        match seconds {
            ..60 => message(self.lang, "just-now", &[]),
            60..3_600 => count("minutes-ago", seconds / 60),
            3_600..86_400 => count("hours-ago", seconds / 3_600),
            86_400..172_800 => message(self.lang, "yesterday", &[]),
            _ => self.date(at),
        }
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    #[test]
    fn amounts_follow_the_readers_language() {
        let en = Formatter::new(Lang::En, "UTC");
        let de = Formatter::new(Lang::De, "Europe/Berlin");
        assert_eq!(en.money(123_456_789, "eur"), "€1,234,567.89");
        assert_eq!(de.money(123_456_789, "EUR"), "1.234.567,89\u{a0}€");
        assert_eq!(en.money(-500, "USD"), "-$5.00");
        assert_eq!(en.money(1_000, "JPY"), "¥1,000");
        assert_eq!(de.money(5, "CHF"), "0,05\u{a0}CHF");
    }

    #[test]
    fn dates_follow_the_readers_language_and_time_zone() {
        let late = Utc.with_ymd_and_hms(2026, 12, 6, 23, 30, 0).unwrap();
        assert_eq!(Formatter::new(Lang::En, "UTC").date(late), "6 Dec 2026");
        assert_eq!(Formatter::new(Lang::De, "Europe/Berlin").date(late), "7. Dez. 2026", "already the 7th in Berlin");
        assert_eq!(Formatter::new(Lang::En, "America/New_York").date_time(late), "6 Dec 2026, 18:30 EST");
        let en = Formatter::new(Lang::En, "UTC");
        assert_eq!(en.relative(late - chrono::Duration::minutes(2), late), "2 minutes ago");
        assert_eq!(Formatter::new(Lang::De, "UTC").relative(late - chrono::Duration::hours(1), late), "vor 1 Stunde");
    }
}
