//! `portico serve --demo`: a demo business ready to explore. Two customer
//! accounts, a user for each role (printed sign-in details), and a built-in
//! business system ([`upstream`]) that Portico syncs through the real connector
//! path (the declarative REST connector, the job queue, the sync engine, the
//! change feed), which keeps changing things every few seconds so the live
//! stream shows something.
//!
//! The demo runs on its own SQLite file (`{data_dir}/demo/portico.db`), recreated
//! at each start, so it never mixes with real data. Its document storage is a
//! local folder (`{data_dir}/demo/files`, also recreated) behind a `files`
//! connector, so customers can upload documents and attach files to tickets.

pub mod upstream;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::Utc;
use portico_connectors::SyncMode;
use secrecy::SecretString;
use serde_json::json;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use crate::auth::tokens::generate_token;
use crate::config::{JobSettings, Settings};
use crate::core::password::hash_password;
use crate::jobs::JobQueue;
use crate::startup::Application;
use crate::store::{ConnectorInstanceFields, NewInvitation, NewStaffUser, Store, StoreError};
use crate::sync::service::{StartError, Trigger, start_sync};

use self::upstream::Business;

/// How often something happens in the demo business.
const TICK: Duration = Duration::from_secs(4);
const MANIFEST: &str = include_str!("manifest.yaml");

#[derive(Debug, thiserror::Error)]
pub enum DemoError {
    #[error("setting up the demo data failed")]
    Store(#[from] StoreError),
    #[error("starting the demo sync failed")]
    Sync(#[from] StartError),
    #[error("starting the demo business system failed")]
    Upstream(#[from] std::io::Error),
}

/// Who can sign in, and how.
#[derive(Debug, Clone)]
pub struct DemoLogin {
    pub who: String,
    pub email: String,
    pub password: String,
}

/// Points the settings at the demo's own database and document folder, emptied:
/// a fresh demo each time.
pub fn use_demo_database(settings: &mut Settings) -> std::io::Result<()> {
    let folder = settings.data_dir.join("demo");
    std::fs::create_dir_all(&folder)?;
    for file in ["portico.db", "portico.db-wal", "portico.db-shm"] {
        match std::fs::remove_file(folder.join(file)) {
            Err(error) if error.kind() != std::io::ErrorKind::NotFound => return Err(error),
            _ => {}
        }
    }
    settings.database_url = format!("sqlite://{}", folder.join("portico.db").display());
    let files = demo_files(settings);
    match std::fs::remove_dir_all(&files) {
        Err(error) if error.kind() != std::io::ErrorKind::NotFound => return Err(error),
        _ => {}
    }
    for customer in upstream::CUSTOMERS {
        let shared = files.join(customer).join("shared");
        std::fs::create_dir_all(&shared)?;
        std::fs::write(shared.join("Welcome to the portal.txt"), WELCOME)?;
    }
    settings.sync.local_file_roots.push(files);
    Ok(())
}

const WELCOME: &str = "Welcome! Your invoices, documents, tickets and orders are all here.\n";

/// The demo's document storage: a local folder with one folder per customer.
fn demo_files(settings: &Settings) -> std::path::PathBuf {
    settings.data_dir.join("demo").join("files")
}

/// Creates the demo business in the (fresh) database and starts its business
/// system; returns the sign-in details to print.
pub async fn prepare(application: &Application, shutdown: CancellationToken) -> Result<Vec<DemoLogin>, DemoError> {
    let store = application.store();
    let (token, _) = generate_token();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let upstream_url = format!("http://{}/v1", listener.local_addr()?);
    let business = Arc::new(Mutex::new(Business::new(token.clone(), &upstream_url)));
    let router = upstream::router(business.clone());
    let stopping = shutdown.clone();
    tokio::spawn(async move {
        let served = axum::serve(listener, router).with_graceful_shutdown(stopping.cancelled_owned()).await;
        if let Err(error) = served {
            tracing::warn!(%error, "the demo business system stopped");
        }
    });

    let mut logins = Vec::new();
    let (staff_login, staff_id) = staff_admin(store).await?;
    logins.push(staff_login);
    let acme = store.create_account("Acme Corp", "acme").await?;
    let globex = store.create_account("Globex Ltd", "globex").await?;
    for role in ["owner", "admin", "billing", "member", "viewer"] {
        logins.push(member(store, staff_id, acme.id, "acme", role).await?);
    }
    logins.push(member(store, staff_id, globex.id, "globex", "owner").await?);

    let now = Utc::now();
    let fields = ConnectorInstanceFields {
        name: "Demo business system".into(),
        settings: json!({ "manifest": MANIFEST.replace("http://127.0.0.1/v1", &upstream_url) }),
        // It runs on this machine's loopback.
        allow_private_network: true,
        rate_limit_per_sec: None,
        rate_budget_key: None,
        schedule_interval_secs: None,
        delete_guard_share: 0.5,
        request_timeout_secs: None,
        enabled: true,
    };
    let instance_id = crate::store::new_id();
    let sealed = application.connectors().seal_credentials(instance_id, &json!({ "token": token }));
    store.create_connector_instance(instance_id, "rest", &fields, &sealed, now).await?;
    store.map_account_ref(instance_id, "acme", acme.id, now).await?;
    store.map_account_ref(instance_id, "globex", globex.id, now).await?;

    let streams: Vec<String> = upstream::COLLECTIONS.iter().map(|collection| stream_of(collection)).collect();
    sync(application, instance_id, &streams, SyncMode::Full).await?;

    // Document storage: where uploads and ticket attachments go.
    let files = ConnectorInstanceFields {
        name: "Demo document storage".into(),
        settings: json!({ "store": { "type": "local", "root": demo_files(application.settings()) } }),
        allow_private_network: false,
        ..fields
    };
    let files_id = crate::store::new_id();
    let sealed = application.connectors().seal_credentials(files_id, &json!({}));
    store.create_connector_instance(files_id, "files", &files, &sealed, now).await?;
    store.map_account_ref(files_id, "acme", acme.id, now).await?;
    store.map_account_ref(files_id, "globex", globex.id, now).await?;
    sync(application, files_id, &["documents".to_owned()], SyncMode::Full).await?;
    let (store, queue, jobs) = (store.clone(), application.queue().clone(), application.settings().jobs.clone());
    tokio::spawn(keep_changing(store, queue, jobs, business, instance_id, shutdown));
    Ok(logins)
}

/// The manifest's stream for an upstream collection.
fn stream_of(collection: &str) -> String {
    collection.replace('-', "_")
}

async fn sync(
    application: &Application,
    instance_id: Uuid,
    streams: &[String],
    mode: SyncMode,
) -> Result<(), DemoError> {
    let instance = application.store().connector_instance(instance_id).await?.ok_or(StoreError::NotFound)?;
    let (store, queue, jobs) = (application.store(), application.queue(), &application.settings().jobs);
    start_sync(store, queue, jobs, &instance, streams, mode, Trigger::Schedule).await?;
    Ok(())
}

/// Every few seconds something happens upstream; its streams are synced at once.
async fn keep_changing(
    store: Store,
    queue: JobQueue,
    jobs: JobSettings,
    business: Arc<Mutex<Business>>,
    instance_id: Uuid,
    shutdown: CancellationToken,
) {
    let mut ticks = tokio::time::interval(TICK);
    ticks.tick().await;
    loop {
        tokio::select! {
            () = shutdown.cancelled() => return,
            _ = ticks.tick() => {}
        }
        let instance = match store.connector_instance(instance_id).await {
            Ok(Some(instance)) => instance,
            // An admin deleted the demo's connector: nothing to keep in step any more.
            Ok(None) => {
                tracing::info!(%instance_id, "the demo business's connector was deleted; the demo stops changing it");
                return;
            }
            Err(error) => {
                tracing::warn!(error = %crate::core::error_chain(&error), "the demo could not read its connector");
                continue;
            }
        };
        let changed = business.lock().expect("the demo business is never poisoned").tick();
        let streams: Vec<String> = changed.into_iter().map(stream_of).collect();
        let started = start_sync(&store, &queue, &jobs, &instance, &streams, SyncMode::Incremental, Trigger::Schedule);
        if let Err(error) = started.await {
            tracing::warn!(error = %crate::core::error_chain(&error), "the demo could not sync a change");
        }
    }
}

fn password() -> String {
    // 22 random URL-safe characters: 130 bits.
    generate_token().0[..22].to_owned()
}

async fn staff_admin(store: &Store) -> Result<(DemoLogin, Uuid), DemoError> {
    let (email, password) = ("admin@staff.demo.test".to_owned(), password());
    let password_hash = hash_password(SecretString::from(password.clone())).await;
    let user_id = store
        .create_staff_user(&NewStaffUser { email: email.clone(), password_hash, role: crate::store::StaffRole::Admin })
        .await?;
    Ok((DemoLogin { who: "staff admin".into(), email, password }, user_id))
}

/// A member of `account_id` with `role`, invited and accepted the way people are.
async fn member(
    store: &Store,
    inviter: Uuid,
    account_id: Uuid,
    slug: &str,
    role: &str,
) -> Result<DemoLogin, DemoError> {
    let (email, password) = (format!("{role}@{slug}.demo.test"), password());
    let (_, token_hash) = generate_token();
    let now = Utc::now();
    store
        .create_invitation(&NewInvitation {
            token_hash: token_hash.clone(),
            email: email.clone(),
            account_id: Some(account_id),
            role: role.into(),
            invited_by: inviter,
            created_at: now,
            expires_at: now + chrono::Duration::hours(1),
        })
        .await?;
    let password_hash = hash_password(SecretString::from(password.clone())).await;
    let display_name = format!("{} {}", capitalized(slug), role);
    store.accept_invitation(&token_hash, now, &password_hash, &display_name).await?;
    Ok(DemoLogin { who: format!("{slug} {role}"), email, password })
}

fn capitalized(word: &str) -> String {
    let mut letters = word.chars();
    letters.next().map(|first| first.to_uppercase().chain(letters).collect()).unwrap_or_default()
}
