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

/// Normalising is the costly part of reading a row (phone numbers above
/// all). It runs on the reader's thread, beside the store writing the last
/// batch.
fn prepare_all(
    map: &ColumnMap,
    width: usize,
    region: PhoneRegion,
    raw: Vec<(u64, Result<StringRecord, FailedRow>)>,
) -> Vec<PreparedRow> {
    raw.into_iter()
        .map(|(line, record)| PreparedRow {
            line,
            row: match record {
                Err(failed) => Err(failed),
                Ok(record) if record.len() != width => Err(FailedRow {
                    line,
                    column: None,
                    reason: format!(
                        "the row has {} cells where the header has {width}",
                        record.len()
                    ),
                }),
                Ok(record) => {
                    let cells: Vec<&str> = record.iter().collect();
                    map.prepare(line, &cells, region)
                }
            },
        })
        .collect()
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

/// Reads `data` as an import file to the end and checks what every reader
/// must hold, whatever the bytes: no panic, rows in file order on lines
/// after the header, progress that never passes the end. The fuzz target
/// (`server/fuzz`) and a property test both run it.
pub fn exercise(data: &[u8]) {
    let Ok(mut rows) = RowReader::open(data, Start::TOP, &[], PhoneRegion::default()) else {
        return;
    };
    let mut last_line = 1;
    let mut last_bytes = 0;
    while let Ok(Some(batch)) = rows.next_batch(7) {
        for row in &batch.rows {
            assert!(
                row.line > last_line,
                "rows go forward: {} after {last_line}",
                row.line
            );
            last_line = row.line;
            if let Err(failed) = &row.row {
                assert_eq!(failed.line, row.line);
                assert!(!failed.reason.is_empty());
            }
        }
        assert!(batch.bytes_done >= last_bytes && batch.bytes_done <= data.len() as u64);
        // Only the last row, with no line break after it, leaves the next
        // line where it started.
        assert!(batch.next_line > last_line || batch.bytes_done == data.len() as u64);
        last_bytes = batch.bytes_done;
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn read_all(data: &[u8]) -> Vec<PreparedRow> {
        let mut rows = RowReader::open(data, Start::TOP, &[], PhoneRegion::default()).unwrap();
        let mut all = Vec::new();
        while let Some(batch) = rows.next_batch(2).unwrap() {
            all.extend(batch.rows);
        }
        all
    }

    #[test]
    fn a_checkpoint_reads_on_where_the_batch_ended() {
        let file = b"Email;First Name\r\na@example.com;A\r\nb@example.com;\"B\r\nX\"\r\nc@example.com;C\r\n";
        let mut rows = RowReader::open(&file[..], Start::TOP, &[], PhoneRegion::default()).unwrap();
        let first = rows.next_batch(1).unwrap().unwrap();
        assert_eq!(first.rows[0].line, 2);
        let start = Start {
            layout: Some(rows.layout().clone()),
            byte: first.bytes_done,
            line: first.next_line,
        };
        let rest = &file[usize::try_from(first.bytes_done).unwrap()..];
        let mut resumed = RowReader::open(rest, start, &[], PhoneRegion::default()).unwrap();
        let next = resumed.next_batch(10).unwrap().unwrap();
        let lines: Vec<u64> = next.rows.iter().map(|r| r.line).collect();
        assert_eq!(lines, [3, 5], "the quoted line break spans lines 3-4");
        assert_eq!(next.bytes_done, file.len() as u64);
        assert!(
            next.rows[0].row.is_err(),
            "a line break in a name is refused"
        );
        assert_eq!(
            next.rows[1].row.as_ref().unwrap().first_name.as_deref(),
            Some("C")
        );
    }

    #[test]
    fn semicolons_and_a_bom_are_understood() {
        let rows = read_all(
            "\u{feff}E-mail Address;Mobile Phone\nann@example.com;(415) 555-0101\n".as_bytes(),
        );
        let fields = rows[0].row.as_ref().unwrap();
        assert_eq!(fields.email.as_ref().unwrap().as_str(), "ann@example.com");
        assert_eq!(
            fields.mobile_phone.as_ref().unwrap().as_str(),
            "+14155550101"
        );
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        #[test]
        fn any_bytes_read_without_panic(data in proptest::collection::vec(any::<u8>(), 0..512)) {
            exercise(&data);
        }

        #[test]
        fn any_csv_like_text_reads_without_panic(
            body in "(Email|Phone|Name|[a-z@.,;\"\r\n +()0-9-]){0,40}"
        ) {
            exercise(format!("Email,Mobile Phone,First Name\n{body}").as_bytes());
        }
    }
}
