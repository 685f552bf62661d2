//! Webhook signature schemes, each verified over the raw request bytes with a
//! constant-time comparison (`Mac::verify_slice`, ring's ed25519 verification):
//!
//! - `standard-webhooks`: Standard Webhooks `v1` (HMAC-SHA256 over
//!   `id.timestamp.body`, `whsec_` base64 secrets) and `v1a` (ed25519, `whpk_` public
//!   keys); several space-separated signatures.
//! - `stripe`: `Stripe-Signature: t=…,v1=…` over `t.body`, the secret used as given.
//! - `github`: `X-Hub-Signature-256: sha256=<hex>` over the body (no timestamp).
//! - `hubspot-v3`: `X-HubSpot-Signature-v3`, base64 HMAC-SHA256 over method, URI, body
//!   and the `X-HubSpot-Request-Timestamp` (milliseconds).
//! - `slack`: `X-Slack-Signature: v0=<hex>` over `v0:timestamp:body`.
//! - `hmac`: a generic HMAC (header, prefix, SHA-256 or SHA-512, hex or base64, and a
//!   template of the signed content).
//!
//! Timestamped schemes refuse deliveries outside the tolerance in both directions.
//! Several secrets may be given (rotation): any one matching is enough.

use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use chrono::{DateTime, Utc};
use hmac::{Hmac, KeyInit, Mac};
use reqwest::header::HeaderMap;
use sha2::{Sha256, Sha512};

use super::WebhookError;

/// The default tolerance for signed timestamps.
pub const DEFAULT_TOLERANCE: Duration = Duration::from_secs(300);

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scheme {
    StandardWebhooks,
    Stripe,
    GitHub,
    HubSpotV3,
    Slack,
    Hmac(GenericHmac),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize, serde::Serialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Algorithm {
    Sha256,
    Sha512,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize, serde::Serialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Encoding {
    Hex,
    Base64,
}

/// A provider's own HMAC scheme, described instead of coded.
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize, serde::Serialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct GenericHmac {
    /// The header carrying the signature.
    pub header: String,
    /// Text before the signature in the header (`sha256=`), if any.
    #[serde(default)]
    pub prefix: String,
    pub algorithm: Algorithm,
    pub encoding: Encoding,
    /// What is signed: `{body}`, with `{timestamp}` and `{id}` standing for those headers.
    #[serde(default = "GenericHmac::body_only")]
    pub template: String,
    /// Header with the delivery time in Unix seconds (checked against the tolerance).
    pub timestamp_header: Option<String>,
    pub id_header: Option<String>,
}

impl Scheme {
    /// The names used in endpoint configuration and by `portico webhooks verify`.
    pub const NAMES: &'static [&'static str] =
        &["standard-webhooks", "stripe", "github", "hubspot-v3", "slack", "hmac"];

    /// A scheme as an endpoint configures it: its name, and for `hmac` its settings.
    pub fn configured(name: &str, hmac: Option<&serde_json::Value>) -> Result<Self, String> {
        match (name, hmac) {
            ("hmac", Some(settings)) => {
                let settings: GenericHmac =
                    serde_json::from_value(settings.clone()).map_err(|error| format!("hmac settings: {error}"))?;
                settings.check()?;
                Ok(Scheme::Hmac(settings))
            }
            ("hmac", None) => Err("the hmac scheme needs its settings (header, algorithm, encoding, template)".into()),
            (name, None) => {
                Self::named(name).ok_or_else(|| format!("unknown scheme `{name}`; one of {}", Self::NAMES.join(", ")))
            }
            (name, Some(_)) => Err(format!("the {name} scheme takes no settings")),
        }
    }

    /// The configuration name (see [`Self::NAMES`]).
    pub fn name(&self) -> &'static str {
        match self {
            Scheme::StandardWebhooks => "standard-webhooks",
            Scheme::Stripe => "stripe",
            Scheme::GitHub => "github",
            Scheme::HubSpotV3 => "hubspot-v3",
            Scheme::Slack => "slack",
            Scheme::Hmac(_) => "hmac",
        }
    }

    /// Headers that carry signatures (redacted when a delivery is shown).
    pub fn signature_headers(&self) -> Vec<String> {
        let fixed: &[&str] = match self {
            Scheme::StandardWebhooks => &["webhook-signature"],
            Scheme::Stripe => &["stripe-signature"],
            Scheme::GitHub => &["x-hub-signature-256", "x-hub-signature"],
            Scheme::HubSpotV3 => &["x-hubspot-signature-v3", "x-hubspot-signature"],
            Scheme::Slack => &["x-slack-signature"],
            Scheme::Hmac(settings) => return vec![settings.header.to_ascii_lowercase()],
        };
        fixed.iter().map(|name| (*name).to_owned()).collect()
    }

    /// A scheme by name (`hmac` needs its settings, so it is built directly).
    pub fn named(name: &str) -> Option<Self> {
        Some(match name {
            "standard-webhooks" => Scheme::StandardWebhooks,
            "stripe" => Scheme::Stripe,
            "github" => Scheme::GitHub,
            "hubspot-v3" => Scheme::HubSpotV3,
            "slack" => Scheme::Slack,
            _ => return None,
        })
    }
}

/// One delivery as received.
#[derive(Debug, Clone, Copy)]
pub struct Delivery<'a> {
    pub method: &'a str,
    /// The full URL the sender posted to (HubSpot signs it).
    pub url: &'a str,
    pub headers: &'a HeaderMap,
    pub body: &'a [u8],
}

impl GenericHmac {
    fn body_only() -> String {
        "{body}".into()
    }

    /// Refuses settings that could never verify anything.
    pub fn check(&self) -> Result<(), String> {
        reqwest::header::HeaderName::from_bytes(self.header.as_bytes())
            .map_err(|_| format!("hmac settings: `{}` is not a header name", self.header))?;
        if !self.template.contains("{body}") {
            return Err("hmac settings: the template must contain {body}".into());
        }
        if self.template.contains("{timestamp}") && self.timestamp_header.is_none() {
            return Err("hmac settings: the template uses {timestamp} but no timestamp_header is set".into());
        }
        if self.template.contains("{id}") && self.id_header.is_none() {
            return Err("hmac settings: the template uses {id} but no id_header is set".into());
        }
        Ok(())
    }
}

impl Delivery<'_> {
    fn header(&self, name: &str) -> Result<&str, WebhookError> {
        self.headers.get(name).and_then(|value| value.to_str().ok()).map(str::trim).ok_or(WebhookError::Malformed)
    }
}

fn check_time(sent_at: i64, now: DateTime<Utc>, tolerance: Duration) -> Result<(), WebhookError> {
    let skew = (now.timestamp() - sent_at).unsigned_abs();
    if skew > tolerance.as_secs() { Err(WebhookError::Stale) } else { Ok(()) }
}

fn hmac_sha256(key: &[u8]) -> Hmac<Sha256> {
    Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes keys of any length")
}

/// True if `signature` is the HMAC-SHA256 of `parts` under `key` (constant time).
fn sha256_matches(key: &[u8], parts: &[&[u8]], signature: &[u8]) -> bool {
    let mut mac = hmac_sha256(key);
    for part in parts {
        mac.update(part);
    }
    mac.verify_slice(signature).is_ok()
}

/// Verifies a delivery against any of `secrets`.
pub fn verify(
    scheme: &Scheme,
    delivery: &Delivery<'_>,
    secrets: &[String],
    now: DateTime<Utc>,
    tolerance: Duration,
) -> Result<(), WebhookError> {
    if secrets.is_empty() {
        return Err(WebhookError::BadSignature);
    }
    match scheme {
        Scheme::StandardWebhooks => standard_webhooks(delivery, secrets, now, tolerance),
        Scheme::Stripe => stripe(delivery, secrets, now, tolerance),
        Scheme::GitHub => github(delivery, secrets),
        Scheme::HubSpotV3 => hubspot_v3(delivery, secrets, now, tolerance),
        Scheme::Slack => slack(delivery, secrets, now, tolerance),
        Scheme::Hmac(settings) => generic(settings, delivery, secrets, now, tolerance),
    }
}

/// The sender's id for a delivery, the same on each of its retries, when the
/// signature covers it. An id the signature does not cover (GitHub's
/// `X-GitHub-Delivery`, a generic HMAC's id header left out of its template) is
/// not trusted: a captured body could be replayed under a fresh one. Then, as
/// for schemes that name no delivery, the caller keys the delivery on the body.
pub fn delivery_id(scheme: &Scheme, headers: &HeaderMap, body: &[u8]) -> Option<String> {
    let header = |name: &str| headers.get(name).and_then(|value| value.to_str().ok()).map(str::to_owned);
    match scheme {
        Scheme::StandardWebhooks => header("webhook-id"),
        Scheme::Stripe => serde_json::from_slice::<serde_json::Value>(body).ok()?["id"].as_str().map(str::to_owned),
        Scheme::Hmac(settings) if settings.template.contains("{id}") => settings.id_header.as_deref().and_then(header),
        // HubSpot and Slack name no delivery: the body itself (with its signed
        // timestamp) identifies a retry of the same delivery.
        Scheme::GitHub | Scheme::Hmac(_) | Scheme::HubSpotV3 | Scheme::Slack => None,
    }
}

/// Whether a verified delivery can be replayed later without detection: the
/// scheme signs no time, so only de-duplication on the body stands in the way,
/// and a sender that legitimately sends one body twice would be seen once.
pub fn replayable(scheme: &Scheme) -> bool {
    match scheme {
        Scheme::GitHub => true,
        Scheme::Hmac(settings) => settings.timestamp_header.is_none() || !settings.template.contains("{timestamp}"),
        Scheme::StandardWebhooks | Scheme::Stripe | Scheme::HubSpotV3 | Scheme::Slack => false,
    }
}

fn standard_webhooks(
    delivery: &Delivery<'_>,
    secrets: &[String],
    now: DateTime<Utc>,
    tolerance: Duration,
) -> Result<(), WebhookError> {
    let id = delivery.header("webhook-id")?;
    let timestamp = delivery.header("webhook-timestamp")?;
    let sent_at: i64 = timestamp.parse().map_err(|_| WebhookError::Malformed)?;
    check_time(sent_at, now, tolerance)?;
    let signed = [id.as_bytes(), b".", timestamp.as_bytes(), b".", delivery.body];
    let mut any = false;
    for entry in delivery.header("webhook-signature")?.split(' ').filter(|entry| !entry.is_empty()) {
        let Some((version, signature)) = entry.split_once(',') else { continue };
        let Ok(signature) = BASE64_ANY_PADDING.decode(signature) else { continue };
        any = true;
        for secret in secrets {
            let matched = match version {
                "v1" => standard_webhooks_key(secret).is_some_and(|key| sha256_matches(&key, &signed, &signature)),
                "v1a" => secret.strip_prefix("whpk_").and_then(|key| BASE64.decode(key).ok()).is_some_and(|key| {
                    let message = signed.concat();
                    ring::signature::UnparsedPublicKey::new(&ring::signature::ED25519, key)
                        .verify(&message, &signature)
                        .is_ok()
                }),
                _ => false,
            };
            if matched {
                return Ok(());
            }
        }
    }
    if any { Err(WebhookError::BadSignature) } else { Err(WebhookError::Malformed) }
}

/// Base64 that takes a value with or without its `=` padding, as the reference
/// Standard Webhooks libraries do (the Python one pads before decoding).
const BASE64_ANY_PADDING: base64::engine::GeneralPurpose = base64::engine::GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    base64::engine::GeneralPurposeConfig::new()
        .with_decode_padding_mode(base64::engine::DecodePaddingMode::Indifferent),
);

/// A Standard Webhooks symmetric key in every form the reference libraries
/// accept: with or without the `whsec_` prefix, with or without padding. A
/// `whpk_` value is a public key for `v1a`, never an HMAC key.
fn standard_webhooks_key(secret: &str) -> Option<Vec<u8>> {
    if secret.starts_with("whpk_") {
        return None;
    }
    let encoded = secret.strip_prefix("whsec_").unwrap_or(secret);
    BASE64_ANY_PADDING.decode(encoded.trim()).ok()
}

fn stripe(
    delivery: &Delivery<'_>,
    secrets: &[String],
    now: DateTime<Utc>,
    tolerance: Duration,
) -> Result<(), WebhookError> {
    let header = delivery.header("stripe-signature")?;
    let mut timestamp = None;
    let mut signatures = Vec::new();
    for part in header.split(',') {
        match part.trim().split_once('=') {
            Some(("t", value)) => timestamp = Some(value),
            Some(("v1", value)) => signatures.push(hex::decode(value).map_err(|_| WebhookError::Malformed)?),
            _ => {}
        }
    }
    let timestamp = timestamp.ok_or(WebhookError::Malformed)?;
    let sent_at: i64 = timestamp.parse().map_err(|_| WebhookError::Malformed)?;
    if signatures.is_empty() {
        return Err(WebhookError::Malformed);
    }
    check_time(sent_at, now, tolerance)?;
    let signed = [timestamp.as_bytes(), b".", delivery.body];
    let matched = secrets
        .iter()
        .any(|secret| signatures.iter().any(|signature| sha256_matches(secret.as_bytes(), &signed, signature)));
    if matched { Ok(()) } else { Err(WebhookError::BadSignature) }
}

fn github(delivery: &Delivery<'_>, secrets: &[String]) -> Result<(), WebhookError> {
    let header = delivery.header("x-hub-signature-256")?;
    let signature =
        header.strip_prefix("sha256=").and_then(|hex| hex::decode(hex).ok()).ok_or(WebhookError::Malformed)?;
    let matched = secrets.iter().any(|secret| sha256_matches(secret.as_bytes(), &[delivery.body], &signature));
    if matched { Ok(()) } else { Err(WebhookError::BadSignature) }
}

fn hubspot_v3(
    delivery: &Delivery<'_>,
    secrets: &[String],
    now: DateTime<Utc>,
    tolerance: Duration,
) -> Result<(), WebhookError> {
    let signature = BASE64.decode(delivery.header("x-hubspot-signature-v3")?).map_err(|_| WebhookError::Malformed)?;
    let timestamp = delivery.header("x-hubspot-request-timestamp")?;
    let sent_at_ms: i64 = timestamp.parse().map_err(|_| WebhookError::Malformed)?;
    check_time(sent_at_ms / 1000, now, tolerance)?;
    // HubSpot signs the URI with these characters decoded.
    let mut uri = delivery.url.to_owned();
    for (encoded, decoded) in [
        ("%3A", ":"),
        ("%2F", "/"),
        ("%3F", "?"),
        ("%40", "@"),
        ("%21", "!"),
        ("%24", "$"),
        ("%27", "'"),
        ("%28", "("),
        ("%29", ")"),
        ("%2A", "*"),
        ("%2C", ","),
        ("%3B", ";"),
    ] {
        uri = uri.replace(encoded, decoded);
    }
    let signed = [delivery.method.as_bytes(), uri.as_bytes(), delivery.body, timestamp.as_bytes()];
    let matched = secrets.iter().any(|secret| sha256_matches(secret.as_bytes(), &signed, &signature));
    if matched { Ok(()) } else { Err(WebhookError::BadSignature) }
}

fn slack(
    delivery: &Delivery<'_>,
    secrets: &[String],
    now: DateTime<Utc>,
    tolerance: Duration,
) -> Result<(), WebhookError> {
    let timestamp = delivery.header("x-slack-request-timestamp")?;
    let sent_at: i64 = timestamp.parse().map_err(|_| WebhookError::Malformed)?;
    let header = delivery.header("x-slack-signature")?;
    let signature = header.strip_prefix("v0=").and_then(|hex| hex::decode(hex).ok()).ok_or(WebhookError::Malformed)?;
    check_time(sent_at, now, tolerance)?;
    let signed = [b"v0:".as_slice(), timestamp.as_bytes(), b":", delivery.body];
    let matched = secrets.iter().any(|secret| sha256_matches(secret.as_bytes(), &signed, &signature));
    if matched { Ok(()) } else { Err(WebhookError::BadSignature) }
}

fn generic(
    settings: &GenericHmac,
    delivery: &Delivery<'_>,
    secrets: &[String],
    now: DateTime<Utc>,
    tolerance: Duration,
) -> Result<(), WebhookError> {
    let header = delivery.header(&settings.header)?;
    let encoded = header.strip_prefix(settings.prefix.as_str()).ok_or(WebhookError::Malformed)?;
    let signature = match settings.encoding {
        Encoding::Hex => hex::decode(encoded).map_err(|_| WebhookError::Malformed)?,
        Encoding::Base64 => BASE64.decode(encoded).map_err(|_| WebhookError::Malformed)?,
    };
    let timestamp = match &settings.timestamp_header {
        Some(name) => {
            let value = delivery.header(name)?;
            check_time(value.parse().map_err(|_| WebhookError::Malformed)?, now, tolerance)?;
            value
        }
        None => "",
    };
    let id = match &settings.id_header {
        Some(name) => delivery.header(name)?,
        None => "",
    };
    // The template around `{body}` is text; the body goes in as raw bytes.
    let (before, after) = settings.template.split_once("{body}").ok_or(WebhookError::Malformed)?;
    let fill = |text: &str| text.replace("{timestamp}", timestamp).replace("{id}", id);
    let (before, after) = (fill(before), fill(after));
    let parts = [before.as_bytes(), delivery.body, after.as_bytes()];
    let matched = secrets.iter().any(|secret| match settings.algorithm {
        Algorithm::Sha256 => sha256_matches(secret.as_bytes(), &parts, &signature),
        Algorithm::Sha512 => {
            let mut mac = Hmac::<Sha512>::new_from_slice(secret.as_bytes()).expect("HMAC takes keys of any length");
            for part in parts {
                mac.update(part);
            }
            mac.verify_slice(&signature).is_ok()
        }
    });
    if matched { Ok(()) } else { Err(WebhookError::BadSignature) }
}

#[cfg(test)]
mod tests {
    use reqwest::header::{HeaderName, HeaderValue};

    use super::*;

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(HeaderName::from_bytes(name.as_bytes()).unwrap(), HeaderValue::from_str(value).unwrap());
        }
        map
    }

    fn at(seconds: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(seconds, 0).unwrap()
    }

    fn check(
        scheme: &Scheme,
        headers: &HeaderMap,
        body: &[u8],
        secrets: &[&str],
        now: i64,
    ) -> Result<(), WebhookError> {
        let delivery = Delivery { method: "POST", url: "https://portico.example/webhooks/x", headers, body };
        let secrets: Vec<String> = secrets.iter().map(|secret| (*secret).to_owned()).collect();
        verify(scheme, &delivery, &secrets, at(now), DEFAULT_TOLERANCE)
    }

    // The Standard Webhooks reference libraries' test vector.
    const SW_SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    const SW_BODY: &[u8] = br#"{"test": 2432232314}"#;

    fn standard(signature: &str, timestamp: &str) -> HeaderMap {
        headers(&[
            ("webhook-id", "msg_p5jXN8AQM9LWM0D4loKWxJek"),
            ("webhook-timestamp", timestamp),
            ("webhook-signature", signature),
        ])
    }

    #[test]
    fn standard_webhooks_v1_reference_vector() {
        let good = standard("v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=", "1614265330");
        assert_eq!(check(&Scheme::StandardWebhooks, &good, SW_BODY, &[SW_SECRET], 1614265330), Ok(()));
        // Several signatures: one matching is enough; a rotated-out secret alongside is fine.
        let several = standard("v1,bm9wZQ== v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=", "1614265330");
        assert_eq!(check(&Scheme::StandardWebhooks, &several, SW_BODY, &["whsec_b2xk", SW_SECRET], 1614265330), Ok(()));
        // The same key in every form the reference libraries accept: with or
        // without the prefix, with or without base64 padding.
        let key = "0123456789abcdefghij"; // 20 bytes: its base64 ends in padding
        let padded = BASE64.encode(key);
        assert!(padded.ends_with('='));
        let signed = [b"msg_p5jXN8AQM9LWM0D4loKWxJek".as_slice(), b".", b"1614265330", b".", SW_BODY];
        let mut mac = hmac_sha256(key.as_bytes());
        signed.iter().for_each(|part| mac.update(part));
        let signature = BASE64.encode(mac.finalize().into_bytes());
        let signed_headers = standard(&format!("v1,{signature}"), "1614265330");
        let unpadded = padded.trim_end_matches('=');
        for secret in [format!("whsec_{padded}"), padded.clone(), unpadded.to_owned(), format!("whsec_{unpadded}")] {
            let verified = check(&Scheme::StandardWebhooks, &signed_headers, SW_BODY, &[&secret], 1614265330);
            assert_eq!(verified, Ok(()), "{secret}");
        }
        assert_eq!(
            check(&Scheme::StandardWebhooks, &good, b"{\"test\": 1}", &[SW_SECRET], 1614265330),
            Err(WebhookError::BadSignature)
        );
        assert_eq!(
            check(&Scheme::StandardWebhooks, &good, SW_BODY, &[SW_SECRET], 1614265330 + 301),
            Err(WebhookError::Stale)
        );
        assert_eq!(
            check(&Scheme::StandardWebhooks, &good, SW_BODY, &[SW_SECRET], 1614265330 - 301),
            Err(WebhookError::Stale)
        );
        // The timestamp is signed: changing it breaks the signature.
        let replayed = standard("v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=", "1614265400");
        assert_eq!(
            check(&Scheme::StandardWebhooks, &replayed, SW_BODY, &[SW_SECRET], 1614265400),
            Err(WebhookError::BadSignature)
        );
        let missing = headers(&[("webhook-id", "msg_1")]);
        assert_eq!(
            check(&Scheme::StandardWebhooks, &missing, SW_BODY, &[SW_SECRET], 1614265330),
            Err(WebhookError::Malformed)
        );
    }

    #[test]
    fn standard_webhooks_v1a_ed25519() {
        use ring::signature::{Ed25519KeyPair, KeyPair};
        let rng = ring::rand::SystemRandom::new();
        let pkcs8 = Ed25519KeyPair::generate_pkcs8(&rng).unwrap();
        let pair = Ed25519KeyPair::from_pkcs8(pkcs8.as_ref()).unwrap();
        let public = format!("whpk_{}", BASE64.encode(pair.public_key().as_ref()));
        let signature = BASE64.encode(pair.sign(b"msg_1.1700000000.{}").as_ref());
        let signed = headers(&[
            ("webhook-id", "msg_1"),
            ("webhook-timestamp", "1700000000"),
            ("webhook-signature", &format!("v1a,{signature}")),
        ]);
        assert_eq!(check(&Scheme::StandardWebhooks, &signed, b"{}", &[&public], 1700000000), Ok(()));
        assert_eq!(
            check(&Scheme::StandardWebhooks, &signed, b"{ }", &[&public], 1700000000),
            Err(WebhookError::BadSignature)
        );
    }

    #[test]
    fn github_documentation_example() {
        let good = headers(&[(
            "x-hub-signature-256",
            "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17",
        )]);
        assert_eq!(check(&Scheme::GitHub, &good, b"Hello, World!", &["It's a Secret to Everybody"], 0), Ok(()));
        assert_eq!(
            check(&Scheme::GitHub, &good, b"Hello, World?", &["It's a Secret to Everybody"], 0),
            Err(WebhookError::BadSignature)
        );
        let unprefixed =
            headers(&[("x-hub-signature-256", "757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17")]);
        assert_eq!(
            check(&Scheme::GitHub, &unprefixed, b"Hello, World!", &["It's a Secret to Everybody"], 0),
            Err(WebhookError::Malformed)
        );
    }

    #[test]
    fn slack_documentation_example() {
        let body = b"token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c";
        let good = headers(&[
            ("x-slack-request-timestamp", "1531420618"),
            ("x-slack-signature", "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503"),
        ]);
        assert_eq!(check(&Scheme::Slack, &good, body, &["8f742231b10e8888abcd99yyyzzz85a5"], 1531420618), Ok(()));
        assert_eq!(
            check(&Scheme::Slack, &good, body, &["8f742231b10e8888abcd99yyyzzz85a5"], 1531420618 + 600),
            Err(WebhookError::Stale)
        );
        assert_eq!(
            check(&Scheme::Slack, &good, body, &["another secret"], 1531420618),
            Err(WebhookError::BadSignature)
        );
    }

    #[test]
    fn stripe_and_hubspot_and_generic_round_trip() {
        let sign = |key: &str, parts: &[&[u8]]| {
            let mut mac = hmac_sha256(key.as_bytes());
            for part in parts {
                mac.update(part);
            }
            mac.finalize().into_bytes().to_vec()
        };
        let body = br#"{"id": "evt_1"}"#;
        let stripe_signature = hex::encode(sign("whsec_stripe", &[b"1700000000", b".", body]));
        let stripe = headers(&[("stripe-signature", &format!("t=1700000000,v1={stripe_signature},v0=ignored"))]);
        assert_eq!(check(&Scheme::Stripe, &stripe, body, &["whsec_stripe"], 1700000100), Ok(()));
        assert_eq!(delivery_id(&Scheme::Stripe, &stripe, body).as_deref(), Some("evt_1"));
        assert_eq!(check(&Scheme::Stripe, &stripe, body, &["whsec_stripe"], 1700000400), Err(WebhookError::Stale));

        let url = "https://portico.example/webhooks/x";
        let hubspot_signature =
            BASE64.encode(sign("hubspot-secret", &[b"POST", url.as_bytes(), body, b"1700000000000"]));
        let hubspot = headers(&[
            ("x-hubspot-signature-v3", &hubspot_signature),
            ("x-hubspot-request-timestamp", "1700000000000"),
        ]);
        assert_eq!(check(&Scheme::HubSpotV3, &hubspot, body, &["hubspot-secret"], 1700000000), Ok(()));
        assert_eq!(check(&Scheme::HubSpotV3, &hubspot, body, &["other"], 1700000000), Err(WebhookError::BadSignature));

        let settings = GenericHmac {
            header: "x-signature".into(),
            prefix: "sha512=".into(),
            algorithm: Algorithm::Sha512,
            encoding: Encoding::Base64,
            template: "{timestamp}|{body}".into(),
            timestamp_header: Some("x-timestamp".into()),
            id_header: Some("x-delivery".into()),
        };
        let mut mac = Hmac::<Sha512>::new_from_slice(b"generic").unwrap();
        mac.update(b"1700000000|");
        mac.update(body);
        let generic = headers(&[
            ("x-signature", &format!("sha512={}", BASE64.encode(mac.finalize().into_bytes()))),
            ("x-timestamp", "1700000000"),
            ("x-delivery", "d-1"),
        ]);
        let scheme = Scheme::Hmac(settings);
        assert_eq!(check(&scheme, &generic, body, &["generic"], 1700000000), Ok(()));
        assert_eq!(delivery_id(&scheme, &generic, body), None, "the id header is not signed: the body keys it");
        assert!(!replayable(&scheme), "its signed timestamp bounds a replay");
        assert_eq!(check(&scheme, &generic, b"tampered", &["generic"], 1700000000), Err(WebhookError::BadSignature));
        let Scheme::Hmac(mut signing_the_id) = scheme else { unreachable!() };
        signing_the_id.template = "{id}.{timestamp}|{body}".into();
        assert_eq!(delivery_id(&Scheme::Hmac(signing_the_id.clone()), &generic, body).as_deref(), Some("d-1"));
        signing_the_id.timestamp_header = None;
        signing_the_id.template = "{body}".into();
        assert!(replayable(&Scheme::Hmac(signing_the_id)));
        let github = headers(&[("x-github-delivery", "72d3162e-cc78-11e3-81ab-4c9367dc0958")]);
        assert_eq!(delivery_id(&Scheme::GitHub, &github, body), None, "GitHub's delivery header is unsigned");
        assert!(replayable(&Scheme::GitHub));
    }

    #[test]
    fn bodies_need_not_be_utf8() {
        let body = [0xff, 0x00, 0xfe];
        let signature = {
            let mut mac = hmac_sha256(b"s");
            mac.update(&body);
            hex::encode(mac.finalize().into_bytes())
        };
        let github = headers(&[("x-hub-signature-256", &format!("sha256={signature}"))]);
        assert_eq!(check(&Scheme::GitHub, &github, &body, &["s"], 0), Ok(()));
    }
}
