//! Relay global ids: base64url of `Type:number`, opaque to clients. They
//! live here because more than the GraphQL layer hands them out: webhook
//! payloads carry the same ids the API does.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Contact,
    User,
    Team,
    ContactChange,
    Activity,
    Meeting,
    Notification,
    Integration,
    Delivery,
    ImportJob,
    ApiToken,
    Merge,
}

impl Kind {
    const ALL: [Kind; 12] = [
        Kind::Contact,
        Kind::User,
        Kind::Team,
        Kind::ContactChange,
        Kind::Activity,
        Kind::Meeting,
        Kind::Notification,
        Kind::Integration,
        Kind::Delivery,
        Kind::ImportJob,
        Kind::ApiToken,
        Kind::Merge,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Kind::Contact => "Contact",
            Kind::User => "User",
            Kind::Team => "Team",
            Kind::ContactChange => "ContactChange",
            Kind::Activity => "Activity",
            Kind::Meeting => "Meeting",
            Kind::Notification => "Notification",
            Kind::Integration => "Integration",
            Kind::Delivery => "Delivery",
            Kind::ImportJob => "ImportJob",
            Kind::ApiToken => "ApiToken",
            Kind::Merge => "Merge",
        }
    }
}

pub fn encode(kind: Kind, id: i64) -> String {
    URL_SAFE_NO_PAD.encode(format!("{}:{id}", kind.name()))
}

/// The type and number an id names, or `None` for anything malformed. An
/// id is only what [`encode`] makes: `Contact:+2` and `Contact:0002` would
/// parse to 2, but one record must have one id, or a client caching by id
/// holds two copies of it.
pub fn decode(id: &str) -> Option<(Kind, i64)> {
    let bytes = URL_SAFE_NO_PAD.decode(id).ok()?;
    let text = String::from_utf8(bytes).ok()?;
    let (name, number) = text.split_once(':')?;
    let kind = Kind::ALL.into_iter().find(|kind| kind.name() == name)?;
    let number: i64 = number.parse().ok()?;
    (encode(kind, number) == id).then_some((kind, number))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_canonical_spelling_of_an_id_decodes() {
        assert_eq!(decode(&encode(Kind::Contact, 2)), Some((Kind::Contact, 2)));
        assert_eq!(
            decode(&encode(Kind::Contact, -7)),
            Some((Kind::Contact, -7))
        );
        for forged in [
            "Contact:+2",
            "Contact:0002",
            "Contact:2 ",
            "Contact: 2",
            "Contact:2\n",
        ] {
            assert_eq!(decode(&URL_SAFE_NO_PAD.encode(forged)), None, "{forged}");
        }
    }
}
