//! What a connector instance may keep between jobs: reference data an upstream
//! rarely changes (HubSpot's pipelines and their stage labels), held for a short
//! while so that every stream job and every write-back does not fetch it again.
//!
//! The host hands each instance its own cache, and a new one when the instance's
//! settings change; entries expire after their time to live, so a change upstream
//! shows within that time.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::error::ConnectorError;

/// A value and when it was fetched.
type Entry = (Instant, Arc<Value>);

#[derive(Clone, Default)]
pub struct InstanceCache {
    entries: Arc<Mutex<HashMap<&'static str, Entry>>>,
}

impl std::fmt::Debug for InstanceCache {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.debug_struct("InstanceCache").finish_non_exhaustive()
    }
}

impl InstanceCache {
    /// The value under `key` if fetched less than `ttl` ago; otherwise `fetch`
    /// runs and its answer is kept (an error is not). Two jobs missing at once
    /// may both fetch; the later answer is kept.
    pub async fn get_or_fetch<F, Fut>(
        &self,
        key: &'static str,
        ttl: Duration,
        fetch: F,
    ) -> Result<Arc<Value>, ConnectorError>
    where
        F: FnOnce() -> Fut,
        Fut: std::future::Future<Output = Result<Value, ConnectorError>>,
    {
        if let Some((fetched, value)) = self.entries.lock().expect("cache lock").get(key)
            && fetched.elapsed() < ttl
        {
            return Ok(value.clone());
        }
        let value = Arc::new(fetch().await?);
        self.entries.lock().expect("cache lock").insert(key, (Instant::now(), value.clone()));
        Ok(value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_value_is_fetched_once_until_it_expires_and_errors_are_not_kept() {
        let cache = InstanceCache::default();
        let fetches = std::sync::atomic::AtomicU32::new(0);
        let fetch = || async {
            fetches.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            Ok(Value::from(1))
        };
        cache.get_or_fetch("k", Duration::from_secs(60), fetch).await.unwrap();
        cache.get_or_fetch("k", Duration::from_secs(60), fetch).await.unwrap();
        assert_eq!(fetches.load(std::sync::atomic::Ordering::SeqCst), 1);
        cache.get_or_fetch("k", Duration::ZERO, fetch).await.unwrap();
        assert_eq!(fetches.load(std::sync::atomic::Ordering::SeqCst), 2, "expired");
        let failing = || async { Err(ConnectorError::retryable("down")) };
        assert!(cache.get_or_fetch("e", Duration::from_secs(60), failing).await.is_err());
        cache.get_or_fetch("e", Duration::from_secs(60), fetch).await.unwrap();
        assert_eq!(fetches.load(std::sync::atomic::Ordering::SeqCst), 3, "the error was not kept");
    }
}
