use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::store::{ProbeOutcome, QueueProbeRun, Result, new_id};

portable_queries! {
    pub async fn create_queue_probe(&self, hold_ms: u64) -> Result<Uuid> {
        let probe_id = new_id();
        sqlx::query("INSERT INTO queue_probes (id, hold_ms, requested_at) VALUES ($1, $2, $3)")
            .bind(probe_id)
            .bind(hold_ms as i64)
            .bind(Utc::now())
            .execute(&self.pool)
            .await?;
        Ok(probe_id)
    }

    pub async fn start_queue_probe_run(&self, probe_id: Uuid, worker: &str) -> Result<Uuid> {
        let run_id = new_id();
        sqlx::query("INSERT INTO queue_probe_runs (id, probe_id, worker, started_at) VALUES ($1, $2, $3, $4)")
            .bind(run_id)
            .bind(probe_id)
            .bind(worker)
            .bind(Utc::now())
            .execute(&self.pool)
            .await?;
        Ok(run_id)
    }

    pub async fn finish_queue_probe_run(&self, run_id: Uuid, outcome: ProbeOutcome) -> Result<()> {
        sqlx::query("UPDATE queue_probe_runs SET finished_at = $1, outcome = $2 WHERE id = $3")
            .bind(Utc::now())
            .bind(outcome.as_str())
            .bind(run_id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    pub async fn queue_probe_runs(&self, probe_id: Uuid) -> Result<Vec<QueueProbeRun>> {
        let rows: Vec<ProbeRunRow> = sqlx::query_as(
            "SELECT id, worker, started_at, finished_at, outcome FROM queue_probe_runs WHERE probe_id = $1 ORDER BY started_at, id",
        )
        .bind(probe_id)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.into_iter().map(QueueProbeRun::from).collect())
    }
}

#[derive(sqlx::FromRow)]
struct ProbeRunRow {
    id: Uuid,
    worker: String,
    started_at: DateTime<Utc>,
    finished_at: Option<DateTime<Utc>>,
    outcome: Option<String>,
}

impl From<ProbeRunRow> for QueueProbeRun {
    fn from(row: ProbeRunRow) -> Self {
        QueueProbeRun {
            run_id: row.id,
            worker: row.worker,
            started_at: row.started_at,
            finished_at: row.finished_at,
            outcome: row.outcome.as_deref().and_then(ProbeOutcome::parse),
        }
    }
}
