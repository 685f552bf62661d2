//! `POST /webhooks/{endpoint_id}`: where external systems deliver events.
//!
//! In order: the endpoint is looked up (cached), the sender's address checked
//! against its allow-list, the body read up to the endpoint's limit (a declared
//! length over it is refused before reading anything), the signature verified
//! over the raw bytes, and the delivery committed to the inbox (grouped with
//! concurrent ones) before the answer. A repeat of a stored delivery is answered
//! the same way and not processed again. Refused deliveries are kept briefly,
//! unprocessed, for admins; the sender learns nothing about why.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use axum::Json;
use axum::extract::{ConnectInfo, Path, Request, State};
use axum::http::{HeaderMap, Uri, header};
use axum::response::{IntoResponse, Response};
use chrono::Utc;
use http_body_util::BodyExt;
use portico_connectors::webhook::WebhookError;
use portico_connectors::webhook::schemes::{self, Delivery};
use serde::Serialize;
use sha2::{Digest, Sha256};
use tokio::sync::Notify;
use uuid::Uuid;

use super::endpoint::{Endpoint, EndpointCache};
use super::inbox::InboxWriter;
use crate::server::AppState;
use crate::server::problem::{ApiError, ErrorCode};
use crate::store::{Admission, NewDelivery};
use crate::telemetry::{WEBHOOK_DELIVERIES, WEBHOOK_REJECTED};

/// Headers never stored: credentials of the sender's own, not evidence of the delivery.
const UNSTORED_HEADERS: &[&str] = &["authorization", "proxy-authorization", "cookie"];

/// Sender-chosen ids longer than this are replaced by a digest (they are a unique key).
const MAX_DELIVERY_ID_LEN: usize = 200;

/// The ingress side of the gateway, shared by every request of this process.
#[derive(Debug, Clone)]
pub struct WebhookGateway {
    pub endpoints: EndpointCache,
    pub inbox: InboxWriter,
    /// Notified after a commit stored deliveries to process.
    pub committed: Arc<Notify>,
    /// Refused deliveries kept per endpoint in the current minute.
    pub rejected_kept: RejectedBudget,
}

/// Refused deliveries are kept for debugging, but at most this many per endpoint
/// and minute: anyone who learns an endpoint's address could otherwise fill the
/// database with forged deliveries. Beyond it they are only counted.
const REJECTED_KEPT_PER_MINUTE: u32 = 60;

#[derive(Debug, Clone, Default)]
pub struct RejectedBudget(Arc<std::sync::Mutex<std::collections::HashMap<Uuid, (i64, u32)>>>);

impl RejectedBudget {
    /// Whether one more refused delivery of `endpoint` may be kept now.
    fn take(&self, endpoint: Uuid) -> bool {
        self.take_in(endpoint, Utc::now().timestamp() / 60)
    }

    fn take_in(&self, endpoint: Uuid, minute: i64) -> bool {
        let mut kept = self.0.lock().expect("rejected budget lock");
        kept.retain(|_, (at, _)| *at == minute);
        let (_, count) = kept.entry(endpoint).or_insert((minute, 0));
        *count += 1;
        *count <= REJECTED_KEPT_PER_MINUTE
    }
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct DeliveryAccepted {
    /// Portico's id for the stored delivery (for a duplicate: the original's).
    pub id: Uuid,
    /// True when this delivery was already stored: it is not processed again.
    pub duplicate: bool,
}

#[utoipa::path(post, path = "/webhooks/{endpoint_id}", tag = "webhooks",
    extensions(("x-permission" = json!("public: signed by the sender"))),
    params(("endpoint_id" = Uuid, Path, description = "The endpoint's id (unguessable)")),
    request_body(content = Vec<u8>, description = "The delivery, exactly as signed", content_type = "application/octet-stream"),
    responses(
        (status = 200, description = "Stored durably (or already stored)", body = DeliveryAccepted),
        (status = 401, description = "Signature missing, wrong or out of tolerance", body = crate::server::problem::Problem, content_type = "application/problem+json"),
        (status = 403, description = "Sender's address not allowed", body = crate::server::problem::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such endpoint, or disabled", body = crate::server::problem::Problem, content_type = "application/problem+json"),
        (status = 413, description = "Body over the endpoint's limit", body = crate::server::problem::Problem, content_type = "application/problem+json"),
        (status = 503, description = "Not stored; retry", body = crate::server::problem::Problem, content_type = "application/problem+json")))]
pub async fn receive(
    State(state): State<AppState>,
    Path(endpoint_id): Path<String>,
    request: Request,
) -> Result<Response, ApiError> {
    let (parts, body) = request.into_parts();
    let (method, uri, headers) = (parts.method, parts.uri, parts.headers);
    let peer = parts.extensions.get::<ConnectInfo<SocketAddr>>().copied();
    let gateway = &state.webhooks;
    let endpoint_id: Uuid = endpoint_id.parse().map_err(|_| ApiError::from_code(ErrorCode::NotFound))?;
    let endpoint = gateway
        .endpoints
        .get(&state.store, &state.cipher, endpoint_id)
        .await
        .map_err(ApiError::internal)?
        .filter(|endpoint| endpoint.enabled)
        .ok_or_else(|| ApiError::from_code(ErrorCode::NotFound))?;
    let source = peer.map(|ConnectInfo(address)| address.ip());
    // Checked before the body is read: a refused sender costs nothing more.
    if !endpoint.admits_source(source) {
        refuse(&state, &endpoint, "source_not_allowed", &headers, b"", source).await;
        return Err(ApiError::new(ErrorCode::Forbidden, "Deliveries are not accepted from this address."));
    }

    let declared = headers.get(header::CONTENT_LENGTH).and_then(|value| value.to_str().ok()?.parse::<u64>().ok());
    if declared.is_some_and(|length| length > endpoint.body_limit as u64) {
        return Err(too_large());
    }
    let body = match http_body_util::Limited::new(body, endpoint.body_limit).collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(error) if error.is::<http_body_util::LengthLimitError>() => return Err(too_large()),
        Err(_) => return Err(ApiError::new(ErrorCode::BadRequest, "The request body could not be read.")),
    };

    let now = Utc::now();
    let url = signed_url(&state, &uri);
    let delivery = Delivery { method: method.as_str(), url: &url, headers: &headers, body: &body };
    let verdict = schemes::verify(&endpoint.scheme, &delivery, &endpoint.live_secrets(now), now, endpoint.tolerance)
        .map_err(rejection_reason);

    let new = match verdict {
        Ok(()) => NewDelivery {
            id: Uuid::now_v7(),
            endpoint_id: endpoint.id,
            delivery_id: delivery_id(&endpoint, &headers, &body),
            status: "verified",
            reject_reason: None,
            headers: stored_headers(&headers),
            body: body.to_vec(),
            source_address: source.map(|address| address.to_string()),
            received_at: now,
        },
        Err(reason) => {
            refuse(&state, &endpoint, reason, &headers, &body, source).await;
            return Err(ApiError::from_code(ErrorCode::InvalidSignature));
        }
    };

    let id = new.id;
    match gateway.inbox.commit(new).await {
        Ok(Admission::New) => {
            metrics::counter!(WEBHOOK_DELIVERIES, "outcome" => "accepted").increment(1);
            Ok(Json(DeliveryAccepted { id, duplicate: false }).into_response())
        }
        Ok(Admission::Duplicate { original }) => {
            metrics::counter!(WEBHOOK_DELIVERIES, "outcome" => "duplicate").increment(1);
            Ok(Json(DeliveryAccepted { id: original, duplicate: true }).into_response())
        }
        Err(_) => {
            let mut error = ApiError::new(ErrorCode::NotReady, "The delivery was not stored; send it again.");
            error.set_retry_after(5);
            Err(error)
        }
    }
}

fn too_large() -> ApiError {
    metrics::counter!(WEBHOOK_DELIVERIES, "outcome" => "too_large").increment(1);
    ApiError::new(ErrorCode::PayloadTooLarge, "The delivery is larger than this endpoint accepts.")
}

fn rejection_reason(error: WebhookError) -> &'static str {
    match error {
        WebhookError::Malformed => "malformed_signature",
        WebhookError::BadSignature => "bad_signature",
        WebhookError::Stale => "stale",
    }
}

/// The URL the sender signed (HubSpot signs it): our public address, this path and query.
fn signed_url(state: &AppState, uri: &Uri) -> String {
    let base = state.settings.public_url.trim_end_matches('/');
    let path_and_query = uri.path_and_query().map(|value| value.as_str()).unwrap_or_else(|| uri.path());
    format!("{base}{path_and_query}")
}

/// The sender's delivery id for de-duplication; a digest of the body when the
/// scheme names none (HubSpot, Slack), names one its signature does not cover
/// (GitHub, a generic HMAC without `{id}` in its template), or the sender's id is
/// unreasonably long.
fn delivery_id(endpoint: &Endpoint, headers: &HeaderMap, body: &[u8]) -> String {
    match schemes::delivery_id(&endpoint.scheme, headers, body) {
        Some(id) if !id.is_empty() && id.len() <= MAX_DELIVERY_ID_LEN => id,
        _ => format!("sha256:{}", hex::encode(Sha256::digest(body))),
    }
}

fn stored_headers(headers: &HeaderMap) -> serde_json::Value {
    let mut stored = serde_json::Map::new();
    for (name, value) in headers {
        if UNSTORED_HEADERS.contains(&name.as_str()) {
            continue;
        }
        let Ok(value) = value.to_str() else { continue };
        match stored.get_mut(name.as_str()) {
            Some(serde_json::Value::String(existing)) => {
                existing.push_str(", ");
                existing.push_str(value);
            }
            _ => {
                stored.insert(name.as_str().to_owned(), value.into());
            }
        }
    }
    serde_json::Value::Object(stored)
}

/// Counts a refused delivery and keeps it (its body cut short) for admins to see
/// why, within the endpoint's budget. Best effort: the sender is refused either way.
/// Logged at debug only: forged traffic must not flood the logs either.
async fn refuse(
    state: &AppState,
    endpoint: &Endpoint,
    reason: &'static str,
    headers: &HeaderMap,
    body: &[u8],
    source: Option<IpAddr>,
) {
    metrics::counter!(WEBHOOK_DELIVERIES, "outcome" => "rejected").increment(1);
    metrics::counter!(WEBHOOK_REJECTED, "reason" => reason).increment(1);
    tracing::debug!(endpoint = %endpoint.id, reason, source = ?source, "refused a webhook delivery");
    let gateway = &state.webhooks;
    if !gateway.rejected_kept.take(endpoint.id) {
        return;
    }
    let id = Uuid::now_v7();
    let keep_bytes = state.settings.webhooks.rejected_body_keep_bytes;
    let rejected = NewDelivery {
        id,
        endpoint_id: endpoint.id,
        delivery_id: format!("rejected:{id}"),
        status: "rejected",
        reject_reason: Some(reason),
        headers: stored_headers(headers),
        body: body[..body.len().min(keep_bytes)].to_vec(),
        source_address: source.map(|address| address.to_string()),
        received_at: Utc::now(),
    };
    if gateway.inbox.commit(rejected).await.is_err() {
        tracing::warn!(endpoint = %endpoint.id, "could not keep a refused delivery");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refused_deliveries_are_kept_up_to_a_budget_per_endpoint_and_minute() {
        let budget = RejectedBudget::default();
        let (flooded, other) = (Uuid::new_v4(), Uuid::new_v4());
        let kept = (0..100).filter(|_| budget.take_in(flooded, 7)).count();
        assert_eq!(kept, REJECTED_KEPT_PER_MINUTE as usize);
        assert!(budget.take_in(other, 7), "another endpoint has its own budget");
        assert!(budget.take_in(flooded, 8), "a new minute, a new budget");
    }

    #[test]
    fn a_delivery_without_an_id_is_named_by_its_body() {
        let endpoint = Endpoint {
            id: Uuid::nil(),
            connector_instance_id: Uuid::nil(),
            scheme: portico_connectors::webhook::schemes::Scheme::Slack,
            secrets: Vec::new(),
            tolerance: std::time::Duration::from_secs(300),
            body_limit: 1024,
            allowed_sources: None,
            enabled: true,
        };
        let first = delivery_id(&endpoint, &HeaderMap::new(), b"payload");
        assert_eq!(first, delivery_id(&endpoint, &HeaderMap::new(), b"payload"));
        assert_ne!(first, delivery_id(&endpoint, &HeaderMap::new(), b"other payload"));
        assert!(first.starts_with("sha256:"));
    }
}
