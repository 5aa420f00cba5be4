//! Reading a CSV file as batches of normalised rows, on a blocking thread:
//! the csv crate (RFC 4180 quoting, comma or semicolon, LF or CRLF, BOM)
//! over any `Read`, from the top or from a checkpoint in the middle.

use std::io::{BufRead, BufReader, Read};

use csv::StringRecord;
use serde::{Deserialize, Serialize};

use crate::domain::PhoneRegion;
use crate::domain::import_mapping::{ColumnMap, FailedRow, ImportField};
use crate::store::import::PreparedRow;

/// What a checkpoint must remember of a file to read on from its middle.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Layout {
    pub delimiter: u8,
    pub headers: Vec<String>,
}

/// Where reading starts: the top of the file, or a checkpoint with the
/// layout read before it.
pub struct Start {
    pub layout: Option<Layout>,
    pub byte: u64,
    pub line: u64,
}

impl Start {
    pub const TOP: Start = Start {
        layout: None,
        byte: 0,
        line: 1,
    };
}

/// A batch of rows and where the next one starts.
pub struct Batch {
    pub rows: Vec<PreparedRow>,
    /// Bytes of the file consumed once this batch is applied.
    pub bytes_done: u64,
    pub next_line: u64,
}

/// Reads the rows of one file.
pub struct RowReader<R: Read> {
    reader: csv::Reader<R>,
    map: ColumnMap,
    layout: Layout,
    region: PhoneRegion,
    start: Start,
    record: StringRecord,
    finished: bool,
}

/// Why a file cannot be imported at all.
#[derive(Debug, thiserror::Error)]
pub enum FileError {
    #[error("the file is empty")]
    Empty,
    #[error("the header row cannot be read: {0}")]
    Header(csv::Error),
    #[error("{0}")]
    Mapping(String),
    #[error("the file cannot be read after line {line}: {source}")]
    Io { line: u64, source: std::io::Error },
}

impl<R: Read> RowReader<R> {
    /// Opens `source` at `start` (its bytes must begin there) and maps the
    /// header row with `mapping` over the aliases.
    pub fn open(
        source: R,
        start: Start,
        mapping: &[(String, Option<ImportField>)],
        region: PhoneRegion,
    ) -> Result<RowReader<BufReader<R>>, FileError> {
        let mut buffered = BufReader::with_capacity(256 * 1024, source);
        let delimiter = match &start.layout {
            Some(layout) => layout.delimiter,
            None => sniff_delimiter(&mut buffered)?,
        };
        let mut reader = csv::ReaderBuilder::new()
            .delimiter(delimiter)
            // Records end at LF only, so line numbers stay right in CRLF
            // files (the CR left at a row's end is trimmed with the cell).
            .terminator(csv::Terminator::Any(b'\n'))
            .flexible(true)
            .has_headers(start.layout.is_none())
            .from_reader(buffered);
        let headers = match &start.layout {
            Some(layout) => layout.headers.clone(),
            None => {
                let row = reader.headers().map_err(FileError::Header)?;
                if row.iter().all(|h| h.trim().is_empty()) {
                    return Err(FileError::Empty);
                }
                row.iter().map(|h| h.trim().to_owned()).collect()
            }
        };
        let map = ColumnMap::new(&headers, mapping).map_err(|e| FileError::Mapping(e.message))?;
        Ok(RowReader {
            reader,
            map,
            layout: Layout { delimiter, headers },
            region,
            start,
            record: StringRecord::new(),
            finished: false,
        })
    }
}

impl<R: Read> RowReader<R> {
    pub fn layout(&self) -> &Layout {
        &self.layout
    }

    pub fn map(&self) -> &ColumnMap {
        &self.map
    }

    fn absolute(&self, position: &csv::Position) -> (u64, u64) {
        (
            self.start.byte + position.byte(),
            self.start.line + position.line() - 1,
        )
    }

    /// Up to `size` rows, normalised; `None` at the end of the file.
    pub fn next_batch(&mut self, size: usize) -> Result<Option<Batch>, FileError> {
        if self.finished {
            return Ok(None);
        }
        let mut raw: Vec<(u64, Result<StringRecord, FailedRow>)> = Vec::with_capacity(size);
        while raw.len() < size {
            let line_before = self.absolute(self.reader.position()).1;
            match self.reader.read_record(&mut self.record) {
                Ok(true) => {
                    let line = self
                        .record
                        .position()
                        .map_or(line_before, |p| self.absolute(p).1);
                    raw.push((line, Ok(self.record.clone())));
                }
                Ok(false) => {
                    self.finished = true;
                    break;
                }
                Err(err) => {
                    let line = err.position().map_or(line_before, |p| self.absolute(p).1);
                    match err.kind() {
                        csv::ErrorKind::Io(_) => {
                            let source = match err.into_kind() {
                                csv::ErrorKind::Io(source) => source,
                                _ => std::io::Error::other("unreadable"),
                            };
                            return Err(FileError::Io { line, source });
                        }
                        _ => raw.push((
                            line,
                            Err(FailedRow {
                                line,
                                column: None,
                                reason: unreadable_reason(&err),
                            }),
                        )),
                    }
                }
            }
        }
        if raw.is_empty() {
            return Ok(None);
        }
        let (bytes_done, next_line) = self.absolute(self.reader.position());
        let rows = prepare_all(&self.map, self.layout.headers.len(), self.region, raw);
        Ok(Some(Batch {
            rows,
            bytes_done,
            next_line,
        }))
    }
}

fn unreadable_reason(err: &csv::Error) -> String {
    match err.kind() {
        csv::ErrorKind::Utf8 { .. } => "the row is not valid UTF-8 text".to_owned(),
        _ => format!("the row cannot be read: {err}"),
    }
}

/// Normalising is the costly part of a row (phone numbers above all), so a
/// batch is split across two threads while the store writes the last one.
fn prepare_all(
    map: &ColumnMap,
    width: usize,
    region: PhoneRegion,
    raw: Vec<(u64, Result<StringRecord, FailedRow>)>,
) -> Vec<PreparedRow> {
    let prepare = |(line, record): &(u64, Result<StringRecord, FailedRow>)| PreparedRow {
        line: *line,
        row: match record {
            Err(failed) => Err(failed.clone()),
            Ok(record) if record.len() != width => Err(FailedRow {
                line: *line,
                column: None,
                reason: format!(
                    "the row has {} cells where the header has {width}",
                    record.len()
                ),
            }),
            Ok(record) => {
                let cells: Vec<&str> = record.iter().collect();
                map.prepare(*line, &cells, region)
            }
        },
    };
    let half = raw.len().div_ceil(2);
    let (first, second) = raw.split_at(half);
    std::thread::scope(|scope| {
        let other = scope.spawn(|| second.iter().map(prepare).collect::<Vec<_>>());
        let mut rows: Vec<PreparedRow> = first.iter().map(prepare).collect();
        match other.join() {
            Ok(more) => rows.extend(more),
            // Preparing does not panic; if it ever did, the rows are
            // prepared again here rather than lost.
            Err(_) => rows.extend(second.iter().map(prepare)),
        }
        rows
    })
}

/// Spreadsheets in comma-decimal locales export with semicolons: the
/// first line decides, without consuming it.
fn sniff_delimiter(input: &mut impl BufRead) -> Result<u8, FileError> {
    let buffer = input
        .fill_buf()
        .map_err(|source| FileError::Io { line: 1, source })?;
    let first_line = buffer.split(|&b| b == b'\n').next().unwrap_or_default();
    let count = |c: u8| first_line.iter().filter(|&&b| b == c).count();
    Ok(if count(b';') > count(b',') {
        b';'
    } else {
        b','
    })
}
