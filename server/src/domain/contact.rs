//! A contact's editable fields and what an edit does to them.

use std::fmt;
use std::str::FromStr;

use chrono_tz::Tz;

use super::identity::{Email, Phone, PhoneRegion};
use super::validation::{self, ValidationError};

const NAME_MAX: usize = 200;
const COMPANY_MAX: usize = 200;
const JOB_TITLE_MAX: usize = 200;
const TIMEZONE_MAX: usize = 64;
/// The `sort_name` column's width; lower-casing can lengthen a name.
const SORT_NAME_MAX: usize = 400;

/// How a contact came into being.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Source {
    Manual,
    Api,
    Import,
    Meeting,
    Chatbot,
    RoutingForm,
}

impl Source {
    pub const ALL: [Source; 6] = [
        Source::Manual,
        Source::Api,
        Source::Import,
        Source::Meeting,
        Source::Chatbot,
        Source::RoutingForm,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Source::Manual => "MANUAL",
            Source::Api => "API",
            Source::Import => "IMPORT",
            Source::Meeting => "MEETING",
            Source::Chatbot => "CHATBOT",
            Source::RoutingForm => "ROUTING_FORM",
        }
    }
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Source {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Source::ALL
            .into_iter()
            .find(|source| source.as_str() == s)
            .ok_or_else(|| format!("unknown contact source {s:?}"))
    }
}

/// The values of a contact that people edit. Every value is normalised and
/// valid; `None` is "no value".
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ContactFields {
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub email: Option<Email>,
    pub mobile_phone: Option<Phone>,
    pub company: Option<String>,
    pub job_title: Option<String>,
    pub timezone: Option<String>,
}

/// One input field as it arrived: left out, explicitly null, or a value.
/// A stored contact as the layers above the store see it: its fields and
/// who holds it. `id` is 0 for a contact planned but not yet written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContactRecord {
    pub id: i64,
    pub fields: ContactFields,
    pub source: Source,
    pub owner_id: Option<i64>,
    pub team_id: Option<i64>,
    pub version: i32,
    pub created_at: i64,
    pub updated_at: i64,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Raw {
    #[default]
    Absent,
    Null,
    Value(String),
}

/// `ContactInput` as typed by a caller, before validation.
#[derive(Debug, Clone, Default)]
pub struct RawContactInput {
    pub first_name: Raw,
    pub last_name: Raw,
    pub email: Raw,
    pub mobile_phone: Raw,
    pub company: Raw,
    pub job_title: Raw,
    pub timezone: Raw,
}

/// What to do with one field: keep it, clear it, or set it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Change<T> {
    #[default]
    Keep,
    Clear,
    Set(T),
}

impl<T: Clone> Change<T> {
    fn apply(&self, current: &Option<T>) -> Option<T> {
        match self {
            Change::Keep => current.clone(),
            Change::Clear => None,
            Change::Set(value) => Some(value.clone()),
        }
    }

    pub fn set_value(&self) -> Option<&T> {
        match self {
            Change::Set(value) => Some(value),
            _ => None,
        }
    }
}

/// A validated edit. A blank string counts as clearing the field, as an
/// emptied box in an edit form does.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ContactPatch {
    pub first_name: Change<String>,
    pub last_name: Change<String>,
    pub email: Change<Email>,
    pub mobile_phone: Change<Phone>,
    pub company: Change<String>,
    pub job_title: Change<String>,
    pub timezone: Change<String>,
}

/// One field's value before and after a change, for the contact's history.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldChange {
    pub field: &'static str,
    pub before: Option<String>,
    pub after: Option<String>,
}

fn text_change(
    field: &'static str,
    raw: &Raw,
    max: usize,
) -> Result<Change<String>, ValidationError> {
    Ok(match raw {
        Raw::Absent => Change::Keep,
        Raw::Null => Change::Clear,
        Raw::Value(value) => match validation::text(field, value, max)? {
            Some(value) => Change::Set(value),
            None => Change::Clear,
        },
    })
}

fn parsed_change<T>(
    raw: &Raw,
    parse: impl FnOnce(&str) -> Result<T, ValidationError>,
) -> Result<Change<T>, ValidationError> {
    Ok(match raw {
        Raw::Absent => Change::Keep,
        Raw::Null => Change::Clear,
        Raw::Value(value) if value.trim().is_empty() => Change::Clear,
        Raw::Value(value) => Change::Set(parse(value)?),
    })
}

/// The change, or `Keep` with the error noted, so every field is checked.
fn checked<T>(
    errors: &mut Vec<ValidationError>,
    result: Result<Change<T>, ValidationError>,
) -> Change<T> {
    result.unwrap_or_else(|err| {
        errors.push(err);
        Change::Keep
    })
}

/// An IANA time zone name (the tz database as chrono-tz compiles it in),
/// links such as `US/Eastern` included. Any ASCII case is read, and the
/// database's own spelling is stored: `europe/berlin` is `Europe/Berlin`.
fn timezone(field: &'static str, raw: &str) -> Result<String, ValidationError> {
    let value = raw.trim();
    let refused =
        || ValidationError::new(field, "must be an IANA time zone name such as Europe/Paris");
    if value.len() > TIMEZONE_MAX {
        return Err(refused());
    }
    let zone = value
        .parse::<Tz>()
        .ok()
        .or_else(|| {
            chrono_tz::TZ_VARIANTS
                .into_iter()
                .find(|zone| zone.name().eq_ignore_ascii_case(value))
        })
        .ok_or_else(refused)?;
    Ok(zone.name().to_owned())
}

impl ContactPatch {
    /// The edit, or the first field that breaks a rule.
    pub fn parse(raw: &RawContactInput, region: PhoneRegion) -> Result<Self, ValidationError> {
        Self::parse_every(raw, region).map_err(|mut errors| errors.swap_remove(0))
    }

    /// The edit, or every field that breaks a rule (never an empty list),
    /// so a form can mark them all at once.
    pub fn parse_every(
        raw: &RawContactInput,
        region: PhoneRegion,
    ) -> Result<Self, Vec<ValidationError>> {
        let mut errors = Vec::new();
        let e = &mut errors;
        let first_name = checked(e, text_change("firstName", &raw.first_name, NAME_MAX));
        let last_name = checked(e, text_change("lastName", &raw.last_name, NAME_MAX));
        let email = checked(e, parsed_change(&raw.email, |v| Email::parse("email", v)));
        let mobile_phone = checked(
            e,
            parsed_change(&raw.mobile_phone, |v| {
                Phone::parse("mobilePhone", v, region)
            }),
        );
        let company = checked(e, text_change("company", &raw.company, COMPANY_MAX));
        let job_title = checked(e, text_change("jobTitle", &raw.job_title, JOB_TITLE_MAX));
        let timezone = checked(e, parsed_change(&raw.timezone, |v| timezone("timezone", v)));
        if !errors.is_empty() {
            return Err(errors);
        }
        Ok(Self {
            first_name,
            last_name,
            email,
            mobile_phone,
            company,
            job_title,
            timezone,
        })
    }
}

impl ContactFields {
    /// The fields after `patch`, refusing a result without any identity.
    pub fn patched(&self, patch: &ContactPatch) -> Result<ContactFields, ValidationError> {
        let next = ContactFields {
            first_name: patch.first_name.apply(&self.first_name),
            last_name: patch.last_name.apply(&self.last_name),
            email: patch.email.apply(&self.email),
            mobile_phone: patch.mobile_phone.apply(&self.mobile_phone),
            company: patch.company.apply(&self.company),
            job_title: patch.job_title.apply(&self.job_title),
            timezone: patch.timezone.apply(&self.timezone),
        };
        if next.email.is_none() && next.mobile_phone.is_none() {
            let field = if matches!(patch.email, Change::Clear) {
                "email"
            } else {
                "mobilePhone"
            };
            return Err(ValidationError::new(
                field,
                "a contact needs an email or a mobile phone",
            ));
        }
        Ok(next)
    }

    /// Field values by their GraphQL names, in the order the API lists them.
    pub fn named_values(&self) -> [(&'static str, Option<&str>); 7] {
        [
            ("firstName", self.first_name.as_deref()),
            ("lastName", self.last_name.as_deref()),
            ("email", self.email.as_ref().map(Email::as_str)),
            ("mobilePhone", self.mobile_phone.as_ref().map(Phone::as_str)),
            ("company", self.company.as_deref()),
            ("jobTitle", self.job_title.as_deref()),
            ("timezone", self.timezone.as_deref()),
        ]
    }

    /// The fields whose value differs from `before`'s.
    pub fn changes_since(&self, before: &ContactFields) -> Vec<FieldChange> {
        before
            .named_values()
            .into_iter()
            .zip(self.named_values())
            .filter(|((_, old), (_, new))| old != new)
            .map(|((field, old), (_, new))| FieldChange {
                field,
                before: old.map(str::to_owned),
                after: new.map(str::to_owned),
            })
            .collect()
    }

    /// The key contacts are ordered by when sorted by name: the name as it
    /// reads, lower-cased, capped to fit its column. A nameless contact has
    /// an empty key (ties are broken by id): the key travels in cursors, so
    /// it must never carry the email or phone.
    pub fn sort_name(&self) -> String {
        let name = [self.first_name.as_deref(), self.last_name.as_deref()]
            .into_iter()
            .flatten()
            .collect::<Vec<_>>()
            .join(" ");
        name.to_lowercase().chars().take(SORT_NAME_MAX).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw(value: &str) -> Raw {
        Raw::Value(value.to_owned())
    }

    fn ann() -> ContactFields {
        ContactFields {
            first_name: Some("Ann".into()),
            email: Some(Email::parse("email", "ann@example.com").unwrap()),
            ..Default::default()
        }
    }

    #[test]
    fn absent_keeps_null_clears_value_sets() {
        let patch = ContactPatch::parse(
            &RawContactInput {
                first_name: Raw::Null,
                company: raw(" Acme "),
                ..Default::default()
            },
            PhoneRegion::default(),
        )
        .unwrap();
        let next = ann().patched(&patch).unwrap();
        assert_eq!(next.first_name, None);
        assert_eq!(next.company.as_deref(), Some("Acme"));
        assert_eq!(next.email, ann().email);
    }

    #[test]
    fn clearing_the_last_identity_is_refused() {
        let patch = ContactPatch::parse(
            &RawContactInput {
                email: Raw::Null,
                ..Default::default()
            },
            PhoneRegion::default(),
        )
        .unwrap();
        assert_eq!(ann().patched(&patch).unwrap_err().field, "email");
    }

    #[test]
    fn over_long_text_names_the_field() {
        let err = ContactPatch::parse(
            &RawContactInput {
                last_name: raw(&"x".repeat(201)),
                ..Default::default()
            },
            PhoneRegion::default(),
        )
        .unwrap_err();
        assert_eq!(err.field, "lastName");
    }

    fn parse_one(input: RawContactInput) -> Result<ContactPatch, ValidationError> {
        ContactPatch::parse(&input, PhoneRegion::default())
    }

    #[test]
    fn time_zones_are_iana_names_in_their_own_spelling() {
        for (typed, stored) in [
            ("Europe/Berlin", "Europe/Berlin"),
            (" europe/berlin ", "Europe/Berlin"),
            ("AMERICA/NEW_YORK", "America/New_York"),
            (
                "America/Argentina/Buenos_Aires",
                "America/Argentina/Buenos_Aires",
            ),
            ("US/Eastern", "US/Eastern"),
            ("UTC", "UTC"),
            ("Etc/GMT+5", "Etc/GMT+5"),
        ] {
            let patch = parse_one(RawContactInput {
                timezone: raw(typed),
                ..Default::default()
            })
            .unwrap();
            assert_eq!(patch.timezone, Change::Set(stored.to_owned()), "{typed}");
        }
        for typed in [
            "Mars/Olympus_Mons",
            "Europe/Berlin2",
            "Europe",
            "+02:00",
            "CEST",
            "Europe/Ber\u{200b}lin",
            &"Europe/Berlin".repeat(10),
        ] {
            let err = parse_one(RawContactInput {
                timezone: raw(typed),
                ..Default::default()
            })
            .unwrap_err();
            assert_eq!(err.field, "timezone", "{typed}");
        }
    }

    /// Where a test writes one field of an input.
    type Slot = fn(&mut RawContactInput) -> &mut Raw;

    #[test]
    fn every_text_field_refuses_hidden_characters() {
        let fields: [(&str, Slot); 6] = [
            ("firstName", |r| &mut r.first_name),
            ("lastName", |r| &mut r.last_name),
            ("email", |r| &mut r.email),
            ("mobilePhone", |r| &mut r.mobile_phone),
            ("company", |r| &mut r.company),
            ("jobTitle", |r| &mut r.job_title),
        ];
        for (field, slot) in fields {
            for hidden in ['\u{202e}', '\u{200b}', '\u{2028}', '\u{7}'] {
                let mut input = RawContactInput::default();
                *slot(&mut input) = raw(&match field {
                    "email" => format!("a@exam{hidden}ple.com"),
                    "mobilePhone" => format!("+1415{hidden}5550100"),
                    _ => format!("Ann{hidden}Smith"),
                });
                assert_eq!(parse_one(input).unwrap_err().field, field, "{hidden:?}");
            }
        }
    }

    #[test]
    fn changes_list_only_differing_fields() {
        let mut after = ann();
        after.company = Some("Acme".into());
        let changes = after.changes_since(&ann());
        assert_eq!(
            changes,
            vec![FieldChange {
                field: "company",
                before: None,
                after: Some("Acme".into())
            }]
        );
    }

    #[test]
    fn every_bad_field_is_named_at_once_in_input_order() {
        let input = RawContactInput {
            first_name: raw(&"x".repeat(NAME_MAX + 1)),
            email: raw("not an email"),
            mobile_phone: raw("12"),
            timezone: raw("Mars/Olympus"),
            company: raw("Acme"),
            ..Default::default()
        };
        let errors =
            ContactPatch::parse_every(&input, PhoneRegion::default()).expect_err("four bad fields");
        let fields: Vec<_> = errors.iter().map(|e| e.field).collect();
        assert_eq!(fields, ["firstName", "email", "mobilePhone", "timezone"]);
        assert_eq!(
            ContactPatch::parse(&input, PhoneRegion::default()).map_err(|e| e.field),
            Err("firstName")
        );
    }

    #[test]
    fn sort_name_never_carries_the_identity() {
        assert_eq!(ann().sort_name(), "ann");
        let nameless = ContactFields {
            first_name: None,
            ..ann()
        };
        assert_eq!(nameless.sort_name(), "");
    }

    #[test]
    fn sort_name_fits_its_column_after_lower_casing() {
        let long = ContactFields {
            first_name: Some("İ".repeat(200)),
            last_name: Some("x".repeat(200)),
            ..ann()
        };
        assert_eq!(long.sort_name().chars().count(), SORT_NAME_MAX);
    }
}
