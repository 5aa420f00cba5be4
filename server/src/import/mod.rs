//! CSV import, the file side: read a file as a stream of records (csv
//! crate: RFC 4180 quoting, comma or semicolon, LF or CRLF, BOM), map its
//! headers, and hand batches to the store, which applies them row by row
//! in a transaction each (`store::import`).

use std::path::Path;

use crate::domain::import_mapping::ColumnMap;
use crate::domain::{PhoneRegion, Principal};
use crate::store::import::{self, FailedRow, Record, Summary};
use crate::store::{Store, users};

/// Rows per transaction: a crash leaves whole batches, never half a row.
const IMPORT_BATCH: usize = 500;

/// Imports `file` acting as the user named `as_user`. Errors that stop the
/// whole import (no such user, unreadable file, no identity column) are
/// returned; a bad row is counted as failed and the rest proceeds.
pub async fn import_file(
    store: &Store,
    file: &Path,
    as_user: &str,
    region: PhoneRegion,
    dry_run: bool,
) -> Result<Summary, String> {
    let user = users::user_by_name(store.db(), as_user)
        .await
        .map_err(|e| e.to_string())?
        .ok_or_else(|| format!("no user is named {as_user:?}"))?;
    let principal = Principal {
        user_id: user.id,
        role: user.role,
        team_ids: users::team_ids_of(store.db(), user.id)
            .await
            .map_err(|e| e.to_string())?,
    };
    let unreadable = |e: &dyn std::fmt::Display| format!("{}: {e}", file.display());
    let first_line = {
        use std::io::BufRead;
        let mut line = String::new();
        let opened = std::fs::File::open(file).map_err(|e| unreadable(&e))?;
        std::io::BufReader::new(opened)
            .read_line(&mut line)
            .map_err(|e| unreadable(&e))?;
        line
    };
    // Spreadsheets in comma-decimal locales export with semicolons.
    let delimiter = if first_line.matches(';').count() > first_line.matches(',').count() {
        b';'
    } else {
        b','
    };
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(delimiter)
        // Records end at LF only, so line numbers stay right in CRLF files
        // (a CR left at a row's end is trimmed with the cell).
        .terminator(csv::Terminator::Any(b'\n'))
        .flexible(true)
        .from_path(file)
        .map_err(|e| unreadable(&e))?;
    let headers: Vec<String> = reader
        .headers()
        .map_err(|e| unreadable(&e))?
        .iter()
        .map(str::to_owned)
        .collect();
    let map = ColumnMap::new(&headers, &[]).map_err(|e| e.to_string())?;
    let mut summary = Summary::default();
    let mut batch = Vec::with_capacity(IMPORT_BATCH);
    for (index, result) in reader.records().enumerate() {
        match result {
            Ok(record) => batch.push(Record {
                line: record.position().map_or(index as u64 + 2, |p| p.line()),
                cells: record.iter().map(str::to_owned).collect(),
            }),
            Err(err) => summary.failed.push(FailedRow {
                line: err.position().map_or(index as u64 + 2, |p| p.line()),
                column: None,
                reason: format!("unreadable row: {err}"),
            }),
        }
        if batch.len() == IMPORT_BATCH {
            let applied = import::apply_batch(store, &principal, &map, region, &batch, dry_run)
                .await
                .map_err(|e| e.to_string())?;
            summary.add(applied);
            batch.clear();
        }
    }
    if !batch.is_empty() {
        let applied = import::apply_batch(store, &principal, &map, region, &batch, dry_run)
            .await
            .map_err(|e| e.to_string())?;
        summary.add(applied);
    }
    Ok(summary)
}
