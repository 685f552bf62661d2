//! The job queue: jobs run, survive a killed worker, never run twice at once, and
//! finish during a graceful shutdown.

use std::collections::HashSet;
use std::time::Duration;

use portico::jobs::Job;
use portico::jobs::probe::QueueProbe;
use portico::store::{ProbeOutcome, QueueProbeRun, Store};
use uuid::Uuid;

use crate::helpers::{
    PorticoProcess, TestDatabase, eventually, portico_command, run_portico, spawn_app, spawn_app_with,
};

async fn enqueue_probe(store: &Store, queue: &portico::jobs::JobQueue, db: &TestDatabase, hold_ms: u64) -> Uuid {
    let probe_id = store.create_queue_probe(hold_ms).await.unwrap();
    queue.enqueue(QueueProbe { probe_id, hold_ms, fail_attempts: 0 }, &db.settings().jobs).await.unwrap();
    probe_id
}

async fn runs(store: &Store, probe_id: Uuid) -> Vec<QueueProbeRun> {
    store.queue_probe_runs(probe_id).await.unwrap()
}

async fn finished_run(store: &Store, probe_id: Uuid, timeout: Duration) -> QueueProbeRun {
    eventually("a successful probe run", timeout, || async {
        runs(store, probe_id).await.into_iter().find(|run| run.outcome == Some(ProbeOutcome::Succeeded))
    })
    .await
}

#[tokio::test]
async fn an_enqueued_job_runs_in_the_serving_process() {
    let app = spawn_app().await;
    let probe_id = enqueue_probe(&app.store, &app.queue, &app.db, 0).await;
    finished_run(&app.store, probe_id, Duration::from_secs(20)).await;
    assert_eq!(runs(&app.store, probe_id).await.len(), 1);

    let metrics = app.get("/metrics").await.text().await.unwrap();
    assert!(metrics.contains(r#"portico_jobs_total{queue="portico.queue_probe",outcome="succeeded"}"#), "{metrics}");
}

#[tokio::test]
async fn a_job_survives_sigkill_of_its_worker_and_runs_after_restart() {
    let db = TestDatabase::new().await;
    let (code, _, stderr) = run_portico(portico_command(&db, &["migrate"]), None);
    assert_eq!(code, 0, "{stderr}");
    let (store, queue) = db.open().await;

    let mut first_worker = PorticoProcess::start(portico_command(&db, &["worker"]));
    first_worker.wait_for_worker(QueueProbe::QUEUE);
    let probe_id = enqueue_probe(&store, &queue, &db, 3_000).await;
    let started = eventually("the first worker to start the job", Duration::from_secs(20), || async {
        runs(&store, probe_id).await.into_iter().next()
    })
    .await;
    first_worker.sigkill();
    assert!(runs(&store, probe_id).await[0].finished_at.is_none(), "the job was cut off by the kill");

    let mut second_worker = PorticoProcess::start(portico_command(&db, &["worker"]));
    second_worker.wait_for_worker(QueueProbe::QUEUE);
    let finished = finished_run(&store, probe_id, Duration::from_secs(40)).await;
    assert_ne!(finished.worker, started.worker, "the job ran again on the new worker");
    let all_runs = runs(&store, probe_id).await;
    assert_eq!(all_runs.len(), 2, "one cut-off run, one complete run: {all_runs:?}");
}

#[tokio::test]
async fn two_worker_processes_never_run_the_same_job() {
    let db = TestDatabase::new().await;
    let (code, _, stderr) = run_portico(portico_command(&db, &["migrate"]), None);
    assert_eq!(code, 0, "{stderr}");
    let (store, queue) = db.open().await;

    let mut workers = [
        PorticoProcess::start(portico_command(&db, &["worker"])),
        PorticoProcess::start(portico_command(&db, &["worker"])),
    ];
    for worker in &mut workers {
        worker.wait_for_worker(QueueProbe::QUEUE);
    }
    // Each job holds its slot long enough that one worker alone cannot keep up
    // with the queue, so the other gets work even on a loaded machine.
    let mut probe_ids = Vec::new();
    for _ in 0..24 {
        probe_ids.push(enqueue_probe(&store, &queue, &db, 400).await);
    }
    let mut workers_seen = HashSet::new();
    for probe_id in &probe_ids {
        finished_run(&store, *probe_id, Duration::from_secs(60)).await;
    }
    // Let any duplicate delivery surface before counting.
    tokio::time::sleep(Duration::from_millis(500)).await;
    for probe_id in &probe_ids {
        let probe_runs = runs(&store, *probe_id).await;
        assert_eq!(probe_runs.len(), 1, "probe {probe_id} ran {} times: {probe_runs:?}", probe_runs.len());
        workers_seen.insert(probe_runs[0].worker.clone());
    }
    assert_eq!(workers_seen.len(), 2, "both workers took jobs: {workers_seen:?}");
}

#[tokio::test]
async fn sigterm_lets_a_running_job_finish_before_exit() {
    let db = TestDatabase::new().await;
    let mut server = PorticoProcess::start(portico_command(&db, &["serve", "--listen", "127.0.0.1:0"]));
    let address = server.wait_for_listen_address();
    server.wait_for_worker(QueueProbe::QUEUE);
    let (store, queue) = db.open().await;
    let probe_id = enqueue_probe(&store, &queue, &db, 1_500).await;
    eventually("the job to start", Duration::from_secs(20), || async {
        runs(&store, probe_id).await.into_iter().next()
    })
    .await;

    server.sigterm();
    assert_eq!(server.wait_for_exit(Duration::from_secs(30)), 0, "{}", server.seen.join("\n"));
    let probe_runs = runs(&store, probe_id).await;
    assert_eq!(probe_runs.len(), 1);
    assert!(
        probe_runs[0].finished_at.is_some(),
        "the in-flight job finished during shutdown; output:\n{}",
        server.seen.join("\n")
    );
    let client = reqwest::Client::builder().no_proxy().build().unwrap();
    assert!(client.get(format!("{address}/healthz")).send().await.is_err(), "no longer accepting");
}

// Multi-threaded: the CLI is awaited synchronously while this process's workers run.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn probe_queue_command_waits_for_workers() {
    let app = spawn_app().await;
    let (code, stdout, stderr) =
        run_portico(portico_command(&app.db, &["admin", "probe-queue", "--count", "2", "--wait-secs", "30"]), None);
    assert_eq!(code, 0, "{stderr}");
    assert!(stderr.contains("2/2 finished"), "{stderr}");
    let probe_ids: Vec<Uuid> = stdout.lines().map(|line| line.parse().unwrap()).collect();
    assert_eq!(probe_ids.len(), 2);
    for probe_id in probe_ids {
        assert_eq!(runs(&app.store, probe_id).await.len(), 1);
    }
}

#[tokio::test]
async fn http_only_and_worker_processes_start_together_and_split_the_work() {
    let db = TestDatabase::new().await;
    // Started at the same moment on a fresh database: both race to migrate and to
    // create the development key, and both must come up.
    let mut http_only =
        PorticoProcess::start(portico_command(&db, &["serve", "--no-workers", "--listen", "127.0.0.1:0"]));
    let mut worker = PorticoProcess::start(portico_command(&db, &["worker"]));
    let address = http_only.wait_for_listen_address();
    worker.wait_for_worker(QueueProbe::QUEUE);

    let client = reqwest::Client::builder().no_proxy().build().unwrap();
    let ready = client.get(format!("{address}/readyz")).send().await.unwrap();
    assert_eq!(ready.status(), 200);

    let (store, queue) = db.open().await;
    let probe_id = enqueue_probe(&store, &queue, &db, 0).await;
    let run = finished_run(&store, probe_id, Duration::from_secs(20)).await;
    let worker_pid = worker.child.id();
    assert!(
        run.worker.contains(&format!("@{worker_pid}-")),
        "ran on the worker process, not the HTTP-only one: {}",
        run.worker
    );
    assert!(!http_only.seen.iter().any(|line| line.contains("job worker started")));
}

#[tokio::test]
async fn a_failing_job_is_retried_with_growing_delays() {
    let app = spawn_app_with(|settings| {
        settings.jobs.retry_base_ms = 300;
        settings.jobs.max_attempts = 4;
    })
    .await;
    let probe_id = app.store.create_queue_probe(0).await.unwrap();
    let probe = QueueProbe { probe_id, hold_ms: 0, fail_attempts: 2 };
    app.queue.enqueue(probe, &app.settings.jobs).await.unwrap();

    finished_run(&app.store, probe_id, Duration::from_secs(30)).await;
    let all_runs = runs(&app.store, probe_id).await;
    let outcomes: Vec<_> = all_runs.iter().map(|run| run.outcome).collect();
    assert_eq!(outcomes, [Some(ProbeOutcome::Failed), Some(ProbeOutcome::Failed), Some(ProbeOutcome::Succeeded)]);
    // Exponential backoff: the n-th retry waits at least base × 2^(n-1) after the failure before it.
    let gaps: Vec<_> = all_runs.windows(2).map(|pair| pair[1].started_at - pair[0].finished_at.unwrap()).collect();
    assert!(gaps[0] >= chrono::Duration::milliseconds(300), "first retry after only {}", gaps[0]);
    assert!(gaps[1] >= chrono::Duration::milliseconds(600), "second retry after only {}", gaps[1]);
    // Metrics are per process and tests share it: at least this test's two failures.
    let metrics = app.get("/metrics").await.text().await.unwrap();
    let failed_series = r#"portico_jobs_total{queue="portico.queue_probe",outcome="failed"} "#;
    let failed: u64 = metrics
        .lines()
        .find_map(|line| line.strip_prefix(failed_series))
        .and_then(|count| count.trim().parse().ok())
        .unwrap_or_else(|| panic!("no failed-jobs series in {metrics}"));
    assert!(failed >= 2, "{metrics}");
}

#[tokio::test]
async fn a_job_gives_up_after_max_attempts() {
    let app = spawn_app_with(|settings| {
        settings.jobs.retry_base_ms = 50;
        settings.jobs.max_attempts = 2;
    })
    .await;
    let probe_id = app.store.create_queue_probe(0).await.unwrap();
    let probe = QueueProbe { probe_id, hold_ms: 0, fail_attempts: 10 };
    app.queue.enqueue(probe, &app.settings.jobs).await.unwrap();

    eventually("two failed runs", Duration::from_secs(20), || async {
        let all_runs = runs(&app.store, probe_id).await;
        (all_runs.iter().filter(|run| run.outcome == Some(ProbeOutcome::Failed)).count() >= 2).then_some(())
    })
    .await;
    // Give a wrongful third attempt time to show up.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let all_runs = runs(&app.store, probe_id).await;
    assert_eq!(all_runs.len(), 2, "no attempt beyond jobs.max_attempts: {all_runs:#?}");
}

#[tokio::test]
async fn a_delayed_job_waits_in_the_queue() {
    let app = spawn_app().await;
    let probe_id = app.store.create_queue_probe(0).await.unwrap();
    let enqueued_at = chrono::Utc::now();
    let probe = QueueProbe { probe_id, hold_ms: 0, fail_attempts: 0 };
    app.queue.enqueue_after(probe, Duration::from_secs(2), &app.settings.jobs).await.unwrap();

    let run = finished_run(&app.store, probe_id, Duration::from_secs(20)).await;
    // The queue stores run-at times in whole seconds, so allow for rounding down.
    assert!(run.started_at - enqueued_at >= chrono::Duration::milliseconds(1000), "started too early");
}
