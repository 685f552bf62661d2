//! A [`Message`] as the bytes a mail server takes: `multipart/alternative` with
//! the text and the same words as HTML in the business's colours, `From`, `To`,
//! `Subject`, `Date`, `Message-ID`, and for notification mail the headers of
//! RFC 8058's one-click unsubscribe.
//!
//! A part goes as 7bit (plain ASCII) or 8bit when all its lines are short;
//! one with a longer line (a link with its token) goes quoted-printable, as
//! RFC 2045 asks, which every mail client undoes.

use lettre::message::header::{ContentTransferEncoding, ContentType, HeaderName, HeaderValue};
use lettre::message::{Body, Mailbox, MultiPart, SinglePart};

use super::{MailError, Message};
use crate::config::Settings;

/// What every message carries of the business: its name and its accent colour.
#[derive(Debug, Clone)]
pub struct Branding {
    pub name: String,
    pub accent_color: String,
}

impl Branding {
    pub fn of(settings: &Settings) -> Self {
        Branding { name: settings.portal.name.clone(), accent_color: settings.portal.accent_color.clone() }
    }
}

/// The message as lettre's, ready for any transport.
pub fn build(from: &str, branding: &Branding, message: &Message) -> Result<lettre::Message, MailError> {
    let from: Mailbox = from.parse().map_err(|error| MailError::Local(format!("mail.from: {error}")))?;
    let to: Mailbox =
        message.to.parse().map_err(|error| MailError::Local(format!("not an address: {}: {error}", message.to)))?;
    let message_id = message.message_id.clone().unwrap_or_else(|| new_message_id(&from));
    let mut builder = lettre::Message::builder()
        .from(from)
        .to(to)
        .subject(one_line(&message.subject))
        .date_now()
        .message_id(Some(message_id));
    if let Some(url) = &message.unsubscribe_url {
        builder = builder
            .raw_header(HeaderValue::new(HeaderName::new_from_ascii_str("List-Unsubscribe"), format!("<{url}>")))
            .raw_header(HeaderValue::new(
                HeaderName::new_from_ascii_str("List-Unsubscribe-Post"),
                "List-Unsubscribe=One-Click".into(),
            ));
    }
    let parts = MultiPart::alternative()
        .singlepart(part(ContentType::TEXT_PLAIN, message.text.replace('\n', "\r\n")))
        .singlepart(part(ContentType::TEXT_HTML, html(branding, message)));
    builder.multipart(parts).map_err(|error| MailError::Local(error.to_string()))
}

/// A `Message-ID` at the sender's domain, unique by a random v4 UUID.
pub fn new_message_id(from: &Mailbox) -> String {
    format!("<{}@{}>", uuid::Uuid::new_v4().simple(), from.email.domain())
}

fn part(content_type: ContentType, text: String) -> SinglePart {
    let encoding = if text.is_ascii() { ContentTransferEncoding::SevenBit } else { ContentTransferEncoding::EightBit };
    let body = Body::new_with_encoding(text, encoding).unwrap_or_else(Body::new);
    SinglePart::builder().header(content_type).body(body)
}

/// A header's value on one line: subjects carry text from other systems (an
/// invoice's number, an account's name), which must not start headers of their own.
fn one_line(text: &str) -> String {
    text.chars().map(|c| if c.is_control() { ' ' } else { c }).collect()
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

/// The text's paragraphs as HTML, links made clickable, under the business's name.
fn html(branding: &Branding, message: &Message) -> String {
    let accent = if is_hex_color(&branding.accent_color) { branding.accent_color.as_str() } else { "#1d4ed8" };
    let paragraphs: String = message
        .text
        .split("\n\n")
        .filter(|paragraph| !paragraph.trim().is_empty())
        .map(|paragraph| {
            let lines: Vec<String> = paragraph.lines().map(linked).collect();
            format!("<p style=\"margin:0 0 16px\">{}</p>\r\n", lines.join("<br>\r\n"))
        })
        .collect();
    let unsubscribe = message
        .unsubscribe_url
        .as_ref()
        .map(|url| {
            format!(
                "<p style=\"margin:24px 0 0;font-size:13px;color:#555\"><a href=\"{}\" style=\"color:#555\">Unsubscribe from these notifications</a></p>\r\n",
                escape(url)
            )
        })
        .unwrap_or_default();
    format!(
        "<!doctype html>\r\n<html><head><meta charset=\"utf-8\"><title>{subject}</title></head>\r\n\
         <body style=\"margin:0;padding:24px;font-family:system-ui,sans-serif;line-height:1.5;color:#111\">\r\n\
         <p style=\"margin:0 0 24px;font-weight:600;color:{accent}\">{name}</p>\r\n{paragraphs}{unsubscribe}</body></html>\r\n",
        subject = escape(&one_line(&message.subject)),
        name = escape(&branding.name),
    )
}

/// One line with its `https://` and `http://` addresses as links.
fn linked(line: &str) -> String {
    line.split(' ')
        .map(|word| {
            if word.starts_with("https://") || word.starts_with("http://") {
                let (url, trailing) = match word.strip_suffix(['.', ',', ')']) {
                    Some(url) => (url, &word[url.len()..]),
                    None => (word, ""),
                };
                format!("<a href=\"{0}\">{0}</a>{1}", escape(url), escape(trailing))
            } else {
                escape(word)
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

fn is_hex_color(text: &str) -> bool {
    text.len() == 7 && text.starts_with('#') && text[1..].chars().all(|c| c.is_ascii_hexdigit())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn branding() -> Branding {
        Branding { name: "Acme <Portal>".into(), accent_color: "#0f766e".into() }
    }

    fn text_of(built: &lettre::Message) -> String {
        String::from_utf8(built.formatted()).unwrap()
    }

    #[test]
    fn a_message_has_both_parts_its_ids_and_one_line_headers() {
        let message = Message::new(
            "ana@acme.test",
            "Invoice 7\r\nBcc: everyone@example.com",
            "Hello Ana,\n\nSee it: https://portal.example.com/reset#token=a=b.\n",
        );
        let built = build("Portico <portico@example.com>", &branding(), &message).unwrap();
        let text = text_of(&built);
        assert!(text.contains("Subject: Invoice 7  Bcc: everyone@example.com\r\n"), "{text}");
        assert!(!text.contains("\r\nBcc:"), "no header injected");
        assert!(text.contains("Message-ID: <") && text.contains("@example.com>\r\n"), "{text}");
        assert!(text.contains("\r\nDate: "));
        assert!(text.contains("multipart/alternative"));
        assert!(text.contains("https://portal.example.com/reset#token=a=b."), "the link whole in the text part");
        assert!(text.contains("Content-Type: text/html; charset=utf-8"), "and an HTML part: {text}");
        assert!(!text.contains("List-Unsubscribe"), "security mail has no unsubscribe");
    }

    #[test]
    fn the_html_part_makes_addresses_links_and_escapes_the_rest() {
        let message = Message::new("ana@acme.test", "News", "Open https://portal.example.com/a?b=1&c=2.\n<script>");
        let html = html(&branding(), &message);
        assert!(
            html.contains(
                "<a href=\"https://portal.example.com/a?b=1&amp;c=2\">https://portal.example.com/a?b=1&amp;c=2</a>."
            ),
            "{html}"
        );
        assert!(html.contains("&lt;script&gt;") && !html.contains("<script>"));
        assert!(html.contains("color:#0f766e"), "the business's colour");
        assert!(html.contains("Acme &lt;Portal&gt;"), "the business's name, escaped");
    }

    #[test]
    fn notification_mail_offers_one_click_unsubscribe() {
        let message = Message {
            unsubscribe_url: Some("https://portal.example.com/unsubscribe?token=abc".into()),
            message_id: Some("<fixed@example.com>".into()),
            ..Message::new("ana@acme.test", "News", "Invoice 7 is paid")
        };
        let text = text_of(&build("portico@example.com", &branding(), &message).unwrap());
        assert!(text.contains("List-Unsubscribe: <https://portal.example.com/unsubscribe?token=abc>\r\n"), "{text}");
        assert!(text.contains("List-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n"));
        assert!(text.contains("Message-ID: <fixed@example.com>\r\n"), "the recorded id is the one sent");
    }

    #[test]
    fn words_beyond_ascii_stay_readable() {
        let message = Message::new("jose@acme.test", "Grüße", "Hallo José,\n\nIhre Rechnung ist bezahlt.");
        let text = text_of(&build("portico@example.com", &branding(), &message).unwrap());
        assert!(text.contains("Content-Transfer-Encoding: 8bit"), "{text}");
        assert!(text.contains("Hallo José,"));
    }
}
