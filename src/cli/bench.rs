//! `portico bench seed`: fills the database with a business at scale (accounts,
//! one billing member each with an API token, and their invoices, documents,
//! tickets and orders) for benchmarks and query-plan checks. Records are made in
//! the common model and prepared as the sync engine prepares them, then written in
//! bulk (one transaction per batch of accounts), with a progress bar.

use std::io::Write;
use std::path::PathBuf;
use std::time::Instant;

use chrono::{DateTime, Duration, Utc};
use clap::Subcommand;
use indicatif::{ProgressBar, ProgressStyle};
use portico_connectors::Record;
use portico_connectors::model::{CommonRecord, Document, Invoice, InvoiceLine, Order, Ticket};
use serde_json::json;
use uuid::Uuid;

use super::{CliError, open_store};
use crate::auth::tokens::generate_token;
use crate::config::Settings;
use crate::store::{ConnectorInstanceFields, SeedAccount, SeedBatch, SeedRecord, Store, new_id};
use crate::sync::prepare::prepare;

#[derive(Debug, Subcommand)]
pub enum BenchCommand {
    /// Fill the database with accounts and records at scale.
    Seed {
        #[arg(long, default_value_t = 10_000)]
        accounts: u32,
        /// Invoices in all (spread evenly); half as many documents, a quarter as many
        /// tickets and orders.
        #[arg(long, default_value_t = 1_000_000)]
        invoices: u64,
        /// Write each account's id and its member's API token here (mode 0600), for
        /// load generators. Without it the tokens are not kept anywhere.
        #[arg(long, value_name = "FILE")]
        tokens_file: Option<PathBuf>,
    },
}

/// Accounts written per transaction.
const ACCOUNTS_PER_BATCH: u32 = 50;

pub async fn run(command: BenchCommand, settings: &Settings) -> Result<(), CliError> {
    let BenchCommand::Seed { accounts, invoices, tokens_file } = command;
    if accounts == 0 {
        return Err(CliError::Failed("--accounts must be at least 1".into()));
    }
    let (store, queue) = open_store(settings, settings.database.migrate_on_start).await?;
    let result = seed(&store, accounts, invoices, tokens_file).await;
    queue.close().await;
    store.close().await;
    result
}

fn failed(error: impl std::fmt::Display) -> CliError {
    CliError::Failed(error.to_string())
}

async fn seed(store: &Store, accounts: u32, invoices: u64, tokens_file: Option<PathBuf>) -> Result<(), CliError> {
    let started = Instant::now();
    let now = Utc::now();
    let run = Uuid::now_v7().simple().to_string()[..8].to_owned();
    let fields = ConnectorInstanceFields {
        name: format!("bench seed {run}"),
        settings: json!({}),
        allow_private_network: false,
        rate_limit_per_sec: None,
        rate_budget_key: None,
        schedule_interval_secs: None,
        delete_guard_share: 0.2,
        request_timeout_secs: None,
        // Nothing to sync from: the records are written directly.
        enabled: false,
    };
    let instance_id =
        store.create_connector_instance(crate::store::new_id(), "rest", &fields, &[], now).await.map_err(failed)?;

    let mut tokens = match &tokens_file {
        Some(path) => Some(open_private(path).map_err(|error| failed(format!("{}: {error}", path.display())))?),
        None => None,
    };
    let total_records = invoices + invoices / 2 + invoices / 4 * 2;
    let progress = ProgressBar::new(total_records);
    progress.set_style(
        ProgressStyle::with_template("{bar:40} {human_pos}/{human_len} records, {per_sec}, eta {eta}")
            .expect("a valid template"),
    );
    let mut random = SplitMix64(0x5EED);
    let share = |total: u64, index: u32| total / accounts as u64 + u64::from((index as u64) < total % accounts as u64);
    let mut first = 0;
    while first < accounts {
        let last = (first + ACCOUNTS_PER_BATCH).min(accounts);
        let mut batch = SeedBatch { instance_id, accounts: Vec::new(), records: Vec::new(), now };
        for index in first..last {
            let (token, token_hash) = generate_token();
            let account = SeedAccount {
                id: new_id(),
                name: format!("Customer {index:05}"),
                slug: format!("customer-{index:05}-{run}"),
                user_id: new_id(),
                email: format!("billing-{index:05}-{run}@customers.example"),
                role: "owner",
                token_id: new_id(),
                token_hash,
            };
            if let Some(file) = tokens.as_mut() {
                writeln!(file, "{} {token}", account.id).map_err(failed)?;
            }
            let mut add = |record: Record, stream: &'static str, random: &mut SplitMix64| {
                let updated_at = now - Duration::seconds(random.below(365 * 86_400) as i64);
                batch.records.push(SeedRecord {
                    id: new_id(),
                    account_id: account.id,
                    stream,
                    record: prepare(record),
                    updated_at,
                });
            };
            for n in 0..share(invoices, index) {
                add(invoice(&account.slug, index, n, now, &mut random), "invoices", &mut random);
            }
            for n in 0..share(invoices / 2, index) {
                add(document(&account.slug, index, n, now, &mut random), "documents", &mut random);
            }
            for n in 0..share(invoices / 4, index) {
                add(ticket(&account.slug, index, n, now, &mut random), "tickets", &mut random);
            }
            for n in 0..share(invoices / 4, index) {
                add(order(&account.slug, index, n, now, &mut random), "orders", &mut random);
            }
            batch.accounts.push(account);
        }
        let written = batch.records.len() as u64;
        store.seed_batch(&batch).await.map_err(failed)?;
        progress.inc(written);
        first = last;
    }
    progress.finish();
    // The change feed's triggers recorded the seed too, dated with each record's
    // (past) change: housekeeping drops those entries on its next pass. Nobody is
    // notified of them.
    store.skip_notifications_to_feed_end().await.map_err(failed)?;
    store.analyze().await.map_err(failed)?;
    if let Some(file) = tokens.as_mut() {
        file.flush().map_err(failed)?;
    }
    println!(
        "seeded {accounts} accounts and {} records in {:.1} s (connector instance {instance_id})",
        progress.position(),
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

fn open_private(path: &PathBuf) -> std::io::Result<std::io::BufWriter<std::fs::File>> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    Ok(std::io::BufWriter::new(options.open(path)?))
}

/// A small, fast, seeded generator: the data need only look varied.
struct SplitMix64(u64);

impl SplitMix64 {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, bound: u64) -> u64 {
        self.next() % bound.max(1)
    }

    fn pick<'a>(&mut self, choices: &[&'a str]) -> &'a str {
        choices[self.below(choices.len() as u64) as usize]
    }
}

fn days_ago(now: DateTime<Utc>, random: &mut SplitMix64, within: u64) -> DateTime<Utc> {
    now - Duration::seconds(random.below(within * 86_400) as i64)
}

fn record(account_ref: &str, external_id: String, body: CommonRecord) -> Record {
    Record {
        external_id,
        account_ref: Some(account_ref.to_owned()),
        account_unknown: false,
        parent_external_id: None,
        source_updated_at: None,
        body,
        raw: json!({}),
    }
}

fn invoice(account_ref: &str, account: u32, n: u64, now: DateTime<Utc>, random: &mut SplitMix64) -> Record {
    let status = random.pick(&["paid", "paid", "paid", "open", "open", "void", "uncollectible", "draft"]);
    let issued_at = days_ago(now, random, 730);
    let (first, second) = (100 * (1 + random.below(5000) as i64), 100 * (1 + random.below(500) as i64));
    let subtotal = first + second;
    let tax = subtotal / 5;
    let total = subtotal + tax;
    let paid = if status == "paid" { total } else { 0 };
    let body = CommonRecord::Invoice(Invoice {
        number: format!("INV-{account:05}-{n:04}"),
        status: status.into(),
        currency: if account.is_multiple_of(3) { "eur" } else { "usd" }.into(),
        subtotal_minor: subtotal,
        tax_minor: tax,
        total_minor: total,
        amount_paid_minor: paid,
        amount_due_minor: total - paid,
        issued_at: Some(issued_at),
        due_at: Some(issued_at + Duration::days(30)),
        paid_at: (status == "paid").then(|| issued_at + Duration::days(random.below(40) as i64)),
        hosted_url: None,
        pdf_url: None,
        line_items: vec![
            InvoiceLine {
                description: "Subscription".into(),
                quantity: 1,
                unit_amount_minor: Some(first),
                amount_minor: first,
            },
            InvoiceLine {
                description: "Support hours".into(),
                quantity: 1,
                unit_amount_minor: Some(second),
                amount_minor: second,
            },
        ],
    });
    record(account_ref, format!("in_{account:05}_{n:06}"), body)
}

fn document(account_ref: &str, account: u32, n: u64, now: DateTime<Utc>, random: &mut SplitMix64) -> Record {
    let folder = random.pick(&["contracts", "reports", "statements", "shipping"]);
    let body = CommonRecord::Document(Document {
        name: format!("{folder}-{n:05}.pdf"),
        folder: folder.into(),
        content_type: "application/pdf".into(),
        size_bytes: 10_000 + random.below(5_000_000) as i64,
        checksum: None,
        storage_key: format!("customers/{account:05}/{folder}/{n:05}.pdf"),
        modified_at: Some(days_ago(now, random, 365)),
        tags: Vec::new(),
    });
    record(account_ref, format!("doc_{account:05}_{n:06}"), body)
}

fn ticket(account_ref: &str, account: u32, n: u64, now: DateTime<Utc>, random: &mut SplitMix64) -> Record {
    let status = random.pick(&["open", "pending", "closed", "closed", "closed"]);
    let opened_at = days_ago(now, random, 365);
    let body = CommonRecord::Ticket(Ticket {
        subject: format!(
            "{} #{n}",
            random.pick(&[
                "Cannot download invoice",
                "Delivery delayed",
                "Change billing address",
                "Question about order"
            ])
        ),
        status: status.into(),
        priority: Some(random.pick(&["low", "medium", "high"]).into()),
        description: Some("Seeded ticket.".into()),
        opened_at: Some(opened_at),
        closed_at: (status == "closed").then(|| opened_at + Duration::hours(1 + random.below(72) as i64)),
    });
    record(account_ref, format!("tkt_{account:05}_{n:06}"), body)
}

fn order(account_ref: &str, account: u32, n: u64, now: DateTime<Utc>, random: &mut SplitMix64) -> Record {
    let body = CommonRecord::Order(Order {
        kind: "order".into(),
        reference: Some(format!("PO-{account:05}-{n:05}")),
        title: format!("Order {n} for customer {account:05}"),
        status: random.pick(&["received", "processing", "shipped", "delivered", "delivered"]).into(),
        amount_minor: Some(1000 + random.below(500_000) as i64),
        currency: Some("usd".into()),
        status_changed_at: Some(days_ago(now, random, 180)),
    });
    record(account_ref, format!("ord_{account:05}_{n:06}"), body)
}
