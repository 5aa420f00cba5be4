//! CSV that we write for people to open in a spreadsheet (the import
//! error report). Spreadsheets run a cell that starts with `=`, `+`, `-`
//! or `@` as a formula, and some skip a leading tab or carriage return
//! first, so a report echoing what a user wrote (a header, say) could run
//! that user's formula on the machine of the admin who opens it (OWASP
//! "CSV injection"). Every cell written here goes through [`neutralise`].

use std::borrow::Cow;

/// `cell`, prefixed with a single quote when a spreadsheet would take it
/// for a formula. The quote shows, and tells the reader the cell was
/// changed; a spreadsheet keeps the rest as text.
pub fn neutralise(cell: &str) -> Cow<'_, str> {
    match cell.chars().next() {
        Some('=' | '+' | '-' | '@' | '\t' | '\r') => Cow::Owned(format!("'{cell}")),
        _ => Cow::Borrowed(cell),
    }
}

/// A CSV document built in memory, every cell neutralised.
pub struct CsvReport {
    writer: csv::Writer<Vec<u8>>,
}

#[derive(Debug, thiserror::Error)]
#[error("writing a CSV report failed: {0}")]
pub struct ReportError(String);

impl CsvReport {
    pub fn new() -> Self {
        Self {
            writer: csv::Writer::from_writer(Vec::new()),
        }
    }

    pub fn row<'a>(&mut self, cells: impl IntoIterator<Item = &'a str>) -> Result<(), ReportError> {
        self.writer
            .write_record(cells.into_iter().map(neutralise).map(|c| c.into_owned()))
            .map_err(|e| ReportError(e.to_string()))
    }

    pub fn finish(self) -> Result<String, ReportError> {
        let bytes = self
            .writer
            .into_inner()
            .map_err(|e| ReportError(e.error().to_string()))?;
        String::from_utf8(bytes).map_err(|e| ReportError(e.to_string()))
    }
}

impl Default for CsvReport {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_a_spreadsheet_would_run_are_prefixed() {
        for cell in [
            "=cmd|' /C calc'!A0",
            "+1+1",
            "-2+3",
            "@SUM(A1)",
            "\t=1",
            "\r=1",
            "-",
        ] {
            assert_eq!(neutralise(cell), format!("'{cell}"), "{cell:?}");
        }
    }

    #[test]
    fn other_cells_are_left_alone() {
        for cell in [
            "",
            "3",
            "Mobile Phone",
            " =1",
            "a=b",
            "'=1",
            "is not a phone number",
        ] {
            assert_eq!(neutralise(cell), cell, "{cell:?}");
            assert!(matches!(neutralise(cell), Cow::Borrowed(_)));
        }
    }

    #[test]
    fn a_report_neutralises_every_cell_and_quotes_as_csv_does() {
        let mut report = CsvReport::new();
        report
            .row(["line", "column", "columnName", "reason"])
            .unwrap();
        report
            .row(["2", "1", "=cmd|' /C calc'!A0", "-bad, \"quoted\""])
            .unwrap();
        assert_eq!(
            report.finish().unwrap(),
            "line,column,columnName,reason\n2,1,'=cmd|' /C calc'!A0,\"'-bad, \"\"quoted\"\"\"\n"
        );
    }
}
