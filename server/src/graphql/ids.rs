//! Relay global ids: base64url of `Type:number`, opaque to clients. A
//! malformed id is a validation error naming the argument; a well-formed id
//! of another type simply finds nothing.

use async_graphql::ID;

use super::error::ApiError;
use crate::domain::global_id;
pub use crate::domain::global_id::Kind;

pub fn encode(kind: Kind, id: i64) -> ID {
    ID(global_id::encode(kind, id))
}

/// Any global id: which type it names and its number.
pub fn decode_any(field: &'static str, id: &ID) -> Result<(Kind, i64), ApiError> {
    global_id::decode(id.as_str()).ok_or_else(|| ApiError::validation(field, "is not a valid id"))
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
