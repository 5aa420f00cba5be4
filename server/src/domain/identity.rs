//! The two identities of a contact. Once a value of these types exists it is
//! normalised and valid, so no later layer checks it again.

use std::fmt;
use std::str::FromStr;

use email_address::{EmailAddress, Options};
use rlibphonenumber::enums::Region;
use rlibphonenumber::{PHONE_NUMBER_UTIL, PhoneNumberFormat};

use super::validation::{ValidationError, visible};

/// RFC 5321 caps a forward path at 256 octets including the angle brackets.
const EMAIL_MAX: usize = 254;
/// A phone number as typed, before parsing; generous for spaces and dashes.
const PHONE_INPUT_MAX: usize = 40;

/// A trimmed, lower-cased, syntactically valid email address.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Email(String);

impl Email {
    pub fn parse(field: &'static str, raw: &str) -> Result<Self, ValidationError> {
        let trimmed = raw.trim();
        // Before anything else: a zero-width space or a direction mark
        // would make a second address that reads like the first.
        visible(field, trimmed)?;
        let normalised = trimmed.to_lowercase();
        if normalised.is_empty() {
            return Err(ValidationError::new(field, "must not be empty"));
        }
        if normalised.len() > EMAIL_MAX {
            return Err(ValidationError::new(
                field,
                format!("must be at most {EMAIL_MAX} characters"),
            ));
        }
        let options = Options::default()
            .with_required_tld()
            .without_domain_literal()
            .without_display_text();
        EmailAddress::parse_with_options(&normalised, options)
            .map_err(|_| ValidationError::new(field, "is not a valid email address"))?;
        Ok(Self(normalised))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_string(self) -> String {
        self.0
    }

    /// A value read back from the database, where only parsed values are
    /// ever written.
    pub(crate) fn from_trusted(stored: String) -> Self {
        Self(stored)
    }
}

impl fmt::Display for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The region assumed for numbers written without a country code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PhoneRegion(Region);

impl fmt::Display for PhoneRegion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Region's Display form is its ISO code ("US").
        self.0.fmt(f)
    }
}

impl Default for PhoneRegion {
    fn default() -> Self {
        Self(Region::US)
    }
}

impl FromStr for PhoneRegion {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Region::from_str(&s.trim().to_uppercase())
            .ok()
            // Any two letters make a Region; only those with numbering
            // metadata can read a national number.
            .filter(|region| {
                PHONE_NUMBER_UTIL
                    .get_country_code_for_region(*region)
                    .is_some()
            })
            .map(Self)
            .ok_or_else(|| format!("{s:?} is not an ISO 3166-1 alpha-2 region code"))
    }
}

impl PhoneRegion {
    /// The country calling code a national number of this region gets.
    pub fn country_code(self) -> Option<u32> {
        PHONE_NUMBER_UTIL
            .get_country_code_for_region(self.0)
            .and_then(|code| u32::try_from(code).ok())
    }
}

/// A phone number in E.164 form (`+14155550100`), valid by libphonenumber's
/// metadata.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Phone(String);

impl Phone {
    pub fn parse(
        field: &'static str,
        raw: &str,
        region: PhoneRegion,
    ) -> Result<Self, ValidationError> {
        let trimmed = raw.trim();
        if trimmed.is_empty() {
            return Err(ValidationError::new(field, "must not be empty"));
        }
        if trimmed.chars().count() > PHONE_INPUT_MAX {
            return Err(ValidationError::new(
                field,
                format!("must be at most {PHONE_INPUT_MAX} characters"),
            ));
        }
        visible(field, trimmed)?;
        let number = PHONE_NUMBER_UTIL
            .parse(trimmed, Some(region.0))
            .map_err(|_| ValidationError::new(field, "is not a phone number"))?;
        if !PHONE_NUMBER_UTIL.is_valid_number(&number) {
            return Err(ValidationError::new(field, "is not a valid phone number"));
        }
        // E.164 has no room for an extension, and a mobile number never
        // has one: refused, where storing the number alone would drop
        // what the caller typed without a word.
        if number
            .extension
            .as_deref()
            .is_some_and(|ext| !ext.is_empty())
        {
            return Err(ValidationError::new(
                field,
                "mobile phones have no extension; remove the ext., x or # part",
            ));
        }
        Ok(Self(
            PHONE_NUMBER_UTIL
                .format(&number, PhoneNumberFormat::E164)
                .into_owned(),
        ))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_string(self) -> String {
        self.0
    }

    /// A value read back from the database, where only parsed values are
    /// ever written.
    pub(crate) fn from_trusted(stored: String) -> Self {
        Self(stored)
    }
}

impl fmt::Display for Phone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Whom a record's email and mobile phone point at, each looked up alone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Holder<T> {
    /// Neither is anyone's: the record makes a new contact.
    Nobody,
    One(T),
    /// The email is one contact's and the phone another's. Contacts are
    /// never merged behind anyone's back: an activity goes to the email's
    /// contact and notes the phone's; an import row fails (store::import
    /// says why).
    Two {
        email: T,
        phone: T,
    },
}

/// The one rule by which activities and imports find their contact: the
/// email's holder, else the phone's; two holders when they differ (by
/// `same`).
pub fn holder<T>(
    by_email: Option<T>,
    by_phone: Option<T>,
    same: impl Fn(&T, &T) -> bool,
) -> Holder<T> {
    match (by_email, by_phone) {
        (Some(email), Some(phone)) if !same(&email, &phone) => Holder::Two { email, phone },
        (Some(one), _) | (None, Some(one)) => Holder::One(one),
        (None, None) => Holder::Nobody,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn email_is_trimmed_and_lower_cased() {
        let email = Email::parse("email", "  Ann@Example.COM ").unwrap();
        assert_eq!(email.as_str(), "ann@example.com");
    }

    #[test]
    fn malformed_emails_are_refused_naming_the_field() {
        for raw in [
            "ann",
            "ann@",
            "@example.com",
            "ann@example",
            "Ann <ann@example.com>",
            "a b@example.com",
        ] {
            let err = Email::parse("email", raw).unwrap_err();
            assert_eq!(err.field, "email", "{raw}");
        }
    }

    #[test]
    fn national_number_uses_the_default_region() {
        let phone = Phone::parse("mobilePhone", "(415) 555-0100", PhoneRegion::default()).unwrap();
        assert_eq!(phone.as_str(), "+14155550100");
    }

    #[test]
    fn international_number_ignores_the_default_region() {
        let region: PhoneRegion = "gb".parse().unwrap();
        let phone = Phone::parse("mobilePhone", "+1 415 555 0100", region).unwrap();
        assert_eq!(phone.as_str(), "+14155550100");
        let uk = Phone::parse("mobilePhone", "07400 123456", region).unwrap();
        assert_eq!(uk.as_str(), "+447400123456");
    }

    /// `phonenumber` 0.3 read these, with a US default region, as
    /// +495112345678 and +4402079460958: a foreign number's leading digit
    /// taken for the US national prefix, or a "(0)" kept.
    #[test]
    fn international_numbers_keep_their_national_digits() {
        for (raw, e164) in [
            ("+49 1511 2345678", "+4915112345678"),
            ("+33 1 42 68 53 00", "+33142685300"),
            ("+44 (0)20 7946 0958", "+442079460958"),
            ("+86 138 0013 8000", "+8613800138000"),
        ] {
            let phone = Phone::parse("mobilePhone", raw, PhoneRegion::default()).unwrap();
            assert_eq!(phone.as_str(), e164, "{raw}");
        }
    }

    #[test]
    fn invalid_numbers_are_refused() {
        for raw in ["12", "not a phone", "+1 000 000 0000", "+999 1234"] {
            let err = Phone::parse("mobilePhone", raw, PhoneRegion::default()).unwrap_err();
            assert_eq!(err.field, "mobilePhone", "{raw}");
        }
    }

    #[test]
    fn look_alike_emails_are_refused() {
        for raw in [
            "a@exam\u{200b}ple.com",
            "\u{feff}a@example.com",
            "a\u{200d}@example.com",
            "a@example.com\u{202e}",
            "a@exa\u{ad}mple.com",
            "a\u{2028}b@example.com",
            "a@example.com\u{0}",
        ] {
            let err = Email::parse("email", raw).unwrap_err();
            assert_eq!(err.field, "email", "{raw:?}");
            assert!(err.message.contains("U+"), "{raw:?}: {}", err.message);
        }
    }

    #[test]
    fn phones_with_hidden_characters_are_refused() {
        for raw in [
            "+1 415\u{200b}555 0100",
            "\u{202e}+14155550100",
            "+14155550100\u{2060}",
        ] {
            let err = Phone::parse("mobilePhone", raw, PhoneRegion::default()).unwrap_err();
            assert!(err.message.contains("U+"), "{raw:?}: {}", err.message);
        }
    }

    #[test]
    fn a_mobile_phone_extension_is_refused_not_dropped() {
        for raw in [
            "+14155550100;ext=1",
            "tel:+1-415-555-0100;ext=12",
            "(415) 555-0100 ext. 12",
            "(415) 555-0100 ext 12",
            "415 555 0100 x123",
            "415-555-0100 #123",
        ] {
            let err = Phone::parse("mobilePhone", raw, PhoneRegion::default()).unwrap_err();
            assert_eq!(err.field, "mobilePhone", "{raw}");
            assert!(
                err.message.contains("no extension"),
                "{raw}: {}",
                err.message
            );
        }
    }

    #[test]
    fn unknown_region_is_refused() {
        assert!("XX".parse::<PhoneRegion>().is_err());
    }
}
