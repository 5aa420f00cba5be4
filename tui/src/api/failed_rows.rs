//! The failed-rows file: the imported file's own failed rows, all their
//! columns as they were, then `line` and `reason`, so the user can fix
//! them and import that file again. The server's report names the line,
//! the column and the reason but keeps no values (it stores no cell text),
//! so the rows come from the file on this machine, matched by the line
//! each starts on, as the server counts them (the header is line 1).

use std::collections::BTreeMap;
use std::io::Read;

/// How the file is split: comma or semicolon, as the server reads it.
pub fn sniff_delimiter(head: &[u8]) -> u8 {
    let first_line = head.split(|&b| b == b'\n').next().unwrap_or_default();
    let count = |byte: u8| first_line.iter().filter(|&&b| b == byte).count();
    if count(b';') > count(b',') {
        b';'
    } else {
        b','
    }
}

/// `line` → reason, from the server's report (`line,column,columnName,
/// reason`); two reasons for one line are joined.
fn reasons(report: &str) -> Result<BTreeMap<u64, String>, String> {
    let mut reader = csv::ReaderBuilder::new()
        .flexible(true)
        .from_reader(report.as_bytes());
    let mut reasons: BTreeMap<u64, String> = BTreeMap::new();
    for record in reader.records() {
        let record = record.map_err(|err| format!("the server's report is not CSV: {err}"))?;
        let line = record
            .get(0)
            .and_then(|line| line.parse::<u64>().ok())
            .ok_or("the server's report has a row without a line")?;
        let column = record.get(2).unwrap_or_default();
        let reason = record.get(3).unwrap_or_default();
        let reason = if column.is_empty() {
            reason.to_owned()
        } else {
            format!("{column}: {reason}")
        };
        reasons
            .entry(line)
            .and_modify(|earlier| {
                earlier.push_str("; ");
                earlier.push_str(&reason);
            })
            .or_insert(reason);
    }
    Ok(reasons)
}

/// The failed-rows file as CSV, from the imported file (`original`) and
/// the server's `report`. A failed line the file does not have (it
/// changed since) is still listed, its columns empty, so no failure is
/// lost.
pub fn from_original(original: impl Read, report: &str) -> Result<Vec<u8>, String> {
    let mut reasons = reasons(report)?;
    let last_line = reasons.keys().next_back().copied().unwrap_or(0);
    let mut original = std::io::BufReader::new(original);
    let head = {
        use std::io::BufRead;
        original.fill_buf().map_err(|err| err.to_string())?.to_vec()
    };
    let delimiter = sniff_delimiter(head.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(&head));
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .has_headers(false)
        .flexible(true)
        .from_reader(original);
    let mut writer = csv::WriterBuilder::new()
        .delimiter(delimiter)
        .flexible(true)
        .from_writer(Vec::new());
    // Bytes, not text: a row that is not UTF-8 is written back as it was.
    let mut record = csv::ByteRecord::new();
    let mut width = 0;
    let mut first = true;
    let cells = |record: &csv::ByteRecord| -> Vec<String> {
        record
            .iter()
            .map(|cell| String::from_utf8_lossy(cell).into_owned())
            .collect()
    };
    // The line a record starts on, as the server counts them. The csv
    // crate's own count lags by one after a CRLF (it has not consumed the
    // LF yet when the next record starts), so the line after the previous
    // record's newlines is counted here too and the larger taken. A blank
    // line between rows (which the csv crate skips) is counted by
    // neither: a row after one would be matched a line early, so a line
    // the report names that no row matched is still listed below.
    let mut next_line: u64 = 1;
    while reader
        .read_byte_record(&mut record)
        .map_err(|err| format!("cannot read the imported file: {err}"))?
    {
        let counted = record.position().map_or(0, |position| position.line());
        let line = next_line.max(counted);
        let inner_newlines: usize = record
            .iter()
            .map(|cell| cell.iter().filter(|&&b| b == b'\n').count())
            .sum();
        next_line = line + u64::try_from(inner_newlines).unwrap_or(0) + 1;
        if first {
            first = false;
            let mut header = cells(&record);
            if let Some(cell) = header.first_mut() {
                *cell = cell.trim_start_matches('\u{feff}').to_owned();
            }
            width = header.len();
            header.extend(["line".to_owned(), "reason".to_owned()]);
            writer
                .write_record(&header)
                .map_err(|err| err.to_string())?;
            continue;
        }
        if let Some(reason) = reasons.remove(&line) {
            let mut row = cells(&record);
            row.extend([line.to_string(), reason]);
            writer.write_record(&row).map_err(|err| err.to_string())?;
        }
        if line >= last_line || reasons.is_empty() {
            break;
        }
    }
    for (line, reason) in reasons {
        let mut row = vec![String::new(); width];
        row.extend([line.to_string(), reason]);
        writer.write_record(&row).map_err(|err| err.to_string())?;
    }
    writer.into_inner().map_err(|err| err.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failed_rows_keep_their_columns_then_line_and_reason() {
        let original = "\u{feff}First Name;Mobile Phone;Notes\r\nAda;+14155550100;ok\r\nBo;not a phone;\"two\nlines\"\r\nCy;+1;x\r\n";
        let unix = "First Name;Mobile Phone;Notes\nAda;+14155550100;ok\nBo;not a phone;\"two\nlines\"\nCy;+1;x\n";
        let report = "line,column,columnName,reason\n3,2,Mobile Phone,is not a phone number\n5,2,Mobile Phone,is not a phone number\n9,,,gone since\n";
        let written = from_original(original.as_bytes(), report).unwrap_or_default();
        assert_eq!(
            String::from_utf8(written).unwrap_or_default(),
            "First Name;Mobile Phone;Notes;line;reason\n\
             Bo;not a phone;\"two\nlines\";3;Mobile Phone: is not a phone number\n\
             Cy;+1;x;5;Mobile Phone: is not a phone number\n\
             ;;;9;gone since\n"
        );
        // LF line ends: Cy starts on line 5 all the same.
        let report = "line,column,columnName,reason\n3,2,Mobile Phone,bad\n5,2,Mobile Phone,bad\n";
        let written = from_original(unix.as_bytes(), report).unwrap_or_default();
        assert_eq!(
            String::from_utf8(written).unwrap_or_default(),
            "First Name;Mobile Phone;Notes;line;reason\n\
             Bo;not a phone;\"two\nlines\";3;Mobile Phone: bad\n\
             Cy;+1;x;5;Mobile Phone: bad\n"
        );
    }

    #[test]
    fn the_delimiter_is_the_servers() {
        assert_eq!(sniff_delimiter(b"a;b;c,d\n1,2"), b';');
        assert_eq!(sniff_delimiter(b"a,b\n"), b',');
    }
}
