//! Reading a CSV file as batches of normalised rows, on a blocking thread:
//! the csv crate (RFC 4180 quoting, comma or semicolon, LF or CRLF, BOM)
//! over any `Read`, from the top or from a checkpoint in the middle.
//!
//! Memory stays bounded whatever the file: the csv crate gathers a whole
//! record before returning it, so the bytes it may take for one record are
//! capped underneath it (`CappedRead`), and each record is normalised as
//! soon as it is read, so one raw record is held at a time.

use std::io::{BufRead, BufReader, Read};

use csv::StringRecord;
use serde::{Deserialize, Serialize};

use crate::domain::PhoneRegion;
use crate::domain::import_mapping::{ColumnMap, FailedRow, ImportField};
use crate::store::import::PreparedRow;

/// What one file may hold; past these it is refused (a header) or stopped
/// (a row), never read whole.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReadLimits {
    /// Characters of one header cell.
    pub header_cell_chars: usize,
    /// Columns of the header row.
    pub columns: usize,
    /// Bytes of one record, the header row included.
    pub row_bytes: usize,
}

impl Default for ReadLimits {
    fn default() -> Self {
        Self {
            header_cell_chars: 256,
            columns: 512,
            row_bytes: 64 * 1024,
        }
    }
}

/// The csv crate's own buffer: the bytes it may have read past the record
/// in hand, and so the slack of the cap under it.
const CSV_BUFFER: usize = 8 * 1024;

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
    reader: csv::Reader<CappedRead<R>>,
    map: ColumnMap,
    layout: Layout,
    region: PhoneRegion,
    limits: ReadLimits,
    start: Start,
    record: StringRecord,
    finished: bool,
    /// What stopped reading after the rows of the batch that ended with it.
    stopped: Option<FileError>,
}

/// Why a file cannot be imported at all, or no further.
#[derive(Debug, thiserror::Error)]
pub enum FileError {
    #[error("the file is empty")]
    Empty,
    #[error("the header row cannot be read: {0}")]
    Header(csv::Error),
    #[error("the header row is longer than {limit} bytes, the most a row may hold")]
    HeaderTooLong { limit: usize },
    #[error("the header row has {columns} columns; at most {limit} are taken")]
    TooManyColumns { columns: usize, limit: usize },
    #[error("the header of column {column} is {chars} characters long; at most {limit} are taken")]
    HeaderCellTooLong {
        /// 1-based.
        column: usize,
        chars: usize,
        limit: usize,
    },
    #[error(
        "the import stopped at line {line}: the row is longer than {limit} bytes, the most a row \
         may hold (a quote left open makes the rest of the file one row); the rows before it \
         were read"
    )]
    RowTooLong { line: u64, limit: usize },
    #[error("{0}")]
    Mapping(String),
    #[error("the file cannot be read after line {line}: {source}")]
    Io { line: u64, source: std::io::Error },
}

impl<R: Read> RowReader<R> {
    /// Opens `source` at `start` (its bytes must begin there) and maps the
    /// header row with `mapping` over the aliases; a header past `limits`
    /// is refused.
    pub fn open(
        source: R,
        start: Start,
        mapping: &[(String, Option<ImportField>)],
        region: PhoneRegion,
        limits: ReadLimits,
    ) -> Result<RowReader<BufReader<R>>, FileError> {
        let mut buffered = BufReader::with_capacity(256 * 1024, source);
        let delimiter = match &start.layout {
            Some(layout) => layout.delimiter,
            None => sniff_delimiter(&mut buffered)?,
        };
        let capped = CappedRead::new(buffered, limits.row_bytes.saturating_add(CSV_BUFFER));
        let mut reader = csv::ReaderBuilder::new()
            .delimiter(delimiter)
            // Records end at LF only, so line numbers stay right in CRLF
            // files (the CR left at a row's end is trimmed with the cell).
            .terminator(csv::Terminator::Any(b'\n'))
            .flexible(true)
            .has_headers(start.layout.is_none())
            .buffer_capacity(CSV_BUFFER)
            .from_reader(capped);
        let headers = match &start.layout {
            Some(layout) => layout.headers.clone(),
            None => read_headers(&mut reader, limits)?,
        };
        let map = ColumnMap::new(&headers, mapping).map_err(|e| FileError::Mapping(e.message))?;
        Ok(RowReader {
            reader,
            map,
            layout: Layout { delimiter, headers },
            region,
            limits,
            start,
            record: StringRecord::new(),
            finished: false,
            stopped: None,
        })
    }
}

/// The header row, trimmed, within `limits`.
fn read_headers<R: Read>(
    reader: &mut csv::Reader<CappedRead<R>>,
    limits: ReadLimits,
) -> Result<Vec<String>, FileError> {
    let too_long = FileError::HeaderTooLong {
        limit: limits.row_bytes,
    };
    let row = match reader.headers().cloned() {
        Ok(row) => row,
        Err(_) if reader.get_ref().tripped => return Err(too_long),
        Err(err) => return Err(FileError::Header(err)),
    };
    let consumed = reader.position().byte();
    if consumed > limits.row_bytes as u64 {
        return Err(too_long);
    }
    reader.get_mut().record_ended(consumed);
    if row.iter().all(|h| h.trim().is_empty()) {
        return Err(FileError::Empty);
    }
    if row.len() > limits.columns {
        return Err(FileError::TooManyColumns {
            columns: row.len(),
            limit: limits.columns,
        });
    }
    let headers: Vec<String> = row.iter().map(|h| h.trim().to_owned()).collect();
    for (index, header) in headers.iter().enumerate() {
        let chars = header.chars().count();
        if chars > limits.header_cell_chars {
            return Err(FileError::HeaderCellTooLong {
                column: index + 1,
                chars,
                limit: limits.header_cell_chars,
            });
        }
    }
    Ok(headers)
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

    /// Up to `size` rows, normalised; `None` at the end of the file. A row
    /// past the row cap stops reading: the rows before it come as a batch,
    /// and the next call answers `RowTooLong`.
    pub fn next_batch(&mut self, size: usize) -> Result<Option<Batch>, FileError> {
        if let Some(stopped) = self.stopped.take() {
            self.finished = true;
            return Err(stopped);
        }
        if self.finished {
            return Ok(None);
        }
        let mut rows: Vec<PreparedRow> = Vec::with_capacity(size.min(BATCH_CAPACITY));
        // Where the row that stopped reading starts, if one did.
        let mut stopped_at = None;
        while rows.len() < size {
            let before = self.reader.position().clone();
            let line_before = self.absolute(&before).1;
            let read = self.reader.read_record(&mut self.record);
            let consumed = self.reader.position().byte() - before.byte();
            // Past the cap plus the csv crate's buffer the cap stopped the
            // read; under it the record came whole and is measured here.
            if self.reader.get_ref().tripped || consumed > self.limits.row_bytes as u64 {
                self.stopped = Some(FileError::RowTooLong {
                    line: line_before,
                    limit: self.limits.row_bytes,
                });
                stopped_at = Some(self.absolute(&before));
                break;
            }
            let line = match &read {
                Ok(_) => self
                    .record
                    .position()
                    .map_or(line_before, |p| self.absolute(p).1),
                Err(err) => err.position().map_or(line_before, |p| self.absolute(p).1),
            };
            match read {
                Ok(true) => {
                    let prepared = self.prepare(line);
                    rows.push(prepared);
                }
                Ok(false) => {
                    self.finished = true;
                    break;
                }
                Err(err) => match err.into_kind() {
                    csv::ErrorKind::Io(source) => {
                        self.stopped = Some(FileError::Io { line, source });
                        stopped_at = Some(self.absolute(&before));
                        break;
                    }
                    kind => rows.push(PreparedRow {
                        line,
                        row: Err(FailedRow {
                            line,
                            column: None,
                            reason: unreadable_reason(&kind),
                        }),
                    }),
                },
            }
            let ended = self.reader.position().byte();
            self.reader.get_mut().record_ended(ended);
        }
        if rows.is_empty() {
            return match self.stopped.take() {
                Some(stopped) => {
                    self.finished = true;
                    Err(stopped)
                }
                None => Ok(None),
            };
        }
        // A batch cut short by a stop ends where the row that stopped it
        // starts.
        let (bytes_done, next_line) =
            stopped_at.unwrap_or_else(|| self.absolute(self.reader.position()));
        Ok(Some(Batch {
            rows,
            bytes_done,
            next_line,
        }))
    }

    /// Normalising is the costly part of reading a row (phone numbers above
    /// all). It runs on the reader's thread, beside the store writing the
    /// last batch.
    fn prepare(&self, line: u64) -> PreparedRow {
        let width = self.layout.headers.len();
        let row = if self.record.len() != width {
            Err(FailedRow {
                line,
                column: None,
                reason: format!(
                    "the row has {} cells where the header has {width}",
                    self.record.len()
                ),
            })
        } else {
            let cells: Vec<&str> = self.record.iter().collect();
            self.map.prepare(line, &cells, self.region)
        };
        PreparedRow { line, row }
    }
}

/// A batch's rows are allocated as they come, up to this many at once.
const BATCH_CAPACITY: usize = 8192;

fn unreadable_reason(kind: &csv::ErrorKind) -> String {
    match kind {
        csv::ErrorKind::Utf8 { .. } => "the row is not valid UTF-8 text".to_owned(),
        _ => "the row cannot be read as CSV".to_owned(),
    }
}

/// The bytes under the csv reader, at most `cap` past the start of the
/// record being read: a record longer than that fails its read instead of
/// growing the csv crate's record buffer. The reader says where each
/// record ends (`record_ended`); the bytes handed out past that point, the
/// csv crate's read-ahead included, count toward the next record.
struct CappedRead<R> {
    inner: R,
    cap: u64,
    /// Bytes handed to the csv reader so far.
    handed: u64,
    /// `handed` when the current record started, at most.
    record_start: u64,
    tripped: bool,
}

impl<R> CappedRead<R> {
    fn new(inner: R, cap: usize) -> Self {
        Self {
            inner,
            cap: cap as u64,
            handed: 0,
            record_start: 0,
            tripped: false,
        }
    }

    /// The csv reader has consumed `consumed` bytes, up to the end of a
    /// record.
    fn record_ended(&mut self, consumed: u64) {
        self.record_start = consumed;
    }
}

impl<R: Read> Read for CappedRead<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let room = (self.record_start + self.cap).saturating_sub(self.handed);
        if room == 0 {
            self.tripped = true;
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                "a row is longer than the cap",
            ));
        }
        let want = buf.len().min(usize::try_from(room).unwrap_or(usize::MAX));
        let n = self.inner.read(&mut buf[..want])?;
        self.handed += n as u64;
        Ok(n)
    }
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
    // Tight limits too, so that short inputs meet the caps.
    let tight = ReadLimits {
        header_cell_chars: 24,
        columns: 8,
        row_bytes: 96,
    };
    for limits in [ReadLimits::default(), tight] {
        exercise_with(data, limits);
    }
}

fn exercise_with(data: &[u8], limits: ReadLimits) {
    let Ok(mut rows) = RowReader::open(data, Start::TOP, &[], PhoneRegion::default(), limits)
    else {
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

    fn open(data: &[u8], limits: ReadLimits) -> Result<RowReader<BufReader<&[u8]>>, FileError> {
        RowReader::open(data, Start::TOP, &[], PhoneRegion::default(), limits)
    }

    fn read_all(data: &[u8]) -> Vec<PreparedRow> {
        let mut rows = open(data, ReadLimits::default()).unwrap();
        let mut all = Vec::new();
        while let Some(batch) = rows.next_batch(2).unwrap() {
            all.extend(batch.rows);
        }
        all
    }

    #[test]
    fn a_checkpoint_reads_on_where_the_batch_ended() {
        let file = b"Email;First Name\r\na@example.com;A\r\nb@example.com;\"B\r\nX\"\r\nc@example.com;C\r\n";
        let mut rows = open(&file[..], ReadLimits::default()).unwrap();
        let first = rows.next_batch(1).unwrap().unwrap();
        assert_eq!(first.rows[0].line, 2);
        let start = Start {
            layout: Some(rows.layout().clone()),
            byte: first.bytes_done,
            line: first.next_line,
        };
        let rest = &file[usize::try_from(first.bytes_done).unwrap()..];
        let mut resumed = RowReader::open(
            rest,
            start,
            &[],
            PhoneRegion::default(),
            ReadLimits::default(),
        )
        .unwrap();
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

    const SMALL: ReadLimits = ReadLimits {
        header_cell_chars: 16,
        columns: 4,
        row_bytes: 64,
    };

    /// A source that counts the bytes taken from it.
    struct Counted<'a> {
        data: &'a [u8],
        taken: std::rc::Rc<std::cell::Cell<usize>>,
    }

    impl Read for Counted<'_> {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            let n = self.data.read(buf)?;
            self.taken.set(self.taken.get() + n);
            Ok(n)
        }
    }

    #[test]
    fn a_header_within_the_caps_is_read() {
        let file = format!("{},Email\n{}\n", "N".repeat(16), "x,a@example.com");
        let rows = open(file.as_bytes(), SMALL).unwrap();
        assert_eq!(rows.layout().headers, ["N".repeat(16), "Email".to_owned()]);
    }

    #[test]
    fn a_long_header_cell_is_refused_naming_its_column() {
        let file = format!("Email,{}\n", "N".repeat(17));
        let err = open(file.as_bytes(), SMALL).err().unwrap();
        assert!(
            matches!(
                err,
                FileError::HeaderCellTooLong {
                    column: 2,
                    chars: 17,
                    limit: 16
                }
            ),
            "{err}"
        );
    }

    #[test]
    fn too_many_columns_are_refused() {
        let err = open(b"Email,a,b,c,d\n", SMALL).err().unwrap();
        assert!(
            matches!(
                err,
                FileError::TooManyColumns {
                    columns: 5,
                    limit: 4
                }
            ),
            "{err}"
        );
    }

    #[test]
    fn a_header_row_past_the_row_cap_is_refused_without_reading_it_whole() {
        // Just past the cap: the csv crate returns it whole, and it is
        // measured.
        let file = format!("email{}\n", "-".repeat(60));
        let err = open(file.as_bytes(), SMALL).err().unwrap();
        assert!(
            matches!(err, FileError::HeaderTooLong { limit: 64 }),
            "{err}"
        );
        // 20 million commas: the cap stops the read.
        let file = vec![b','; 20_000_000];
        let taken = std::rc::Rc::new(std::cell::Cell::new(0));
        let source = Counted {
            data: &file,
            taken: taken.clone(),
        };
        let err = RowReader::open(source, Start::TOP, &[], PhoneRegion::default(), SMALL)
            .err()
            .unwrap();
        assert!(matches!(err, FileError::HeaderTooLong { .. }), "{err}");
        assert!(taken.get() < 1024 * 1024, "{} bytes read", taken.get());
    }

    #[test]
    fn a_row_past_the_cap_stops_reading_after_the_rows_before_it() {
        for length in [65, 100_000] {
            let file = format!(
                "Email\na@example.com\nb@example.com\n\"{}\nc@example.com\n",
                "x".repeat(length)
            );
            let mut rows = open(file.as_bytes(), SMALL).unwrap();
            let batch = rows.next_batch(10).unwrap().unwrap();
            let lines: Vec<u64> = batch.rows.iter().map(|r| r.line).collect();
            assert_eq!(lines, [2, 3]);
            assert_eq!(batch.next_line, 4);
            assert_eq!(
                batch.bytes_done,
                "Email\na@example.com\nb@example.com\n".len() as u64
            );
            let err = rows.next_batch(10).err().unwrap();
            assert!(
                matches!(err, FileError::RowTooLong { line: 4, limit: 64 }),
                "{length}: {err}"
            );
            assert!(err.to_string().contains("line 4"), "{err}");
            assert!(rows.next_batch(10).unwrap().is_none());
        }
    }

    #[test]
    fn a_huge_row_is_never_held_whole() {
        let mut file = b"Email\na@example.com\n".to_vec();
        file.extend(std::iter::repeat_n(b'x', 10_000_000));
        let taken = std::rc::Rc::new(std::cell::Cell::new(0));
        let source = Counted {
            data: &file,
            taken: taken.clone(),
        };
        let mut rows =
            RowReader::open(source, Start::TOP, &[], PhoneRegion::default(), SMALL).unwrap();
        let batch = rows.next_batch(10).unwrap().unwrap();
        assert_eq!(batch.rows.len(), 1);
        assert!(matches!(
            rows.next_batch(10),
            Err(FileError::RowTooLong { line: 3, .. })
        ));
        // The 256 KiB read-ahead and the cap, not the row.
        assert!(taken.get() < 1024 * 1024, "{} bytes read", taken.get());
    }

    #[test]
    fn rows_up_to_the_cap_are_read_whatever_came_before() {
        // Many rows each just under the cap: the read-ahead of one record
        // never counts toward the next.
        let row = format!("{}@example.com", "a".repeat(64 - "@example.com\n".len()));
        assert_eq!(row.len() + 1, 64);
        let file = format!("Email\n{}", format!("{row}\n").repeat(2000));
        let mut rows = open(file.as_bytes(), SMALL).unwrap();
        let mut read = 0;
        while let Some(batch) = rows.next_batch(300).unwrap() {
            read += batch.rows.len();
        }
        assert_eq!(read, 2000);
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
