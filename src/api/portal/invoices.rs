//! `GET …/invoices/{record_id}/pdf`: an invoice's PDF, streamed from where its
//! source keeps it (Stripe's file host, a REST source's `pdf_url`) through Portico,
//! so the customer needs no account there. The link is fetched with the outbound
//! policy of the invoice's connector (public addresses only, unless the instance
//! may reach a private network).

use axum::extract::{Path, State};
use axum::response::Response;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use crate::audit;
use crate::auth::AccountAccess;
use crate::auth::permissions::Permission;
use crate::core::outbound::{AddressPolicy, OutboundClient};
use crate::server::AppState;
use crate::server::problem::{ApiError, ErrorCode};
use crate::store::AccountData;
use crate::store::StoreError;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(invoice_pdf))
}

/// Larger answers are not a PDF of an invoice: refused rather than relayed.
const MAX_PDF_BYTES: usize = 25 * 1024 * 1024;

/// An invoice's PDF (`invoices.download`).
#[utoipa::path(get, path = "/api/v1/accounts/{account_id}/invoices/{record_id}/pdf",
    extensions(("x-permission" = json!("invoices.download"))), tag = "records",
    params(("account_id" = Uuid, Path), ("record_id" = Uuid, Path)),
    responses(
        (status = 200, description = "The PDF", content_type = "application/pdf"),
        (status = 403, description = "Missing invoices.download", body = crate::server::problem::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such invoice in this account, or it has no PDF", body = crate::server::problem::Problem, content_type = "application/problem+json"),
        (status = 502, description = "The source would not give the PDF", body = crate::server::problem::Problem, content_type = "application/problem+json"),
    ))]
pub async fn invoice_pdf(
    State(state): State<AppState>,
    access: AccountAccess,
    Path((_account_id, record_id)): Path<(Uuid, Uuid)>,
) -> Result<Response, ApiError> {
    let scope = access.require(Permission::InvoicesDownload, &state).await?;
    let record = AccountData::of(&state.store, &scope)
        .record("invoice", record_id)
        .await?
        .filter(|record| record.deleted_at.is_none())
        .ok_or(StoreError::NotFound)?;
    let no_pdf = || ApiError::new(ErrorCode::NotFound, "This invoice has no PDF.");
    let url = record.data.0["pdf_url"].as_str().and_then(|url| url::Url::parse(url).ok()).ok_or_else(no_pdf)?;
    let instance = state.store.connector_instance(record.source_instance_id).await?.ok_or(StoreError::NotFound)?;
    let client = match (instance.allow_private_network, state.outbound.policy()) {
        (true, AddressPolicy::PublicOnly) => OutboundClient::new(
            AddressPolicy::AllowPrivate,
            std::time::Duration::from_secs(state.settings.outbound.timeout_secs),
        ),
        _ => state.outbound.clone(),
    };
    let unavailable = |reason: String| {
        tracing::warn!(record_id = %record_id, %reason, "an invoice PDF could not be fetched");
        ApiError::new(
            ErrorCode::BadGateway,
            "The invoice's PDF could not be fetched from its source; try again shortly.",
        )
    };
    let upstream = client.get(&url).await.map_err(|error| unavailable(error.to_string()))?;
    if !upstream.status().is_success() {
        return Err(unavailable(format!("status {}", upstream.status())));
    }
    if upstream.content_length().is_some_and(|length| length > MAX_PDF_BYTES as u64) {
        return Err(unavailable("larger than the limit".into()));
    }
    let event = access.caller.audit_event("invoice.downloaded").account(scope.account_id()).target("record", record_id);
    audit::record(&state.store, event).await?;

    // Relayed chunk by chunk as it arrives, up to the limit.
    // The state is None once an error has been sent: the stream ends there.
    let chunks = futures::stream::unfold(Some((upstream, 0usize)), |state| async move {
        let (mut upstream, sent) = state?;
        match upstream.chunk().await {
            Ok(Some(chunk)) if sent + chunk.len() <= MAX_PDF_BYTES => {
                let sent = sent + chunk.len();
                Some((Ok(chunk), Some((upstream, sent))))
            }
            Ok(Some(_)) => Some((Err(std::io::Error::other("the PDF is larger than the limit")), None)),
            Ok(None) => None,
            Err(error) => Some((Err(std::io::Error::other(error)), None)),
        }
    });
    let name = format!("{}.pdf", crate::api::portal::documents::attachment_name(&record.title));
    Ok(crate::api::portal::documents::attachment_response(
        crate::server::streamed_body(chunks),
        "application/pdf",
        &name,
        None,
    ))
}
