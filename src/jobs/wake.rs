//! When an idle worker looks for work again: every poll interval, reliably.
//!
//! apalis 1.0's `IntervalStrategy` replaces its timer after it fires without
//! polling the new one, so the new timer holds no waker. When the worker's
//! heartbeat timer also fired while a fetch was in flight (its wake-up is then
//! spent without being looked at), nothing wakes the worker again: its queue
//! stalls for good while the process looks healthy. Seen under load, where
//! fetches take about as long as the interval: an export waited forever. This
//! strategy polls the fresh timer at once, so an idle worker always has a
//! wake-up pending; each wake-up also lets apalis notice a due heartbeat.

use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use apalis::prelude::{PollSnapshot, PollStrategy};
use tokio::time::{Instant, Sleep};

pub struct EveryInterval {
    interval: Duration,
    timer: Pin<Box<Sleep>>,
}

impl EveryInterval {
    pub fn new(interval: Duration) -> Self {
        Self { interval, timer: Box::pin(tokio::time::sleep(interval)) }
    }
}

impl PollStrategy for EveryInterval {
    fn poll_drive(&mut self, cx: &mut Context<'_>, _: &PollSnapshot) -> Poll<Option<()>> {
        if self.timer.as_mut().poll(cx).is_pending() {
            return Poll::Pending;
        }
        self.timer.as_mut().reset(Instant::now() + self.interval);
        // Polled now, so the next tick holds this worker's waker (see above).
        let _ = self.timer.as_mut().poll(cx);
        Poll::Ready(Some(()))
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::task::{Wake, Waker};

    use super::*;

    struct CountingWaker(AtomicUsize);

    impl Wake for CountingWaker {
        fn wake(self: Arc<Self>) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    #[tokio::test]
    async fn after_each_tick_the_next_one_wakes_the_worker_without_another_poll() {
        let counter = Arc::new(CountingWaker(AtomicUsize::new(0)));
        let waker = Waker::from(counter.clone());
        let mut cx = Context::from_waker(&waker);
        let mut strategy = EveryInterval::new(Duration::from_millis(20));
        let snapshot = PollSnapshot::default();

        assert!(strategy.poll_drive(&mut cx, &snapshot).is_pending());
        tokio::time::sleep(Duration::from_millis(60)).await;
        assert_eq!(counter.0.load(Ordering::SeqCst), 1, "the first tick woke the worker");
        assert!(strategy.poll_drive(&mut cx, &snapshot).is_ready(), "it ticked");
        // The worker is not polled again (its fetch came back empty on the same
        // poll): the next tick must wake it all the same.
        tokio::time::sleep(Duration::from_millis(60)).await;
        assert_eq!(counter.0.load(Ordering::SeqCst), 2, "the next tick woke the worker too");
    }
}
