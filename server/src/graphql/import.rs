//! CSV import over GraphQL: `importContacts` takes an upload (the GraphQL
//! multipart request spec), queues an `ImportJob` and returns it at once;
//! the job runs in the background and clients poll `importJob`.

use async_graphql::{Context, Enum, ID, InputObject, Object, SimpleObject, Upload};
use chrono::{DateTime, Utc};

use super::contact::timestamp;
use super::error::{ApiError, ApiResult};
use super::ids::{self, Kind};
use super::page::{Connection, Counted, Edge, Total, decode_cursor, encode_cursor, page_size};
use super::{principal, state};
use crate::csv_report::CsvReport;
use crate::domain::import_mapping::{self, ColumnMap};
use crate::import::{self, Layout};
use crate::store::import_jobs::{self, JobStatus, StoredError};

#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
pub enum ImportJobStatus {
    /// The file is still being stored (another request's upload in
    /// progress); it is queued once whole.
    Uploading,
    Queued,
    Running,
    Succeeded,
    Failed,
}

mirror_enum!(ImportJobStatus <=> JobStatus { Uploading, Queued, Running, Succeeded, Failed });

/// The contact fields a column can feed.
#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
pub enum ImportField {
    FirstName,
    LastName,
    Email,
    MobilePhone,
    Company,
    JobTitle,
    Timezone,
}

mirror_enum!(ImportField <=> import_mapping::ImportField {
    FirstName, LastName, Email, MobilePhone, Company, JobTitle, Timezone
});

/// Which field a column feeds, over the built-in header aliases.
#[derive(InputObject)]
pub struct ColumnMappingInput {
    /// The header as written in the file (case and punctuation are ignored).
    pub column: String,
    /// The field it feeds; null ignores the column.
    pub field: Option<ImportField>,
}

/// A row that was not imported.
#[derive(SimpleObject)]
pub struct ImportRowError {
    /// The line of the file the row starts on (the header is line 1).
    pub line: i64,
    /// The header of the column at fault, when one is, cut to 64
    /// characters (the last an ellipsis) when longer.
    pub column: Option<String>,
    /// The position of the column at fault, the first column being 1.
    pub column_index: Option<i32>,
    pub reason: String,
}

impl From<StoredError> for ImportRowError {
    fn from(row: StoredError) -> Self {
        Self {
            line: i64::try_from(row.line).unwrap_or(i64::MAX),
            column: row.column_name,
            column_index: row
                .column_number
                .map(|n| i32::try_from(n).unwrap_or(i32::MAX)),
            reason: row.reason,
        }
    }
}

fn count(n: i64) -> i32 {
    i32::try_from(n).unwrap_or(i32::MAX)
}

pub struct ImportJob(pub import_jobs::ImportJob);

/// A CSV import running in the background. Counts grow batch by batch;
/// a batch is committed whole or not at all.
#[Object]
impl ImportJob {
    pub async fn id(&self) -> ID {
        ids::encode(Kind::ImportJob, self.0.id)
    }

    async fn status(&self) -> ImportJobStatus {
        self.0.status.into()
    }

    async fn file_name(&self) -> &str {
        &self.0.file_name
    }

    /// A dry run reports what the import would do and changes nothing.
    async fn dry_run(&self) -> bool {
        self.0.dry_run
    }

    /// Rows read so far (the header not counted).
    async fn rows_read(&self) -> i32 {
        count(self.0.rows_read)
    }

    async fn created(&self) -> i32 {
        count(self.0.created)
    }

    async fn updated(&self) -> i32 {
        count(self.0.updated)
    }

    async fn unchanged(&self) -> i32 {
        count(self.0.unchanged)
    }

    async fn failed(&self) -> i32 {
        count(self.0.failed)
    }

    /// Failed rows counted in `failed` that `errors` and `errorReport` do
    /// not list: a job keeps its first failed rows, up to the server's cap.
    async fn errors_omitted(&self) -> i32 {
        count(self.0.errors_omitted)
    }

    /// Bytes of the file behind the committed rows.
    async fn bytes_done(&self) -> f64 {
        self.0.bytes_done as f64
    }

    async fn bytes_total(&self) -> f64 {
        self.0.bytes_total as f64
    }

    /// Why the whole job failed (its importer may no longer write
    /// contacts, it was interrupted too often, ...); failed rows are in
    /// `errors`.
    async fn error(&self) -> Option<&str> {
        self.0.error.as_deref()
    }

    /// Columns of the file that feed no field, once the header is read.
    async fn ignored_columns(&self) -> Vec<String> {
        let Some(layout) = self
            .0
            .layout
            .as_deref()
            .and_then(|l| serde_json::from_str::<Layout>(l).ok())
        else {
            return Vec::new();
        };
        let mapping: Vec<_> = self
            .0
            .mapping
            .iter()
            .map(|(h, f)| (h.clone(), import_mapping::ImportField::from_name(f)))
            .collect();
        ColumnMap::new(&layout.headers, &mapping)
            .map(|map| map.unmapped().into_iter().map(str::to_owned).collect())
            .unwrap_or_default()
    }

    async fn created_at(&self) -> DateTime<Utc> {
        timestamp(self.0.created_at)
    }

    async fn started_at(&self) -> Option<DateTime<Utc>> {
        self.0.started_at.map(timestamp)
    }

    async fn finished_at(&self) -> Option<DateTime<Utc>> {
        self.0.finished_at.map(timestamp)
    }

    /// The first failed rows, in file order.
    async fn errors(
        &self,
        ctx: &Context<'_>,
        #[graphql(default = 20)] first: i32,
    ) -> ApiResult<Vec<ImportRowError>> {
        let limit = u64::try_from(first.clamp(0, 1000)).unwrap_or(20);
        let rows = import_jobs::errors(state(ctx)?.store.db(), self.0.id, None, limit).await?;
        Ok(rows.into_iter().map(ImportRowError::from).collect())
    }

    /// The kept failed rows as CSV (`line,column,columnName,reason`;
    /// `column` is the column's position, the first being 1), for
    /// download: a page of at most `first` rows (1 to 10,000) after the
    /// line `afterLine`, in file order; the header row heads every page.
    /// A cell a spreadsheet would run as a formula starts with `'`. A
    /// request may ask for one report.
    async fn error_report(
        &self,
        ctx: &Context<'_>,
        #[graphql(default = 10_000)] first: i32,
        after_line: Option<i64>,
    ) -> ApiResult<String> {
        if !(1..=ERROR_REPORT_PAGE).contains(&first) {
            return Err(ApiError::validation(
                "first",
                format!("must be 1 to {ERROR_REPORT_PAGE}"),
            ));
        }
        let after_line = after_line
            .map(|line| {
                u64::try_from(line)
                    .map_err(|_| ApiError::validation("afterLine", "must not be negative"))
            })
            .transpose()?;
        let limit = u64::try_from(first).unwrap_or(1);
        let rows =
            import_jobs::errors(state(ctx)?.store.db(), self.0.id, after_line, limit).await?;
        let written = (|| {
            let mut report = CsvReport::new();
            report.row(["line", "column", "columnName", "reason"])?;
            for row in &rows {
                let line = row.line.to_string();
                let number = row.column_number.map(|n| n.to_string());
                report.row([
                    line.as_str(),
                    number.as_deref().unwrap_or(""),
                    row.column_name.as_deref().unwrap_or(""),
                    row.reason.as_str(),
                ])?;
            }
            report.finish()
        })();
        written.map_err(|err| {
            tracing::error!(error = %err, "writing an error report failed");
            ApiError::Internal
        })
    }
}

/// The most rows one page of an error report holds: what a request builds
/// is bounded whatever a job keeps.
const ERROR_REPORT_PAGE: i32 = 10_000;

pub async fn import_contacts(
    ctx: &Context<'_>,
    file: Upload,
    dry_run: bool,
    mapping: Vec<ColumnMappingInput>,
) -> ApiResult<ImportJob> {
    let caller = principal(ctx)?;
    let app = state(ctx)?;
    let mapping = mapping
        .into_iter()
        .map(|entry| {
            (
                entry.column,
                entry.field.map(import_mapping::ImportField::from),
            )
        })
        .collect();
    let upload = file
        .value(ctx)
        .map_err(|_| ApiError::validation("file", "no file was uploaded under this name"))?;
    let size = upload.size().map_err(|err| {
        tracing::error!(error = %err, "reading an upload's size failed");
        ApiError::Internal
    })?;
    let upload = import::Upload {
        file_name: upload.filename,
        content: upload.content,
        size,
    };
    let options = import::ImportOptions {
        dry_run,
        region: app.settings.default_region,
        mapping,
        limits: app.settings.import_limits,
    };
    let job = import::queue_upload(
        &app.store,
        caller,
        upload,
        options,
        app.settings.max_queued_imports,
    )
    .await?;
    app.jobs.queued();
    Ok(ImportJob(job))
}

/// The jobs the caller started (everyone's, for admins).
pub struct ImportJobTotal;

impl Total for ImportJobTotal {
    async fn total(&self, ctx: &Context<'_>) -> ApiResult<Counted> {
        Ok(Counted::exact(
            import_jobs::count(state(ctx)?.store.db(), principal(ctx)?).await?,
        ))
    }
}

pub type ImportJobConnection = Connection<ImportJob, ImportJobTotal>;

/// A page of the jobs the caller started (everyone's, for admins), newest
/// first.
pub async fn import_job_page(
    ctx: &Context<'_>,
    first: Option<i32>,
    after: Option<String>,
) -> ApiResult<ImportJobConnection> {
    let limit = page_size(first)?;
    let before_id = after.as_deref().map(decode_cursor::<i64>).transpose()?;
    let jobs = import_jobs::page(
        state(ctx)?.store.db(),
        principal(ctx)?,
        before_id,
        limit + 1,
    )
    .await?;
    Ok(Connection::from_rows(jobs, limit, ImportJobTotal, |job| {
        Edge {
            cursor: encode_cursor(&job.id),
            node: ImportJob(job),
        }
    }))
}

pub async fn import_job(ctx: &Context<'_>, id: ID) -> ApiResult<Option<ImportJob>> {
    let Some(number) = ids::decode("id", Kind::ImportJob, &id)? else {
        return Ok(None);
    };
    let job = import_jobs::find(state(ctx)?.store.db(), principal(ctx)?, number).await?;
    Ok(job.map(ImportJob))
}
