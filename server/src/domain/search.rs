//! What a search text asks for, and how its matches rank. The store turns
//! this into queries; the rule of what matches and what comes first lives
//! here alone.
//!
//! A contact matches when its name or company contains the text, its email
//! begins with it, or its mobile phone begins with the number typed (in any
//! format: `(415) 555` finds `+1415555…` in the default region). Matches
//! rank in three groups: the contact whose email or phone *is* the text,
//! then names beginning with the text, then the rest; the list's order
//! holds within each group.

use super::field_policy::{ContactField, FieldRights};
use super::identity::{Email, Phone, PhoneRegion};

/// Substring matching needs three characters: both backends index
/// trigrams, and a shorter text would match a large part of any list.
/// Shorter texts match name, email and phone beginnings only.
pub const SUBSTRING_MIN_CHARS: usize = 3;

/// A prefix of a phone number needs this many digits to be searched.
const PHONE_PREFIX_MIN_DIGITS: usize = 3;

/// The three groups of a search's matches, first to last.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Rank {
    /// The text is the contact's email or mobile phone.
    ExactIdentity = 0,
    /// The contact's name (first name, then last) begins with the text.
    NamePrefix = 1,
    Other = 2,
}

impl Rank {
    pub const ALL: [Rank; 3] = [Rank::ExactIdentity, Rank::NamePrefix, Rank::Other];

    pub fn from_index(index: u8) -> Option<Rank> {
        Rank::ALL.get(usize::from(index)).copied()
    }

    pub fn index(self) -> u8 {
        self as u8
    }
}

/// The fields a search looks into: those the caller may read. Otherwise a
/// search would answer yes/no questions about values the caller may not
/// see ("is there a contact whose email begins with ann?").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SearchedFields {
    /// First and last name together (they are searched as one name).
    pub name: bool,
    pub company: bool,
    pub email: bool,
    pub phone: bool,
}

impl SearchedFields {
    pub const ALL: SearchedFields = SearchedFields {
        name: true,
        company: true,
        email: true,
        phone: true,
    };

    pub fn of(rights: &FieldRights) -> Self {
        Self {
            name: rights.may_read_name(),
            company: rights.may_read(ContactField::Company),
            email: rights.may_read(ContactField::Email),
            phone: rights.may_read(ContactField::MobilePhone),
        }
    }
}

/// A search text, read once into what each kind of field is matched by.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Search {
    /// Lower-cased, blanks collapsed: names are stored lower-cased in
    /// `sort_name`, so a prefix of it is a prefix of this.
    text: String,
    fields: SearchedFields,
    identity: Identity,
}

/// The parts of a search that look into email and phone.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Identity {
    exact_email: Option<String>,
    exact_phone: Option<String>,
    /// Lower-case, as emails are stored.
    email_prefix: Option<String>,
    /// E.164 beginnings (`+1415555`) the digits typed may stand for.
    phone_prefixes: Vec<String>,
}

impl Search {
    /// None for a text of blanks only: that is no search.
    pub fn parse(raw: &str, region: PhoneRegion, fields: SearchedFields) -> Option<Self> {
        let text = raw.split_whitespace().collect::<Vec<_>>().join(" ");
        if text.is_empty() {
            return None;
        }
        let text = text.to_lowercase();
        let mut identity = Identity::parse(&text, region);
        if !fields.email {
            identity.exact_email = None;
            identity.email_prefix = None;
        }
        if !fields.phone {
            identity.exact_phone = None;
            identity.phone_prefixes.clear();
        }
        Some(Self {
            text,
            fields,
            identity,
        })
    }

    /// Whether names are searched (their beginnings, and inside them).
    pub fn names(&self) -> bool {
        self.fields.name
    }

    /// Whether companies are searched inside.
    pub fn companies(&self) -> bool {
        self.fields.company
    }

    /// The text as names are matched: lower-case, single spaces.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// The text searched inside names and companies (those searched), not
    /// only at the start.
    pub fn substring(&self) -> Option<&str> {
        (self.text.chars().count() >= SUBSTRING_MIN_CHARS
            && (self.fields.name || self.fields.company))
            .then_some(self.text.as_str())
    }

    pub fn exact_email(&self) -> Option<&str> {
        self.identity.exact_email.as_deref()
    }

    pub fn exact_phone(&self) -> Option<&str> {
        self.identity.exact_phone.as_deref()
    }

    pub fn email_prefix(&self) -> Option<&str> {
        self.identity.email_prefix.as_deref()
    }

    pub fn phone_prefixes(&self) -> &[String] {
        &self.identity.phone_prefixes
    }

    /// Where a contact with these values stands, or None when it does not
    /// match. The store's queries select exactly these groups; this is the
    /// rule they are tested against.
    pub fn rank(
        &self,
        sort_name: &str,
        company: Option<&str>,
        email: Option<&str>,
        phone: Option<&str>,
    ) -> Option<Rank> {
        let is = |value: Option<&str>, wanted: Option<&str>| {
            value.is_some() && wanted.is_some() && value == wanted
        };
        if is(email, self.exact_email()) || is(phone, self.exact_phone()) {
            return Some(Rank::ExactIdentity);
        }
        if self.fields.name && sort_name.starts_with(&self.text) {
            return Some(Rank::NamePrefix);
        }
        let inside = self.substring().is_some_and(|text| {
            (self.fields.name && sort_name.contains(text))
                || (self.fields.company && company.is_some_and(|c| c.to_lowercase().contains(text)))
        });
        let email_begins = email
            .zip(self.email_prefix())
            .is_some_and(|(email, prefix)| email.starts_with(prefix));
        let phone_begins = phone.is_some_and(|phone| {
            self.phone_prefixes()
                .iter()
                .any(|prefix| phone.starts_with(prefix.as_str()))
        });
        (inside || email_begins || phone_begins).then_some(Rank::Other)
    }
}

impl Identity {
    fn parse(text: &str, region: PhoneRegion) -> Self {
        let no_blanks = !text.contains(' ');
        Self {
            exact_email: Email::parse("search", text)
                .ok()
                .map(|email| email.as_str().to_owned()),
            exact_phone: Phone::parse("search", text, region)
                .ok()
                .map(|phone| phone.as_str().to_owned()),
            email_prefix: no_blanks.then(|| text.to_owned()),
            phone_prefixes: phone_prefixes(text, region),
        }
    }
}

/// The E.164 beginnings a typed number may stand for. A number typed with
/// `+` or `00` carries its country code. Any other is national, in the
/// default region, with its trunk prefix (the leading 0 of most countries)
/// dropped, as a full national number would be; when it begins with the
/// region's country code (`1 415…` in the US) it may also be international
/// without its `+`.
fn phone_prefixes(text: &str, region: PhoneRegion) -> Vec<String> {
    let looks_like_a_number = text
        .chars()
        .all(|c| c.is_ascii_digit() || matches!(c, ' ' | '+' | '(' | ')' | '-' | '.' | '/'));
    let digits: String = text.chars().filter(char::is_ascii_digit).collect();
    if !looks_like_a_number || digits.len() < PHONE_PREFIX_MIN_DIGITS {
        return Vec::new();
    }
    if text.starts_with('+') {
        return vec![format!("+{digits}")];
    }
    if let Some(international) = digits.strip_prefix("00") {
        return vec![format!("+{international}")];
    }
    let Some(code) = region.country_code().map(|code| code.to_string()) else {
        return Vec::new();
    };
    let national = digits.strip_prefix('0').unwrap_or(&digits);
    let mut prefixes = vec![format!("+{code}{national}")];
    if digits.starts_with(&code) {
        prefixes.push(format!("+{digits}"));
    }
    prefixes
}

#[cfg(test)]
mod tests {
    use super::*;

    fn us() -> PhoneRegion {
        PhoneRegion::default()
    }

    fn search(text: &str) -> Search {
        Search::parse(text, us(), SearchedFields::ALL).expect("a search")
    }

    #[test]
    fn blanks_are_no_search_and_collapse_inside() {
        assert_eq!(Search::parse("  \t ", us(), SearchedFields::ALL), None);
        assert_eq!(search("  Ann   LEE ").text(), "ann lee");
    }

    #[test]
    fn phone_typed_in_any_format_becomes_an_e164_beginning() {
        for typed in ["(415) 555", "415-555", "415.555", "415 555"] {
            assert_eq!(search(typed).phone_prefixes(), ["+1415555"], "{typed}");
        }
        assert_eq!(
            search("1 415 555").phone_prefixes(),
            ["+11415555", "+1415555"]
        );
        assert_eq!(search("+44 7400").phone_prefixes(), ["+447400"]);
        assert_eq!(search("0044 7400").phone_prefixes(), ["+447400"]);
        let gb: PhoneRegion = "gb".parse().expect("region");
        let uk = Search::parse("07400 12", gb, SearchedFields::ALL).expect("a search");
        assert_eq!(uk.phone_prefixes(), ["+44740012"]);
    }

    #[test]
    fn words_and_short_numbers_are_no_phone() {
        assert!(search("ann").phone_prefixes().is_empty());
        assert!(search("41").phone_prefixes().is_empty());
        assert!(search("ann 415").phone_prefixes().is_empty());
    }

    #[test]
    fn an_identity_typed_in_full_is_exact() {
        let by_email = search(" Ann@Example.com ");
        assert_eq!(by_email.exact_email(), Some("ann@example.com"));
        assert_eq!(by_email.exact_phone(), None);
        let by_phone = search("(415) 555-0100");
        assert_eq!(by_phone.exact_phone(), Some("+14155550100"));
    }

    #[test]
    fn without_personal_data_only_names_and_companies_are_searched() {
        let no_personal_data = SearchedFields {
            email: false,
            phone: false,
            ..SearchedFields::ALL
        };
        let blind = Search::parse("ann@example.com", us(), no_personal_data).expect("a search");
        assert_eq!(blind.exact_email(), None);
        assert_eq!(blind.email_prefix(), None);
        assert!(blind.phone_prefixes().is_empty());
        assert_eq!(
            blind.rank("zed", None, Some("ann@example.com"), None),
            None,
            "a caller who may not read email finds nothing by it"
        );
    }

    #[test]
    fn ranks_exact_identity_then_name_prefix_then_the_rest() {
        let s = search("ann");
        assert_eq!(s.rank("ann lee", None, None, None), Some(Rank::NamePrefix));
        assert_eq!(s.rank("joanna", None, None, None), Some(Rank::Other));
        assert_eq!(
            s.rank("zed", Some("Hannover AG"), None, None),
            Some(Rank::Other)
        );
        assert_eq!(
            s.rank("zed", None, Some("ann@x.com"), None),
            Some(Rank::Other)
        );
        assert_eq!(s.rank("zed", None, Some("joann@x.com"), None), None);
        let exact = search("ann@x.com");
        assert_eq!(
            exact.rank("zed", None, Some("ann@x.com"), None),
            Some(Rank::ExactIdentity)
        );
        let phone = search("415 555 0100");
        assert_eq!(
            phone.rank("zed", None, None, Some("+14155550100")),
            Some(Rank::ExactIdentity)
        );
        assert_eq!(
            phone.rank("zed", None, None, Some("+141555501009")),
            Some(Rank::Other)
        );
    }

    #[test]
    fn names_and_companies_are_searched_only_where_readable() {
        let no_names = SearchedFields {
            name: false,
            ..SearchedFields::ALL
        };
        let s = Search::parse("ann", us(), no_names).expect("a search");
        assert_eq!(s.rank("ann lee", None, None, None), None);
        assert_eq!(
            s.rank("joanna", Some("Hannover"), None, None),
            Some(Rank::Other)
        );
        let nothing_inside = SearchedFields {
            name: false,
            company: false,
            ..SearchedFields::ALL
        };
        let s = Search::parse("ann", us(), nothing_inside).expect("a search");
        assert_eq!(s.substring(), None);
        assert_eq!(s.rank("ann", Some("Hannover"), None, None), None);
        assert_eq!(
            s.rank("zed", None, Some("ann@x.com"), None),
            Some(Rank::Other)
        );
    }

    #[test]
    fn short_texts_match_beginnings_only() {
        let s = search("an");
        assert_eq!(s.substring(), None);
        assert_eq!(s.rank("ann", None, None, None), Some(Rank::NamePrefix));
        assert_eq!(s.rank("joanna", Some("Anvil"), None, None), None);
        assert_eq!(
            s.rank("zed", None, Some("ann@x.com"), None),
            Some(Rank::Other)
        );
    }
}
