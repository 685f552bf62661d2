//! Data exports (the rights of access and portability): a background job builds
//! a gzipped tar archive under `data_dir/exports/`, which whoever asked may
//! download until it expires (housekeeping then deletes it).
//!
//! - An account's export: `records/{type}.json` per record type (the common-model
//!   data with source times) and `documents/` with each document's bytes from its
//!   storage; `manifest.json` says what is in it and what could not be fetched.
//! - A person's export: their profile, memberships, sessions and API tokens.

use std::path::{Path, PathBuf};

use chrono::{Duration, Utc};
use flate2::Compression;
use flate2::write::GzEncoder;
use futures::TryStreamExt;
use portico_connectors::DocumentRef;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use tokio::sync::mpsc;
use uuid::Uuid;

use crate::auth::access;
use crate::auth::permissions::{PORTAL_RECORD_TYPES, Permission, PortalRecordType};
use crate::jobs::{Job, JobContext, JobError};
use crate::store::{ExportRow, Store};

/// How long a finished export can be downloaded.
pub const EXPORT_TTL: Duration = Duration::hours(24);
/// Documents larger than this are listed in the manifest, not included.
const MAX_DOCUMENT_BYTES: u64 = 100 * 1024 * 1024;
const PAGE: i64 = 1000;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ExportJob {
    pub export_id: Uuid,
}

impl Job for ExportJob {
    const QUEUE: &'static str = "portico.export";
}

pub fn archive_path(exports_dir: &Path, export_id: Uuid) -> PathBuf {
    exports_dir.join(format!("{export_id}.tar.gz"))
}

/// Builds one export. A failure is recorded on the export (the person asking
/// sees it) rather than retried: asking again is theirs to do.
pub async fn run(job: &ExportJob, context: &JobContext) -> Result<(), JobError> {
    let store = &context.store;
    let Some(export) = store.export(job.export_id).await? else { return Ok(()) };
    if matches!(export.status.as_str(), "ready" | "failed") {
        return Ok(());
    }
    // Access is judged again now: whoever asked may have left or lost the role since.
    if let Some(account_id) = export.account_id
        && !access::still_holds(store, export.requested_by, account_id, Permission::AccountEditSettings).await?
    {
        let reason = "the person who asked may no longer export this account";
        store.set_export_status(export.id, "failed", None, Some(reason), Utc::now()).await?;
        return Ok(());
    }
    store.set_export_status(export.id, "building", None, None, Utc::now()).await?;
    match build(context, &export).await {
        Ok(size) => store.set_export_status(export.id, "ready", Some(size as i64), None, Utc::now()).await?,
        Err(error) => {
            tracing::warn!(export_id = %export.id, %error, "building an export failed");
            store.set_export_status(export.id, "failed", None, Some(&error), Utc::now()).await?;
        }
    }
    Ok(())
}

/// One file of the archive: small ones built in memory, documents spooled to
/// disk as they stream from their source (so memory stays flat whatever their
/// size; a tar header needs the size before the bytes).
enum Entry {
    Bytes { name: String, bytes: Vec<u8> },
    Spooled { name: String, path: PathBuf },
}

async fn build(context: &JobContext, export: &ExportRow) -> Result<u64, String> {
    let dir = context.exports_dir.clone();
    std::fs::create_dir_all(&dir).map_err(|error| format!("creating {}: {error}", dir.display()))?;
    let partial = dir.join(format!("{}.partial", export.id));
    let (entries, mut received) = mpsc::channel::<Entry>(4);
    let writing = partial.clone();
    // The archive is written on a blocking thread as entries arrive.
    let writer = tokio::task::spawn_blocking(move || -> std::io::Result<()> {
        let file = std::fs::File::create(&writing)?;
        let mut archive = tar::Builder::new(GzEncoder::new(file, Compression::default()));
        while let Some(entry) = received.blocking_recv() {
            let mut header = tar::Header::new_gnu();
            header.set_mode(0o600);
            header.set_mtime(Utc::now().timestamp().max(0) as u64);
            match entry {
                Entry::Bytes { name, bytes } => {
                    header.set_size(bytes.len() as u64);
                    archive.append_data(&mut header, &name, bytes.as_slice())?;
                }
                Entry::Spooled { name, path } => {
                    let spooled = std::fs::File::open(&path)?;
                    header.set_size(spooled.metadata()?.len());
                    let appended = archive.append_data(&mut header, &name, spooled);
                    let _ = std::fs::remove_file(&path);
                    appended?;
                }
            }
        }
        let file = archive.into_inner()?.finish()?;
        file.sync_all()
    });
    let produced = match (export.account_id, export.user_id) {
        (Some(account_id), _) => account_entries(context, export, account_id, &entries).await,
        (None, Some(user_id)) => user_entries(&context.store, export, user_id, &entries).await,
        (None, None) => Err("the export names neither an account nor a person".to_owned()),
    };
    drop(entries);
    let written = writer.await.map_err(|error| error.to_string())?.map_err(|error| format!("writing: {error}"));
    if let Err(error) = produced.and(written) {
        let _ = std::fs::remove_file(&partial);
        // Documents spooled but never appended.
        let spool_prefix = format!("{}.", export.id);
        for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            if name.starts_with(&spool_prefix) && name.ends_with(".spool") {
                let _ = std::fs::remove_file(entry.path());
            }
        }
        return Err(error);
    }
    let archive = archive_path(&dir, export.id);
    std::fs::rename(&partial, &archive).map_err(|error| format!("finishing: {error}"))?;
    std::fs::metadata(&archive).map(|metadata| metadata.len()).map_err(|error| error.to_string())
}

async fn send(entries: &mpsc::Sender<Entry>, name: String, value: &impl Serialize) -> Result<(), String> {
    let bytes = serde_json::to_vec_pretty(value).map_err(|error| error.to_string())?;
    entries.send(Entry::Bytes { name, bytes }).await.map_err(|_| "the archive writer stopped".to_owned())
}

async fn account_entries(
    context: &JobContext,
    export: &ExportRow,
    account_id: Uuid,
    entries: &mpsc::Sender<Entry>,
) -> Result<(), String> {
    let store = &context.store;
    let failed = |error: crate::store::StoreError| error.to_string();
    let account = store.account(account_id).await.map_err(failed)?.ok_or("the account is gone")?;
    let mut counts = serde_json::Map::new();
    let mut documents = Vec::new();
    // Every type a customer sees, each in a file named after its collection.
    for &PortalRecordType { record_type, collection: file, .. } in PORTAL_RECORD_TYPES {
        let mut records = Vec::new();
        let mut after = None;
        loop {
            let page = store.account_records_page(account_id, record_type, after, PAGE).await.map_err(failed)?;
            let Some(last) = page.last() else { break };
            after = Some(last.id);
            for row in page {
                if record_type == "document" {
                    documents.push(row.clone());
                }
                records.push(json!({
                    "id": row.id, "type": row.record_type, "title": row.title, "status": row.status,
                    "amount_minor": row.amount_minor, "currency": row.currency, "occurred_at": row.occurred_at,
                    "due_at": row.due_at, "data": row.data.0, "source_updated_at": row.source_updated_at,
                    "updated_at": row.updated_at,
                }));
            }
        }
        counts.insert(file.to_owned(), json!(records.len()));
        send(entries, format!("records/{file}.json"), &records).await?;
    }
    let mut missing = Vec::new();
    for document in &documents {
        let spool = context.exports_dir.join(format!("{}.{}.spool", export.id, document.id));
        match spool_document(context, document, &spool).await {
            Ok(()) => {
                let name = safe_name(document.data.0["name"].as_str().unwrap_or("document"));
                let entry = Entry::Spooled { name: format!("documents/{}-{name}", document.id), path: spool };
                entries.send(entry).await.map_err(|_| "the archive writer stopped".to_owned())?;
            }
            Err(reason) => {
                let _ = tokio::fs::remove_file(&spool).await;
                missing.push(json!({"id": document.id, "name": document.title, "reason": reason}));
            }
        }
    }
    let manifest = json!({
        "export_id": export.id, "kind": "account", "generated_at": Utc::now(),
        "account": {"id": account.id, "name": account.name}, "records": counts,
        "documents_included": documents.len() - missing.len(), "documents_missing": missing,
    });
    send(entries, "manifest.json".into(), &manifest).await
}

/// Streams a document's bytes from its source into `spool`, if it serves them
/// (at most `MAX_DOCUMENT_BYTES`); the caller removes the file on failure.
async fn spool_document(context: &JobContext, document: &crate::store::RecordRow, spool: &Path) -> Result<(), String> {
    use tokio::io::AsyncWriteExt;
    let instance = context
        .store
        .connector_instance(document.source_instance_id)
        .await
        .map_err(|error| error.to_string())?
        .ok_or("its connector was removed")?;
    let connector = context.connectors.build(&instance).map_err(|error| error.to_string())?;
    let reference = DocumentRef {
        stream: &document.stream,
        external_id: &document.external_id,
        storage_key: document.data.0["storage_key"].as_str().unwrap_or_default(),
    };
    let download = connector.download(reference).await.map_err(|error| error.message)?;
    let download = download.ok_or("its source serves no file for it")?;
    let too_large = || format!("larger than {} MiB", MAX_DOCUMENT_BYTES / 1024 / 1024);
    if download.size.is_some_and(|size| size > MAX_DOCUMENT_BYTES) {
        return Err(too_large());
    }
    let writing = |error: std::io::Error| format!("spooling: {error}");
    let mut file = tokio::fs::File::create(spool).await.map_err(writing)?;
    let mut written: u64 = 0;
    let mut stream = download.stream;
    while let Some(chunk) = stream.try_next().await.map_err(|error| error.message)? {
        // A source that did not say the size is held to the limit as it streams.
        written += chunk.len() as u64;
        if written > MAX_DOCUMENT_BYTES {
            return Err(too_large());
        }
        file.write_all(&chunk).await.map_err(writing)?;
    }
    file.flush().await.map_err(writing)
}

async fn user_entries(
    store: &Store,
    export: &ExportRow,
    user_id: Uuid,
    entries: &mpsc::Sender<Entry>,
) -> Result<(), String> {
    let failed = |error: crate::store::StoreError| error.to_string();
    let profile = store.user_profile(user_id).await.map_err(failed)?.ok_or("the person is gone")?;
    send(
        entries,
        "profile.json".into(),
        &json!({
            "user_id": user_id, "email": profile.email, "display_name": profile.display_name,
            "locale": profile.locale, "time_zone": profile.time_zone,
            "notification_preferences": profile.notification_preferences.0,
        }),
    )
    .await?;
    let memberships: Vec<Value> = store
        .memberships_of(user_id)
        .await
        .map_err(failed)?
        .into_iter()
        .map(|membership| json!({"account_id": membership.account_id, "account": membership.account_name, "role": membership.role}))
        .collect();
    send(entries, "memberships.json".into(), &memberships).await?;
    // Sessions not revoked, expired and idle ones included (a far past cutoff).
    let long_ago = Utc::now() - Duration::days(3650);
    let sessions = store.user_sessions(user_id, long_ago, long_ago).await.map_err(failed)?;
    send(entries, "sessions.json".into(), &sessions).await?;
    let tokens = store.user_api_tokens(user_id, None).await.map_err(failed)?;
    send(entries, "api_tokens.json".into(), &tokens).await?;
    let manifest = json!({"export_id": export.id, "kind": "user", "generated_at": Utc::now(), "user_id": user_id});
    send(entries, "manifest.json".into(), &manifest).await
}

/// A file name that stays one path segment inside the archive.
fn safe_name(name: &str) -> String {
    let safe: String = name
        .chars()
        .map(|c| if c.is_alphanumeric() || matches!(c, '.' | '-' | '_' | ' ') { c } else { '_' })
        .take(120)
        .collect();
    match safe.trim_matches('.') {
        "" => "document".to_owned(),
        trimmed => trimmed.to_owned(),
    }
}

/// Removes expired exports and their files (housekeeping).
pub async fn purge_expired(store: &Store, exports_dir: &Path) -> Result<u64, crate::store::StoreError> {
    let removed = store.remove_expired_exports(Utc::now()).await?;
    for id in &removed {
        let _ = std::fs::remove_file(archive_path(exports_dir, *id));
    }
    Ok(removed.len() as u64)
}

#[cfg(test)]
mod tests {
    #[test]
    fn document_names_stay_inside_the_archive() {
        assert_eq!(super::safe_name("../../etc/passwd"), "_.._etc_passwd");
        assert_eq!(super::safe_name("Q3 report.pdf"), "Q3 report.pdf");
        assert_eq!(super::safe_name(".."), "document");
    }
}
