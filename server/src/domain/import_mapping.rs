//! Which CSV column feeds which contact field. Headers are matched by
//! aliases after folding case and dropping everything but letters and
//! digits, so "E-mail Address" (Outlook), "E-mail 1 - Value" (Google
//! Contacts), "Email" (HubSpot) and "Mobile Phone" (Salesforce) all land.
//! An explicit mapping overrides the aliases. Columns that map to nothing
//! are reported, never fatal.

use super::contact::{ContactFields, ContactPatch, Raw, RawContactInput};
use super::field_policy::{ContactField, FieldRights};
use super::identity::PhoneRegion;
use super::validation::ValidationError;

/// A row that cannot be imported, for the error report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FailedRow {
    pub line: u64,
    /// The offending column, when one is to blame.
    pub column: Option<ColumnRef>,
    pub reason: String,
}

/// The most characters of a header an error report names a column by.
pub const COLUMN_NAME_MAX: usize = 64;

/// A column as an error report names it: its position and its header cut
/// short. A report is kept per failed row, so a header's whole text (which
/// only the header cap bounds) would be stored again for every row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ColumnRef {
    /// 1-based, as spreadsheets count columns and the report counts lines.
    pub number: u32,
    /// The header, cut to `COLUMN_NAME_MAX` characters with an ellipsis.
    pub name: String,
}

impl ColumnRef {
    /// The column at 0-based `index` of the header row, under `header`.
    pub fn new(index: usize, header: &str) -> Self {
        Self {
            number: u32::try_from(index + 1).unwrap_or(u32::MAX),
            name: shorten(header, COLUMN_NAME_MAX),
        }
    }
}

/// `text` if it has at most `max` characters, else its first `max - 1`
/// and an ellipsis.
pub fn shorten(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        None => text.to_owned(),
        Some(_) => {
            let keep = max.saturating_sub(1);
            let end = text.char_indices().nth(keep).map_or(text.len(), |(i, _)| i);
            format!("{}\u{2026}", &text[..end])
        }
    }
}

/// What applying a batch of rows came to.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Summary {
    pub created: u64,
    pub updated: u64,
    pub unchanged: u64,
    pub failed: Vec<FailedRow>,
    /// How many of `failed` the job's report keeps (see
    /// `store::import::Importer::cap_stored_errors`); the rest are only
    /// counted.
    pub errors_kept: u64,
}

impl Summary {
    pub fn add(&mut self, other: Summary) {
        self.created += other.created;
        self.updated += other.updated;
        self.unchanged += other.unchanged;
        self.failed.extend(other.failed);
        self.errors_kept += other.errors_kept;
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImportField {
    FirstName,
    LastName,
    Email,
    MobilePhone,
    Company,
    JobTitle,
    Timezone,
}

impl ImportField {
    pub const ALL: [ImportField; 7] = [
        ImportField::FirstName,
        ImportField::LastName,
        ImportField::Email,
        ImportField::MobilePhone,
        ImportField::Company,
        ImportField::JobTitle,
        ImportField::Timezone,
    ];

    /// The field as policies name it.
    pub fn contact_field(self) -> ContactField {
        match self {
            ImportField::FirstName => ContactField::FirstName,
            ImportField::LastName => ContactField::LastName,
            ImportField::Email => ContactField::Email,
            ImportField::MobilePhone => ContactField::MobilePhone,
            ImportField::Company => ContactField::Company,
            ImportField::JobTitle => ContactField::JobTitle,
            ImportField::Timezone => ContactField::Timezone,
        }
    }

    /// The field's name in `ContactInput`.
    pub fn name(self) -> &'static str {
        match self {
            ImportField::FirstName => "firstName",
            ImportField::LastName => "lastName",
            ImportField::Email => "email",
            ImportField::MobilePhone => "mobilePhone",
            ImportField::Company => "company",
            ImportField::JobTitle => "jobTitle",
            ImportField::Timezone => "timezone",
        }
    }

    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|f| f.name() == name)
    }

    /// Folded header names that mean this field, from the exports of Google
    /// Contacts, Outlook, HubSpot and Salesforce.
    fn aliases(self) -> &'static [&'static str] {
        match self {
            ImportField::FirstName => &["firstname", "givenname", "first"],
            ImportField::LastName => &["lastname", "familyname", "surname", "last"],
            ImportField::Email => &[
                "email",
                "emailaddress",
                "email1value",
                "email1",
                "primaryemail",
                "emailaddress1",
            ],
            ImportField::MobilePhone => &[
                "mobilephone",
                "mobilephonenumber",
                "mobile",
                "mobilenumber",
                "cellphone",
                "cell",
                "phone1value",
                "phone",
                "phonenumber",
            ],
            ImportField::Company => &[
                "company",
                "companyname",
                "organization",
                "organization1name",
                "accountname",
            ],
            ImportField::JobTitle => &["jobtitle", "title", "organization1title"],
            ImportField::Timezone => &["timezone", "tz"],
        }
    }
}

/// The longest header an explicit mapping may name.
const COLUMN_MAX: usize = 255;

/// An explicit mapping as an API caller sends it (column, field or `None`
/// to ignore the column), each column trimmed and 1 to 255 characters.
pub fn explicit_mapping(
    entries: impl IntoIterator<Item = (String, Option<ImportField>)>,
) -> Result<Vec<(String, Option<ImportField>)>, ValidationError> {
    entries
        .into_iter()
        .map(|(column, field)| {
            let column = column.trim();
            if column.is_empty() || column.chars().count() > COLUMN_MAX {
                return Err(ValidationError::new(
                    "mapping",
                    format!("a column must be 1 to {COLUMN_MAX} characters"),
                ));
            }
            Ok((column.to_owned(), field))
        })
        .collect()
}

/// One explicit mapping as written on the command line: `Header=field`
/// (a `ContactInput` field name), or `Header=` to ignore the column.
pub fn parse_mapping(text: &str) -> Result<(String, Option<ImportField>), String> {
    let (header, field) = text
        .rsplit_once('=')
        .ok_or_else(|| format!("{text:?} is not COLUMN=FIELD"))?;
    let field = field.trim();
    if field.is_empty() {
        return Ok((header.to_owned(), None));
    }
    let known = || {
        ImportField::ALL
            .iter()
            .map(|f| f.name())
            .collect::<Vec<_>>()
            .join(", ")
    };
    ImportField::from_name(field)
        .map(|f| (header.to_owned(), Some(f)))
        .ok_or_else(|| format!("{field:?} is not a contact field; use one of {}", known()))
}

/// "E-mail 1 - Value" → "email1value".
pub fn fold(header: &str) -> String {
    header
        .trim_start_matches('\u{feff}')
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_lowercase())
        .collect()
}

/// The columns of one file, each mapped to a field or to nothing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ColumnMap {
    headers: Vec<String>,
    fields: Vec<Option<ImportField>>,
}

impl ColumnMap {
    /// Maps `headers`; `explicit` pairs (header as written, field or `None`
    /// to ignore the column) win over aliases. A field fed by two columns
    /// takes the first; the other is reported with the unknown ones.
    pub fn new(
        headers: &[String],
        explicit: &[(String, Option<ImportField>)],
    ) -> Result<Self, ValidationError> {
        for (header, _) in explicit {
            if !headers.iter().any(|h| fold(h) == fold(header)) {
                return Err(ValidationError::new(
                    "mapping",
                    format!("the file has no column {header:?}"),
                ));
            }
        }
        let mut fields: Vec<Option<ImportField>> = Vec::with_capacity(headers.len());
        for header in headers {
            let folded = fold(header);
            let chosen = match explicit.iter().find(|(h, _)| fold(h) == folded) {
                Some((_, field)) => *field,
                None => ImportField::ALL
                    .into_iter()
                    .filter(|f| !explicit.iter().any(|(_, e)| *e == Some(*f)))
                    .find(|f| f.aliases().contains(&folded.as_str())),
            };
            let taken = chosen.is_some_and(|f| fields.contains(&Some(f)));
            fields.push(if taken { None } else { chosen });
        }
        if !fields.contains(&Some(ImportField::Email))
            && !fields.contains(&Some(ImportField::MobilePhone))
        {
            return Err(ValidationError::new(
                "mapping",
                "no column holds an email or a mobile phone; name one in the mapping",
            ));
        }
        Ok(Self {
            headers: headers.to_vec(),
            fields,
        })
    }

    /// The first column feeding a field `rights` may not write, with that
    /// field: an import through it is refused whole, before any row.
    pub fn first_unwritable(&self, rights: &FieldRights) -> Option<(&str, ContactField)> {
        self.headers
            .iter()
            .zip(&self.fields)
            .filter_map(|(header, field)| Some((header.as_str(), field.as_ref()?.contact_field())))
            .find(|(_, field)| !rights.may_write(*field))
    }

    /// Headers no field takes, to report.
    pub fn unmapped(&self) -> Vec<&str> {
        self.headers
            .iter()
            .zip(&self.fields)
            .filter(|(_, f)| f.is_none())
            .map(|(h, _)| h.as_str())
            .collect()
    }

    /// The header feeding `field`.
    pub fn column_of(&self, field: &str) -> Option<&str> {
        self.position_of(field).map(|i| self.headers[i].as_str())
    }

    /// The column feeding `field`, as error reports name it.
    pub fn column_ref(&self, field: &str) -> Option<ColumnRef> {
        self.position_of(field)
            .map(|i| ColumnRef::new(i, &self.headers[i]))
    }

    fn position_of(&self, field: &str) -> Option<usize> {
        self.fields
            .iter()
            .position(|f| f.is_some_and(|f| f.name() == field))
    }

    /// One row normalised into the fields it brings, or why it cannot be
    /// imported, naming the column at fault.
    pub fn prepare(
        &self,
        line: u64,
        record: &[&str],
        region: PhoneRegion,
    ) -> Result<ContactFields, FailedRow> {
        let fail = |column: Option<ColumnRef>, reason: String| FailedRow {
            line,
            column,
            reason,
        };
        // No contact field holds a line break; a cell that does is most
        // likely an unclosed quote that swallowed the rows after it.
        let broken = record
            .iter()
            .zip(&self.fields)
            .find(|(cell, field)| field.is_some() && cell.trim().contains(['\n', '\r']));
        if let Some((_, Some(field))) = broken {
            return Err(fail(
                self.column_ref(field.name()),
                "the cell holds a line break: a quote is probably left open, and the rows \
                 after it are inside this cell"
                    .to_owned(),
            ));
        }
        let patch = ContactPatch::parse(&self.row(record), region)
            .map_err(|err| fail(self.column_ref(err.field), err.message))?;
        ContactFields::default()
            .patched(&patch)
            .map_err(|_| fail(None, "the row has no email and no mobile phone".to_owned()))
    }

    /// One row as contact input. An empty cell is absent: an import never
    /// clears what a contact has.
    pub fn row(&self, record: &[&str]) -> RawContactInput {
        let mut input = RawContactInput::default();
        for (value, field) in record.iter().zip(&self.fields) {
            let Some(field) = field else { continue };
            if value.trim().is_empty() {
                continue;
            }
            let raw = Raw::Value((*value).to_owned());
            match field {
                ImportField::FirstName => input.first_name = raw,
                ImportField::LastName => input.last_name = raw,
                ImportField::Email => input.email = raw,
                ImportField::MobilePhone => input.mobile_phone = raw,
                ImportField::Company => input.company = raw,
                ImportField::JobTitle => input.job_title = raw,
                ImportField::Timezone => input.timezone = raw,
            }
        }
        input
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(list: &[&str]) -> Vec<String> {
        list.iter().map(|h| h.to_string()).collect()
    }

    #[test]
    fn google_contacts_export() {
        let map = ColumnMap::new(
            &headers(&[
                "Name",
                "Given Name",
                "Family Name",
                "E-mail 1 - Type",
                "E-mail 1 - Value",
                "Phone 1 - Type",
                "Phone 1 - Value",
                "Organization 1 - Name",
                "Organization 1 - Title",
            ]),
            &[],
        )
        .unwrap();
        let row = map.row(&[
            "Ann Lee",
            "Ann",
            "Lee",
            "* Home",
            "ann@example.com",
            "Mobile",
            "+1 415 555 0100",
            "Acme",
            "CTO",
        ]);
        assert_eq!(row.email, Raw::Value("ann@example.com".into()));
        assert_eq!(row.mobile_phone, Raw::Value("+1 415 555 0100".into()));
        assert_eq!(row.company, Raw::Value("Acme".into()));
        assert_eq!(row.job_title, Raw::Value("CTO".into()));
        assert_eq!(
            map.unmapped(),
            ["Name", "E-mail 1 - Type", "Phone 1 - Type"]
        );
    }

    #[test]
    fn outlook_and_hubspot_exports() {
        let outlook = ColumnMap::new(
            &headers(&[
                "First Name",
                "Last Name",
                "E-mail Address",
                "Mobile Phone",
                "Company",
                "Job Title",
            ]),
            &[],
        )
        .unwrap();
        assert_eq!(outlook.column_of("email"), Some("E-mail Address"));
        assert_eq!(outlook.column_of("mobilePhone"), Some("Mobile Phone"));
        let hubspot = ColumnMap::new(
            &headers(&[
                "\u{feff}First Name",
                "Email",
                "Phone Number",
                "Mobile Phone Number",
            ]),
            &[],
        )
        .unwrap();
        // The first column that means a field takes it.
        assert_eq!(hubspot.column_of("mobilePhone"), Some("Phone Number"));
        assert_eq!(hubspot.unmapped(), ["Mobile Phone Number"]);
    }

    #[test]
    fn explicit_mapping_can_ignore_a_column_an_alias_would_take() {
        let map = ColumnMap::new(
            &headers(&["Email", "Phone", "Mobile"]),
            &[("Phone".into(), None)],
        )
        .unwrap();
        assert_eq!(map.column_of("mobilePhone"), Some("Mobile"));
        assert_eq!(map.unmapped(), ["Phone"]);
    }

    #[test]
    fn explicit_mapping_wins_and_must_name_a_column() {
        let map = ColumnMap::new(
            &headers(&["Work mail", "Email", "Cell"]),
            &[("work mail".into(), Some(ImportField::Email))],
        )
        .unwrap();
        assert_eq!(map.column_of("email"), Some("Work mail"));
        assert_eq!(map.unmapped(), ["Email"]);
        let err = ColumnMap::new(
            &headers(&["Email"]),
            &[("Nope".into(), Some(ImportField::Email))],
        )
        .unwrap_err();
        assert_eq!(err.field, "mapping");
    }

    #[test]
    fn a_file_without_identity_columns_is_refused() {
        assert!(ColumnMap::new(&headers(&["Name", "Company"]), &[]).is_err());
    }

    #[test]
    fn a_failed_row_names_its_column_by_number_and_a_short_name() {
        let long = format!("Mobile {}", "-".repeat(300_000));
        let map = ColumnMap::new(&headers(&["Email", &long]), &[]).unwrap();
        let failed = map
            .prepare(2, &["a@example.com", "not a phone"], PhoneRegion::default())
            .unwrap_err();
        let column = failed.column.unwrap();
        assert_eq!(column.number, 2);
        assert_eq!(column.name.chars().count(), COLUMN_NAME_MAX);
        assert!(column.name.starts_with("Mobile ---"));
        assert!(column.name.ends_with('\u{2026}'));
        assert_eq!(failed.reason, "is not a phone number");
    }

    #[test]
    fn short_text_is_kept_and_long_text_cut_on_a_char_boundary() {
        assert_eq!(shorten("Email", 5), "Email");
        assert_eq!(shorten("E-mails", 5), "E-ma\u{2026}");
        assert_eq!(
            shorten("\u{e9}\u{e9}\u{e9}\u{e9}\u{e9}\u{e9}", 3),
            "\u{e9}\u{e9}\u{2026}"
        );
        assert_eq!(shorten("", 3), "");
    }

    #[test]
    fn empty_cells_are_absent() {
        let map = ColumnMap::new(&headers(&["Email", "Company"]), &[]).unwrap();
        let row = map.row(&["a@example.com", "  "]);
        assert_eq!(row.company, Raw::Absent);
    }
}
