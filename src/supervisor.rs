//! The process's background tasks, watched. Portico is crash-only: a loop that
//! dies (a panic, or a return it should never make) must not leave the process
//! half-working, answering every webhook 503 because its inbox writer is gone. The
//! supervisor records the first such failure and cancels the shutdown token, so
//! the whole process drains and exits non-zero, and whatever runs it restarts it.

use std::future::Future;
use std::sync::{Arc, Mutex};

use tokio_util::sync::CancellationToken;

#[derive(Debug, Clone)]
pub struct Supervisor {
    shutdown: CancellationToken,
    failure: Arc<Mutex<Option<String>>>,
}

/// When a supervised task may end without that being a failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Lifetime {
    /// It runs until shutdown: ending sooner is a failure.
    UntilShutdown,
    /// It ends by itself when its inputs close (a writer whose senders are gone):
    /// only a panic is a failure.
    UntilItsInputsClose,
}

impl Supervisor {
    pub fn new(shutdown: CancellationToken) -> Self {
        Self { shutdown, failure: Arc::default() }
    }

    /// A loop that runs until shutdown; its panic or early return stops the process.
    pub fn spawn_until_shutdown(&self, name: &'static str, task: impl Future<Output = ()> + Send + 'static) {
        self.watch(name, Lifetime::UntilShutdown, task);
    }

    /// A task that stops by itself once its inputs close; its panic stops the process.
    pub fn spawn_until_inputs_close(&self, name: &'static str, task: impl Future<Output = ()> + Send + 'static) {
        self.watch(name, Lifetime::UntilItsInputsClose, task);
    }

    /// The first background task that failed, if one did.
    pub fn failure(&self) -> Option<String> {
        self.failure.lock().expect("never poisoned").clone()
    }

    fn watch(&self, name: &'static str, lifetime: Lifetime, task: impl Future<Output = ()> + Send + 'static) {
        let handle = tokio::spawn(task);
        let (shutdown, failure) = (self.shutdown.clone(), self.failure.clone());
        tokio::spawn(async move {
            let why = match handle.await {
                Ok(()) if shutdown.is_cancelled() || lifetime == Lifetime::UntilItsInputsClose => return,
                Ok(()) => "stopped before shutdown".to_owned(),
                Err(error) if error.is_panic() => "panicked".to_owned(),
                Err(error) => error.to_string(),
            };
            tracing::error!(task = name, why, "a background task failed; stopping the process");
            failure.lock().expect("never poisoned").get_or_insert_with(|| format!("{name} {why}"));
            shutdown.cancel();
        });
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[tokio::test]
    async fn a_panicking_loop_stops_the_process_and_is_named() {
        let shutdown = CancellationToken::new();
        let supervisor = Supervisor::new(shutdown.clone());
        supervisor.spawn_until_shutdown("webhook processor", async { panic!("boom") });
        tokio::time::timeout(Duration::from_secs(5), shutdown.cancelled()).await.expect("shutdown is cancelled");
        assert_eq!(supervisor.failure().as_deref(), Some("webhook processor panicked"));
    }

    #[tokio::test]
    async fn an_early_return_is_a_failure_but_a_drained_writer_is_not() {
        let shutdown = CancellationToken::new();
        let supervisor = Supervisor::new(shutdown.clone());
        supervisor.spawn_until_inputs_close("inbox writer", async {});
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert!(!shutdown.is_cancelled() && supervisor.failure().is_none());
        supervisor.spawn_until_shutdown("scheduler", async {});
        tokio::time::timeout(Duration::from_secs(5), shutdown.cancelled()).await.expect("shutdown is cancelled");
        assert_eq!(supervisor.failure().as_deref(), Some("scheduler stopped before shutdown"));
    }

    #[tokio::test]
    async fn ending_at_shutdown_is_no_failure() {
        let shutdown = CancellationToken::new();
        let supervisor = Supervisor::new(shutdown.clone());
        let stopping = shutdown.clone();
        supervisor.spawn_until_shutdown("feed", async move { stopping.cancelled().await });
        shutdown.cancel();
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert!(supervisor.failure().is_none());
    }
}
