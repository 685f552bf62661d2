//! `portico connectors list | test ID | sync ID [--stream S] [--full] | cancel ID [--stream S]`.
//!
//! `sync` runs in this process (no worker needed), shows a progress bar per stream
//! on a terminal (a progress line every few seconds otherwise), and ends with a
//! summary; it exits 1 if any stream's run failed.

use std::time::{Duration, Instant};

use chrono::Utc;
use clap::Subcommand;
use indicatif::{ProgressBar, ProgressStyle};
use portico_connectors::SyncMode;
use uuid::Uuid;

use super::{CliError, open_store};
use crate::audit::{self, ActorKind, AuditEvent};
use crate::config::MasterKey;
use crate::config::Settings;
use crate::core::crypto::SecretCipher;
use crate::jobs::{JobContext, JobQueue};
use crate::store::{ConnectorInstanceRow, Store, StoreError};
use crate::sync::{ConnectorHost, SyncJob};

#[derive(Debug, Subcommand)]
pub enum ConnectorsCommand {
    /// Every connector instance: id, kind, name, health.
    List,
    /// Test an instance's connection (one cheap upstream call).
    Test {
        /// The instance's id or name.
        connector: String,
    },
    /// Sync an instance now, in this process, with progress and a summary.
    Sync {
        /// The instance's id or name.
        connector: String,
        /// Only this stream (repeatable); all streams when absent.
        #[arg(long = "stream", value_name = "STREAM")]
        streams: Vec<String>,
        /// A full sync (also detects deletions) instead of an incremental one.
        #[arg(long)]
        full: bool,
    },
    /// Cancel an instance's queued, running or waiting runs; a worker running one
    /// stops at its next page.
    Cancel {
        /// The instance's id or name.
        connector: String,
        /// Only this stream's run (repeatable); every active run when absent.
        #[arg(long = "stream", value_name = "STREAM")]
        streams: Vec<String>,
    },
}

pub async fn run(command: ConnectorsCommand, settings: &Settings) -> Result<(), CliError> {
    let (store, queue) = open_store(settings, settings.database.migrate_on_start).await?;
    let cipher = SecretCipher::new(&MasterKey::resolve(settings)?);
    let host = ConnectorHost::new(cipher, &settings.outbound, &settings.sync);
    let result = match command {
        ConnectorsCommand::List => list(&store).await,
        ConnectorsCommand::Test { connector } => test(&store, &host, &connector).await,
        ConnectorsCommand::Sync { connector, streams, full } => {
            let context = JobContext {
                store: store.clone(),
                queue: queue.clone(),
                settings: settings.jobs.clone(),
                sync: settings.sync.clone(),
                connectors: host,
                exports_dir: settings.data_dir.join("exports"),
            };
            let mode = if full { SyncMode::Full } else { SyncMode::Incremental };
            sync(&context, &connector, streams, mode).await
        }
        ConnectorsCommand::Cancel { connector, streams } => cancel(&store, &connector, &streams).await,
    };
    close(&store, &queue).await;
    result
}

async fn close(store: &Store, queue: &JobQueue) {
    queue.close().await;
    store.close().await;
}

fn failed(error: impl std::fmt::Display) -> CliError {
    CliError::Failed(error.to_string())
}

/// An instance by id or by name.
async fn find(store: &Store, reference: &str) -> Result<ConnectorInstanceRow, CliError> {
    let found = match reference.parse::<Uuid>() {
        Ok(id) => store.connector_instance(id).await.map_err(failed)?,
        Err(_) => store.connector_instances().await.map_err(failed)?.into_iter().find(|row| row.name == reference),
    };
    found.ok_or_else(|| CliError::Failed(format!("no connector with id or name {reference}")))
}

async fn list(store: &Store) -> Result<(), CliError> {
    let instances = store.connector_instances().await.map_err(failed)?;
    if instances.is_empty() {
        println!("no connectors; an admin adds them with POST /api/v1/admin/connectors");
    }
    for instance in instances {
        let health = match (instance.enabled, instance.degraded_since.is_some()) {
            (false, _) => "disabled",
            (true, true) => "degraded",
            (true, false) => "active",
        };
        println!("{}  {:<8}  {:<9}  {}", instance.id, instance.kind, health, instance.name);
    }
    Ok(())
}

async fn test(store: &Store, host: &ConnectorHost, reference: &str) -> Result<(), CliError> {
    let instance = find(store, reference).await?;
    let connector = host.build(&instance).map_err(failed)?;
    match connector.check().await {
        Ok(()) => {
            println!("{}: connection ok", instance.name);
            Ok(())
        }
        Err(error) => Err(CliError::Failed(format!(
            "{}: connection failed ({:?}): {}",
            instance.name, error.class, error.message
        ))),
    }
}

async fn sync(context: &JobContext, reference: &str, streams: Vec<String>, mode: SyncMode) -> Result<(), CliError> {
    let store = &context.store;
    let instance = find(store, reference).await?;
    let available: Vec<String> =
        context.connectors.build(&instance).map_err(failed)?.streams().into_iter().map(|stream| stream.name).collect();
    let streams = if streams.is_empty() { available.clone() } else { streams };
    if let Some(unknown) = streams.iter().find(|stream| !available.contains(stream)) {
        return Err(CliError::Failed(format!("no stream {unknown}; {} has {}", instance.name, available.join(", "))));
    }
    let mut any_failed = false;
    for stream in &streams {
        let run_id = match store.create_sync_run(instance.id, stream, mode.as_str(), "cli", Utc::now()).await {
            Ok(run_id) => run_id,
            Err(StoreError::Conflict(_)) => {
                eprintln!("{stream}: a sync of this stream is already queued or running; skipped");
                continue;
            }
            Err(error) => return Err(failed(error)),
        };
        let started = Instant::now();
        let progress = progress_bar(stream);
        let watcher = tokio::spawn(watch(store.clone(), run_id, progress.clone()));
        let result = crate::sync::run::run(&SyncJob { run_id }, context).await;
        watcher.abort();
        progress.finish_and_clear();
        result.map_err(failed)?;
        let run = store.sync_run(run_id).await.map_err(failed)?.ok_or_else(|| failed("the run vanished"))?;
        let seconds = started.elapsed().as_secs_f64();
        println!(
            "{stream}: {} in {seconds:.1}s: {} pages, {} added, {} updated, {} unchanged, {} deleted{}{}",
            run.status,
            run.pages,
            run.added,
            run.updated,
            run.unchanged,
            run.deleted,
            if run.held_deletions > 0 {
                format!(", {} deletions held for an admin", run.held_deletions)
            } else {
                String::new()
            },
            run.error.as_deref().map(|error| format!(": {error}")).unwrap_or_default(),
        );
        if run.status == "waiting" {
            println!(
                "{stream}: rate limited; a worker resumes it after {}",
                run.retry_at.map(|at| at.to_rfc3339()).unwrap_or_default()
            );
        }
        any_failed |= run.status == "failed";
    }
    if any_failed { Err(CliError::Failed("some streams failed".into())) } else { Ok(()) }
}

async fn cancel(store: &Store, reference: &str, streams: &[String]) -> Result<(), CliError> {
    let instance = find(store, reference).await?;
    let active = store.active_sync_runs(instance.id).await.map_err(failed)?;
    let chosen: Vec<_> = active.into_iter().filter(|run| streams.is_empty() || streams.contains(&run.stream)).collect();
    if chosen.is_empty() {
        println!("{}: no queued, running or waiting run to cancel", instance.name);
        return Ok(());
    }
    for run in chosen {
        let reason = "cancelled from the command line";
        let Some(cancelled) = store.cancel_sync_run(instance.id, run.id, reason, Utc::now()).await.map_err(failed)?
        else {
            println!("{}: run {} had already ended", run.stream, run.id);
            continue;
        };
        let event = AuditEvent::new("connector.run_cancelled", ActorKind::System).target("sync_run", run.id).details(
            serde_json::json!({"connector_id": instance.id, "stream": run.stream, "pages": cancelled.pages, "via": "cli"}),
        );
        audit::record(store, event).await.map_err(failed)?;
        println!("{}: run {} cancelled after {} pages ({} before)", run.stream, run.id, cancelled.pages, run.status);
    }
    Ok(())
}

fn progress_bar(stream: &str) -> ProgressBar {
    let progress = ProgressBar::new_spinner();
    progress.set_style(
        ProgressStyle::with_template("{spinner} {prefix}: {msg} [{elapsed_precise}]").expect("a valid template"),
    );
    progress.set_prefix(stream.to_owned());
    progress.enable_steady_tick(Duration::from_millis(120));
    progress
}

/// Shows the run's counters as they are committed; without a terminal, a line every 5 seconds.
async fn watch(store: Store, run_id: Uuid, progress: ProgressBar) {
    let interactive = !progress.is_hidden();
    let mut last_line = Instant::now();
    loop {
        tokio::time::sleep(Duration::from_millis(250)).await;
        let Ok(Some(run)) = store.sync_run(run_id).await else { continue };
        let message = format!(
            "{} pages, {} records ({} added, {} updated, {} unchanged)",
            run.pages,
            run.added + run.updated + run.unchanged,
            run.added,
            run.updated,
            run.unchanged
        );
        if interactive {
            progress.set_message(message);
        } else if last_line.elapsed() >= Duration::from_secs(5) {
            eprintln!("{message}");
            last_line = Instant::now();
        }
    }
}
