//! Reading a CSV file as batches of normalised rows, on a blocking thread:
//! RFC 4180 quoting, comma or semicolon, LF or CRLF, BOM, over any `Read`,
//! from the top or from a checkpoint in the middle.
//!
//! Memory stays bounded whatever the file. The csv crate gathers a whole
//! record before returning it, so its parser, `csv_core`, is driven here
//! (as the csv crate drives it) with a record buffer that never grows past
//! the row cap: a longer record is parsed on to its end, quotes and all,
//! into a scratch buffer, and fails alone, so reading goes on at the next
//! row. Each record is normalised as soon as it is read: one raw record is
//! held at a time.

use std::io::{BufRead, BufReader, Read};

use serde::{Deserialize, Serialize};

use crate::domain::PhoneRegion;
use crate::domain::field_policy::FieldRights;
use crate::domain::import_mapping::{ColumnMap, FailedRow, ImportField};
use crate::store::import::PreparedRow;

/// What one file may hold. A header past these is refused; a row past the
/// row cap fails alone, never read whole.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReadLimits {
    /// Characters of one header cell.
    pub header_cell_chars: usize,
    /// Columns of the header row.
    pub columns: usize,
    /// Bytes of one record as written in the file, the header row included.
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
    records: Records<BufReader<R>>,
    map: ColumnMap,
    layout: Layout,
    region: PhoneRegion,
    start: Start,
}

/// Why a file cannot be imported at all.
#[derive(Debug, thiserror::Error)]
pub enum FileError {
    #[error("the file is empty")]
    Empty,
    #[error("the header row cannot be read: it is not UTF-8 text")]
    HeaderNotText,
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
    #[error("{0}")]
    Mapping(String),
    /// A column feeds a field the importer's role may not write.
    #[error("the column {column:?} feeds {field}, which this role cannot write")]
    Unwritable { column: String, field: &'static str },
    #[error("the file cannot be read after line {line}: {source}")]
    Io { line: u64, source: std::io::Error },
}

impl<R: Read> RowReader<R> {
    /// Opens `source` at `start` (its bytes must begin there) and maps the
    /// header row with `mapping` over the aliases; a header past `limits`,
    /// or a column feeding a field `rights` may not write, is refused.
    pub fn open(
        source: R,
        start: Start,
        mapping: &[(String, Option<ImportField>)],
        rights: FieldRights,
        region: PhoneRegion,
        limits: ReadLimits,
    ) -> Result<RowReader<R>, FileError> {
        let mut buffered = BufReader::with_capacity(256 * 1024, source);
        let delimiter = match &start.layout {
            Some(layout) => layout.delimiter,
            None => sniff_delimiter(&mut buffered)?,
        };
        let mut records = Records::new(buffered, delimiter, limits.row_bytes);
        let headers = match &start.layout {
            Some(layout) => layout.headers.clone(),
            None => read_headers(&mut records, limits)?,
        };
        let map = ColumnMap::new(&headers, mapping).map_err(|e| FileError::Mapping(e.message))?;
        if let Some((column, field)) = map.first_unwritable(&rights) {
            return Err(FileError::Unwritable {
                column: column.to_owned(),
                field: field.input_name(),
            });
        }
        Ok(RowReader {
            records,
            map,
            layout: Layout { delimiter, headers },
            region,
            start,
        })
    }

    pub fn layout(&self) -> &Layout {
        &self.layout
    }

    pub fn map(&self) -> &ColumnMap {
        &self.map
    }

    /// (byte, line) in the file of a position of the records read.
    fn absolute(&self, (byte, line): (u64, u64)) -> (u64, u64) {
        (self.start.byte + byte, self.start.line + line - 1)
    }

    /// Up to `size` rows, normalised; `None` at the end of the file.
    pub fn next_batch(&mut self, size: usize) -> Result<Option<Batch>, FileError> {
        let mut rows: Vec<PreparedRow> = Vec::with_capacity(size.min(BATCH_CAPACITY));
        while rows.len() < size {
            let line = self.absolute(self.records.position()).1;
            let read = self
                .records
                .next(true)
                .map_err(|source| FileError::Io { line, source })?;
            let row = match read {
                Record::End => break,
                Record::TooLong => Err(FailedRow {
                    line,
                    column: None,
                    reason: format!(
                        "the row is longer than {} bytes, the most a row may hold (a quote left \
                         open makes the rows after it one long row)",
                        self.records.cap
                    ),
                }),
                Record::NotText => Err(FailedRow {
                    line,
                    column: None,
                    reason: "the row is not valid UTF-8 text".to_owned(),
                }),
                Record::Fields => self.prepare(line),
            };
            rows.push(PreparedRow { line, row });
        }
        if rows.is_empty() {
            return Ok(None);
        }
        let (bytes_done, next_line) = self.absolute(self.records.position());
        Ok(Some(Batch {
            rows,
            bytes_done,
            next_line,
        }))
    }

    /// Normalising is the costly part of reading a row (phone numbers above
    /// all). It runs on the reader's thread, beside the store writing the
    /// last batch.
    fn prepare(&self, line: u64) -> Result<crate::domain::ContactFields, FailedRow> {
        let cells = self.records.cells();
        let width = self.layout.headers.len();
        if cells.len() != width {
            return Err(FailedRow {
                line,
                column: None,
                reason: format!(
                    "the row has {} cells where the header has {width}",
                    cells.len()
                ),
            });
        }
        self.map.prepare(line, &cells, self.region)
    }
}

/// A batch's rows are allocated as they come, up to this many at once.
const BATCH_CAPACITY: usize = 8192;

/// The header row, trimmed, within `limits`.
fn read_headers<R: BufRead>(
    records: &mut Records<R>,
    limits: ReadLimits,
) -> Result<Vec<String>, FileError> {
    // A header past the cap is refused at once, not parsed to its end.
    let read = records
        .next(false)
        .map_err(|source| FileError::Io { line: 1, source })?;
    match read {
        Record::End => return Err(FileError::Empty),
        Record::TooLong => {
            return Err(FileError::HeaderTooLong {
                limit: limits.row_bytes,
            });
        }
        Record::NotText => return Err(FileError::HeaderNotText),
        Record::Fields => {}
    }
    let cells = records.cells();
    if cells.iter().all(|h| h.trim().is_empty()) {
        return Err(FileError::Empty);
    }
    if cells.len() > limits.columns {
        return Err(FileError::TooManyColumns {
            columns: cells.len(),
            limit: limits.columns,
        });
    }
    let mut headers = Vec::with_capacity(cells.len());
    for (index, cell) in cells.iter().enumerate() {
        let header = cell.trim();
        let chars = header.chars().count();
        if chars > limits.header_cell_chars {
            return Err(FileError::HeaderCellTooLong {
                column: index + 1,
                chars,
                limit: limits.header_cell_chars,
            });
        }
        headers.push(header.to_owned());
    }
    Ok(headers)
}

/// What `Records::next` read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Record {
    /// A record, whose cells `Records::cells` gives.
    Fields,
    /// A record longer than the cap, read past and dropped.
    TooLong,
    /// A record that is not UTF-8 text.
    NotText,
    End,
}

/// The records of a CSV stream, one at a time, each held only up to `cap`
/// bytes. The loop is the csv crate's own (`Reader::read_byte_record`), but
/// the record buffer stops growing at the cap.
struct Records<R> {
    input: R,
    parser: csv_core::Reader,
    cap: usize,
    /// The record in hand: its unquoted bytes, and where each cell ends.
    bytes: Vec<u8>,
    ends: Vec<usize>,
    /// Its cells' text, once it is checked to be UTF-8.
    text_len: usize,
    cell_count: usize,
    /// Where a record too long to keep is parsed to; allocated when one is.
    scratch: Vec<u8>,
    scratch_ends: Vec<usize>,
    /// Bytes consumed so far.
    consumed: u64,
    ended: bool,
}

const SCRATCH: usize = 8 * 1024;

impl<R: BufRead> Records<R> {
    fn new(input: R, delimiter: u8, cap: usize) -> Self {
        let parser = csv_core::ReaderBuilder::new()
            .delimiter(delimiter)
            // Records end at LF only, so line numbers stay right in CRLF
            // files (the CR left at a row's end is trimmed with the cell).
            .terminator(csv_core::Terminator::Any(b'\n'))
            .build();
        Self {
            input,
            parser,
            cap,
            bytes: vec![0; cap.clamp(1, 4096)],
            ends: vec![0; 64],
            text_len: 0,
            cell_count: 0,
            scratch: Vec::new(),
            scratch_ends: Vec::new(),
            consumed: 0,
            ended: false,
        }
    }

    /// (bytes consumed, line the next record starts on), from 1.
    fn position(&self) -> (u64, u64) {
        (self.consumed, self.parser.line())
    }

    /// The cells of the record `next` last read as `Fields`.
    fn cells(&self) -> Vec<&str> {
        // `next` checked the bytes; this cannot fail.
        let text = std::str::from_utf8(&self.bytes[..self.text_len]).unwrap_or_default();
        let mut cells = Vec::with_capacity(self.cell_count);
        let mut from = 0;
        for &end in &self.ends[..self.cell_count] {
            cells.push(text.get(from..end).unwrap_or_default());
            from = end;
        }
        cells
    }

    /// The next record. One past the cap is parsed on to its end when
    /// `read_past_long` (reading can go on after it), else given up at once.
    fn next(&mut self, read_past_long: bool) -> std::io::Result<Record> {
        use csv_core::ReadRecordResult::{End, InputEmpty, OutputEndsFull, OutputFull};
        if self.ended {
            return Ok(Record::End);
        }
        let (mut out, mut cells, mut taken) = (0, 0, 0usize);
        let mut too_long = false;
        loop {
            if too_long && !read_past_long {
                self.ended = true;
                return Ok(Record::TooLong);
            }
            if too_long && self.scratch.is_empty() {
                self.scratch = vec![0; SCRATCH];
                self.scratch_ends = vec![0; SCRATCH / 8];
            }
            let input = self.input.fill_buf()?;
            let (result, nin, nout, nend) = if too_long {
                self.parser
                    .read_record(input, &mut self.scratch, &mut self.scratch_ends)
            } else {
                self.parser
                    .read_record(input, &mut self.bytes[out..], &mut self.ends[cells..])
            };
            self.input.consume(nin);
            self.consumed += nin as u64;
            taken = taken.saturating_add(nin);
            if !too_long {
                out += nout;
                cells += nend;
            }
            // Past the cap as written (quotes, delimiters and all), the
            // record is parsed on to its end but no longer kept.
            if taken > self.cap {
                too_long = true;
            }
            match result {
                InputEmpty => {}
                OutputFull if !too_long => {
                    if self.bytes.len() >= self.cap {
                        too_long = true;
                    } else {
                        let grown = (self.bytes.len() * 2).min(self.cap);
                        self.bytes.resize(grown, 0);
                    }
                }
                OutputEndsFull if !too_long => {
                    // More cells than bytes cannot be: past the cap.
                    if self.ends.len() > self.cap {
                        too_long = true;
                    } else {
                        let grown = self.ends.len() * 2;
                        self.ends.resize(grown, 0);
                    }
                }
                OutputFull | OutputEndsFull => {}
                End => {
                    self.ended = true;
                    return Ok(Record::End);
                }
                csv_core::ReadRecordResult::Record => {
                    if too_long {
                        return Ok(Record::TooLong);
                    }
                    if std::str::from_utf8(&self.bytes[..out]).is_err() {
                        return Ok(Record::NotText);
                    }
                    self.text_len = out;
                    self.cell_count = cells;
                    return Ok(Record::Fields);
                }
            }
        }
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
    let admin = FieldRights::defaults(crate::domain::Role::Admin);
    let Ok(mut rows) =
        RowReader::open(data, Start::TOP, &[], admin, PhoneRegion::default(), limits)
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

    fn all_rights() -> FieldRights {
        FieldRights::defaults(crate::domain::Role::Admin)
    }

    fn open(data: &[u8], limits: ReadLimits) -> Result<RowReader<&[u8]>, FileError> {
        RowReader::open(
            data,
            Start::TOP,
            &[],
            all_rights(),
            PhoneRegion::default(),
            limits,
        )
    }

    fn read_all(data: &[u8]) -> Vec<PreparedRow> {
        read_all_with(data, ReadLimits::default())
    }

    fn read_all_with(data: &[u8], limits: ReadLimits) -> Vec<PreparedRow> {
        let mut rows = open(data, limits).unwrap();
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
            all_rights(),
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
        // Just past the cap.
        let file = format!("email{}\n", "-".repeat(60));
        let err = open(file.as_bytes(), SMALL).err().unwrap();
        assert!(
            matches!(err, FileError::HeaderTooLong { limit: 64 }),
            "{err}"
        );
        // 20 million commas: refused at the cap, not parsed to the end.
        let file = vec![b','; 20_000_000];
        let taken = std::rc::Rc::new(std::cell::Cell::new(0));
        let source = Counted {
            data: &file,
            taken: taken.clone(),
        };
        let err = RowReader::open(
            source,
            Start::TOP,
            &[],
            all_rights(),
            PhoneRegion::default(),
            SMALL,
        )
        .err()
        .unwrap();
        assert!(matches!(err, FileError::HeaderTooLong { .. }), "{err}");
        assert!(taken.get() < 1024 * 1024, "{} bytes read", taken.get());
    }

    fn reason(row: &PreparedRow) -> &str {
        &row.row.as_ref().unwrap_err().reason
    }

    #[test]
    fn a_row_past_the_cap_fails_alone_and_reading_goes_on() {
        for length in [65, 100_000] {
            let file = format!(
                "Email,First Name\na@example.com,A\nb@example.com,\"{}\n,\"\"\n\"\nc@example.com,C",
                "x".repeat(length)
            );
            let rows = read_all_with(file.as_bytes(), SMALL);
            let lines: Vec<u64> = rows.iter().map(|r| r.line).collect();
            assert_eq!(lines, [2, 3, 6], "{length}");
            assert!(rows[0].row.is_ok());
            assert_eq!(
                reason(&rows[1]),
                "the row is longer than 64 bytes, the most a row may hold (a quote left open \
                 makes the rows after it one long row)"
            );
            assert_eq!(rows[1].row.as_ref().unwrap_err().column, None);
            assert_eq!(
                rows[2].row.as_ref().unwrap().first_name.as_deref(),
                Some("C"),
                "{length}"
            );
        }
    }

    #[test]
    fn a_quote_left_open_makes_one_long_row_of_the_rest() {
        let mut file = b"Email\na@example.com\n\"".to_vec();
        file.extend("b@example.com\n".repeat(10).as_bytes());
        let rows = read_all_with(&file, SMALL);
        assert_eq!(rows.len(), 2);
        assert!(reason(&rows[1]).starts_with("the row is longer than 64 bytes"));
    }

    #[test]
    fn a_huge_row_is_never_held_whole() {
        let mut file = b"Email\na@example.com\n\"".to_vec();
        file.extend(std::iter::repeat_n(b'x', 10_000_000));
        file.extend(b"\"\nb@example.com\n");
        let mut rows = open(&file, SMALL).unwrap();
        let batch = rows.next_batch(10).unwrap().unwrap();
        let lines: Vec<u64> = batch.rows.iter().map(|r| r.line).collect();
        assert_eq!(lines, [2, 3, 4]);
        assert!(batch.rows[1].row.is_err());
        assert!(batch.rows[2].row.is_ok());
        assert_eq!(batch.bytes_done, file.len() as u64);
        assert!(
            rows.records.bytes.len() <= 64,
            "{}",
            rows.records.bytes.len()
        );
        assert!(
            rows.records.ends.len() <= 2 * 64,
            "{}",
            rows.records.ends.len()
        );
    }

    #[test]
    fn a_row_of_delimiters_past_the_cap_fails_alone() {
        let mut file = b"Email\n".to_vec();
        file.extend(std::iter::repeat_n(b',', 1_000_000));
        file.extend(b"\na@example.com\n");
        let rows = read_all_with(&file, SMALL);
        assert_eq!(rows.len(), 2);
        assert!(reason(&rows[0]).starts_with("the row is longer than 64 bytes"));
        assert!(rows[1].row.is_ok());
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
