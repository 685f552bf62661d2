//! `portico webhooks verify`: tells an admin whether (and why not) a provider's
//! delivery verifies, with the same code the gateway uses. Needs no configuration.

use std::path::PathBuf;
use std::process::ExitCode;

use chrono::{DateTime, Utc};
use clap::{Args, Subcommand, ValueEnum};
use portico_connectors::webhook::schemes::{
    self, Algorithm, DEFAULT_TOLERANCE, Delivery, Encoding, GenericHmac, Scheme,
};
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};

#[derive(Debug, Subcommand)]
pub enum WebhooksCommand {
    /// Verify a delivery's signature: prints `valid` (exit 0) or `invalid: REASON` (exit 1).
    Verify(Box<VerifyArgs>),
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum SchemeArg {
    StandardWebhooks,
    Stripe,
    Github,
    HubspotV3,
    Slack,
    Hmac,
}

#[derive(Debug, Args)]
pub struct VerifyArgs {
    #[arg(long, value_enum)]
    scheme: SchemeArg,
    /// A signing secret (repeat during a rotation); for Standard Webhooks `v1a`, the `whpk_` public key.
    #[arg(long = "secret", required = true)]
    secrets: Vec<String>,
    /// The request's headers as received, one `Name: value` per line.
    #[arg(long)]
    headers_file: PathBuf,
    /// The raw request body.
    #[arg(long)]
    body_file: PathBuf,
    /// Verify as if at this Unix time (default: now).
    #[arg(long)]
    now: Option<i64>,
    /// Allowed clock difference for timestamped schemes, in seconds.
    #[arg(long, default_value_t = DEFAULT_TOLERANCE.as_secs())]
    tolerance_secs: u64,
    /// The request method (HubSpot v3 signs it).
    #[arg(long, default_value = "POST")]
    method: String,
    /// The full URL the provider posted to (HubSpot v3 signs it).
    #[arg(long, default_value = "")]
    url: String,
    /// hmac: the header with the signature.
    #[arg(long, default_value = "x-signature")]
    hmac_header: String,
    /// hmac: text before the signature in the header.
    #[arg(long, default_value = "")]
    hmac_prefix: String,
    /// hmac: sha256 or sha512.
    #[arg(long, default_value = "sha256")]
    hmac_algorithm: String,
    /// hmac: hex or base64.
    #[arg(long, default_value = "hex")]
    hmac_encoding: String,
    /// hmac: what is signed; `{body}`, `{timestamp}` and `{id}` stand for those parts.
    #[arg(long, default_value = "{body}")]
    hmac_template: String,
    /// hmac: the header with the Unix time the delivery was signed at.
    #[arg(long)]
    hmac_timestamp_header: Option<String>,
    /// hmac: the header with the delivery's id.
    #[arg(long)]
    hmac_id_header: Option<String>,
}

/// Reads `Name: value` lines (blank lines and an HTTP request line are skipped).
fn parse_headers(text: &str) -> Result<HeaderMap, String> {
    let mut headers = HeaderMap::new();
    for (number, line) in text.lines().enumerate() {
        let line = line.trim_end_matches('\r');
        if line.trim().is_empty() || line.starts_with("POST ") || line.starts_with("HTTP/") {
            continue;
        }
        let (name, value) =
            line.split_once(':').ok_or_else(|| format!("line {}: expected `Name: value`", number + 1))?;
        let name = HeaderName::from_bytes(name.trim().as_bytes())
            .map_err(|_| format!("line {}: bad header name", number + 1))?;
        let value =
            HeaderValue::from_str(value.trim()).map_err(|_| format!("line {}: bad header value", number + 1))?;
        headers.append(name, value);
    }
    Ok(headers)
}

fn scheme(args: &VerifyArgs) -> Result<Scheme, String> {
    Ok(match args.scheme {
        SchemeArg::StandardWebhooks => Scheme::StandardWebhooks,
        SchemeArg::Stripe => Scheme::Stripe,
        SchemeArg::Github => Scheme::GitHub,
        SchemeArg::HubspotV3 => Scheme::HubSpotV3,
        SchemeArg::Slack => Scheme::Slack,
        SchemeArg::Hmac => Scheme::Hmac(GenericHmac {
            header: args.hmac_header.clone(),
            prefix: args.hmac_prefix.clone(),
            algorithm: match args.hmac_algorithm.as_str() {
                "sha256" => Algorithm::Sha256,
                "sha512" => Algorithm::Sha512,
                other => return Err(format!("--hmac-algorithm {other}: expected sha256 or sha512")),
            },
            encoding: match args.hmac_encoding.as_str() {
                "hex" => Encoding::Hex,
                "base64" => Encoding::Base64,
                other => return Err(format!("--hmac-encoding {other}: expected hex or base64")),
            },
            template: args.hmac_template.clone(),
            timestamp_header: args.hmac_timestamp_header.clone(),
            id_header: args.hmac_id_header.clone(),
        }),
    })
}

pub fn run(command: WebhooksCommand) -> ExitCode {
    let WebhooksCommand::Verify(args) = command;
    let outcome = (|| -> Result<Result<(), String>, String> {
        let headers_text = std::fs::read_to_string(&args.headers_file)
            .map_err(|error| format!("--headers-file {}: {error}", args.headers_file.display()))?;
        let headers = parse_headers(&headers_text).map_err(|error| format!("--headers-file: {error}"))?;
        let body = std::fs::read(&args.body_file)
            .map_err(|error| format!("--body-file {}: {error}", args.body_file.display()))?;
        let scheme = scheme(&args)?;
        let now: DateTime<Utc> = match args.now {
            Some(seconds) => DateTime::from_timestamp(seconds, 0).ok_or("--now: not a Unix time")?,
            None => Utc::now(),
        };
        let delivery = Delivery { method: &args.method, url: &args.url, headers: &headers, body: &body };
        let tolerance = std::time::Duration::from_secs(args.tolerance_secs);
        Ok(schemes::verify(&scheme, &delivery, &args.secrets, now, tolerance).map_err(|error| error.to_string()))
    })();
    match outcome {
        Ok(Ok(())) => {
            println!("valid");
            ExitCode::SUCCESS
        }
        Ok(Err(reason)) => {
            println!("invalid: {reason}");
            ExitCode::FAILURE
        }
        Err(usage) => {
            eprintln!("portico: {usage}");
            ExitCode::from(2)
        }
    }
}
