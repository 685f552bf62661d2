//! Building and running the service: the one entry point `main` and the tests share.

use std::future::IntoFuture;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::config::{ConfigError, MasterKey, Settings};
use crate::core::crypto::SecretCipher;
use crate::jobs::{self, JobContext, JobQueue, QueueError};
use crate::server::AppState;
use crate::store::{Store, StoreError};
use crate::supervisor::Supervisor;
use crate::sync::ConnectorHost;
use crate::telemetry;

/// What one process does: serve HTTP, run job workers, or both (the default).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Roles {
    pub http: bool,
    pub workers: bool,
}

impl Roles {
    pub const ALL: Roles = Roles { http: true, workers: true };
    pub const HTTP_ONLY: Roles = Roles { http: true, workers: false };
    pub const WORKERS_ONLY: Roles = Roles { http: false, workers: true };
}

#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error("database migration failed")]
    Migrate(#[source] StoreError),
    #[error("job queue")]
    Queue(#[from] QueueError),
    #[error("HTTP server failed")]
    Serve(#[source] std::io::Error),
    #[error("job workers failed: {0}")]
    Workers(String),
    #[error("a background task failed: {0}")]
    Background(String),
    #[error("mail transport: {0}")]
    Mail(String),
}

/// A built, not yet running, service: connected, migrated, and (for HTTP) bound.
pub struct Application {
    settings: Arc<Settings>,
    store: Store,
    queue: JobQueue,
    cipher: SecretCipher,
    connectors: ConnectorHost,
    listener: Option<TcpListener>,
    roles: Roles,
}

impl Application {
    pub async fn build(settings: Settings) -> Result<Self, StartupError> {
        Self::build_with_roles(settings, Roles::ALL).await
    }

    pub async fn build_with_roles(settings: Settings, roles: Roles) -> Result<Self, StartupError> {
        let master_key = MasterKey::resolve(&settings)?;
        let store = Store::connect(&settings).await?;
        if settings.database.migrate_on_start {
            store.migrate().await.map_err(StartupError::Migrate)?;
        }
        let queue = JobQueue::open(&settings, &store, settings.database.migrate_on_start).await?;
        let listener = if roles.http {
            let listener = TcpListener::bind(settings.listen).await.map_err(|error| {
                ConfigError::new("listen", format!("cannot listen on {}: {error}", settings.listen))
            })?;
            Some(listener)
        } else {
            None
        };
        let cipher = SecretCipher::new(&master_key);
        let connectors = ConnectorHost::new(cipher.clone(), &settings.outbound, &settings.sync);
        Ok(Self { settings: Arc::new(settings), store, queue, cipher, connectors, listener, roles })
    }

    /// The bound address (port 0 in the configuration becomes a real port here).
    pub fn local_addr(&self) -> Option<SocketAddr> {
        self.listener.as_ref().and_then(|listener| listener.local_addr().ok())
    }

    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    pub fn queue(&self) -> &JobQueue {
        &self.queue
    }

    pub fn connectors(&self) -> &ConnectorHost {
        &self.connectors
    }

    /// Serves until `shutdown` is cancelled, then drains: the listener stops
    /// accepting, in-flight requests and jobs get their grace periods, pools close.
    pub async fn run_until_stopped(self, shutdown: CancellationToken) -> Result<(), StartupError> {
        // Deliveries accepted here are processed at once by this process's workers.
        let committed = Arc::new(tokio::sync::Notify::new());
        let mailer = crate::mail::Mailer::from_settings(&self.settings)
            .map_err(|error| StartupError::Mail(error.to_string()))?;
        let supervisor = Supervisor::new(shutdown.clone());
        let http_task = self.listener.map(|listener| {
            let feed = crate::events::ChangeFeed::start(
                self.store.clone(),
                self.settings.events.clone(),
                shutdown.clone(),
                &supervisor,
            );
            let webhooks = crate::webhooks::WebhookGateway {
                endpoints: crate::webhooks::endpoint::EndpointCache::new(Duration::from_millis(
                    self.settings.webhooks.endpoint_cache_ms,
                )),
                inbox: crate::webhooks::inbox::InboxWriter::start(
                    self.store.clone(),
                    self.settings.webhooks.group_commit_max,
                    committed.clone(),
                    &supervisor,
                ),
                committed: committed.clone(),
                rejected_kept: Default::default(),
            };
            let state = AppState {
                settings: self.settings.clone(),
                store: self.store.clone(),
                queue: self.queue.clone(),
                cipher: self.cipher.clone(),
                connectors: self.connectors.clone(),
                mailer: mailer.clone(),
                outbound: crate::core::outbound::client_from_settings(&self.settings.outbound),
                metrics: telemetry::metrics_handle(),
                webhooks,
                feed,
                usage: crate::auth::usage::UsageRecorder::start(self.store.clone(), shutdown.clone(), &supervisor),
                anonymous: Default::default(),
                domain_proofs: crate::auth::domain_proof::DomainProofs::new(
                    &self.settings.auth.domain_proof_nameservers,
                ),
            };
            let grace = Duration::from_secs(self.settings.http.shutdown_grace_secs);
            // Ready before the first sign-in with an unknown email, which would otherwise
            // take longer than a wrong password and tell the two apart.
            tokio::spawn(crate::api::identity::auth::decoy_hash());
            tracing::info!(address = %listener.local_addr().map(|a| a.to_string()).unwrap_or_default(), "http server listening");
            tokio::spawn(serve_http(listener, crate::routes::router(state), shutdown.clone(), grace))
        });
        let workers_task = self.roles.workers.then(|| {
            let context = JobContext {
                store: self.store.clone(),
                queue: self.queue.clone(),
                settings: self.settings.jobs.clone(),
                sync: self.settings.sync.clone(),
                connectors: self.connectors.clone(),
                exports_dir: self.settings.data_dir.join("exports"),
            };
            supervisor.spawn_until_shutdown(
                "sync scheduler",
                crate::sync::scheduler::run_scheduler(context.clone(), shutdown.clone()),
            );
            let processor = crate::webhooks::Processor::new(
                self.store.clone(),
                self.connectors.clone(),
                self.settings.webhooks.clone(),
            );
            supervisor.spawn_until_shutdown("webhook processor", processor.run(committed.clone(), shutdown.clone()));
            supervisor
                .spawn_until_shutdown("notifier", crate::notifications::run(self.store.clone(), shutdown.clone()));
            supervisor.spawn_until_shutdown(
                "notification mailer",
                crate::notifications::mail::NotificationMailer {
                    store: self.store.clone(),
                    mailer: mailer.clone(),
                    cipher: self.cipher.clone(),
                    portal_url: self.settings.public_url.clone(),
                    digest: chrono::Duration::minutes(self.settings.notifications.digest_minutes as i64),
                }
                .run(shutdown.clone()),
            );
            supervisor.spawn_until_shutdown(
                "housekeeping",
                jobs::housekeeping::run_periodically(self.store.clone(), self.settings.clone(), shutdown.clone()),
            );
            tokio::spawn(jobs::run_workers(context, shutdown.clone()))
        });

        // Whichever role ends first (shutdown, or a failure) stops the other, so a
        // process never lives on with half of its job done: a supervisor restarts it.
        let http_done = async {
            let Some(task) = http_task else { return Ok(()) };
            let result = match task.await {
                Ok(served) => served.map_err(StartupError::Serve),
                Err(join_error) => Err(StartupError::Serve(std::io::Error::other(join_error))),
            };
            shutdown.cancel();
            result
        };
        let workers_done = async {
            let Some(task) = workers_task else { return Ok(()) };
            let result = match task.await {
                Ok(Ok(())) if shutdown.is_cancelled() => Ok(()),
                Ok(Ok(())) => Err(StartupError::Workers("job workers stopped unexpectedly".into())),
                Ok(Err(error)) => Err(StartupError::Workers(error.to_string())),
                Err(join_error) => Err(StartupError::Workers(join_error.to_string())),
            };
            shutdown.cancel();
            result
        };
        let (http_result, workers_result) = tokio::join!(http_done, workers_done);
        tracing::info!("stopped");
        self.queue.close().await;
        self.store.close().await;
        let background_result = match supervisor.failure() {
            Some(failure) => Err(StartupError::Background(failure)),
            None => Ok(()),
        };
        http_result.and(workers_result).and(background_result)
    }
}

async fn serve_http(
    listener: TcpListener,
    router: axum::Router,
    shutdown: CancellationToken,
    grace: Duration,
) -> std::io::Result<()> {
    // Peer addresses feed sign-in throttling and the audit log.
    let service = router.into_make_service_with_connect_info::<std::net::SocketAddr>();
    let server =
        axum::serve(listener, service).with_graceful_shutdown(shutdown.clone().cancelled_owned()).into_future();
    tokio::pin!(server);
    tokio::select! {
        result = &mut server => result,
        () = async { shutdown.cancelled().await; tokio::time::sleep(grace).await } => {
            tracing::warn!(grace_secs = grace.as_secs(), "requests still running after the grace period; closing them");
            Ok(())
        }
    }
}
