use thiserror::Error;
use unicode_properties::{GeneralCategory, UnicodeGeneralCategory};

/// Input that breaks a rule. `field` is the input field's GraphQL name, so a
/// client can show the message beside it.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("{field}: {message}")]
pub struct ValidationError {
    pub field: &'static str,
    pub message: String,
}

impl ValidationError {
    pub fn new(field: &'static str, message: impl Into<String>) -> Self {
        Self {
            field,
            message: message.into(),
        }
    }
}

/// Trims a free-text value; blank means "no value". Longer than `max`
/// characters is refused rather than cut, so nothing is silently lost.
pub fn text(
    field: &'static str,
    value: &str,
    max: usize,
) -> Result<Option<String>, ValidationError> {
    let trimmed = value.trim();
    if trimmed.is_empty() {
        return Ok(None);
    }
    if trimmed.chars().count() > max {
        return Err(ValidationError::new(
            field,
            format!("must be at most {max} characters"),
        ));
    }
    visible(field, trimmed)?;
    Ok(Some(trimmed.to_owned()))
}

/// Characters that change how text looks or reads without being seen:
/// controls (Cc), format characters (Cf: zero-width spaces and joiners,
/// bidirectional overrides such as U+202E, word joiners, the BOM, the soft
/// hyphen) and the line and paragraph separators U+2028 and U+2029. In an
/// identity they make a second `a@example.com` that looks like the first;
/// in a name they hide or reorder what a reader sees.
pub fn is_hidden(c: char) -> bool {
    matches!(
        c.general_category(),
        GeneralCategory::Control
            | GeneralCategory::Format
            | GeneralCategory::LineSeparator
            | GeneralCategory::ParagraphSeparator
    )
}

/// Refuses a value holding an [`is_hidden`] character, naming the first.
pub fn visible(field: &'static str, value: &str) -> Result<(), ValidationError> {
    match value.chars().find(|c| is_hidden(*c)) {
        None => Ok(()),
        Some(c) => Err(ValidationError::new(
            field,
            format!(
                "must not contain U+{:04X}: invisible, control and line separator characters are refused",
                u32::from(c)
            ),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn format_control_and_separator_characters_are_refused() {
        for c in [
            '\u{0}',
            '\u{7}',
            '\u{1b}',
            '\u{7f}',
            '\u{85}',
            '\u{ad}',
            '\u{61c}',
            '\u{180e}',
            '\u{200b}',
            '\u{200c}',
            '\u{200d}',
            '\u{200e}',
            '\u{200f}',
            '\u{202a}',
            '\u{202e}',
            '\u{2028}',
            '\u{2029}',
            '\u{2060}',
            '\u{2064}',
            '\u{2066}',
            '\u{2069}',
            '\u{feff}',
            '\u{e0001}',
        ] {
            let value = format!("An{c}n");
            let err = text("firstName", &value, 200).unwrap_err();
            assert_eq!(err.field, "firstName");
            assert!(
                err.message.contains(&format!("U+{:04X}", u32::from(c))),
                "{}",
                err.message
            );
        }
    }

    #[test]
    fn letters_of_every_script_pass() {
        for name in [
            "Ann",
            "Zoë",
            "Ångström",
            "Nguyễn",
            "李小龙",
            "محمد",
            "Ольга",
            "O'Brien-Smith",
            "Ann 🙂",
        ] {
            assert_eq!(text("firstName", name, 200).unwrap().as_deref(), Some(name));
        }
    }

    #[test]
    fn surrounding_whitespace_is_trimmed_not_refused() {
        assert_eq!(
            text("company", "\t Acme \r\n", 200).unwrap().as_deref(),
            Some("Acme")
        );
    }
}
