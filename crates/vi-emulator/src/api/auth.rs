//! Authentication of API requests (docs/protocol.md §1.2, §1.3, §15 #21).

use axum::http::{HeaderMap, header};

use crate::app::App;
use crate::error::{ApiError, ApiResult};

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Spec §1.3: `Authorization: Bearer <key>` and `Organization-Id`, both must match
/// (401 otherwise); a path `{org}` different from the header's is a 403 (§15 #21).
pub(super) fn authenticate(app: &App, headers: &HeaderMap, path_org: &str) -> ApiResult<()> {
    let authorization = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    let Some(token) = authorization.and_then(|v| v.strip_prefix("Bearer ")) else {
        return Err(ApiError::unauthorized(
            "missing or malformed Authorization header (expected \"Bearer <secret key>\")",
        ));
    };
    if !constant_time_eq(token.trim().as_bytes(), app.secret_key.as_bytes()) {
        return Err(ApiError::unauthorized("invalid secret key"));
    }
    let org = headers
        .get("organization-id")
        .and_then(|v| v.to_str().ok())
        .map(str::trim);
    match org {
        None | Some("") => {
            return Err(ApiError::unauthorized("missing Organization-Id header"));
        }
        Some(org) if org != app.organization_id => {
            return Err(ApiError::unauthorized(
                "the Organization-Id header does not match the organization of the secret key",
            ));
        }
        Some(_) => {}
    }
    if path_org != app.organization_id {
        return Err(ApiError::forbidden(format!(
            "organization {path_org} in the path differs from the Organization-Id header"
        )));
    }
    Ok(())
}
