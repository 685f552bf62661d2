//! The `portico` command line. `main` only calls [`main`] here.

use std::io::BufRead;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use clap::{Parser, Subcommand, ValueEnum};
use secrecy::{ExposeSecret, SecretString};
use tokio_util::sync::CancellationToken;

use crate::config::{ConfigError, MasterKey, Overrides, Settings};
use crate::core::email::looks_like_email;
use crate::core::password::{check_password_policy, hash_password};
use crate::jobs::JobQueue;
use crate::jobs::probe::QueueProbe;
use crate::startup::{Application, Roles, StartupError};
use crate::store::{NewStaffUser, ProbeOutcome, StaffRole, Store};
use crate::telemetry;

mod bench;
mod connectors;
mod webhooks;

/// Exit status for configuration and usage errors (clap uses 2 for usage too).
const EXIT_CONFIG: u8 = 2;

#[derive(Debug, Parser)]
#[command(name = "portico", version, about = "Integration-sync gateway and customer portal")]
struct Cli {
    /// Configuration file (TOML), layered over the built-in defaults.
    #[arg(long, global = true, env = "PORTICO_CONFIG", value_name = "FILE")]
    config: Option<PathBuf>,
    /// Database URL: sqlite://PATH or postgres://USER@HOST/DB. Overrides PORTICO_DATABASE_URL.
    #[arg(long, global = true, value_name = "URL")]
    database_url: Option<String>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the HTTP server, and the job workers unless --no-workers.
    Serve {
        /// Address to listen on. Overrides PORTICO_LISTEN.
        #[arg(long, value_name = "ADDR")]
        listen: Option<String>,
        /// Serve HTTP only; run workers elsewhere with `portico worker`.
        #[arg(long, conflicts_with = "demo")]
        no_workers: bool,
        /// Start with a demo business to explore (its own database, recreated at
        /// each start; sign-in details are printed).
        #[arg(long)]
        demo: bool,
    },
    /// Run job workers only.
    Worker,
    /// Apply database and job-queue migrations, then exit.
    Migrate,
    /// Administrative tasks.
    #[command(subcommand)]
    Admin(AdminCommand),
    /// The audit log.
    #[command(subcommand)]
    Audit(AuditCommand),
    /// Connector instances: list, test, sync.
    #[command(subcommand)]
    Connectors(connectors::ConnectorsCommand),
    /// Webhook tools.
    #[command(subcommand)]
    Webhooks(webhooks::WebhooksCommand),
    /// Benchmark tools: seed the database at scale.
    #[command(subcommand)]
    Bench(bench::BenchCommand),
}

#[derive(Debug, Subcommand)]
enum AuditCommand {
    /// Walk the hash chain and report the first event that does not match (exit 1).
    Verify,
}

#[derive(Debug, Subcommand)]
enum AdminCommand {
    /// Create a staff user; the password is read from standard input. Prints the user id.
    CreateStaff {
        #[arg(long)]
        email: String,
        #[arg(long, value_enum)]
        role: StaffRoleArg,
    },
    /// Enqueue probe jobs and optionally wait for workers to run them.
    ProbeQueue {
        /// Number of probe jobs.
        #[arg(long, default_value_t = 1)]
        count: u32,
        /// How long each probe holds its worker slot, in milliseconds.
        #[arg(long, default_value_t = 0)]
        hold_ms: u64,
        /// Make each probe fail this many times before it succeeds (exercises retries).
        #[arg(long, default_value_t = 0)]
        fail_attempts: u32,
        /// Wait up to this many seconds for every probe to finish (0: do not wait).
        #[arg(long, default_value_t = 0)]
        wait_secs: u64,
    },
    /// Print a new random master key for PORTICO_SECRET_KEY.
    GenerateKey,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum StaffRoleArg {
    Admin,
    Support,
    Auditor,
}

impl From<StaffRoleArg> for StaffRole {
    fn from(role: StaffRoleArg) -> Self {
        match role {
            StaffRoleArg::Admin => StaffRole::Admin,
            StaffRoleArg::Support => StaffRole::Support,
            StaffRoleArg::Auditor => StaffRole::Auditor,
        }
    }
}

/// A command's failure: configuration problems exit 2, everything else 1.
#[derive(Debug, thiserror::Error)]
pub(crate) enum CliError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error(transparent)]
    Startup(StartupError),
    #[error("{0}")]
    Failed(String),
}

impl From<StartupError> for CliError {
    fn from(error: StartupError) -> Self {
        match error {
            StartupError::Config(config) => CliError::Config(config),
            other => CliError::Startup(other),
        }
    }
}

pub fn main() -> ExitCode {
    let cli = Cli::parse();
    // Commands that need no configuration.
    match cli.command {
        Command::Admin(AdminCommand::GenerateKey) => {
            println!("{}", MasterKey::generate().to_base64().expose_secret());
            return ExitCode::SUCCESS;
        }
        Command::Webhooks(command) => return webhooks::run(command),
        _ => {}
    }
    let overrides = Overrides {
        listen: match &cli.command {
            Command::Serve { listen, .. } => listen.clone(),
            _ => None,
        },
        database_url: cli.database_url.clone(),
    };
    let settings = match Settings::load(cli.config.as_deref(), &overrides) {
        Ok(settings) => settings,
        Err(error) => return report(CliError::Config(error)),
    };
    let mut log = settings.log.clone();
    if matches!(cli.command, Command::Serve { demo: true, .. }) && std::env::var_os("PORTICO_LOG__LEVEL").is_none() {
        // The demo stays calm: its sign-ins stay on screen, routine syncs and
        // requests log at debug; warnings and errors still show.
        log.level = format!("{},portico::sync=warn,tower_http=warn", log.level);
    }
    telemetry::init_logging(&log);
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("tokio runtime starts");
    match runtime.block_on(run(cli.command, settings)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => report(error),
    }
}

fn report(error: CliError) -> ExitCode {
    let message = crate::server::problem::error_chain(&error);
    eprintln!("portico: {message}");
    match error {
        CliError::Config(_) => ExitCode::from(EXIT_CONFIG),
        _ => ExitCode::FAILURE,
    }
}

async fn run(command: Command, settings: Settings) -> Result<(), CliError> {
    match command {
        Command::Serve { no_workers, demo, .. } => {
            let roles = if no_workers { Roles::HTTP_ONLY } else { Roles::ALL };
            run_service(settings, roles, demo).await
        }
        Command::Worker => run_service(settings, Roles::WORKERS_ONLY, false).await,
        Command::Migrate => migrate(&settings).await,
        Command::Admin(AdminCommand::CreateStaff { email, role }) => create_staff(&settings, email, role.into()).await,
        Command::Admin(AdminCommand::ProbeQueue { count, hold_ms, fail_attempts, wait_secs }) => {
            let probe = ProbeRequest { count, hold_ms, fail_attempts, wait: Duration::from_secs(wait_secs) };
            probe_queue(&settings, probe).await
        }
        Command::Admin(AdminCommand::GenerateKey) => unreachable!("handled before configuration is loaded"),
        Command::Audit(AuditCommand::Verify) => verify_audit_chain(&settings).await,
        Command::Connectors(command) => connectors::run(command, &settings).await,
        Command::Webhooks(_) => unreachable!("handled before configuration is loaded"),
        Command::Bench(command) => bench::run(command, &settings).await,
    }
}

async fn run_service(mut settings: Settings, roles: Roles, demo: bool) -> Result<(), CliError> {
    // Handlers first: a signal during start-up must not take the default "die at once".
    let shutdown = CancellationToken::new();
    cancel_on_signal(shutdown.clone())
        .map_err(|error| CliError::Failed(format!("installing signal handlers: {error}")))?;
    if demo {
        crate::demo::use_demo_database(&mut settings)
            .map_err(|error| CliError::Failed(format!("preparing the demo database: {error}")))?;
    }
    let application = Application::build_with_roles(settings, roles).await?;
    if demo {
        let logins = crate::demo::prepare(&application, shutdown.clone())
            .await
            .map_err(|error| CliError::Failed(crate::server::problem::error_chain(&error)))?;
        print_demo_logins(&application, &logins);
    }
    if let Some(address) = application.local_addr() {
        // On stdout as well as in the logs, for people and scripts starting the service.
        println!("portico listening on http://{address}");
        if !demo {
            hint_at_first_admin(application.store()).await;
        }
    }
    application.run_until_stopped(shutdown).await?;
    Ok(())
}

fn print_demo_logins(application: &Application, logins: &[crate::demo::DemoLogin]) {
    let address = application.local_addr().map(|address| address.to_string()).unwrap_or_default();
    println!(
        "demo business ready (its own database: {}, recreated at each start)",
        application.settings().database_url
    );
    println!("open http://{address}/ in your browser and sign in as any of these (passwords are new at each start):");
    for login in logins {
        println!("  {:<14} {:<26} {}", login.who, login.email, login.password);
    }
    if let Some(login) = logins.get(3) {
        println!(
            "for example, as {}:\n  curl -c demo.cookies -H 'Content-Type: application/json' -d '{{\"email\":\"{}\",\"password\":\"{}\"}}' http://{address}/api/v1/auth/login\n  curl -b demo.cookies http://{address}/api/v1/me\n  curl -N -b demo.cookies http://{address}/api/v1/events    # live changes, every few seconds",
            login.who, login.email, login.password
        );
    }
}

/// A fresh installation has no way in until someone creates the first staff user.
async fn hint_at_first_admin(store: &Store) {
    match store.count_staff_users().await {
        Ok(0) => println!(
            "no staff user yet: create the first admin with\n  \
             printf '%s\\n' 'A LONG PASSPHRASE' | portico admin create-staff --email YOU@EXAMPLE.COM --role admin"
        ),
        Ok(_) => {}
        Err(error) => tracing::warn!(error = %error, "could not count staff users"),
    }
}

/// SIGTERM (orchestrators) or SIGINT (Ctrl-C) starts a graceful shutdown. The
/// handlers are installed before this returns.
#[cfg(unix)]
fn cancel_on_signal(shutdown: CancellationToken) -> std::io::Result<()> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut terminate = signal(SignalKind::terminate())?;
    let mut interrupt = signal(SignalKind::interrupt())?;
    tokio::spawn(async move {
        tokio::select! {
            _ = terminate.recv() => {}
            _ = interrupt.recv() => {}
        }
        tracing::info!("shutdown requested; draining");
        shutdown.cancel();
    });
    Ok(())
}

#[cfg(not(unix))]
fn cancel_on_signal(shutdown: CancellationToken) -> std::io::Result<()> {
    tokio::spawn(async move {
        let _ = tokio::signal::ctrl_c().await;
        shutdown.cancel();
    });
    Ok(())
}

pub(crate) async fn open_store(settings: &Settings, migrate: bool) -> Result<(Store, JobQueue), CliError> {
    let store = Store::connect(settings).await?;
    if migrate {
        store.migrate().await.map_err(|error| CliError::Startup(StartupError::Migrate(error)))?;
    }
    let queue = JobQueue::open(settings, &store, migrate).await.map_err(|error| CliError::Startup(error.into()))?;
    Ok((store, queue))
}

async fn migrate(settings: &Settings) -> Result<(), CliError> {
    let (store, queue) = open_store(settings, true).await?;
    queue.close().await;
    store.close().await;
    println!("migrations applied");
    Ok(())
}

async fn verify_audit_chain(settings: &Settings) -> Result<(), CliError> {
    // Read-only: never migrates.
    let (store, queue) = open_store(settings, false).await?;
    let started = Instant::now();
    let verdict = crate::audit::verify_chain(&store, |checked| {
        eprintln!("audit verify: {checked} events checked after {:.1}s", started.elapsed().as_secs_f64());
    })
    .await;
    queue.close().await;
    store.close().await;
    match verdict.map_err(|error| CliError::Failed(format!("reading the audit log: {error}")))? {
        crate::audit::ChainVerdict::Intact { events } => {
            println!("audit chain intact: {events} events");
            Ok(())
        }
        crate::audit::ChainVerdict::Broken { event_id, events_before } => Err(CliError::Failed(format!(
            "audit chain broken at event {event_id} (the {events_before} events before it are intact)"
        ))),
    }
}

async fn create_staff(settings: &Settings, email: String, role: StaffRole) -> Result<(), CliError> {
    let email = email.trim().to_owned();
    if !looks_like_email(&email) {
        return Err(CliError::Failed(format!("`{email}` is not an email address")));
    }
    let password = read_password_from_stdin()?;
    check_password_policy(&password, &[&email]).map_err(|error| CliError::Failed(error.to_string()))?;
    let (store, queue) = open_store(settings, settings.database.migrate_on_start).await?;
    let password_hash = hash_password(password).await;
    let result = store.create_staff_user(&NewStaffUser { email, password_hash, role }).await;
    queue.close().await;
    store.close().await;
    let user_id = result.map_err(|error| CliError::Failed(format!("could not create the user: {error}")))?;
    println!("{user_id}");
    Ok(())
}

/// One line from standard input, without its line ending.
fn read_password_from_stdin() -> Result<SecretString, CliError> {
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .map_err(|error| CliError::Failed(format!("could not read the password from standard input: {error}")))?;
    let password = line.trim_end_matches(['\r', '\n']).to_owned();
    Ok(SecretString::from(password))
}

#[derive(Debug, Clone, Copy)]
struct ProbeRequest {
    count: u32,
    hold_ms: u64,
    fail_attempts: u32,
    wait: Duration,
}

async fn probe_queue(settings: &Settings, request: ProbeRequest) -> Result<(), CliError> {
    let (store, queue) = open_store(settings, settings.database.migrate_on_start).await?;
    let result = enqueue_and_watch_probes(&store, &queue, settings, &request).await;
    queue.close().await;
    store.close().await;
    result
}

async fn enqueue_and_watch_probes(
    store: &Store,
    queue: &JobQueue,
    settings: &Settings,
    request: &ProbeRequest,
) -> Result<(), CliError> {
    let failed = |error: &dyn std::fmt::Display| CliError::Failed(format!("probe-queue: {error}"));
    let ProbeRequest { count, hold_ms, fail_attempts, wait } = *request;
    let mut probe_ids = Vec::with_capacity(count as usize);
    for _ in 0..count {
        let probe_id = store.create_queue_probe(hold_ms).await.map_err(|e| failed(&e))?;
        let probe = QueueProbe { probe_id, hold_ms, fail_attempts };
        queue.enqueue(probe, &settings.jobs).await.map_err(|e| failed(&e))?;
        println!("{probe_id}");
        probe_ids.push(probe_id);
    }
    if wait.is_zero() {
        return Ok(());
    }
    let started = Instant::now();
    let mut last_reported = usize::MAX;
    loop {
        let mut finished = 0;
        for probe_id in &probe_ids {
            let runs = store.queue_probe_runs(*probe_id).await.map_err(|e| failed(&e))?;
            if runs.iter().any(|run| run.outcome == Some(ProbeOutcome::Succeeded)) {
                finished += 1;
            }
        }
        if finished != last_reported {
            eprintln!(
                "probe-queue: {finished}/{} finished after {:.1}s",
                probe_ids.len(),
                started.elapsed().as_secs_f64()
            );
            last_reported = finished;
        }
        if finished == probe_ids.len() {
            return Ok(());
        }
        if started.elapsed() >= wait {
            return Err(CliError::Failed(format!(
                "only {finished} of {} probes finished within {}s: are workers running?",
                probe_ids.len(),
                wait.as_secs()
            )));
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cli_definition_is_consistent() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }
}
