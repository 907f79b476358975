//! Receiving an uploaded body and the ingestion checks applied to it.

use std::path::Path;

use axum::body::Body;
use futures_util::StreamExt;
use tokio::io::{AsyncWriteExt, BufWriter};

use crate::app::App;
use crate::error::ApiError;
use crate::state::{Outcome, SessionFile};

/// Streams an upload body (`what`: "upload", "part") to a fresh temporary file and
/// returns it with the length and CRC32C; a body that cannot be read is a 400 and leaves
/// no temporary file behind.
pub(super) async fn receive_to_tmp(
    app: &App,
    body: Body,
    what: &str,
) -> Result<(std::path::PathBuf, u64, u32), ApiError> {
    let tmp = app.tmp_path();
    match receive(body, &tmp).await {
        Ok((len, crc)) => Ok((tmp, len, crc)),
        Err(e) => {
            let _ = tokio::fs::remove_file(&tmp).await;
            Err(ApiError::bad_request(format!(
                "the {what} body could not be read: {e}"
            )))
        }
    }
}

/// Streams a body to `dest` while computing its CRC32C; returns (length, crc).
pub(super) async fn receive(body: Body, dest: &Path) -> std::io::Result<(u64, u32)> {
    if let Some(dir) = dest.parent() {
        tokio::fs::create_dir_all(dir).await?;
    }
    let file = tokio::fs::File::create(dest).await?;
    let mut out = BufWriter::with_capacity(1024 * 1024, file);
    let mut stream = body.into_data_stream();
    let mut crc = 0u32;
    let mut len = 0u64;
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(std::io::Error::other)?;
        crc = crc32c::crc32c_append(crc, &chunk);
        len += chunk.len() as u64;
        out.write_all(&chunk).await?;
    }
    out.flush().await?;
    Ok((len, crc))
}

/// Width and height of an image file, `None` when its header is unreadable.
pub(super) async fn image_dimensions(path: &Path) -> Option<(u64, u64)> {
    let path = path.to_owned();
    let size = tokio::task::spawn_blocking(move || imagesize::size(&path))
        .await
        .ok()?
        .ok()?;
    if size.width == 0 || size.height == 0 {
        return None;
    }
    Some((size.width as u64, size.height as u64))
}

/// Applies the ingestion checks to a received file: size, CRC32C (signed comparison,
/// docs/protocol.md §6.3), readable image header. On success the temp file becomes a blob.
/// Returns the outcome and, for failures, a message for the reply.
pub(super) async fn verify_received(
    app: &App,
    tmp: &Path,
    file: &SessionFile,
    len: u64,
    crc: u32,
    corrupt: bool,
) -> std::io::Result<(Outcome, String)> {
    let name = &file.filename;
    let checked: Result<(u64, u64), (&'static str, String)> = if len != file.size {
        Err((
            "EBADSIZE",
            format!("received {len} bytes for {name}, declared {}", file.size),
        ))
    } else if corrupt || file.crc32c.is_some_and(|declared| declared != crc as i32) {
        Err((
            "ECORRUPT",
            format!(
                "the CRC32C of the bytes received for {name} ({}) does not match the declared crc32c",
                crc as i32
            ),
        ))
    } else if file.kind == "Image" {
        image_dimensions(tmp)
            .await
            .ok_or(("ECORRUPT", format!("{name} is not a readable image")))
    } else {
        // Videos: the emulator does not parse containers; dimensions are reported as 0.
        Ok((0, 0))
    };
    match checked {
        Ok((width, height)) => {
            let blob = crate::ids::token();
            tokio::fs::rename(tmp, app.blob_path(&blob)).await?;
            Ok((
                Outcome::Received {
                    blob,
                    width,
                    height,
                    crc,
                },
                String::new(),
            ))
        }
        Err((code, message)) => {
            let _ = tokio::fs::remove_file(tmp).await;
            Ok((Outcome::Failed(code), message))
        }
    }
}

pub(super) fn file_error(code: &str, message: String) -> ApiError {
    ApiError::bad_request(message).with("fileError", code)
}
