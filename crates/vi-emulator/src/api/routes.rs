//! Routing of the JSON API: which handler a method and path reach.

use axum::http::{Method, StatusCode};

use crate::error::{ApiError, ApiResult};

#[derive(Debug, Clone)]
pub(super) enum Route {
    ListDatasets,
    CreateDataset,
    SimpleDatasets,
    GetDataset(String),
    PatchDataset(String),
    DeleteDataset(String),
    DeleteOperation(String),
    ListAssets(String),
    CountAssets(String),
    GetAsset(String, String),
    DeleteAsset(String, String),
    RenameAsset(String, String),
    RenameAssetFile(String, String),
    CreateSession(String),
    ListSessions(String),
    GetSession(String, String),
    CancelSession(String, String),
    CreateMultipart(String),
    AbortMultipart(String, String),
    PartUrl(String, String, String),
    PartCompletion(String, String, String),
    CompleteMultipart(String, String),
    CreateImport(String),
    ListImports(String),
    GetImport(String, String),
    AddImportFiles(String, String),
    SetImportStatus(String, String),
    ListParts(String, String),
    GetPart(String, String, String),
    DeletePart(String, String, String),
    ReplacePart(String, String, String),
    UpdatePart(String, String, String),
    WithObjects(String),
    WithObjectsOne(String, String),
    CreateDeletion(String),
    ListDeletions(String),
    GetDeletion(String, String),
    CreateExport(String),
    ListExports(String),
    GetExport(String, String),
}

/// Splits a raw path into percent-decoded segments (decoding happens per segment, so
/// `%2F` stays inside its segment).
pub(crate) fn segments(path: &str) -> ApiResult<Vec<String>> {
    let rest = path.strip_prefix('/').unwrap_or(path);
    rest.split('/')
        .map(|s| {
            percent_encoding::percent_decode_str(s)
                .decode_utf8()
                .map(|c| c.into_owned())
                .map_err(|_| ApiError::bad_request("the request path is not valid UTF-8"))
        })
        .collect()
}

fn not_found_route(path: &str) -> ApiError {
    ApiError::not_found(format!("no route for {path}"))
}

fn pick(
    method: &Method,
    options: Vec<(Method, Route)>,
    template: &'static str,
    allow: &'static str,
) -> ApiResult<(Route, &'static str)> {
    for (m, route) in options {
        if m == method {
            return Ok((route, template));
        }
    }
    let mut err = ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        format!("method {method} is not allowed on {template}"),
    );
    err.allow = Some(allow);
    Err(err)
}

const SESSIONS: &str = "assetIngestionSessions";

/// Maps a request to a route; returns the route, its template and the `{org}` segment.
pub(super) fn resolve(method: &Method, path: &str) -> ApiResult<(Route, &'static str, String)> {
    let segs = segments(path)?;
    let s: Vec<&str> = segs.iter().map(String::as_str).collect();
    let (org, rest) = match s.as_slice() {
        ["workspaces", org, rest @ ..] if !org.is_empty() => (org.to_string(), rest),
        _ => return Err(not_found_route(path)),
    };
    let o = |x: &str| x.to_owned();
    use Method as M;
    let (route, template) = match rest {
        ["datasets"] => pick(
            method,
            vec![
                (M::GET, Route::ListDatasets),
                (M::POST, Route::CreateDataset),
            ],
            "/workspaces/{org}/datasets",
            "GET, POST",
        )?,
        ["simpleDatasets"] => pick(
            method,
            vec![(M::GET, Route::SimpleDatasets)],
            "/workspaces/{org}/simpleDatasets",
            "GET",
        )?,
        ["datasets", d] => pick(
            method,
            vec![
                (M::GET, Route::GetDataset(o(d))),
                (M::PATCH, Route::PatchDataset(o(d))),
                (M::DELETE, Route::DeleteDataset(o(d))),
            ],
            "/workspaces/{org}/datasets/{dsc}",
            "GET, PATCH, DELETE",
        )?,
        ["datasets", d, "deleteOperation"] => pick(
            method,
            vec![(M::GET, Route::DeleteOperation(o(d)))],
            "/workspaces/{org}/datasets/{dsc}/deleteOperation",
            "GET",
        )?,
        ["datasets", d, "annotationImportSessions"] => pick(
            method,
            vec![
                (M::POST, Route::CreateImport(o(d))),
                (M::GET, Route::ListImports(o(d))),
            ],
            "/workspaces/{org}/datasets/{dsc}/annotationImportSessions",
            "GET, POST",
        )?,
        ["datasets", d, "annotationImportSessions", i] if !i.is_empty() => pick(
            method,
            vec![(M::GET, Route::GetImport(o(d), o(i)))],
            "/workspaces/{org}/datasets/{dsc}/annotationImportSessions/{aisId}",
            "GET",
        )?,
        ["datasets", d, "annotationImportSessions", i, "files"] if !i.is_empty() => pick(
            method,
            vec![(M::POST, Route::AddImportFiles(o(d), o(i)))],
            "/workspaces/{org}/datasets/{dsc}/annotationImportSessions/{aisId}/files",
            "POST",
        )?,
        ["datasets", d, "annotationImportSessions", i, "status"] if !i.is_empty() => pick(
            method,
            vec![(M::PATCH, Route::SetImportStatus(o(d), o(i)))],
            "/workspaces/{org}/datasets/{dsc}/annotationImportSessions/{aisId}/status",
            "PATCH",
        )?,
        ["datasets", d, "assets", a, "annotations"] if !a.is_empty() => pick(
            method,
            vec![(M::GET, Route::ListParts(o(d), o(a)))],
            "/workspaces/{org}/datasets/{dsc}/assets/{asset}/annotations",
            "GET",
        )?,
        ["datasets", d, "assets", a, "annotations", n] if !a.is_empty() && !n.is_empty() => pick(
            method,
            vec![
                (M::GET, Route::GetPart(o(d), o(a), o(n))),
                (M::DELETE, Route::DeletePart(o(d), o(a), o(n))),
                (M::PUT, Route::ReplacePart(o(d), o(a), o(n))),
                (M::PATCH, Route::UpdatePart(o(d), o(a), o(n))),
            ],
            "/workspaces/{org}/datasets/{dsc}/assets/{asset}/annotations/{annId}",
            "GET, DELETE, PUT, PATCH",
        )?,
        ["datasets", d, "assetsWithObjects"] => pick(
            method,
            vec![(M::GET, Route::WithObjects(o(d)))],
            "/workspaces/{org}/datasets/{dsc}/assetsWithObjects",
            "GET",
        )?,
        ["datasets", d, "assetsWithObjects", a] if !a.is_empty() => pick(
            method,
            vec![(M::GET, Route::WithObjectsOne(o(d), o(a)))],
            "/workspaces/{org}/datasets/{dsc}/assetsWithObjects/{asset}",
            "GET",
        )?,
        ["datasets", d, "deleteManyAssetsSessions"] => pick(
            method,
            vec![
                (M::POST, Route::CreateDeletion(o(d))),
                (M::GET, Route::ListDeletions(o(d))),
            ],
            "/workspaces/{org}/datasets/{dsc}/deleteManyAssetsSessions",
            "GET, POST",
        )?,
        ["datasets", d, "deleteManyAssetsSessions", s] if !s.is_empty() => pick(
            method,
            vec![(M::GET, Route::GetDeletion(o(d), o(s)))],
            "/workspaces/{org}/datasets/{dsc}/deleteManyAssetsSessions/{dmsId}",
            "GET",
        )?,
        ["datasets", d, "datasetExports"] => pick(
            method,
            vec![
                (M::POST, Route::CreateExport(o(d))),
                (M::GET, Route::ListExports(o(d))),
            ],
            "/workspaces/{org}/datasets/{dsc}/datasetExports",
            "GET, POST",
        )?,
        ["datasets", d, "datasetExports", e] if !e.is_empty() => pick(
            method,
            vec![(M::GET, Route::GetExport(o(d), o(e)))],
            "/workspaces/{org}/datasets/{dsc}/datasetExports/{exportId}",
            "GET",
        )?,
        ["datasets", d, "assets"] => pick(
            method,
            vec![(M::GET, Route::ListAssets(o(d)))],
            "/workspaces/{org}/datasets/{dsc}/assets",
            "GET",
        )?,
        ["datasets", d, "assets:count"] => pick(
            method,
            vec![(M::GET, Route::CountAssets(o(d)))],
            "/workspaces/{org}/datasets/{dsc}/assets:count",
            "GET",
        )?,
        ["datasets", d, "assets", a] if !a.is_empty() => pick(
            method,
            vec![
                (M::GET, Route::GetAsset(o(d), o(a))),
                (M::DELETE, Route::DeleteAsset(o(d), o(a))),
            ],
            "/workspaces/{org}/datasets/{dsc}/assets/{asset}",
            "GET, DELETE",
        )?,
        ["datasets", d, "assets", a, "name"] if !a.is_empty() => pick(
            method,
            vec![(M::POST, Route::RenameAsset(o(d), o(a)))],
            "/workspaces/{org}/datasets/{dsc}/assets/{asset}/name",
            "POST",
        )?,
        ["datasets", d, "assetFiles", f, "name"] if !f.is_empty() => pick(
            method,
            vec![(M::POST, Route::RenameAssetFile(o(d), o(f)))],
            "/workspaces/{org}/datasets/{dsc}/assetFiles/{filename}/name",
            "POST",
        )?,
        [
            "datasets",
            d,
            "assetSources",
            class,
            provider,
            id,
            tail @ ..,
        ] => {
            if (*class, *provider, *id) != ("managed", "datature", "default") {
                return Err(ApiError::not_found(format!(
                    "asset source {class}/{provider}/{id} not found (only managed/datature/default exists)"
                )));
            }
            match tail {
                [SESSIONS] => pick(
                    method,
                    vec![
                        (M::POST, Route::CreateSession(o(d))),
                        (M::GET, Route::ListSessions(o(d))),
                    ],
                    "/workspaces/{org}/datasets/{dsc}/assetSources/{src}/assetIngestionSessions",
                    "GET, POST",
                )?,
                [SESSIONS, sid] if !sid.is_empty() => match sid.strip_suffix(":cancel") {
                    Some(id) if !id.is_empty() => pick(
                        method,
                        vec![(M::POST, Route::CancelSession(o(d), o(id)))],
                        "/workspaces/{org}/datasets/{dsc}/assetSources/{src}/assetIngestionSessions/{sessionId}:cancel",
                        "POST",
                    )?,
                    Some(_) => return Err(not_found_route(path)),
                    None => pick(
                        method,
                        vec![(M::GET, Route::GetSession(o(d), o(sid)))],
                        "/workspaces/{org}/datasets/{dsc}/assetSources/{src}/assetIngestionSessions/{sessionId}",
                        "GET",
                    )?,
                },
                ["multipartUploads"] => pick(
                    method,
                    vec![(M::POST, Route::CreateMultipart(o(d)))],
                    "/workspaces/{org}/datasets/{dsc}/assetSources/{src}/multipartUploads",
                    "POST",
                )?,
                ["multipartUploads", mp] if !mp.is_empty() => pick(
                    method,
                    vec![(M::DELETE, Route::AbortMultipart(o(d), o(mp)))],
                    "/workspaces/{org}/datasets/{dsc}/assetSources/{src}/multipartUploads/{mpId}",
                    "DELETE",
                )?,
                ["multipartUploads", mp, "completion"] if !mp.is_empty() => pick(
                    method,
                    vec![(M::POST, Route::CompleteMultipart(o(d), o(mp)))],
                    "/workspaces/{org}/datasets/{dsc}/assetSources/{src}/multipartUploads/{mpId}/completion",
                    "POST",
                )?,
                ["multipartUploads", mp, "parts", n] if !mp.is_empty() => pick(
                    method,
                    vec![(M::POST, Route::PartUrl(o(d), o(mp), o(n)))],
                    "/workspaces/{org}/datasets/{dsc}/assetSources/{src}/multipartUploads/{mpId}/parts/{partNumber}",
                    "POST",
                )?,
                ["multipartUploads", mp, "parts", n, "completion"] if !mp.is_empty() => pick(
                    method,
                    vec![(M::POST, Route::PartCompletion(o(d), o(mp), o(n)))],
                    "/workspaces/{org}/datasets/{dsc}/assetSources/{src}/multipartUploads/{mpId}/parts/{partNumber}/completion",
                    "POST",
                )?,
                _ => return Err(not_found_route(path)),
            }
        }
        _ => return Err(not_found_route(path)),
    };
    Ok((route, template, org))
}
