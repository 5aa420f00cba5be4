//! CSV import, the file side: read a file as a stream of records, map its
//! headers, normalise rows, and hand batches to the store, which applies
//! them with the activity rule (`store::import`). One engine, two doors:
//! the command line (`import_file`) and GraphQL upload jobs (`jobs`).

pub mod engine;
pub mod jobs;
pub mod reader;

use std::path::Path;

pub use engine::{ImportError, Observer, Totals};
use reader::RowReader;
pub use reader::{FileError, Layout, ReadLimits, Start};

use crate::domain::ValidationError;
use crate::domain::field_policy::FieldRights;
use crate::domain::import_mapping::{ImportField, explicit_mapping};
use crate::domain::{PhoneRegion, Principal};
use crate::store::import::Importer;
use crate::store::import_jobs::{self, NewJob};
use crate::store::{Store, StoreError, field_policies, users};

/// Reads `file`'s header row and maps it, then rewinds the file: what
/// would stop the whole import (an empty file, a header that is not text
/// or past `limits`, no identity column, a mapping naming no column) is
/// found before a job is queued. Blocking: call it off the async threads.
pub fn check_header(
    file: &mut std::fs::File,
    mapping: &[(String, Option<ImportField>)],
    rights: FieldRights,
    region: PhoneRegion,
    limits: ReadLimits,
) -> Result<(), FileError> {
    use std::io::{Seek, SeekFrom};
    RowReader::open(&mut *file, Start::TOP, mapping, rights, region, limits)?;
    file.seek(SeekFrom::Start(0))
        .map_err(|source| FileError::Io { line: 1, source })?;
    Ok(())
}

/// An uploaded file, kept in a temporary file by the HTTP layer.
pub struct Upload {
    pub file_name: String,
    pub content: std::fs::File,
    pub size: u64,
}

/// Why an upload was not queued.
#[derive(Debug, thiserror::Error)]
pub enum UploadError {
    #[error(transparent)]
    File(#[from] FileError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Validation(#[from] ValidationError),
    #[error("checking the upload's header stopped: {0}")]
    Checker(String),
}

/// Queues an uploaded file as an import job acting as `principal`: a
/// caller who may not import or has too many jobs already (`max_active`),
/// a mapping that is not one (`explicit_mapping`), and what would stop the
/// whole import (see [`check_header`]) are refused before the file is
/// stored.
pub async fn queue_upload(
    store: &Store,
    principal: &Principal,
    upload: Upload,
    options: ImportOptions,
    max_active: u64,
) -> Result<import_jobs::ImportJob, UploadError> {
    if !principal.may_write_contacts() {
        return Err(StoreError::forbidden("this role cannot import contacts").into());
    }
    import_jobs::ensure_room(store.db(), principal, max_active).await?;
    let ImportOptions {
        dry_run,
        region,
        mapping,
        limits,
    } = options;
    let mapping = explicit_mapping(mapping)?;
    let stored_mapping = mapping
        .iter()
        .map(|(column, field)| {
            (
                column.clone(),
                field.map(|f| f.name().to_owned()).unwrap_or_default(),
            )
        })
        .collect();
    let mut file = upload.content;
    let rights = principal.fields;
    let checked = tokio::task::spawn_blocking(move || {
        check_header(&mut file, &mapping, rights, region, limits).map(|()| file)
    })
    .await
    .map_err(|err| UploadError::Checker(err.to_string()))?;
    let mut content = tokio::fs::File::from_std(checked?);
    let job = import_jobs::create(
        store,
        principal,
        NewJob {
            file_name: upload.file_name.chars().take(255).collect(),
            dry_run,
            mapping: stored_mapping,
            region: region.to_string(),
        },
        &mut content,
        upload.size,
        max_active,
    )
    .await?;
    Ok(job)
}

pub struct ImportOptions {
    pub dry_run: bool,
    pub region: PhoneRegion,
    /// Explicit mapping over the aliases: (header, field or `None` to skip).
    pub mapping: Vec<(String, Option<ImportField>)>,
    pub limits: ReadLimits,
}

/// Imports `file` acting as the user named `as_user`. Errors that stop the
/// whole import (no such user, unreadable file, no identity column) are
/// returned; a bad row is counted as failed (and shown to `observer`) and
/// the rest proceeds.
pub async fn import_file(
    store: &Store,
    file: &Path,
    as_user: &str,
    options: ImportOptions,
    observer: &mut dyn Observer,
) -> Result<Totals, String> {
    let user = users::user_by_name(store.db(), as_user)
        .await
        .map_err(|e| e.to_string())?
        .ok_or_else(|| format!("no user is named {as_user:?}"))?;
    let principal = field_policies::principal_of(store.db(), user.id, user.role)
        .await
        .map_err(|e| e.to_string())?;
    let opened = std::fs::File::open(file).map_err(|e| format!("{}: {e}", file.display()))?;
    let mut importer = Importer::new(principal, options.dry_run).map_err(|e| e.to_string())?;
    let input = engine::Input {
        source: opened,
        start: Start::TOP,
        mapping: options.mapping,
        region: options.region,
        limits: options.limits,
    };
    engine::run(store, &mut importer, input, None, observer)
        .await
        .map_err(|e| format!("{}: {e}", file.display()))
}
