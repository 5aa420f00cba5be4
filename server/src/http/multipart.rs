//! GraphQL multipart requests (file uploads, the multipart request spec)
//! read part by part under our own budgets: `operations`, `map` and any
//! other text part share the ordinary body limit, and the one file is
//! streamed to a temporary file up to the upload limit. async-graphql's
//! own reader keeps every non-file part whole in memory, up to the file
//! limit, and writes the file with blocking calls on the async threads.

use std::collections::HashMap;
use std::io::Seek;

use async_graphql::{BatchRequest, UploadValue};
use axum::body::{Body, Bytes};
use axum::http::StatusCode;
use tokio::io::AsyncWriteExt;

use super::BodyError;

/// Parts a request may have: operations, map, one file, and a little room.
const MAX_PARTS: usize = 8;

pub struct Budgets {
    /// Shared by every part that is not the file.
    pub text_bytes: usize,
    pub file_bytes: usize,
}

/// Why a multipart request cannot run.
#[derive(Debug)]
pub enum MultipartError {
    Body(BodyError),
    FileTooLarge(usize),
    Malformed(String),
    /// The temporary file could not be written: ours to fix, not the
    /// client's.
    Storage(std::io::Error),
}

impl MultipartError {
    pub fn status_and_message(&self, budgets: &Budgets) -> (StatusCode, String) {
        match self {
            MultipartError::Body(err) => err.status_and_message(budgets.text_bytes),
            MultipartError::FileTooLarge(max) => (
                StatusCode::PAYLOAD_TOO_LARGE,
                format!("the uploaded file exceeds {max} bytes"),
            ),
            MultipartError::Malformed(message) => (
                StatusCode::BAD_REQUEST,
                format!("the multipart request cannot be read: {message}"),
            ),
            MultipartError::Storage(err) => {
                tracing::error!(error = %err, "storing an upload failed");
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "internal error".to_owned(),
                )
            }
        }
    }
}

fn malformed(message: impl Into<String>) -> MultipartError {
    MultipartError::Malformed(message.into())
}

/// What multer reports: a broken or stalled body, or a malformed request.
fn from_multer(err: multer::Error) -> MultipartError {
    match err {
        multer::Error::StreamReadFailed(source) => {
            MultipartError::Body(BodyError::from_source(source))
        }
        other => malformed(other.to_string()),
    }
}

pub async fn read(
    content_type: &str,
    body: Body,
    budgets: &Budgets,
) -> Result<BatchRequest, MultipartError> {
    let boundary = multer::parse_boundary(content_type).map_err(from_multer)?;
    let mut multipart = multer::Multipart::new(body.into_data_stream(), boundary);
    let mut text_left = budgets.text_bytes;
    let mut operations = None;
    let mut map: Option<HashMap<String, Vec<String>>> = None;
    let mut file = None;
    let mut parts = 0;
    while let Some(mut part) = multipart.next_field().await.map_err(from_multer)? {
        parts += 1;
        if parts > MAX_PARTS {
            return Err(malformed(format!(
                "a request has at most {MAX_PARTS} parts"
            )));
        }
        let name = part.name().unwrap_or_default().to_owned();
        match (name.as_str(), part.file_name().map(str::to_owned)) {
            ("operations", _) => {
                let text = read_text(&mut part, &mut text_left).await?;
                operations = Some(
                    serde_json::from_slice::<BatchRequest>(&text)
                        .map_err(|e| malformed(format!("operations: {e}")))?,
                );
            }
            ("map", _) => {
                let text = read_text(&mut part, &mut text_left).await?;
                map = Some(
                    serde_json::from_slice(&text).map_err(|e| malformed(format!("map: {e}")))?,
                );
            }
            (_, Some(filename)) => {
                if file.is_some() {
                    return Err(malformed("a request may upload one file"));
                }
                let content_type = part.content_type().map(ToString::to_string);
                let content = read_file(&mut part, budgets.file_bytes).await?;
                file = Some((name, filename, content_type, content));
            }
            // Anything else is read (within the budget) and dropped.
            _ => {
                read_text(&mut part, &mut text_left).await?;
            }
        }
    }
    let mut batch = operations.ok_or_else(|| malformed("the operations part is missing"))?;
    let mut map = map.ok_or_else(|| malformed("the map part is missing"))?;
    if let Some((name, filename, content_type, content)) = file
        && let Some(paths) = map.remove(&name)
    {
        let upload = UploadValue {
            filename,
            content_type,
            content,
        };
        for path in paths {
            let copy = upload.try_clone().map_err(MultipartError::Storage)?;
            match &mut batch {
                BatchRequest::Single(request) => request.set_upload(&path, copy),
                BatchRequest::Batch(requests) => {
                    let (index, path) = path.split_once('.').unwrap_or(("", ""));
                    if let Some(request) = index
                        .parse::<usize>()
                        .ok()
                        .and_then(|i| requests.get_mut(i))
                    {
                        request.set_upload(path, copy);
                    }
                }
            }
        }
    }
    if !map.is_empty() {
        return Err(malformed("the map names a file that was not sent"));
    }
    Ok(batch)
}

async fn read_text(
    part: &mut multer::Field<'_>,
    left: &mut usize,
) -> Result<Vec<u8>, MultipartError> {
    let mut text = Vec::new();
    while let Some(chunk) = part.chunk().await.map_err(from_multer)? {
        *left = left
            .checked_sub(chunk.len())
            .ok_or(MultipartError::Body(BodyError::TooLarge))?;
        text.extend_from_slice(&chunk);
    }
    Ok(text)
}

async fn read_file(
    part: &mut multer::Field<'_>,
    max: usize,
) -> Result<std::fs::File, MultipartError> {
    let io = MultipartError::Storage;
    let mut file = tokio::fs::File::from_std(tempfile::tempfile().map_err(io)?);
    let mut written = 0usize;
    while let Some(chunk) = part.chunk().await.map_err(from_multer)? {
        let chunk: Bytes = chunk;
        written = written.saturating_add(chunk.len());
        if written > max {
            return Err(MultipartError::FileTooLarge(max));
        }
        file.write_all(&chunk).await.map_err(io)?;
    }
    file.flush().await.map_err(io)?;
    let mut file = file.into_std().await;
    file.rewind().map_err(io)?;
    Ok(file)
}
