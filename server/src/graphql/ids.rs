//! Relay global ids: base64url of `Type:number`, opaque to clients. A
//! malformed id is a validation error naming the argument; a well-formed id
//! of another type simply finds nothing.

use async_graphql::ID;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use super::error::ApiError;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Contact,
    User,
    Team,
    ContactChange,
    Activity,
    Meeting,
    Notification,
}

impl Kind {
    const ALL: [Kind; 7] = [
        Kind::Contact,
        Kind::User,
        Kind::Team,
        Kind::ContactChange,
        Kind::Activity,
        Kind::Meeting,
        Kind::Notification,
    ];

    fn name(self) -> &'static str {
        match self {
            Kind::Contact => "Contact",
            Kind::User => "User",
            Kind::Team => "Team",
            Kind::ContactChange => "ContactChange",
            Kind::Activity => "Activity",
            Kind::Meeting => "Meeting",
            Kind::Notification => "Notification",
        }
    }
}

pub fn encode(kind: Kind, id: i64) -> ID {
    ID(URL_SAFE_NO_PAD.encode(format!("{}:{id}", kind.name())))
}

/// Any global id: which type it names and its number.
pub fn decode_any(field: &'static str, id: &ID) -> Result<(Kind, i64), ApiError> {
    let malformed = || ApiError::validation(field, "is not a valid id");
    let bytes = URL_SAFE_NO_PAD
        .decode(id.as_str())
        .map_err(|_| malformed())?;
    let text = String::from_utf8(bytes).map_err(|_| malformed())?;
    let (name, number) = text.split_once(':').ok_or_else(malformed)?;
    let kind = Kind::ALL
        .into_iter()
        .find(|kind| kind.name() == name)
        .ok_or_else(malformed)?;
    let number = number.parse::<i64>().map_err(|_| malformed())?;
    Ok((kind, number))
}

/// The number of an id that must be of `kind`; `None` when it names
/// another type.
pub fn decode(field: &'static str, kind: Kind, id: &ID) -> Result<Option<i64>, ApiError> {
    let (found, number) = decode_any(field, id)?;
    Ok((found == kind).then_some(number))
}

/// Like [`decode`], but an id of another type is a validation error, as for
/// a reference inside an input.
pub fn decode_required(field: &'static str, kind: Kind, id: &ID) -> Result<i64, ApiError> {
    decode(field, kind, id)?
        .ok_or_else(|| ApiError::validation(field, format!("must be the id of a {}", kind.name())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips() {
        let id = encode(Kind::Contact, 42);
        assert_eq!(decode("id", Kind::Contact, &id).unwrap(), Some(42));
        assert_eq!(decode("id", Kind::User, &id).unwrap(), None);
    }

    #[test]
    fn garbage_is_a_validation_error() {
        for raw in ["", "!!", "Q29udGFjdA", "Q29udGFjdDp4"] {
            assert!(decode_any("id", &ID(raw.to_owned())).is_err(), "{raw}");
        }
    }
}
