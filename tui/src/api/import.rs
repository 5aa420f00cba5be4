//! The import's two calls: the upload that queues a job, and the poll that
//! follows it. The upload is a GraphQL multipart request (the parts
//! `operations`, `map`, then the file), built here because graphql_client
//! only makes JSON bodies; the file is streamed from disk, never held
//! whole in memory.

use std::io;
use std::path::{Path, PathBuf};
use std::time::Duration;

use graphql_client::GraphQLQuery;
use reqwest::multipart::{Form, Part};

use super::{ApiClient, ApiError, failed_rows, operations};
use crate::model::{
    ContactField, ImportJob, ImportJobPage, ImportRowError, ImportStatus, SavedReport,
};

/// How much of the file the mapping step reads for the header: the
/// server refuses a longer header row anyway.
const HEADER_BYTES: u64 = 64 * 1024;

/// The header row of the CSV file at `path` (as typed: see [`resolve`]):
/// comma or semicolon, with or without a BOM, as the server reads them.
/// Only the first 64 KiB are read.
pub async fn read_header(path: &str) -> Result<Vec<String>, ApiError> {
    use tokio::io::AsyncReadExt;
    let cannot = |reason: String| ApiError::File(format!("Cannot read {}: {reason}.", path.trim()));
    let (file, _) = open(&resolve(path)).await.map_err(cannot)?;
    let mut head = Vec::new();
    file.take(HEADER_BYTES)
        .read_to_end(&mut head)
        .await
        .map_err(|err| cannot(describe(err)))?;
    let head = head.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(&head);
    let delimiter = failed_rows::sniff_delimiter(head);
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .has_headers(false)
        .flexible(true)
        .from_reader(head);
    let mut record = csv::StringRecord::new();
    match reader.read_record(&mut record) {
        Ok(true) => {}
        Ok(false) => return Err(cannot("the file is empty".to_owned())),
        Err(_) => return Err(cannot("its first row is not CSV text".to_owned())),
    }
    let headers: Vec<String> = record.iter().map(|cell| cell.trim().to_owned()).collect();
    if headers.iter().all(String::is_empty) {
        return Err(cannot("its first row, the header, is empty".to_owned()));
    }
    Ok(headers)
}

/// Every other call gets 30 s; a file of hundreds of megabytes on a slow
/// link needs longer, and the user can leave the screen meanwhile.
const UPLOAD_TIMEOUT: Duration = Duration::from_secs(15 * 60);

/// Where the multipart request's one file goes in `operations`: part `0`
/// is `$file`.
const FILE_MAP: &str = r#"{"0":["variables.file"]}"#;

/// Reads the `ImportJobFields` fragment of either operation; the two
/// generated copies have the same shape but different types.
macro_rules! import_job {
    ($op:ident, $job:expr) => {{
        let job: $op::ImportJobFields = $job;
        ImportJob {
            id: job.id,
            status: match job.status {
                $op::ImportJobStatus::UPLOADING => ImportStatus::Uploading,
                $op::ImportJobStatus::QUEUED => ImportStatus::Queued,
                $op::ImportJobStatus::RUNNING => ImportStatus::Running,
                $op::ImportJobStatus::SUCCEEDED => ImportStatus::Succeeded,
                $op::ImportJobStatus::FAILED => ImportStatus::Failed,
                $op::ImportJobStatus::Other(other) => ImportStatus::Other(other),
            },
            file_name: job.file_name,
            dry_run: job.dry_run,
            rows_read: job.rows_read,
            created: job.created,
            updated: job.updated,
            unchanged: job.unchanged,
            failed: job.failed,
            bytes_done: byte_count(job.bytes_done),
            bytes_total: byte_count(job.bytes_total),
            error: job.error,
            ignored_columns: job.ignored_columns,
            failed_rows: job
                .errors
                .into_iter()
                .map(|row| ImportRowError {
                    line: row.line,
                    column: row.column,
                    reason: row.reason,
                })
                .collect(),
            created_at: job.created_at,
            started_at: job.started_at,
            finished_at: job.finished_at,
        }
    }};
}

impl ApiClient {
    /// Uploads the CSV file at `path` (as typed: see [`resolve`]) and
    /// queues its import. A file that cannot be read is
    /// [`ApiError::File`], and nothing is sent.
    pub async fn import_contacts(
        &self,
        path: &str,
        dry_run: bool,
        error_rows: i64,
        mapping: &[(String, Option<ContactField>)],
    ) -> Result<ImportJob, ApiError> {
        use operations::import_contacts as op;
        let resolved = resolve(path);
        let (file, size) = open(&resolved)
            .await
            .map_err(|reason| ApiError::File(format!("Cannot read {}: {reason}.", path.trim())))?;
        let file_name = resolved
            .file_name()
            .map(|name| name.to_string_lossy().into_owned())
            .unwrap_or_else(|| "contacts.csv".to_owned());

        let body = operations::ImportContacts::build_query(op::Variables {
            file: operations::Upload,
            dry_run,
            error_rows,
            mapping: mapping
                .iter()
                .map(|(column, field)| op::ColumnMappingInput {
                    column: column.clone(),
                    field: field.map(|field| match field {
                        ContactField::FirstName => op::ImportField::FIRST_NAME,
                        ContactField::LastName => op::ImportField::LAST_NAME,
                        ContactField::Email => op::ImportField::EMAIL,
                        ContactField::MobilePhone => op::ImportField::MOBILE_PHONE,
                        ContactField::Company => op::ImportField::COMPANY,
                        ContactField::JobTitle => op::ImportField::JOB_TITLE,
                        ContactField::Timezone => op::ImportField::TIMEZONE,
                    }),
                })
                .collect(),
        });
        let operations = serde_json::to_string(&body)
            .map_err(|err| ApiError::Server(format!("cannot encode the upload: {err}")))?;
        let file_part = Part::stream_with_length(file, size)
            .file_name(file_name)
            .mime_str("text/csv")
            .map_err(|err| ApiError::Server(format!("cannot encode the upload: {err}")))?;
        let form = Form::new()
            .text("operations", operations)
            .text("map", FILE_MAP)
            .part("0", file_part);
        let request = self
            .http
            .post(&self.url)
            .multipart(form)
            .timeout(UPLOAD_TIMEOUT);
        let data = self.send::<operations::ImportContacts>(request).await?;
        Ok(import_job!(op, data.import_contacts))
    }

    /// The job as it stands, with its first `error_rows` failed rows;
    /// `None` when the server does not know it (or not for this caller).
    pub async fn import_job(
        &self,
        id: &str,
        error_rows: i64,
    ) -> Result<Option<ImportJob>, ApiError> {
        use operations::import_job as op;
        let variables = op::Variables {
            id: id.to_owned(),
            error_rows,
        };
        let data = self.run::<operations::ImportJob>(variables).await?;
        Ok(data.import_job.map(|job| import_job!(op, job)))
    }
}

impl ApiClient {
    /// A page of the user's import jobs (everyone's, for an admin),
    /// newest first, without their failed rows.
    pub async fn import_jobs(
        &self,
        first: i64,
        after: Option<String>,
    ) -> Result<ImportJobPage, ApiError> {
        use operations::import_jobs as op;
        let variables = op::Variables {
            first: Some(first),
            after,
            error_rows: 0,
        };
        let data = self.run::<operations::ImportJobs>(variables).await?;
        let connection = data.import_jobs;
        Ok(ImportJobPage {
            total: connection.total_count,
            has_next_page: connection.page_info.has_next_page,
            end_cursor: connection.page_info.end_cursor,
            jobs: connection
                .edges
                .into_iter()
                .map(|edge| import_job!(op, edge.node))
                .collect(),
        })
    }

    /// Reads the job's report of every failed row and writes the failed
    /// rows beside the imported file (`contacts.csv` gives
    /// `contacts.failed-rows.csv`, or `contacts.failed-rows-2.csv` and on
    /// when that exists: nothing is overwritten): the file's own rows
    /// with `line` and `reason` (see `failed_rows`), or, when the file is
    /// no longer there, the server's report as it is.
    pub async fn save_error_report(
        &self,
        id: &str,
        import_path: &str,
    ) -> Result<SavedReport, ApiError> {
        use operations::import_error_report as op;
        let variables = op::Variables { id: id.to_owned() };
        let data = self.run::<operations::ImportErrorReport>(variables).await?;
        let report = data.import_job.ok_or(ApiError::NotFound)?.error_report;
        let imported = resolve(import_path);
        let rows = {
            let (imported, report) = (imported.clone(), report.clone());
            tokio::task::spawn_blocking(move || {
                let file = std::fs::File::open(&imported).map_err(describe)?;
                failed_rows::from_original(file, &report)
            })
            .await
            .unwrap_or_else(|err| Err(err.to_string()))
        };
        let (content, original_rows) = match rows {
            Ok(rows) => (rows, true),
            Err(_) => (report.into_bytes(), false),
        };
        let path = write_beside(&imported, &content)
            .await
            .map_err(|reason| ApiError::File(format!("Cannot save the failed rows: {reason}.")))?;
        Ok(SavedReport {
            path: path.display().to_string(),
            original_rows,
        })
    }
}

/// Writes `content` to a new file named after `imported`, in its folder.
async fn write_beside(imported: &Path, content: &[u8]) -> Result<PathBuf, String> {
    use tokio::io::AsyncWriteExt;
    let stem = imported
        .file_stem()
        .map(|stem| stem.to_string_lossy().into_owned())
        .unwrap_or_else(|| "import".to_owned());
    for attempt in 1..=99 {
        let name = if attempt == 1 {
            format!("{stem}.failed-rows.csv")
        } else {
            format!("{stem}.failed-rows-{attempt}.csv")
        };
        let target = imported.with_file_name(name);
        let opened = tokio::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&target)
            .await;
        let mut file = match opened {
            Ok(file) => file,
            Err(err) if err.kind() == io::ErrorKind::AlreadyExists => continue,
            Err(err) => return Err(describe(err)),
        };
        file.write_all(content).await.map_err(describe)?;
        file.flush().await.map_err(describe)?;
        return Ok(target);
    }
    Err("99 earlier reports are in the way".to_owned())
}

/// A byte count, which the schema sends as a Float (an Int would stop at
/// 2 GiB). `as` saturates and reads NaN as 0, which suits a count.
fn byte_count(value: f64) -> u64 {
    value as u64
}

/// The path as the user typed it: without surrounding blanks or the quotes
/// a terminal puts around a file dropped onto it, and with a leading `~`
/// read as the home directory. A relative path is relative to where the
/// client was started.
pub fn resolve(typed: &str) -> PathBuf {
    let trimmed = typed.trim();
    let unquoted = ['\'', '"']
        .into_iter()
        .find_map(|quote| {
            trimmed
                .strip_prefix(quote)
                .and_then(|rest| rest.strip_suffix(quote))
        })
        .unwrap_or(trimmed);
    let home = || dirs::home_dir();
    if unquoted == "~" {
        if let Some(home) = home() {
            return home;
        }
    } else if let Some(rest) = unquoted.strip_prefix("~/")
        && let Some(home) = home()
    {
        return home.join(rest);
    }
    PathBuf::from(unquoted)
}

/// The file and its size, or why it cannot be uploaded, in words for the
/// screen.
async fn open(path: &Path) -> Result<(tokio::fs::File, u64), String> {
    let file = tokio::fs::File::open(path).await.map_err(describe)?;
    let metadata = file.metadata().await.map_err(describe)?;
    if metadata.is_dir() {
        return Err("it is a folder, not a file".to_owned());
    }
    if !metadata.is_file() {
        // A pipe or a device has no length to send ahead of the content.
        return Err("it is not a regular file".to_owned());
    }
    Ok((file, metadata.len()))
}

fn describe(err: io::Error) -> String {
    match err.kind() {
        io::ErrorKind::NotFound => "no such file".to_owned(),
        io::ErrorKind::PermissionDenied => "permission denied".to_owned(),
        io::ErrorKind::IsADirectory => "it is a folder, not a file".to_owned(),
        _ => err.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typed_paths_lose_blanks_and_quotes_and_find_home() {
        assert_eq!(resolve("  data/a b.csv "), PathBuf::from("data/a b.csv"));
        assert_eq!(resolve("'/tmp/x y.csv'"), PathBuf::from("/tmp/x y.csv"));
        assert_eq!(resolve("\"/tmp/z.csv\""), PathBuf::from("/tmp/z.csv"));
        assert_eq!(resolve("'unbalanced.csv"), PathBuf::from("'unbalanced.csv"));
        if let Some(home) = dirs::home_dir() {
            assert_eq!(resolve("~/in/ø.csv"), home.join("in/ø.csv"));
        }
        assert_eq!(resolve("a~/b.csv"), PathBuf::from("a~/b.csv"));
    }

    #[tokio::test]
    async fn the_header_is_read_as_the_server_reads_it() {
        let dir = std::env::temp_dir().join(format!("contacts-tui-header-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap_or_default();
        let semicolons = dir.join("a.csv");
        std::fs::write(
            &semicolons,
            "\u{feff}\"E-mail; work\";Name ;Phone\r\nx;y;z\r\n",
        )
        .unwrap_or_default();
        assert_eq!(
            read_header(&semicolons.display().to_string()).await,
            Ok(vec![
                "E-mail; work".to_owned(),
                "Name".to_owned(),
                "Phone".to_owned()
            ])
        );
        let empty = dir.join("empty.csv");
        std::fs::write(&empty, "").unwrap_or_default();
        assert!(matches!(
            read_header(&empty.display().to_string()).await,
            Err(ApiError::File(reason)) if reason.ends_with("the file is empty.")
        ));
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[tokio::test]
    async fn unreadable_files_are_explained() {
        let missing = open(Path::new("/no/such/dir/contacts.csv")).await;
        assert_eq!(missing.err().as_deref(), Some("no such file"));
        let folder = open(&std::env::temp_dir()).await;
        assert_eq!(folder.err().as_deref(), Some("it is a folder, not a file"));
    }

    #[tokio::test]
    async fn reports_go_beside_the_file_and_never_overwrite() {
        let dir = std::env::temp_dir().join(format!("contacts-tui-report-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap_or_default();
        let imported = dir.join("Kontakte ø.csv");
        let first = write_beside(&imported, b"one").await;
        let second = write_beside(&imported, b"two").await;
        assert_eq!(first, Ok(dir.join("Kontakte ø.failed-rows.csv")));
        assert_eq!(second, Ok(dir.join("Kontakte ø.failed-rows-2.csv")));
        assert_eq!(
            std::fs::read_to_string(dir.join("Kontakte ø.failed-rows.csv")).unwrap_or_default(),
            "one"
        );
        let nowhere = write_beside(&dir.join("no/such/dir/x.csv"), b"").await;
        assert_eq!(nowhere.err().as_deref(), Some("no such file"));
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn the_file_variable_is_null_in_operations() {
        use operations::import_contacts as op;
        let body = operations::ImportContacts::build_query(op::Variables {
            file: operations::Upload,
            dry_run: true,
            error_rows: 20,
            mapping: vec![op::ColumnMappingInput {
                column: "Phone".to_owned(),
                field: None,
            }],
        });
        let json = serde_json::to_value(&body).unwrap_or_default();
        assert_eq!(json["variables"]["file"], serde_json::Value::Null);
        assert_eq!(json["variables"]["dryRun"], true);
        assert_eq!(
            json["variables"]["mapping"],
            serde_json::json!([{ "column": "Phone", "field": null }]),
            "an ignored column is sent with a null field"
        );
        assert!(
            json["variables"]
                .as_object()
                .is_some_and(|vars| vars.contains_key("file")),
            "the spec wants the key present, holding null"
        );
    }
}
