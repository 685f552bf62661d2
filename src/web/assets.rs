//! Static files, embedded in the binary and served under names carrying a hash
//! of their content (`app.3f9c2d1e0a.css`), so browsers keep them for a year
//! (`immutable`) and a new release is fetched at once. The brand stylesheet is
//! made from `[portal]` (its accent colour) the same way.

use std::sync::LazyLock;

use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};

use crate::config::PortalSettings;
use crate::server::AppState;

struct Asset {
    /// The name pages use (`app.css`).
    name: &'static str,
    content_type: &'static str,
    bytes: &'static [u8],
}

const ASSETS: &[Asset] = &[
    Asset { name: "app.css", content_type: "text/css; charset=utf-8", bytes: include_bytes!("../../assets/app.css") },
    Asset {
        name: "app.js",
        content_type: "text/javascript; charset=utf-8",
        bytes: include_bytes!("../../assets/app.js"),
    },
    Asset {
        name: "htmx.min.js",
        content_type: "text/javascript; charset=utf-8",
        bytes: include_bytes!("../../assets/htmx.min.js"),
    },
];

fn short_hash(bytes: &[u8]) -> String {
    hex::encode(&Sha256::digest(bytes)[..5])
}

/// `app.css` → `app.<hash>.css`.
fn hashed_name(name: &str, bytes: &[u8]) -> String {
    let (stem, extension) = name.rsplit_once('.').unwrap_or((name, ""));
    format!("{stem}.{}.{extension}", short_hash(bytes))
}

static HASHED: LazyLock<Vec<(String, &'static Asset)>> =
    LazyLock::new(|| ASSETS.iter().map(|asset| (hashed_name(asset.name, asset.bytes), asset)).collect());

/// The path a page links to for one of the embedded files.
pub fn path(name: &str) -> String {
    let hashed = HASHED.iter().find(|(_, asset)| asset.name == name).map(|(hashed, _)| hashed.as_str());
    format!("/assets/{}", hashed.unwrap_or(name))
}

/// The accent colour as a stylesheet (no inline styles: the CSP forbids them).
fn brand_css(portal: &PortalSettings) -> String {
    format!(":root {{ --accent: {}; }}\n", portal.accent_color)
}

pub fn brand_path(portal: &PortalSettings) -> String {
    format!("/assets/{}", hashed_name("brand.css", brand_css(portal).as_bytes()))
}

pub async fn serve(State(state): State<AppState>, Path(name): Path<String>) -> Response {
    let immutable = HeaderValue::from_static("public, max-age=31536000, immutable");
    if let Some((_, asset)) = HASHED.iter().find(|(hashed, _)| *hashed == name) {
        return (
            [(header::CONTENT_TYPE, HeaderValue::from_static(asset.content_type)), (header::CACHE_CONTROL, immutable)],
            asset.bytes,
        )
            .into_response();
    }
    let brand = brand_css(&state.settings.portal);
    if name == hashed_name("brand.css", brand.as_bytes()) {
        return (
            [
                (header::CONTENT_TYPE, HeaderValue::from_static("text/css; charset=utf-8")),
                (header::CACHE_CONTROL, immutable),
            ],
            brand,
        )
            .into_response();
    }
    StatusCode::NOT_FOUND.into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn asset_names_carry_their_content_hash() {
        let css = path("app.css");
        assert!(css.starts_with("/assets/app.") && css.ends_with(".css") && css.len() == "/assets/app..css".len() + 10);
        assert_ne!(hashed_name("a.css", b"one"), hashed_name("a.css", b"two"));
    }
}
